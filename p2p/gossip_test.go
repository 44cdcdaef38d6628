package p2p

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
)

// TestGossipFourNodes publishes 50 messages at one of four nodes and checks that every other node
// stores every one, and how fast: the 95th percentile must be under 2 s.
func TestGossipFourNodes(t *testing.T) {
	chain := newChain()
	var nodes []*testNode
	for i := 0; i < 4; i++ {
		nodes = append(nodes, startNode(t, testConfig(fmt.Sprint(i), nodes...), chain, nil))
	}
	for _, n := range nodes {
		inTopic(t, n.Node, 3)
	}

	const count = 50
	var msgs []*tx.Metadata
	for i := 0; i < count; i++ {
		m := meta(fmt.Sprint("four-", i))
		chain.commitMeta(m)
		msgs = append(msgs, m)
	}
	sent := make([]time.Time, count)
	for i, m := range msgs {
		sent[i] = time.Now()
		if err := nodes[0].Publish(context.Background(), m.Encode()); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}

	var lat []time.Duration
	for _, n := range nodes[1:] {
		waitFor(t, 10*time.Second, "all messages at every node", func() bool { return n.store.Len() == count })
		for i, m := range msgs {
			at, _ := n.store.storedAt(m.DocHash)
			lat = append(lat, at.Sub(sent[i]))
			raw, _, _ := n.store.Get(m.DocHash)
			if string(raw) != string(m.Encode()) {
				t.Fatalf("node stored other bytes for message %d", i)
			}
		}
		if got := n.metrics.acceptedVia(ViaGossip) + n.metrics.acceptedVia(ViaSync); got != count {
			t.Errorf("node accepted %d messages, want %d", got, count)
		}
		if r := n.metrics.totalRejected(); r != 0 {
			t.Errorf("node rejected %d valid messages", r)
		}
	}
	if got := nodes[0].metrics.acceptedVia(ViaPublish); got != count {
		t.Errorf("publisher accepted %d, want %d", got, count)
	}
	slices.Sort(lat)
	p95 := lat[len(lat)*95/100]
	t.Logf("delivery to 3 nodes, %d messages: median %v, p95 %v, max %v", count, lat[len(lat)/2], p95, lat[len(lat)-1])
	if p95 >= 2*time.Second {
		t.Errorf("p95 delivery %v, want under 2s", p95)
	}
}

// TestGossipLine checks forwarding over several hops: nodes connected in a line a-b-c-d.
func TestGossipLine(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("a"), chain, nil)
	b := startNode(t, testConfig("b", a), chain, nil)
	c := startNode(t, testConfig("c", b), chain, nil)
	d := startNode(t, testConfig("d", c), chain, nil)
	inTopic(t, a.Node, 1)
	inTopic(t, d.Node, 1)
	warmUp(t, "line", chain.commitMeta, func(m *tx.Metadata) {
		if err := a.Publish(context.Background(), m.Encode()); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}, func(m *tx.Metadata) bool { ok, _ := d.store.Has(m.DocHash); return ok })
	m := meta("line")
	chain.commitMeta(m)
	if err := a.Publish(context.Background(), m.Encode()); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitFor(t, 10*time.Second, "the message at the end of the line", func() bool {
		ok, _ := d.store.Has(m.DocHash)
		return ok
	})
	for _, n := range []*testNode{b, c} {
		if ok, _ := n.store.Has(m.DocHash); !ok {
			t.Errorf("a node on the way did not store the message")
		}
	}
}

// TestPendingStoredWhenAnchorCommits sends metadata to a node that has not committed its anchor yet:
// the node holds it, stores it once the anchor commits, and only then forwards it.
func TestPendingStoredWhenAnchorCommits(t *testing.T) {
	pubChain, recvChain := newChain(), newChain()
	recv := startNode(t, testConfig("recv"), recvChain, nil)
	publisher := startNode(t, testConfig("pub", recv), pubChain, nil)
	behind := newRawPeer(t)
	behind.connect(t, recv.Node)
	inTopic(t, recv.Node, 2)
	inTopic(t, publisher.Node, 1)

	// First messages, anchored everywhere, show that the path to the peer behind works.
	warmUp(t, "pending", func(m *tx.Metadata) { pubChain.commitMeta(m); recvChain.commitMeta(m) }, func(m *tx.Metadata) {
		if err := publisher.Publish(context.Background(), m.Encode()); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}, func(m *tx.Metadata) bool { return behind.received(m.Encode()) })
	warm := recv.metrics.acceptedVia(ViaGossip)

	m := meta("pending")
	pubChain.commitMeta(m)
	if err := publisher.Publish(context.Background(), m.Encode()); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitFor(t, 5*time.Second, "the message to wait", func() bool { return recv.metrics.pendingNow() == 1 })
	time.Sleep(100 * time.Millisecond)
	if ok, _ := recv.store.Has(m.DocHash); ok || behind.received(m.Encode()) {
		t.Fatalf("message stored or forwarded before its anchor committed")
	}
	recvChain.commitMeta(m)
	start := time.Now()
	recv.NotifyCommitted([][32]byte{m.DocHash})
	waitFor(t, 5*time.Second, "the message stored after the commit", func() bool {
		ok, _ := recv.store.Has(m.DocHash)
		return ok
	})
	if d := time.Since(start); d > recv.cfg.PendingPoll {
		t.Errorf("stored %v after NotifyCommitted, want before the next poll", d)
	}
	waitFor(t, 5*time.Second, "the message forwarded", func() bool { return behind.received(m.Encode()) })
	waitFor(t, time.Second, "the queue to empty", func() bool { return recv.metrics.pendingNow() == 0 })
	if got := recv.metrics.acceptedVia(ViaGossip); got != warm+1 {
		t.Errorf("accepted %d by gossip, want %d", got, warm+1)
	}
}

