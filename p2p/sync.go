package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"

	"github.com/siegel-notary/siegel/app/tx"
)

// The catch-up protocol, "/siegel/<chain ID>/meta-sync/1". The asking node opens a stream, writes a
// request and closes its side; the peer answers with the messages it has, in any order, and closes.
// All integers are big-endian.
//
//	request:   version(1) = 1 | count(2), 1..MaxSyncDocs | count document hashes (32 each)
//	response:  version(1) = 1 | count(2), 0..request count | count × (length(2), 1..tx.MaxMetaBytes | message)
//
// Every message in an answer is validated as if it came by gossip (except that its anchor must be
// committed already: the asking node asks only for anchors it knows). An answer that breaks the format,
// carries a message not asked for or an invalid one costs the peer score (application-specific part).
// A peer serves Config.SyncServeRate requests per second to each peer, and resets streams beyond that.

// MaxSyncDocs bounds the document hashes in one catch-up request.
const MaxSyncDocs = 256

const (
	syncVersion = 1
	// syncPage is how many anchors a catch-up round reads from the chain at a time.
	syncPage = 1024
	// fullEvery makes every so many periodic catch-up rounds a full one.
	fullEvery = 10
)

// errSyncProtocol marks an answer that breaks the protocol.
var errSyncProtocol = errors.New("p2p: catch-up protocol violation")

// syncState is the catch-up bookkeeping of a Node.
type syncState struct {
	full      chan struct{} // a full round was asked for
	committed chan struct{} // anchors with metadata digests were committed
	fullLimit *rate.Limiter // full rounds triggered by peers
	roundMu   sync.Mutex    // one round at a time
	cursor    uint64        // where the last completed round ended; under roundMu

	serveMu     sync.Mutex
	serveLimits map[peer.ID]*rate.Limiter
}

func (s *syncState) init(cfg Config) {
	s.full = make(chan struct{}, 1)
	s.committed = make(chan struct{}, 1)
	s.fullLimit = rate.NewLimiter(rate.Every(cfg.ResyncInterval), 1)
	s.serveLimits = map[peer.ID]*rate.Limiter{}
}

func (s *syncState) requestFull() { poke(s.full) }

// allowServe reports whether p may have another request served now.
func (n *Node) allowServe(p peer.ID) bool {
	s := &n.sync
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	if len(s.serveLimits) > 1024 {
		for id := range s.serveLimits {
			if n.host.Network().Connectedness(id) != network.Connected {
				delete(s.serveLimits, id)
			}
		}
	}
	l, ok := s.serveLimits[p]
	if !ok {
		l = n.cfg.rateLimiter()
		s.serveLimits[p] = l
	}
	return l.Allow()
}

// serveSync answers a catch-up request.
func (n *Node) serveSync(s network.Stream) {
	if !n.enter() {
		_ = s.Reset()
		return
	}
	defer n.leave()
	remote := s.Conn().RemotePeer()
	if !n.allowServe(remote) {
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(n.cfg.SyncTimeout))
	docs, err := readRequest(bufio.NewReader(io.LimitReader(s, 3+MaxSyncDocs*32)))
	if err != nil {
		n.log.Debug("bad catch-up request", "peer", remote, "err", err)
		_ = s.Reset()
		return
	}
	var answers [][]byte
	for _, d := range docs {
		raw, found, err := n.store.Get(d)
		if err != nil {
			n.log.Error("catch-up: read metadata", "err", err)
			_ = s.Reset()
			return
		}
		if found && len(raw) > 0 && len(raw) <= tx.MaxMetaBytes {
			answers = append(answers, raw)
		}
	}
	w := bufio.NewWriter(s)
	if err := writeResponse(w, answers); err != nil || w.Flush() != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

func readRequest(r io.Reader) ([][32]byte, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: request header: %v", errSyncProtocol, err)
	}
	count := int(binary.BigEndian.Uint16(hdr[1:]))
	if hdr[0] != syncVersion || count == 0 || count > MaxSyncDocs {
		return nil, fmt.Errorf("%w: request version %d, count %d", errSyncProtocol, hdr[0], count)
	}
	docs := make([][32]byte, count)
	for i := range docs {
		if _, err := io.ReadFull(r, docs[i][:]); err != nil {
			return nil, fmt.Errorf("%w: request: %v", errSyncProtocol, err)
		}
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("%w: bytes after the request", errSyncProtocol)
	}
	return docs, nil
}

