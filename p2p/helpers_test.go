package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/siegel-notary/siegel/app/tx"
)

const testChainID = "siegel-test"

// key returns a deterministic ed25519 key for each label.
func key(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(k ed25519.PrivateKey) [32]byte { return [32]byte(k.Public().(ed25519.PublicKey)) }

// doc returns a distinct document hash for each label.
func doc(label string) [32]byte { return sha256.Sum256([]byte("document " + label)) }

// The agencies of the tests and their keys.
var (
	landKey    = key("land-registry key 1")
	landKey2   = key("land-registry key 2")
	landOldKey = key("land-registry retired key")
	taxKey     = key("tax-office key")
)

// meta returns signed metadata for doc(label) by land-registry with landKey.
func meta(label string) *tx.Metadata {
	return metaBy(label, "land-registry", landKey)
}

func metaBy(label, agency string, k ed25519.PrivateKey) *tx.Metadata {
	m := &tx.Metadata{
		ChainID:    testChainID,
		DocHash:    doc(label),
		AgencyID:   agency,
		Visibility: tx.Public,
		Fields: []tx.Field{
			{Key: tx.FieldDocType, Value: "deed"},
			{Key: tx.FieldTitle, Value: "Urkunde " + label},
		},
	}
	m.Sign(k)
	return m
}

// anchorOf is the anchor that land-registry commits, signed by landKey, for m.
func anchorOf(m *tx.Metadata) Anchor {
	d := m.Digest()
	return Anchor{Agency: "land-registry", Signer: pub(landKey), MetaDigest: &d}
}

// fakeChain is a Chain in memory.
type fakeChain struct {
	mu       sync.Mutex
	anchors  map[[32]byte]Anchor
	order    [][32]byte // anchors with a digest, in commit order
	keys     map[string][][32]byte
	retired  map[string][][32]byte
	notUp    bool // not caught up
	failures int  // MetaAnchors calls that failed
}

func newChain() *fakeChain {
	return &fakeChain{
		anchors: map[[32]byte]Anchor{},
		keys: map[string][][32]byte{
			"land-registry": {pub(landKey), pub(landKey2)},
			"tax-office":    {pub(taxKey)},
		},
		retired: map[string][][32]byte{"land-registry": {pub(landOldKey)}},
	}
}

// commit anchors doc.
func (c *fakeChain) commit(doc [32]byte, a Anchor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.anchors[doc]; ok {
		panic("anchored twice")
	}
	c.anchors[doc] = a
	if a.MetaDigest != nil {
		c.order = append(c.order, doc)
	}
}

// commitMeta anchors m's document with m's digest, as land-registry with landKey.
func (c *fakeChain) commitMeta(m *tx.Metadata) { c.commit(m.DocHash, anchorOf(m)) }

// commitMetas anchors several, as commitMeta does.
func (c *fakeChain) commitMetas(ms ...*tx.Metadata) {
	for _, m := range ms {
		c.commit(m.DocHash, anchorOf(m))
	}
}

func (c *fakeChain) Anchor(doc [32]byte) (Anchor, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.anchors[doc]
	return a, ok, nil
}

func (c *fakeChain) KeyStatus(agency string, key [32]byte) (KeyStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case slices.Contains(c.keys[agency], key):
		return KeyCurrent, nil
	case slices.Contains(c.retired[agency], key):
		return KeyPast, nil
	}
	return KeyUnknown, nil
}

// DocTypeAllowed limits tax-office to tax assessments; land-registry may issue any type.
func (c *fakeChain) DocTypeAllowed(agency, docType string) (bool, error) {
	return agency != "tax-office" || docType == "tax-assessment", nil
}

func (c *fakeChain) MetaAnchors(from uint64, limit int) ([][32]byte, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from > uint64(len(c.order)) {
		c.failures++
		return nil, from, fmt.Errorf("position %d beyond %d", from, len(c.order))
	}
	end := min(int(from)+limit, len(c.order))
	return slices.Clone(c.order[from:end]), uint64(end), nil
}

func (c *fakeChain) CaughtUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.notUp
}

// recStore is a MemStore that records when each document was stored.
type recStore struct {
	*MemStore
	mu sync.Mutex
	at map[[32]byte]time.Time
}

func newRecStore() *recStore { return &recStore{MemStore: NewMemStore(), at: map[[32]byte]time.Time{}} }

func (s *recStore) Put(doc [32]byte, raw []byte) error {
	s.mu.Lock()
	if _, ok := s.at[doc]; !ok {
		s.at[doc] = time.Now()
	}
	s.mu.Unlock()
	return s.MemStore.Put(doc, raw)
}

func (s *recStore) storedAt(doc [32]byte) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[doc]
	return t, ok
}

// testMetrics counts what a node reports.
type testMetrics struct {
	mu       sync.Mutex
	peers    int
	accepted map[Via]int
	rejected map[Reason]int
	ignored  map[Reason]int
	pending  int
	progress []Progress
}

func newMetrics() *testMetrics {
	return &testMetrics{accepted: map[Via]int{}, rejected: map[Reason]int{}, ignored: map[Reason]int{}}
}