// TestPendingPolls checks that a waiting message finds its anchor without NotifyCommitted.
func TestPendingPolls(t *testing.T) {
	chain := newChain()
	n := startNode(t, testConfig("poll"), chain, nil)
	m := meta("poll")
	done := make(chan error, 1)
	go func() { done <- n.Publish(context.Background(), m.Encode()) }()
	waitFor(t, 5*time.Second, "the message to wait", func() bool { return n.metrics.pendingNow() == 1 })
	chain.commitMeta(m)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Publish did not return after the anchor committed")
	}
}

// TestPendingQueueBounded fills the queue: the oldest waiting message is dropped.
func TestPendingQueueBounded(t *testing.T) {
	chain := newChain()
	cfg := testConfig("bounded")
	cfg.MaxPending = 2
	n := startNode(t, cfg, chain, nil)
	ms := []*tx.Metadata{meta("q0"), meta("q1"), meta("q2")}
	errs := make([]chan error, len(ms))
	for i, m := range ms {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- n.Publish(context.Background(), m.Encode()) }()
		waitFor(t, 5*time.Second, "the message to wait", func() bool {
			return n.metrics.pendingNow() == min(i+1, 2) && n.pending.len() == min(i+1, 2) &&
				(i < 2 || n.metrics.ignoredFor(ReasonQueueFull) == 1)
		})
	}
	if err := <-errs[0]; !errors.Is(err, ErrNotPublished) {
		t.Fatalf("oldest Publish = %v, want ErrNotPublished", err)
	}
	chain.commitMetas(ms[1], ms[2])
	n.NotifyCommitted([][32]byte{ms[1].DocHash, ms[2].DocHash})
	for _, c := range errs[1:] {
		if err := <-c; err != nil {
			t.Fatalf("Publish = %v", err)
		}
	}
	if n.store.Len() != 2 {
		t.Fatalf("stored %d, want 2", n.store.Len())
	}
}

// TestPublishRejects checks Publish's own validation.
func TestPublishRejects(t *testing.T) {
	chain := newChain()
	cfg := testConfig("publish")
	cfg.PendingTTL = 300 * time.Millisecond
	n := startNode(t, cfg, chain, nil)
	forged := meta("p-forged")
	chain.commitMeta(forged)
	forged.Signature[0] ^= 1
	other := meta("p-other")
	chain.commitMeta(other)
	other.Fields[1].Value = "changed"
	other.Sign(landKey)
	for _, tc := range []struct {
		name string
		raw  []byte
		want Reason
	}{
		{"malformed", []byte("x"), ReasonMalformed},
		{"oversized", make([]byte, tx.MaxMetaBytes+1), ReasonOversized},
		{"forged", forged.Encode(), ReasonBadSignature},
		{"digest mismatch", other.Encode(), ReasonDigestMismatch},
		{"never anchored", meta("p-never").Encode(), ReasonNotAnchored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := n.Publish(context.Background(), tc.raw)
			var re *RejectError
			if !errors.As(err, &re) || re.Reason != tc.want {
				t.Fatalf("Publish = %v, want a RejectError for %s", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Publish(ctx, meta("p-cancelled").Encode()); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("Publish with a cancelled context = %v, want ErrNotPublished", err)
	}
	// Publishing stored metadata again is fine.
	ok := meta("p-ok")
	chain.commitMeta(ok)
	for i := 0; i < 2; i++ {
		if err := n.Publish(context.Background(), ok.Encode()); err != nil {
			t.Fatalf("Publish #%d = %v", i, err)
		}
	}
	if got := n.metrics.acceptedVia(ViaPublish); got != 1 {
		t.Fatalf("accepted %d, want 1", got)
	}
}

// TestConcurrentPublish publishes from several nodes at once, for the race detector.
func TestConcurrentPublish(t *testing.T) {
	chain := newChain()
	a := startNode(t, testConfig("ca"), chain, nil)
	b := startNode(t, testConfig("cb", a), chain, nil)
	inTopic(t, a.Node, 1)
	inTopic(t, b.Node, 1)
	var wg sync.WaitGroup
	var ms []*tx.Metadata
	for i := 0; i < 20; i++ {
		m := meta(fmt.Sprint("conc-", i))
		chain.commitMeta(m)
		ms = append(ms, m)
	}
	for i, m := range ms {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Publish(context.Background(), m.Encode()); err != nil {
				t.Errorf("Publish: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, "every message at both nodes", func() bool { return n.store.Len() == len(ms) })
	}
}
