package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freeAddr returns a loopback address with a port that was free a moment ago. Ports come from
// 20000-31999, below the kernel's ephemeral range (32768 and up), so that the outgoing connections of
// running nodes cannot take a port between the moment it is chosen and the moment a node binds it; no
// port is handed out twice in one test process.
func freeAddr(t testing.TB) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if ports[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ports[p] = true
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	t.Fatal("no free port found")
	return ""
}

// testNode is a dev node running in this process.
type testNode struct {
	home   string
	lf     listenFlags
	cancel context.CancelFunc
	done   chan error
	r      running
}

func newDevHome(t testing.TB) (string, listenFlags) {
	t.Helper()
	home := t.TempDir()
	lf := listenFlags{api: freeAddr(t), agency: freeAddr(t), metrics: freeAddr(t), p2p: freeAddr(t)}
	if err := ensureDevHome(home, lf); err != nil {
		t.Fatalf("init dev home: %v", err)
	}
	return home, lf
}

// startNode runs the node of home in a goroutine and waits until its listeners are up.
func startNode(t testing.TB, home string, lf listenFlags) *testNode {
	t.Helper()
	nc, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	lf.apply(&nc)
	nc.LogLevel = "warn"
	// Tests look up thousands of documents from loopback; the limit itself is tested in package api.
	nc.APIRateLimitExempt = append([]string(nil), loopback...)
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{home: home, lf: lf, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan running, 1)
	go func() { n.done <- runNode(ctx, home, nc, lf.overrides(), io.Discard, func(r running) { ready <- r }) }()
	select {
	case n.r = <-ready:
	case err := <-n.done:
		t.Fatalf("node did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("node did not start within 60 s")
	}
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *testNode) stop(t testing.TB) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("node did not stop within 30 s")
	}
}

func docs(prefix string, n int) []document {
	out := make([]document, n)
	for i := range out {
		name := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = document{Name: name, Hash: sha256.Sum256([]byte(name))}
	}
	return out
}

func checkAnchored(t *testing.T, ctx context.Context, c *api.Client, want []anchorResult) {
	t.Helper()
	for _, w := range want {
		h, _ := api.ParseHash(w.Hash)
		v, found, err := c.Anchor(ctx, h)
		if err != nil || !found {
			t.Fatalf("lookup of %s: found=%v err=%v", w.Document, found, err)
		}
		if v.Height != w.Height || v.TxHash != w.TxHash || v.Agency.ID != devAgencyID || v.Status != api.StatusAnchored {
			t.Fatalf("record of %s = %+v, want height %d tx %s by %s", w.Document, v, w.Height, w.TxHash, devAgencyID)
		}
	}
}

// TestAnchorVerifyRestart anchors batches on a real in-process node (CometBFT + Pebble + HTTP), verifies
// every hash, restarts the node on the same home and finds every anchor again.
func TestAnchorVerifyRestart(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(home, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	agency := api.NewClient(n.r.AgencyURL)
	public := api.NewClient(n.r.APIURL)

	// 2,100 documents: the client splits them into batches of the chain's maximum (1,000).
	batch := docs("restart", 2100)
	res, err := anchorDocuments(ctx, agency, key, batch, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d documents", len(res), len(batch))
	}
	txs := map[string]bool{}
	for _, r := range res {
		if r.Status != api.SubmitCommitted {
			t.Fatalf("%s: %s (%s) %s", r.Document, r.Status, r.Code, r.Message)
		}
		txs[r.TxHash] = true
	}
	if len(txs) != 3 {
		t.Errorf("2,100 documents went into %d transactions, want 3", len(txs))
	}
	checkAnchored(t, ctx, public, res)
	if _, found, err := public.Anchor(ctx, sha256.Sum256([]byte("never anchored"))); err != nil || found {
		t.Fatalf("unknown hash: found=%v err=%v", found, err)
	}
	before, err := public.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	n.stop(t)
	n = startNode(t, home, lf)
	after, err := public.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Height < before.Height || after.ChainID != before.ChainID {
		t.Fatalf("after restart: height %d chain %s; before: height %d chain %s", after.Height, after.ChainID, before.Height, before.ChainID)
	}
	checkAnchored(t, ctx, public, res)

	// The chain goes on: a new anchor commits at a greater height, and a repeat is refused.
	more, err := anchorDocuments(ctx, agency, key, docs("after-restart", 1), 100)
	if err != nil || more[0].Status != api.SubmitCommitted || more[0].Height <= before.Height {
		t.Fatalf("anchor after restart: %+v, %v (height before restart %d)", more, err, before.Height)
	}
	again, err := anchorDocuments(ctx, agency, key, batch[:1], 100)
	if err != nil || again[0].Status != api.SubmitRejected || again[0].Code != "duplicate_hash" {
		t.Fatalf("re-anchoring: %+v, %v; want rejected duplicate_hash", again, err)
	}
}