func writeRequest(w io.Writer, docs [][32]byte) error {
	b := make([]byte, 0, 3+32*len(docs))
	b = append(b, syncVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(docs)))
	for _, d := range docs {
		b = append(b, d[:]...)
	}
	_, err := w.Write(b)
	return err
}

func writeResponse(w io.Writer, answers [][]byte) error {
	b := []byte{syncVersion}
	b = binary.BigEndian.AppendUint16(b, uint16(len(answers)))
	if _, err := w.Write(b); err != nil {
		return err
	}
	for _, a := range answers {
		if _, err := w.Write(binary.BigEndian.AppendUint16(nil, uint16(len(a)))); err != nil {
			return err
		}
		if _, err := w.Write(a); err != nil {
			return err
		}
	}
	return nil
}

// readResponse reads an answer to a request for asked documents.
func readResponse(r io.Reader, asked int) ([][]byte, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	count := int(binary.BigEndian.Uint16(hdr[1:]))
	if hdr[0] != syncVersion || count > asked {
		return nil, fmt.Errorf("%w: response version %d, count %d for %d asked", errSyncProtocol, hdr[0], count, asked)
	}
	out := make([][]byte, 0, count)
	for i := 0; i < count; i++ {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return out, fmt.Errorf("response message %d: %w", i, err)
		}
		size := int(binary.BigEndian.Uint16(l[:]))
		if size == 0 || size > tx.MaxMetaBytes {
			return out, fmt.Errorf("%w: response message of %d bytes", errSyncProtocol, size)
		}
		raw := make([]byte, size)
		if _, err := io.ReadFull(r, raw); err != nil {
			return out, fmt.Errorf("response message %d: %w", i, err)
		}
		out = append(out, raw)
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return out, fmt.Errorf("%w: bytes after the response", errSyncProtocol)
	}
	return out, nil
}

// request asks peer p for the metadata of docs.
func (n *Node) request(ctx context.Context, p peer.ID, docs [][32]byte) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SyncTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, protocol.ID(SyncProtocol(n.cfg.ChainID)))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	if err := writeRequest(s, docs); err != nil {
		_ = s.Reset()
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, err
	}
	limit := int64(3 + len(docs)*(2+tx.MaxMetaBytes) + 1)
	answers, err := readResponse(bufio.NewReader(io.LimitReader(s, limit)), len(docs))
	if err != nil {
		// A broken answer is dropped whole, valid messages in it included.
		_ = s.Reset()
		return nil, err
	}
	return answers, nil
}

// fetch asks the connected peers, one after the other, for the metadata of docs (at most MaxSyncDocs),
// stores what is valid and returns how many it stored.
func (n *Node) fetch(ctx context.Context, docs [][32]byte) int {
	want := make(map[[32]byte]bool, len(docs))
	for _, d := range docs {
		want[d] = true
	}
	peers := n.host.Network().Peers()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	fetched := 0
	for _, p := range peers {
		if len(want) == 0 || ctx.Err() != nil {
			break
		}
		ask := make([][32]byte, 0, len(want))
		for _, d := range docs {
			if want[d] {
				ask = append(ask, d)
			}
		}
		answers, err := n.request(ctx, p, ask)
		if errors.Is(err, errSyncProtocol) {
			n.penalties.add(p, syncPenalty)
			n.log.Info("catch-up answer rejected", "peer", p, "err", err)
		}
		for _, raw := range answers {
			m, v, ok := decode(raw)
			if ok && !want[m.DocHash] {
				v, ok = reject(ReasonUnrequested, fmt.Errorf("document %x", m.DocHash[:8])), false
			}
			if ok {
				v = n.admit(ctx, m, raw, false, ViaSync)
			}
			n.count(v, ViaSync, p)
			switch v.outcome {
			case stored:
				fetched++
				delete(want, m.DocHash)
			case duplicate:
				delete(want, m.DocHash)
			case rejected:
				n.penalties.add(p, syncPenalty)
			}
		}
	}
	return fetched
}

