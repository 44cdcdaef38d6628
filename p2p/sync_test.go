package p2p

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/siegel-notary/siegel/app/tx"
)

// publishAll anchors n new messages on chain and publishes them at node, returning them.
func publishAll(t *testing.T, node *testNode, chain *fakeChain, prefix string, n int) []*tx.Metadata {
	t.Helper()
	var ms []*tx.Metadata
	for i := 0; i < n; i++ {
		m := meta(fmt.Sprint(prefix, i))
		chain.commitMeta(m)
		if err := node.Publish(context.Background(), m.Encode()); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ms = append(ms, m)
	}
	return ms
}

func hasAll(s *recStore, ms []*tx.Metadata) bool {
	for _, m := range ms {
		if ok, _ := s.Has(m.DocHash); !ok {
			return false
		}
	}
	return true
}

// TestLateJoinerCatchesUp starts a node after metadata was published: it fetches all of it from its
// peers through the catch-up protocol.
func TestLateJoinerCatchesUp(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("la"), chain, nil)
	b := startNode(t, testConfig("lb", a), chain, nil)
	inTopic(t, a.Node, 1)
	ms := publishAll(t, a, chain, "late-", 20)
	waitFor(t, 10*time.Second, "the second node to have everything", func() bool { return hasAll(b.store, ms) })

	late := startNode(t, testConfig("lc", a, b), chain, nil)
	waitFor(t, 10*time.Second, "the late node to catch up", func() bool { return hasAll(late.store, ms) })
	if got := late.metrics.acceptedVia(ViaSync); got != len(ms) {
		t.Errorf("late node accepted %d by catch-up, want %d", got, len(ms))
	}
	if r := late.metrics.totalRejected(); r != 0 {
		t.Errorf("late node rejected %d", r)
	}
}

// TestRestartCatchesUp stops a node, publishes while it is down, and restarts it with its store: it
// catches up on what it missed.
func TestRestartCatchesUp(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("ra"), chain, nil)
	b := startNode(t, testConfig("rb", a), chain, nil)
	cCfg := testConfig("rc", a, b)
	c := startNode(t, cCfg, chain, nil)
	inTopic(t, c.Node, 2)
	before := publishAll(t, a, chain, "before-", 5)
	waitFor(t, 10*time.Second, "the third node to have the first messages", func() bool { return hasAll(c.store, before) })

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	during := publishAll(t, a, chain, "during-", 10)
	waitFor(t, 10*time.Second, "the second node to have the new messages", func() bool { return hasAll(b.store, during) })
	if hasAll(c.store, during[:1]) {
		t.Fatalf("a stopped node received metadata")
	}

	restarted := startNode(t, cCfg, chain, c.store)
	waitFor(t, 10*time.Second, "the restarted node to catch up", func() bool { return hasAll(restarted.store, during) })
	if got := restarted.metrics.acceptedVia(ViaSync); got != len(during) {
		t.Errorf("restarted node accepted %d by catch-up, want %d", got, len(during))
	}
}

