package p2p

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/siegel-notary/siegel/app/tx"
)

// RejectError is returned by Publish for a message that is not valid, and says why.
type RejectError struct {
	Reason Reason
	Err    error
}

func (e *RejectError) Error() string {
	if e.Err == nil {
		return "p2p: metadata rejected: " + string(e.Reason)
	}
	return fmt.Sprintf("p2p: metadata rejected: %s: %v", e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// ErrNotPublished is returned by Publish for a message that was valid but dropped (see the Reason in
// the wrapping message), for example because the node stopped while it waited for its anchor.
var ErrNotPublished = errors.New("p2p: metadata not published")

// outcome is what admit decided.
type outcome int

const (
	stored    outcome = iota // valid, and now stored
	duplicate                // valid, and metadata for the document was stored already
	rejected                 // invalid: penalise whoever sent it
	ignored                  // dropped without a verdict
)

// verdict is admit's answer.
type verdict struct {
	outcome outcome
	reason  Reason // for rejected and ignored
	err     error  // details, if any
}

func reject(r Reason, err error) verdict { return verdict{outcome: rejected, reason: r, err: err} }
func ignore(r Reason, err error) verdict { return verdict{outcome: ignored, reason: r, err: err} }

// decode checks size and form.
func decode(raw []byte) (*tx.Metadata, verdict, bool) {
	if len(raw) > tx.MaxMetaBytes {
		return nil, reject(ReasonOversized, fmt.Errorf("%d bytes, limit %d", len(raw), tx.MaxMetaBytes)), false
	}
	m, err := tx.DecodeMeta(raw)
	switch {
	case errors.Is(err, tx.ErrOversized):
		return nil, reject(ReasonOversized, err), false
	case err != nil:
		return nil, reject(ReasonMalformed, err), false
	}
	return m, verdict{}, true
}

// admit validates a decoded message m (whose encoding is raw) and stores it if it is valid. If its
// anchor is not committed yet and wait is set, it waits for the commit in the pending queue.
func (n *Node) admit(ctx context.Context, m *tx.Metadata, raw []byte, wait bool, via Via) verdict {
	if m.ChainID != n.cfg.ChainID {
		return reject(ReasonWrongChain, fmt.Errorf("chain %q", m.ChainID))
	}
	if err := m.Verify(); err != nil {
		return reject(ReasonBadSignature, err)
	}
	a, found, err := n.chain.Anchor(m.DocHash)
	if err != nil {
		return ignore(ReasonInternal, err)
	}
	if !found {
		if !wait {
			return reject(ReasonNotAnchored, nil)
		}
		// Only a current key of the agency it names gets a place in the queue: nobody can fill it with
		// messages signed by keys of their own.
		if v, ok := n.checkKey(m.AgencyID, m.Signer, via); !ok {
			return v
		}
		var v verdict
		if a, v = n.awaitAnchor(ctx, m.DocHash); v.outcome != stored {
			return v
		}
	}
	if a.MetaDigest == nil {
		return reject(ReasonNoCommitment, nil)
	}
	if m.AgencyID != a.Agency {
		return reject(ReasonWrongAgency, fmt.Errorf("metadata names agency %q, the anchor is by %q", m.AgencyID, a.Agency))
	}
	if m.Signer != a.Signer { // the anchor's own signer may always describe what it anchored
		if v, ok := n.checkKey(a.Agency, m.Signer, via); !ok {
			return v
		}
	}
	if m.Digest() != *a.MetaDigest {
		return reject(ReasonDigestMismatch, nil)
	}
	if dt, ok := m.Field(tx.FieldDocType); ok {
		ok, err := n.chain.DocTypeAllowed(a.Agency, dt)
		if err != nil {
			return ignore(ReasonInternal, err)
		}
		if !ok {
			// Governance may narrow an agency's types after its metadata went out: peers that pass on
			// such metadata are not at fault. Only the agency's own publish is refused.
			return governance(via, ReasonDocType, fmt.Errorf("agency %q may not issue documents of type %q", a.Agency, dt))
		}
	}
	has, err := n.store.Has(m.DocHash)
	if err != nil {
		return ignore(ReasonInternal, err)
	}
	if has {
		// Honest peers forward a message once, right after they first accept it; gossipsub drops the
		// copies it has seen lately before they get here. A copy of a message stored here long ago is
		// somebody replaying it.
		// Ignored here; validate rejects it when one peer sends more than a few a minute (an honest
		// node sends one when an agency publishes there what this node has from elsewhere).
		if via == ViaGossip && !n.recent.has(m.DocHash, time.Now()) {
			return ignore(ReasonReplayed, fmt.Errorf("metadata of %x was stored here more than %v ago", m.DocHash[:8], n.cfg.ReplayWindow))
		}
		return verdict{outcome: duplicate, reason: ReasonDuplicate}
	}
	if err := n.store.Put(m.DocHash, raw); err != nil {
		return ignore(ReasonInternal, err)
	}
	n.recent.add(m.DocHash, time.Now())
	return verdict{outcome: stored}
}

// checkKey accepts a current key of agency. A key that never belonged to it is rejected; one that did
// once (retired since, or the agency suspended) is rejected on publish and ignored otherwise: peers
// may hold metadata signed before governance changed.
func (n *Node) checkKey(agency string, key [32]byte, via Via) (verdict, bool) {
	st, err := n.chain.KeyStatus(agency, key)
	switch {
	case err != nil:
		return ignore(ReasonInternal, err), false
	case st == KeyCurrent:
		return verdict{}, true
	case st == KeyPast:
		return governance(via, ReasonKeyNotValid, fmt.Errorf("key %x of agency %q may no longer sign", key[:8], agency)), false
	}
	return reject(ReasonKeyNotValid, fmt.Errorf("key %x is not a key of agency %q", key[:8], agency)), false
}

// governance is the verdict on a message that the chain's current governance state refuses: rejected
// when an agency publishes it, ignored when it comes from a peer.
func governance(via Via, r Reason, err error) verdict {
	if via == ViaPublish {
		return reject(r, err)
	}
	return ignore(r, err)
}

// awaitAnchor waits in the pending queue until doc is anchored, the wait expires, the message is pushed
// out of the queue, or ctx ends. Its verdict's outcome is stored when the anchor is found.
func (n *Node) awaitAnchor(ctx context.Context, doc [32]byte) (Anchor, verdict) {
	w := n.pending.add(doc)
	defer n.pending.remove(w)
	ttl := time.NewTimer(n.cfg.PendingTTL)
	defer ttl.Stop()
	for {
		// The first pass looks again at once: the commit may have come just before the wait began.
		a, found, err := n.chain.Anchor(doc)
		switch {
		case err != nil:
			return a, ignore(ReasonInternal, err)
		case found:
			return a, verdict{outcome: stored}
		}
		select {
		case <-w.wake:
		case <-w.evicted:
			return a, ignore(ReasonQueueFull, nil)
		case <-ctx.Done():
			return a, ignore(ReasonShutdown, ctx.Err())
		case <-n.ctx.Done():
			return a, ignore(ReasonShutdown, n.ctx.Err())
		case <-ttl.C:
			if a, found, err := n.chain.Anchor(doc); err == nil && found {
				return a, verdict{outcome: stored}
			}
			if !n.chain.CaughtUp() {
				return a, ignore(ReasonExpired, nil)
			}
			return a, reject(ReasonNotAnchored, fmt.Errorf("no anchor within %v", n.cfg.PendingTTL))
		}
	}
}

// validate is the topic validator: it runs for every message before gossipsub delivers or forwards it.
func (n *Node) validate(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if from == n.host.ID() {
		// Our own Publish, which admitted the message before it handed it to gossipsub.
		return pubsub.ValidationAccept
	}
	if !n.enter() {
		return pubsub.ValidationIgnore
	}
	defer n.leave()
	v := n.admitRaw(ctx, msg.Data, true, ViaGossip)
	if v.reason == ReasonReplayed && n.replays.tooMany(from, time.Now()) {
		v.outcome = rejected
	}
	n.count(v, ViaGossip, from)
	switch v.outcome {
	case stored:
		return pubsub.ValidationAccept
	case rejected:
		return pubsub.ValidationReject
	}
	return pubsub.ValidationIgnore
}

func (n *Node) admitRaw(ctx context.Context, raw []byte, wait bool, via Via) verdict {
	m, v, ok := decode(raw)
	if !ok {
		return v
	}
	return n.admit(ctx, m, raw, wait, via)
}

// count reports a verdict to the metrics and the log.
func (n *Node) count(v verdict, via Via, from peer.ID) {
	switch v.outcome {
	case stored:
		n.metrics.Accepted(via)
	case duplicate:
		n.metrics.Ignored(ReasonDuplicate)
	case rejected:
		n.metrics.Rejected(v.reason)
		n.log.Info("metadata rejected", "reason", v.reason, "via", via, "peer", from, "err", v.err)
	case ignored:
		n.metrics.Ignored(v.reason)
		if v.reason == ReasonInternal {
			n.log.Error("metadata dropped", "reason", v.reason, "via", via, "peer", from, "err", v.err)
		}
	}
}

// Publish validates raw, an encoded and signed metadata message, stores it and gossips it. If its anchor
// is not committed here yet, Publish waits for the commit (at most Config.PendingTTL, or until ctx
// ends). It returns a *RejectError for an invalid message. Publishing metadata that is stored already
// succeeds without gossiping it again: the other nodes would take the copy for a replay, and a node that
// lacks it fetches it by catch-up.
func (n *Node) Publish(ctx context.Context, raw []byte) error {
	if !n.enter() {
		return fmt.Errorf("%w: %s: the node is closing", ErrNotPublished, ReasonShutdown)
	}
	defer n.leave()
	v := n.admitRaw(ctx, raw, true, ViaPublish)
	n.count(v, ViaPublish, n.host.ID())
	switch v.outcome {
	case rejected:
		return &RejectError{Reason: v.reason, Err: v.err}
	case ignored:
		return fmt.Errorf("%w: %s: %v", ErrNotPublished, v.reason, v.err)
	case duplicate:
		return nil
	}
	if err := n.topic.Publish(ctx, raw); err != nil {
		return fmt.Errorf("p2p: publish: %w", err)
	}
	return nil
}

// NotifyCommitted tells the node that a block committed anchors of docs with metadata digests, so that
// messages waiting for them are looked at again at once (without it they are, every
// Config.PendingPoll), and so that what gossip does not bring is fetched from peers soon after
// (Config.CommitSyncDelay) rather than at the next periodic round.
func (n *Node) NotifyCommitted(docs [][32]byte) {
	n.pending.wake(docs)
	if len(docs) > 0 {
		poke(n.sync.committed)
	}
}

// pending is the bounded queue of messages waiting for their anchor. Each waiting message is a
// goroutine of gossipsub's validation (bounded by the validator concurrency) or a Publish call.
type pending struct {
	mu     sync.Mutex
	max    int
	report func(n int) // called with the length after every change, under mu
	order  *list.List  // of *waiter, oldest first
	byDoc  map[[32]byte][]*waiter
}

type waiter struct {
	doc     [32]byte
	wake    chan struct{} // one token: look at the chain again
	evicted chan struct{} // closed when pushed out of the queue
	elem    *list.Element
}

func newPending(max int, report func(n int)) *pending {
	return &pending{max: max, report: report, order: list.New(), byDoc: map[[32]byte][]*waiter{}}
}

// add queues a waiter for doc, pushing out the oldest if the queue is full.
func (p *pending) add(doc [32]byte) *waiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.order.Len() >= p.max {
		old := p.order.Front().Value.(*waiter)
		p.removeLocked(old)
		close(old.evicted)
	}
	w := &waiter{doc: doc, wake: make(chan struct{}, 1), evicted: make(chan struct{})}
	w.elem = p.order.PushBack(w)
	p.byDoc[doc] = append(p.byDoc[doc], w)
	p.report(p.order.Len())
	return w
}

// remove takes w out of the queue; it does nothing if w was pushed out.
func (p *pending) remove(w *waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(w)
}

func (p *pending) removeLocked(w *waiter) {
	if w.elem == nil {
		return
	}
	p.order.Remove(w.elem)
	w.elem = nil
	ws := p.byDoc[w.doc]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(p.byDoc, w.doc)
	} else {
		p.byDoc[w.doc] = ws
	}
	p.report(p.order.Len())
}