func (m *testMetrics) Peers(n int)       { m.mu.Lock(); m.peers = n; m.mu.Unlock() }
func (m *testMetrics) Accepted(v Via)    { m.mu.Lock(); m.accepted[v]++; m.mu.Unlock() }
func (m *testMetrics) Rejected(r Reason) { m.mu.Lock(); m.rejected[r]++; m.mu.Unlock() }
func (m *testMetrics) Ignored(r Reason)  { m.mu.Lock(); m.ignored[r]++; m.mu.Unlock() }
func (m *testMetrics) Pending(n int)     { m.mu.Lock(); m.pending = n; m.mu.Unlock() }
func (m *testMetrics) CatchUp(p Progress) {
	m.mu.Lock()
	m.progress = append(m.progress, p)
	m.mu.Unlock()
}
func (m *testMetrics) get(f func() int) int { m.mu.Lock(); defer m.mu.Unlock(); return f() }

func (m *testMetrics) acceptedVia(v Via) int    { return m.get(func() int { return m.accepted[v] }) }
func (m *testMetrics) rejectedFor(r Reason) int { return m.get(func() int { return m.rejected[r] }) }
func (m *testMetrics) ignoredFor(r Reason) int  { return m.get(func() int { return m.ignored[r] }) }
func (m *testMetrics) pendingNow() int          { return m.get(func() int { return m.pending }) }

// roundsDone counts the finished catch-up rounds.
func (m *testMetrics) roundsDone() int {
	return m.get(func() int {
		n := 0
		for _, p := range m.progress {
			if p.Done {
				n++
			}
		}
		return n
	})
}
func (m *testMetrics) totalRejected() int {
	return m.get(func() int {
		n := 0
		for _, v := range m.rejected {
			n += v
		}
		return n
	})
}

// testNode is a Node with its chain, store and metrics.
type testNode struct {
	*Node
	chain   *fakeChain
	store   *recStore
	metrics *testMetrics
	cfg     Config
}

// testConfig returns a configuration for a node on loopback with fast timers; label names its key.
func testConfig(label string, bootstrap ...*testNode) Config {
	cfg := Config{
		ChainID:      testChainID,
		Key:          key("node " + label),
		ListenAddrs:  []string{"/ip4/127.0.0.1/tcp/0"},
		PendingTTL:   5 * time.Second,
		PendingPoll:  200 * time.Millisecond,
		SyncTimeout:  5 * time.Second,
		SyncInterval: time.Hour, // tests drive catch-up by start, peer connections and CatchUp
		heartbeat:    100 * time.Millisecond,
		scoreInspect: 50 * time.Millisecond,
	}
	for _, b := range bootstrap {
		cfg.Bootstrap = append(cfg.Bootstrap, b.Addrs()...)
	}
	return cfg
}

// startNode starts a node; chain and store may be nil for new ones.
func startNode(t *testing.T, cfg Config, chain *fakeChain, store *recStore) *testNode {
	t.Helper()
	if chain == nil {
		chain = newChain()
	}
	if store == nil {
		store = newRecStore()
	}
	m := newMetrics()
	n, err := New(context.Background(), cfg, chain, store, m)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return &testNode{Node: n, chain: chain, store: store, metrics: m, cfg: cfg}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inTopic waits until n sees want peers in the metadata topic.
func inTopic(t *testing.T, n *Node, want int) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d topic peers", want), func() bool {
		return len(n.ps.ListPeers(n.topicName)) >= want
	})
}

// rawPeer is a libp2p host with plain gossipsub on the metadata topic and no validation: a peer that
// sends whatever it is told to, and records whatever it receives.
type rawPeer struct {
	h     host.Host
	ps    *pubsub.PubSub
	topic *pubsub.Topic

	mu   sync.Mutex
	got  [][]byte
	subs *pubsub.Subscription
}

func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatalf("libp2p.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gs := pubsub.DefaultGossipSubParams()
	gs.HeartbeatInterval = 100 * time.Millisecond
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithGossipSubParams(gs), pubsub.WithFloodPublish(true))
	if err != nil {
		t.Fatalf("NewGossipSub: %v", err)
	}
	topic, err := ps.Join(Topic(testChainID))
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	r := &rawPeer{h: h, ps: ps, topic: topic, subs: sub}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			msg, err := sub.Next(ctx)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.got = append(r.got, msg.Data)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = h.Close()
	})
	return r
}

func (r *rawPeer) connect(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.h.Connect(ctx, peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

func (r *rawPeer) publish(t *testing.T, data []byte) {
	t.Helper()
	if err := r.topic.Publish(context.Background(), data); err != nil {
		t.Fatalf("raw publish: %v", err)
	}
}

// received reports whether the peer received data.
func (r *rawPeer) received(data []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.got, func(b []byte) bool { return string(b) == string(data) })
}

func (r *rawPeer) count(data []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.got {
		if string(b) == string(data) {
			n++
		}
	}
	return n
}

// warmUp sends fresh valid messages through send until one arrives (as arrived says): a mesh forms at
// heartbeats, and a message forwarded just before a peer is grafted reaches it only by catch-up.
// commit anchors each message wherever the test needs it.
func warmUp(t *testing.T, label string, commit func(*tx.Metadata), send func(*tx.Metadata), arrived func(*tx.Metadata) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		m := meta(fmt.Sprintf("warm-up %s %d", label, i))
		commit(m)
		send(m)
		for until := time.Now().Add(300 * time.Millisecond); time.Now().Before(until); time.Sleep(10 * time.Millisecond) {
			if arrived(m) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warm-up message arrived within 10s")
		}
	}
}