// TestWipedStoreRebuilds empties a running node's store and rebuilds it from a peer with CatchUp:
// more documents than one request holds, so that several requests are needed.
func TestWipedStoreRebuilds(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("wa"), chain, nil)
	b := startNode(t, testConfig("wb", a), chain, nil)
	const count = MaxSyncDocs + 44
	var ms []*tx.Metadata
	for i := 0; i < count; i++ {
		m := meta(fmt.Sprint("wiped-", i))
		chain.commitMeta(m)
		ms = append(ms, m)
		for _, n := range []*testNode{a, b} {
			if err := n.store.Put(m.DocHash, m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 10*time.Second, "the nodes to connect", func() bool { return b.Peers() == 1 })
	b.store.Clear()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := b.CatchUp(ctx)
	if err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	want := Progress{Full: true, Scanned: count, Missing: count, Fetched: count, Done: true}
	if p != want {
		t.Fatalf("CatchUp = %+v, want %+v", p, want)
	}
	if !hasAll(b.store, ms) || b.store.Len() != count {
		t.Fatalf("store holds %d of %d", b.store.Len(), count)
	}
	for _, m := range ms[:3] {
		raw, _, _ := b.store.Get(m.DocHash)
		if !bytes.Equal(raw, m.Encode()) {
			t.Fatalf("rebuilt store holds other bytes")
		}
	}
	// Nothing is missing now: another round asks nobody.
	if p, err := b.CatchUp(ctx); err != nil || p.Missing != 0 || p.Scanned != count {
		t.Fatalf("second CatchUp = %+v, %v", p, err)
	}
}

// TestCommitTriggersCatchUp: metadata that gossip never brought (it was published while the node was
// down or behind) is fetched soon after NotifyCommitted reports its anchor, not at the next periodic
// round (an hour away here).
func TestCommitTriggersCatchUp(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("ca"), chain, nil)
	cfg := testConfig("cb", a)
	cfg.CommitSyncDelay = 100 * time.Millisecond
	b := startNode(t, cfg, chain, nil)
	waitFor(t, 10*time.Second, "the nodes to connect", func() bool { return b.Peers() == 1 })
	time.Sleep(300 * time.Millisecond) // let the full round of the connection pass

	// put stores m at a only, as if a had received it while b was away, and commits its anchor.
	put := func(label string) *tx.Metadata {
		m := meta(label)
		if err := a.store.Put(m.DocHash, m.Encode()); err != nil {
			t.Fatal(err)
		}
		chain.commitMeta(m)
		return m
	}
	first := put("committed-1")
	b.NotifyCommitted([][32]byte{first.DocHash})
	waitFor(t, 10*time.Second, "b to fetch the metadata of the committed anchor", func() bool { return hasAll(b.store, []*tx.Metadata{first}) })

	// Without a notification nothing happens before the periodic round.
	second := put("committed-2")
	time.Sleep(time.Second)
	if hasAll(b.store, []*tx.Metadata{second}) {
		t.Fatal("b fetched metadata nobody told it about")
	}
	b.NotifyCommitted([][32]byte{second.DocHash})
	waitFor(t, 10*time.Second, "b to fetch the second", func() bool { return hasAll(b.store, []*tx.Metadata{second}) })
	if got := b.metrics.acceptedVia(ViaSync); got != 2 {
		t.Errorf("b accepted %d by catch-up, want 2", got)
	}
}

// rogue is a host that answers catch-up requests with whatever answer returns.
func rogue(t *testing.T, answer func(asked [][32]byte) []byte) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	h.SetStreamHandler(protocol.ID(SyncProtocol(testChainID)), func(s network.Stream) {
		defer s.Close()
		asked, err := readRequest(bufio.NewReader(s))
		if err != nil {
			_ = s.Reset()
			return
		}
		_, _ = s.Write(answer(asked))
	})
	return h
}