// wake wakes the waiters for docs.
func (p *pending) wake(docs [][32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range docs {
		for _, w := range p.byDoc[d] {
			poke(w.wake)
		}
	}
}

// wakeAll wakes every waiter.
func (p *pending) wakeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for e := p.order.Front(); e != nil; e = e.Next() {
		poke(e.Value.(*waiter).wake)
	}
}

func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.order.Len()
}

// poke puts a token in c unless it holds one already.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// recentSet remembers which documents had their metadata stored lately (within Config.ReplayWindow),
// to tell a gossiped copy that is an echo of honest forwarding from a replay. It is bounded: beyond
// maxRecent entries the oldest are forgotten early.
type recentSet struct {
	window time.Duration
	mu     sync.Mutex
	at     map[[32]byte]time.Time
	order  [][32]byte // in the order added; at holds the time of the latest add
}

const maxRecent = 1 << 18

func newRecentSet(window time.Duration) *recentSet {
	return &recentSet{window: window, at: map[[32]byte]time.Time{}}
}

func (r *recentSet) add(doc [32]byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	if len(r.order) >= maxRecent {
		old := r.order[0]
		r.order = r.order[1:]
		delete(r.at, old)
	}
	r.at[doc] = now
	r.order = append(r.order, doc)
}

func (r *recentSet) has(doc [32]byte, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[doc]
	return ok && now.Sub(t) <= r.window
}

// pruneLocked forgets the entries older than the window.
func (r *recentSet) pruneLocked(now time.Time) {
	i := 0
	for ; i < len(r.order); i++ {
		d := r.order[i]
		if t, ok := r.at[d]; ok && now.Sub(t) <= r.window {
			break
		}
		delete(r.at, d)
	}
	if i > 0 {
		r.order = slices.Clone(r.order[i:]) // let the backing array shrink
	}
}

// replayAllowance is how many replays one peer may send in replayPeriod before they count against it.
const (
	replayAllowance = 10
	replayPeriod    = time.Minute
)

// replayCounter counts each peer's replays in the current period.
type replayCounter struct {
	mu     sync.Mutex
	start  time.Time
	counts map[peer.ID]int
}

// tooMany counts a replay from p and reports whether p has sent more than replayAllowance this period.
func (r *replayCounter) tooMany(p peer.ID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil || now.Sub(r.start) > replayPeriod {
		r.start, r.counts = now, map[peer.ID]int{}
	}
	r.counts[p]++
	return r.counts[p] > replayAllowance
}