// round runs one catch-up round: it reads the anchors with a metadata digest from the chain, full from
// the first one or on from where the last round ended, and fetches the metadata it lacks from peers.
func (n *Node) round(ctx context.Context, full bool) (Progress, error) {
	n.sync.roundMu.Lock()
	defer n.sync.roundMu.Unlock()
	from := n.sync.cursor
	if full {
		from = 0
	}
	p := Progress{Full: full}
	for {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		docs, next, err := n.chain.MetaAnchors(from, syncPage)
		if err != nil {
			return p, fmt.Errorf("p2p: catch-up: list anchors: %w", err)
		}
		var missing [][32]byte
		for _, d := range docs {
			has, err := n.store.Has(d)
			if err != nil {
				return p, fmt.Errorf("p2p: catch-up: %w", err)
			}
			if !has {
				missing = append(missing, d)
			}
		}
		p.Scanned += len(docs)
		p.Missing += len(missing)
		for len(missing) > 0 && n.Peers() > 0 {
			chunk := missing[:min(len(missing), MaxSyncDocs)]
			missing = missing[len(chunk):]
			p.Fetched += n.fetch(ctx, chunk)
			n.metrics.CatchUp(p)
		}
		from = next
		if len(docs) < syncPage {
			break
		}
		n.metrics.CatchUp(p)
	}
	n.sync.cursor = from
	p.Done = true
	n.metrics.CatchUp(p)
	if p.Missing > 0 {
		n.log.Info("catch-up round done", "full", full, "scanned", p.Scanned, "missing", p.Missing, "fetched", p.Fetched)
	}
	return p, nil
}

// CatchUp runs a full catch-up round now: it asks peers for the metadata of every anchor whose
// metadata is not stored here, and returns when it has asked. The node runs such rounds by itself at
// start, when peers connect, and periodically; CatchUp is for after the store was wiped, or for tests.
func (n *Node) CatchUp(ctx context.Context) (Progress, error) {
	if n.ctx.Err() != nil {
		return Progress{}, errClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(n.ctx, cancel)
	defer stop()
	return n.round(ctx, true)
}

// syncLoop runs catch-up rounds: a full one at start and when a peer connects (at most one every
// Config.ResyncInterval); one for the anchors committed since the last round Config.CommitSyncDelay
// after a block committed some (metadata that gossip brings in the meantime is not fetched); and one
// every Config.SyncInterval, every tenth of them a full one.
func (n *Node) syncLoop() {
	run := func(full bool) {
		if _, err := n.round(n.ctx, full); err != nil && n.ctx.Err() == nil {
			n.log.Error("catch-up round failed", "err", err)
		}
	}
	run(true)
	tick := time.NewTicker(n.cfg.SyncInterval)
	defer tick.Stop()
	// deferred fires when a full round asked for too soon after the last may run; nil while none is due.
	var deferred <-chan time.Time
	for rounds := 1; ; {
		select {
		case <-n.ctx.Done():
			return
		case <-n.sync.full:
			if deferred != nil {
				continue // one is due already
			}
			// Not Wait: the loop must go on serving the other triggers meanwhile.
			if d := n.sync.fullLimit.Reserve().Delay(); d > 0 {
				deferred = time.After(d)
				continue
			}
			run(true)
		case <-deferred:
			deferred = nil
			run(true)
		case <-n.sync.committed:
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(n.cfg.CommitSyncDelay):
			}
			// Blocks that commit during the delay are covered by this round.
			select {
			case <-n.sync.committed:
			default:
			}
			run(false)
		case <-tick.C:
			run(rounds%fullEvery == 0)
			rounds++
		}
	}
}