func response(msgs ...[]byte) []byte {
	var b bytes.Buffer
	if err := writeResponse(&b, msgs); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestCatchUpRejectsBadAnswers asks peers that answer with invalid metadata, metadata not asked for,
// or broken frames: nothing is stored, and the peer is penalised.
func TestCatchUpRejectsBadAnswers(t *testing.T) {
	wanted := meta("wanted")
	forged := *wanted
	forged.Signature[3] ^= 1
	unasked := meta("unasked")
	mismatch := meta("wanted")
	mismatch.Fields[1].Value = "not what was committed"
	mismatch.Sign(landKey)

	for _, tc := range []struct {
		name   string
		answer []byte
		reason Reason // counted rejection, if any
	}{
		{"forged", response(forged.Encode()), ReasonBadSignature},
		{"digest mismatch", response(mismatch.Encode()), ReasonDigestMismatch},
		{"not asked for", response(unasked.Encode()), ReasonUnrequested},
		{"malformed", response([]byte("garbage")), ReasonMalformed},
		{"more answers than asked", response(wanted.Encode(), wanted.Encode()), ""},
		{"bad version", append([]byte{9}, response(wanted.Encode())[1:]...), ""},
		{"trailing bytes", append(response(wanted.Encode()), 0), ""},
		{"oversized frame", append([]byte{1, 0, 1, 0xff, 0xff}, make([]byte, 100)...), ""},
		{"empty frame", []byte{1, 0, 1, 0, 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := newChain()
			chain.commitMeta(wanted)
			chain.commitMeta(unasked)
			r := rogue(t, func([][32]byte) []byte { return tc.answer })
			store := newRecStore()
			_ = store.Put(unasked.DocHash, unasked.Encode()) // so only wanted is asked for
			n := startNode(t, testConfig("asker-"+tc.name), chain, store)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.host.Connect(ctx, peer.AddrInfo{ID: r.ID(), Addrs: r.Addrs()}); err != nil {
				t.Fatal(err)
			}
			p, err := n.CatchUp(ctx)
			if err != nil {
				t.Fatalf("CatchUp: %v", err)
			}
			if ok, _ := n.store.Has(wanted.DocHash); ok || p.Fetched != 0 {
				t.Fatalf("stored metadata from a bad answer (%+v)", p)
			}
			// The round that the connection started may have asked too.
			if tc.reason != "" && n.metrics.rejectedFor(tc.reason) < 1 {
				t.Errorf("rejections %v, want one for %s", n.metrics.rejected, tc.reason)
			}
			if s := n.penalties.score(r.ID()); s >= 0 {
				t.Errorf("peer's application score %v, want below zero", s)
			}
		})
	}
}

// TestServeSyncChecksRequests sends broken requests to a node, and more requests than it serves.
func TestServeSyncChecksRequests(t *testing.T) {
	chain := newChain()
	m := meta("served")
	chain.commitMeta(m)
	cfg := testConfig("server")
	cfg.SyncServeRate = 10 // burst 20
	n := startNode(t, cfg, chain, nil)
	if err := n.store.Put(m.DocHash, m.Encode()); err != nil {
		t.Fatal(err)
	}
	client, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Connect(ctx, peer.AddrInfo{ID: n.ID(), Addrs: n.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	ask := func(req []byte) ([]byte, error) {
		s, err := client.NewStream(ctx, n.ID(), protocol.ID(SyncProtocol(testChainID)))
		if err != nil {
			return nil, err
		}
		defer s.Close()
		_ = s.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.Write(req); err != nil {
			return nil, err
		}
		if err := s.CloseWrite(); err != nil {
			return nil, err
		}
		return io.ReadAll(s)
	}
	good := func(docs ...[32]byte) []byte {
		var b bytes.Buffer
		_ = writeRequest(&b, docs)
		return b.Bytes()
	}
	// A good request, answered with the one message the node has.
	got, err := ask(good(m.DocHash, doc("absent")))
	if err != nil || !bytes.Equal(got, response(m.Encode())) {
		t.Fatalf("answer %x, %v; want %x", got, err, response(m.Encode()))
	}
	// Broken requests get no answer.
	for _, req := range [][]byte{
		{1, 0, 0},
		append([]byte{2, 0, 1}, make([]byte, 32)...),
		append([]byte{1, 0, 2}, make([]byte, 32)...),
		append(good(m.DocHash), 0),
		append([]byte{1, 1, 1}, make([]byte, 257*32)...),
	} {
		if got, err := ask(req); err == nil || len(got) != 0 {
			t.Errorf("request %x: answer %x, %v; want a reset", req[:3], got, err)
		}
	}
	// Beyond the rate: reset.
	var reset int
	for i := 0; i < 30; i++ {
		if _, err := ask(good(m.DocHash)); err != nil {
			reset++
		}
	}
	if reset == 0 {
		t.Errorf("no request beyond the rate was refused")
	}
}
