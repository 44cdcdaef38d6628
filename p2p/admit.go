package p2p

import (
	"container/list"
	"context"
	"errors"
	"fmt"
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
func (n *Node) admit(ctx context.Context, m *tx.Metadata, raw []byte, wait bool) verdict {
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
	if m.Signer != a.Signer {
		ok, err := n.chain.KeyValid(a.Agency, m.Signer)
		if err != nil {
			return ignore(ReasonInternal, err)
		}
		if !ok {
			return reject(ReasonKeyNotValid, fmt.Errorf("key %x is not a valid key of agency %q", m.Signer[:8], a.Agency))
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
			return reject(ReasonDocType, fmt.Errorf("agency %q may not issue documents of type %q", a.Agency, dt))
		}
	}
	has, err := n.store.Has(m.DocHash)
	if err != nil {
		return ignore(ReasonInternal, err)
	}
	if has {
		return verdict{outcome: duplicate, reason: ReasonDuplicate}
	}
	if err := n.store.Put(m.DocHash, raw); err != nil {
		return ignore(ReasonInternal, err)
	}
	return verdict{outcome: stored}
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
	v := n.admitRaw(ctx, msg.Data, true)
	n.count(v, ViaGossip, from)
	switch v.outcome {
	case stored:
		return pubsub.ValidationAccept
	case rejected:
		return pubsub.ValidationReject
	}
	return pubsub.ValidationIgnore
}

func (n *Node) admitRaw(ctx context.Context, raw []byte, wait bool) verdict {
	m, v, ok := decode(raw)
	if !ok {
		return v
	}
	return n.admit(ctx, m, raw, wait)
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
// gossips it again.
func (n *Node) Publish(ctx context.Context, raw []byte) error {
	m, v, ok := decode(raw)
	if ok {
		v = n.admit(ctx, m, raw, true)
	}
	n.count(v, ViaPublish, n.host.ID())
	switch v.outcome {
	case rejected:
		return &RejectError{Reason: v.reason, Err: v.err}
	case ignored:
		return fmt.Errorf("%w: %s: %v", ErrNotPublished, v.reason, v.err)
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
