package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// The end-to-end fault suite runs real `siegel start` processes (this test binary re-executed) on
// loopback. Its short form runs in `make test`; SIEGEL_E2E_LONG=1 (`make e2e`) runs the long form.

func e2eLong() bool { return os.Getenv("SIEGEL_E2E_LONG") == "1" }

// procNet is a testnet whose nodes run as processes.
type procNet struct {
	dir   string
	spec  *testnetSpec
	procs []*exec.Cmd
}

func newProcNet(t *testing.T, n int) *procNet {
	t.Helper()
	dir := t.TempDir()
	// E2E_DIR=/some/dir keeps the nodes' homes and logs in a new directory under it, for a look after a
	// failure.
	if d := os.Getenv("E2E_DIR"); d != "" {
		kept, err := os.MkdirTemp(d, strings.ReplaceAll(t.Name(), "/", "_")+"-")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("nodes' homes kept in %s", kept)
		dir = kept
	}
	spec, err := initTestnet(dir, freeLayout(t, dir, n), n, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	pn := &procNet{dir: dir, spec: spec, procs: make([]*exec.Cmd, n)}
	t.Cleanup(func() {
		for i := range pn.procs {
			pn.kill(i)
		}
	})
	for i := range spec.Nodes {
		pn.start(t, i)
	}
	return pn
}

func (pn *procNet) start(t *testing.T, i int) {
	t.Helper()
	nd := pn.spec.Nodes[i]
	c := pn.startWith(t, i)
	pn.procs[i] = c
	go func() { _ = c.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := pn.height(i); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 60 s (log %s)", nd.Name, filepath.Join(nd.Home, "node.log"))
}

// kill stops node i with SIGKILL (no clean shutdown).
func (pn *procNet) kill(i int) {
	if c := pn.procs[i]; c != nil && c.Process != nil {
		_ = c.Process.Signal(syscall.SIGKILL)
		pn.procs[i] = nil
	}
}

// stop stops node i with SIGTERM and waits until its API is gone.
func (pn *procNet) stop(t *testing.T, i int) {
	t.Helper()
	if c := pn.procs[i]; c != nil {
		_ = c.Process.Signal(syscall.SIGTERM)
		pn.procs[i] = nil
	}
	for k := 0; k < 300; k++ {
		if _, err := pn.height(i); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node%d did not stop", i)
}

func (pn *procNet) height(i int) (uint64, error) {
	c := api.NewClient("http://" + pn.spec.Nodes[i].API)
	c.Retry = 0
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	return st.Height, err
}

// waitHeight waits until node i reaches height h.
func (pn *procNet) waitHeight(t *testing.T, i int, h uint64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if got, err := pn.height(i); err == nil && got >= h {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, err := pn.height(i)
	t.Fatalf("node%d at height %d (%v), not %d, after %s", i, got, err, h, within)
}

// checkpointHash returns the hash of node i's checkpoint of height h (its app hash at h).
func (pn *procNet) checkpointHash(i int, h uint64) (string, error) {
	resp, err := http.Get(fmt.Sprintf("http://%s/v1/checkpoints/consistency?from=%d&to=%d", pn.spec.Nodes[i].API, h, h))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var v api.ConsistencyView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	ch := v.To.Hash()
	return fmt.Sprintf("%x", ch), nil
}

// catchUp waits, up to within, until node i reaches the height node j is at now, and returns it.
func (pn *procNet) catchUp(t *testing.T, i, j int, within time.Duration) uint64 {
	t.Helper()
	top, err := pn.height(j)
	if err != nil {
		t.Fatal(err)
	}
	pn.waitHeight(t, i, top, within)
	return top
}

// sameCheckpoints fails unless nodes a and b have the same checkpoint at every height below end.
func (pn *procNet) sameCheckpoints(t *testing.T, a, b int, end uint64) {
	t.Helper()
	for hh := uint64(1); hh < end; hh++ {
		ca, err1 := pn.checkpointHash(a, hh)
		cb, err2 := pn.checkpointHash(b, hh)
		if err1 != nil || err2 != nil || ca != cb {
			t.Fatalf("checkpoint %d: node%d %s (%v), node%d %s (%v)", hh, a, ca, err1, b, cb, err2)
		}
	}
}

// load anchors batches of fresh hashes through the agency APIs of the given nodes (with failover)
// until ctx ends, and returns every result the clients were told is committed.
func (pn *procNet) load(ctx context.Context, t *testing.T, nodes []int, batch int, every time.Duration) []anchorResult {
	key, err := loadKey(filepath.Join(pn.dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, i := range nodes {
		urls = append(urls, "http://"+pn.spec.Nodes[i].Agency)
	}
	var mu sync.Mutex
	var acked []anchorResult
	var wg sync.WaitGroup
	tick := time.NewTicker(every)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return acked
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := api.NewClient(urls...)
			c.Retry = 20 * time.Second
			sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := anchorDocuments(sctx, c, key, docs(fmt.Sprintf("%s-%d", t.Name(), seq), batch), 100)
			if err != nil {
				return // not acknowledged: nothing is promised
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range res {
				if r.Status == api.SubmitCommitted {
					acked = append(acked, r)
				}
			}
		}()
	}
}

// TestE2EKillUnderLoad: under load, one of 4 validators is killed with SIGKILL; the others keep
// committing; it restarts and catches up, with the same checkpoint (app hash) at every height; and
// every anchor a client was told is committed is on every node with the same record.
func TestE2EKillUnderLoad(t *testing.T) {
	pn := newProcNet(t, 4)
	loadFor, batch := 9*time.Second, 20
	if e2eLong() {
		loadFor, batch = 60*time.Second, 100
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadFor)
	defer cancel()
	ackc := make(chan []anchorResult, 1)
	go func() { ackc <- pn.load(ctx, t, []int{1, 2, 3}, batch, 100*time.Millisecond) }()

	time.Sleep(loadFor / 3)
	pn.kill(0)
	h, err := pn.height(1)
	if err != nil {
		t.Fatal(err)
	}
	pn.waitHeight(t, 1, h+3, 20*time.Second) // the other three go on
	time.Sleep(loadFor / 3)
	pn.start(t, 0)
	acked := <-ackc

	top, err := pn.height(1)
	if err != nil {
		t.Fatal(err)
	}
	pn.waitHeight(t, 0, top, 60*time.Second)
	for hh := uint64(1); hh < top; hh++ {
		want, err := pn.checkpointHash(1, hh)
		if err != nil {
			t.Fatalf("node1 checkpoint %d: %v", hh, err)
		}
		for i := range 4 {
			if got, err := pn.checkpointHash(i, hh); err != nil || got != want {
				t.Fatalf("node%d checkpoint %d = %s (%v), node1 has %s", i, hh, got, err, want)
			}
		}
	}
	least := 1000
	if e2eLong() {
		least = 10000
	}
	if len(acked) < least {
		t.Fatalf("only %d anchors acknowledged under load, want at least %d for the check to mean something", len(acked), least)
	}
	for i := range 4 {
		c := api.NewClient("http://" + pn.spec.Nodes[i].API)
		for _, r := range acked {
			h, _ := api.ParseHash(r.Hash)
			v, found, err := c.Anchor(context.Background(), h)
			if err != nil || !found || v.Height != r.Height || v.TxHash != r.TxHash {
				t.Fatalf("node%d lost acknowledged anchor %s (height %d): found=%v %+v %v", i, r.Document, r.Height, found, v, err)
			}
		}
	}
	t.Logf("%d acknowledged anchors present on all 4 nodes; checkpoints agree up to height %d", len(acked), top)
}

// TestE2EHaltAndResume: with 2 of 4 validators stopped, commits halt (and nothing forks); when they
// return, commits resume.
func TestE2EHaltAndResume(t *testing.T) {
	pn := newProcNet(t, 4)
	pn.waitHeight(t, 0, 3, 30*time.Second)
	pn.stop(t, 2)
	pn.stop(t, 3)
	time.Sleep(3 * time.Second) // let a block in flight finish
	h1, err := pn.height(0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	h2, err := pn.height(0)
	if err != nil {
		t.Fatal(err)
	}
	if h2 > h1 {
		t.Fatalf("with 2 of 4 validators down the chain went on from %d to %d", h1, h2)
	}
	pn.start(t, 2)
	pn.start(t, 3)
	pn.waitHeight(t, 0, h2+3, 60*time.Second)
	pn.sameCheckpoints(t, 0, 3, h2+1)
}

// startWith starts node i with extra environment (the kill switch) and returns without waiting.
func (pn *procNet) startWith(t *testing.T, i int, env ...string) *exec.Cmd {
	t.Helper()
	nd := pn.spec.Nodes[i]
	logf, err := os.OpenFile(filepath.Join(nd.Home, "node.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c := exec.Command(os.Args[0], "start", "--home", nd.Home)
	c.Env = append(append(os.Environ(), "SIEGEL_TEST_EXEC=1"), env...)
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestE2ERepeatedCrashes kills one validator again and again at chosen points of block execution
// (after FinalizeBlock, before the application's write in Commit, after it), through the tests' kill
// switch; each time it restarts and recovers, and in the end it agrees with the others at every height.
func TestE2ERepeatedCrashes(t *testing.T) {
	pn := newProcNet(t, 4)
	points := []string{crashFinalize, crashCommit, crashSaved}
	rounds := 3
	if e2eLong() {
		rounds = 9
	}
	pn.waitHeight(t, 1, 3, 30*time.Second)
	for r := range rounds {
		pn.kill(0)
		h, err := pn.height(1)
		if err != nil {
			t.Fatal(err)
		}
		point := points[r%len(points)]
		at := h + 2 + uint64(r%2)
		c := pn.startWith(t, 0, fmt.Sprintf("%s=%s:%d", crashEnv, point, at))
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			ws, _ := c.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signal() != syscall.SIGKILL {
				t.Fatalf("round %d: node0 ended with %v, not by the kill switch at %s of block %d", r, err, point, at)
			}
		case <-time.After(60 * time.Second):
			_ = c.Process.Kill()
			t.Fatalf("round %d: the kill switch at %s of block %d did not fire", r, point, at)
		}
		t.Logf("round %d: killed at %s of block %d", r, point, at)
	}
	pn.start(t, 0)
	pn.sameCheckpoints(t, 0, 1, pn.catchUp(t, 0, 1, 60*time.Second))
}

// TestE2EWipedNodeRejoins: a validator whose data directory is wiped (all but its signing state, which
// must never be lost: it guards against double signing) rejoins by block sync and converges.
func TestE2EWipedNodeRejoins(t *testing.T) {
	pn := newProcNet(t, 4)
	pn.waitHeight(t, 0, 4, 30*time.Second)
	pn.stop(t, 0)
	data := filepath.Join(pn.spec.Nodes[0].Home, "data")
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "priv_validator_state.json" {
			if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	pn.start(t, 0)
	pn.sameCheckpoints(t, 0, 2, pn.catchUp(t, 0, 1, 90*time.Second))
}
