package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// anchorer anchors small batches of documents one after another in the background until stopped.
type anchorer struct {
	mu       sync.Mutex
	anchored []anchorResult
	stop     chan struct{}
	done     chan error
}

func startAnchoring(ctx context.Context, c *api.Client, key ed25519.PrivateKey, prefix string) *anchorer {
	a := &anchorer{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-a.stop:
				a.done <- nil
				return
			default:
			}
			res, err := anchorDocuments(ctx, c, key, docs(fmt.Sprintf("%s-%d", prefix, i), 3), 100)
			if err != nil {
				a.done <- err
				return
			}
			for _, r := range res {
				if r.Status != api.SubmitCommitted {
					a.done <- fmt.Errorf("%s: %s (%s) %s", r.Document, r.Status, r.Code, r.Message)
					return
				}
			}
			a.mu.Lock()
			a.anchored = append(a.anchored, res...)
			a.mu.Unlock()
		}
	}()
	return a
}

// count is how many documents are anchored so far.
func (a *anchorer) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.anchored)
}

// waitFor waits until at least n documents are anchored.
func (a *anchorer) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for a.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d documents anchored after %s, want %d", a.count(), within, n)
		}
		select {
		case err := <-a.done:
			t.Fatalf("anchoring stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// finish stops anchoring and returns every document anchored.
func (a *anchorer) finish(t *testing.T) []anchorResult {
	t.Helper()
	close(a.stop)
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("anchoring: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("anchoring did not stop")
	}
	return a.anchored
}

// split separates the anchors committed at or below height h from the later ones.
func split(all []anchorResult, h int64) (kept, later []anchorResult) {
	for _, r := range all {
		if r.Height <= uint64(h) {
			kept = append(kept, r)
		} else {
			later = append(later, r)
		}
	}
	return kept, later
}

// checkLookupsAndReceipts finds every anchor of want on c with its height, transaction and agency, and
// checks a receipt of each, verified offline from the genesis of home, proves the same record.
func checkLookupsAndReceipts(t *testing.T, ctx context.Context, c *api.Client, home, agency string, want []anchorResult) {
	t.Helper()
	gen, err := os.ReadFile(consensus.GenesisFile(home))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := receipt.TrustRootFromGenesis(gen)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		h, _ := api.ParseHash(w.Hash)
		v, found, err := c.Anchor(ctx, h)
		if err != nil || !found {
			t.Fatalf("lookup of %s: found=%v err=%v", w.Document, found, err)
		}
		if v.Height != w.Height || v.TxHash != w.TxHash || v.Agency.ID != agency || v.Status != api.StatusAnchored {
			t.Fatalf("record of %s = %+v, want height %d tx %s by %s", w.Document, v, w.Height, w.TxHash, agency)
		}
		r := waitReceipt(t, ctx, c, h, w.Height)
		got, err := receipt.Verify(r, trust)
		if err != nil {
			t.Fatalf("receipt of %s: %v", w.Document, err)
		}
		if got.State != receipt.StateAnchored || got.Record.Height != w.Height || got.Record.Agency != agency ||
			hex.EncodeToString(got.Record.TxHash[:]) != w.TxHash {
			t.Fatalf("receipt of %s proves %+v, want anchored at %d in %s by %s", w.Document, got.Record, w.Height, w.TxHash, agency)
		}
	}
}

// waitPublicHeight waits until the node behind c reports at least height h.
func waitPublicHeight(t *testing.T, ctx context.Context, c *api.Client, h uint64) uint64 {
	t.Helper()
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h {
			return st.Height
		}
		select {
		case <-ctx.Done():
			t.Fatalf("height %d not reached: last %d, %v (%v)", h, st.Height, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestBackupRestoreDev backs up a one-validator development node while documents are being anchored,
// stops it, restores the backup into a new home and starts that: the chain goes on from the backup's
// height; every document anchored up to it is found, with a receipt that verifies offline; those
// anchored later on the old node are gone (a sole validator restored rewinds the chain). A truncated or
// altered copy of the same backup is refused and leaves nothing behind.
func TestBackupRestoreDev(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(home, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	a := startAnchoring(ctx, api.NewClient(n.r.AgencyURL), key, "dev")
	a.waitFor(t, 30, 30*time.Second)
	out := filepath.Join(t.TempDir(), "dev.backup.tar.gz")

	// siegel.toml changed under the running validator to say full_node: the node copies a validator's
	// files, the command would pack a replica's; it refuses, and writes nothing.
	tomlBytes, err := os.ReadFile(nodeConfigPath(home))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	nc.FullNode = true
	if err := saveNodeConfig(home, nc); err != nil {
		t.Fatal(err)
	}
	if _, err := runBackup(ctx, home, out); err == nil || !strings.Contains(err.Error(), "siegel.toml was changed since it started") {
		t.Fatalf("backup with full_node set under a running validator: %v", err)
	}
	if err := os.WriteFile(nodeConfigPath(home), tomlBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused backup left %s (%v)", out, err)
	}

	d, err := runBackup(ctx, home, out)
	if err != nil {
		t.Fatal(err)
	}
	m := d.m
	before := a.count()
	a.waitFor(t, before+6, 30*time.Second) // anchoring went on
	all := a.finish(t)
	kept, later := split(all, m.Height)
	t.Logf("backup at height %d: %d files, %d bytes, sha256 %s, consensus paused %s; %d documents anchored up to it, %d after",
		m.Height, len(m.Files), d.size, d.sum, d.pause, len(kept), len(later))
	if len(kept) == 0 || len(later) == 0 {
		t.Fatalf("want documents anchored both before and after the backup's height %d: %d and %d", m.Height, len(kept), len(later))
	}
	if !m.soleValidator() || m.ChainID != devChainID || m.FullNode || d.gossipID == "" {
		t.Fatalf("manifest: %+v, gossip peer ID %q", m, d.gossipID)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(home, backupDirPrefix+"*")); len(left) > 0 {
		t.Fatalf("the backup's copy was left in the home: %v", left)
	}
	n.stop(t)

	// Damaged copies of the real backup are refused, and leave no home behind.
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"truncated": raw[:len(raw)/2],
		"flipped":   flipByte(raw, len(raw)*3/4),
	} {
		bad := filepath.Join(t.TempDir(), name+".tar.gz")
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "home")
		_, err := runRestore(bad, target, "", true)
		if err == nil || !(strings.Contains(err.Error(), "truncated") || strings.Contains(err.Error(), "corrupt")) {
			t.Fatalf("%s backup: %v, want truncated or corrupt", name, err)
		}
		if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
			t.Fatalf("%s backup: %s left behind (%v)", name, target, serr)
		}
		t.Logf("%s backup refused: %v", name, err)
	}

	// The original's sign state is beyond the backup: a sole validator restored under it could sign no
	// block again, so restore refuses it.
	origState := filepath.Join(home, "data", "priv_validator_state.json")
	target := filepath.Join(t.TempDir(), "home")
	if _, err := runRestore(out, target, origState, true); err == nil || !strings.Contains(err.Error(), "only validator") {
		t.Fatalf("restore of a sole validator with a newer sign state: %v", err)
	}
	if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("refused restore left %s (%v)", target, serr)
	}

	// Without --sole-validator-rewind, the backup of the network's only validator is refused (two
	// histories that both verify), with the better path, and nothing is left behind.
	if _, err := runRestore(out, target, "", false); !errors.Is(err, errSoleValidator) ||
		!strings.Contains(err.Error(), "--sole-validator-rewind") || !strings.Contains(err.Error(), "read replica's data/") {
		t.Fatalf("restore of a sole validator without --sole-validator-rewind: %v", err)
	}
	if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("refused restore left %s (%v)", target, serr)
	}
	if cli, code := runCLI(t, "restore", "--in", out, "--home", target); code != 2 || !strings.Contains(cli, "REWINDS THE CHAIN") {
		t.Fatalf("siegel restore of a sole validator without --sole-validator-rewind: exit %d\n%s", code, cli)
	} else {
		t.Logf("refused: %s", cli)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	res, err := runRestore(out, restored, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.DoubleSignCheck != 0 {
		t.Fatalf("a sole validator's restore set double_sign_check_height %d: it could never start", res.DoubleSignCheck)
	}
	// Why not for a sole validator: with the check, CometBFT finds the validator's own signatures in the
	// last commits and refuses to start (a separate process, as a node that refuses to start is
	// not cleaned up in-process).
	checked := filepath.Join(t.TempDir(), "checked")
	if _, err := runRestore(out, checked, "", true); err != nil {
		t.Fatal(err)
	}
	if err := consensus.SetDoubleSignCheckHeight(checked, restoreDoubleSignCheck); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
	defer pcancel()
	start := exec.CommandContext(pctx, os.Args[0], "start", "--home", checked, "--api-addr", freeAddr(t), "--agency-addr", freeAddr(t),
		"--metrics-addr", freeAddr(t), "--p2p-addr", freeAddr(t))
	start.Env = append(os.Environ(), "SIEGEL_TEST_EXEC=1")
	sout, err := start.CombinedOutput()
	if err == nil || !strings.Contains(string(sout), "found signature from the same key") {
		t.Fatalf("a sole validator with double_sign_check_height = %d: %v, want a refusal to start\n%s", restoreDoubleSignCheck, err, lastLines(sout, 5))
	}
	t.Logf("with double_sign_check_height = %d: %v: %s", restoreDoubleSignCheck, err, lastLines(sout, 1))

	lf2 := listenFlags{api: freeAddr(t), agency: freeAddr(t), metrics: freeAddr(t), p2p: freeAddr(t)}
	n2 := startNode(t, restored, lf2)
	public := api.NewClient(n2.r.APIURL)
	waitPublicHeight(t, ctx, public, uint64(m.Height)+3)
	checkLookupsAndReceipts(t, ctx, public, restored, devAgencyID, kept)
	for _, r := range later {
		h, _ := api.ParseHash(r.Hash)
		if _, found, err := public.Anchor(ctx, h); err != nil || found {
			t.Fatalf("%s, anchored at %d after the backup's height %d on the old node: found=%v err=%v", r.Document, r.Height, m.Height, found, err)
		}
	}
	more, err := anchorDocuments(ctx, api.NewClient(n2.r.AgencyURL), key, docs("after-restore", 2), 100)
	if err != nil || more[0].Status != api.SubmitCommitted || more[0].Height <= uint64(m.Height) {
		t.Fatalf("anchor after restore: %+v, %v", more, err)
	}
	checkLookupsAndReceipts(t, ctx, public, restored, devAgencyID, more)
}

// TestBackupChecksHome: a validator's home without its key is not backed up (before the node is even
// asked); a replica's home, which has no validator key, passes that check. A gossip key configured
// outside config/ is not copied, and the backup says so.
func TestBackupChecksHome(t *testing.T) {
	home, _ := newDevHome(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	ctx := context.Background()
	if err := os.Remove(filepath.Join(home, "config", validatorKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := runBackup(ctx, home, out); err == nil || !strings.Contains(err.Error(), "not a complete node home") ||
		!strings.Contains(err.Error(), validatorKeyFile) {
		t.Fatalf("backup of a validator without its key: %v", err)
	}
	nc, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	nc.FullNode = true
	if err := saveNodeConfig(home, nc); err != nil {
		t.Fatal(err)
	}
	if _, err := runBackup(ctx, home, out); !errors.Is(err, errNotRunning) {
		t.Fatalf("backup of a replica's home, not running: %v, want %v", err, errNotRunning)
	}

	for _, c := range []struct {
		file, copied, note string
	}{
		{filepath.Join("config", gossipKeyName), "", "the home has no config/gossip.key"},
		{"/etc/siegel/gossip.key", "", "/etc/siegel/gossip.key (siegel.toml gossip_key_file is not config/gossip.key)"},
		{"gossip.key", "", "gossip_key_file is not config/gossip.key"},
	} {
		nc.GossipKeyFile = c.file
		p, note, err := gossipKeyToCopy(home, nc)
		if err != nil || p != c.copied || !strings.Contains(note, c.note) {
			t.Errorf("gossip_key_file %s: %q, %q, %v; want %q and a note %q", c.file, p, note, err, c.copied, c.note)
		}
	}
	if _, err := generateKey(filepath.Join(home, "config", gossipKeyName), false); err != nil {
		t.Fatal(err)
	}
	nc.GossipKeyFile = "config/./gossip.key"
	if p, note, err := gossipKeyToCopy(home, nc); err != nil || p != filepath.Join(home, "config", gossipKeyName) || note != "" {
		t.Errorf("gossip key in config/: %q, %q, %v", p, note, err)
	}
}

// TestBackupRestoreReplica backs up a read replica (siegel init --full-node) of a one-validator
// network while it follows the chain and documents are anchored, stops it, and restores the backup into
// a new home. The backup says full_node and holds neither a validator key nor a sign state, but the
// gossip key; the restored home gets no double_sign_check_height, that gossip key byte for byte
// ('siegel gossip-id' prints the same peer ID), and started, it follows the chain again and serves every
// lookup and receipt, as the validator does.
func TestBackupRestoreReplica(t *testing.T) {
	dir := t.TempDir()
	spec, err := initTestnet(dir, freeLayout(t, dir, 1), 1, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	nd := spec.Nodes[0]
	vn := startNode(t, nd.Home, listenFlags{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	validator, agency := api.NewClient(vn.r.APIURL), api.NewClient(vn.r.AgencyURL)

	id, err := consensus.NodeID(nd.Home)
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "replica")
	out, code := runCLI(t, "init", "--full-node", "--home", home, "--moniker", "replica", "--genesis", consensus.GenesisFile(nd.Home),
		"--peers", id+"@"+nd.P2P, "--gossip-peers", nd.Gossip+"/p2p/"+nd.GossipID,
		"--api-addr", freeAddr(t), "--agency-addr", freeAddr(t), "--metrics-addr", freeAddr(t),
		"--p2p-addr", freeAddr(t), "--rpc-addr", freeAddr(t), "--gossip-addr", freeAddr(t))
	if code != 0 {
		t.Fatalf("init --full-node: exit %d: %s", code, out)
	}
	rn := startNode(t, home, listenFlags{})
	a := startAnchoring(ctx, agency, key, "rep")
	a.waitFor(t, 9, 60*time.Second)
	head, err := validator.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, api.NewClient(rn.r.APIURL), head.Height, 60*time.Second)

	bout := filepath.Join(t.TempDir(), "replica.backup.tar.gz")
	d, err := runBackup(ctx, home, bout)
	if err != nil {
		t.Fatal(err)
	}
	m := d.m
	if !m.FullNode || m.ValidatorAddress != "" || m.InValidatorSet || m.Validators != 1 || m.soleValidator() || d.gossipID == "" {
		t.Fatalf("manifest of a replica: %+v, gossip peer ID %q", m, d.gossipID)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if slices.Contains(paths, "config/"+validatorKeyFile) || slices.Contains(paths, consensus.PrivValidatorStateFile) ||
		!slices.Contains(paths, "config/"+gossipKeyName) {
		t.Fatalf("a replica's backup lists %v", paths)
	}
	_, serr := os.Stat(filepath.Join(home, filepath.FromSlash(consensus.PrivValidatorStateFile)))
	t.Logf("replica backed up at height %d: %d files, consensus paused %s; gossip peer ID %s; its home's sign state: %v",
		m.Height, len(m.Files), d.pause, d.gossipID, serr)
	a.waitFor(t, a.count()+6, 60*time.Second) // the network went on

	gossipKey, err := os.ReadFile(filepath.Join(home, "config", gossipKeyName))
	if err != nil {
		t.Fatal(err)
	}
	gossipID, code := runCLI(t, "gossip-id", "--home", home)
	if code != 0 || !strings.Contains(gossipID, d.gossipID) {
		t.Fatalf("gossip-id of the replica: exit %d: %s (backup says %s)", code, gossipID, d.gossipID)
	}
	rn.stop(t)
	all := a.finish(t)

	restored := filepath.Join(t.TempDir(), "replica-restored")
	// A replica has no sign state to replace: --validator-state is refused from the manifest alone.
	vs := filepath.Join(t.TempDir(), "priv_validator_state.json")
	if err := os.WriteFile(vs, []byte(`{"height": "1", "round": 0, "step": 0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, "restore", "--in", bout, "--home", restored, "--validator-state", vs); code == 0 ||
		!strings.Contains(out, "read replica (full node)") || !strings.Contains(out, "without the flag") {
		t.Fatalf("restore of the replica with --validator-state: exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(restored); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused restore left %s (%v)", restored, err)
	}
	out, code = runCLI(t, "restore", "--in", bout, "--home", restored)
	if code != 0 || !strings.Contains(out, "read replica (full node)") || !strings.Contains(out, "gossip identity restored") ||
		strings.Contains(out, "double_sign_check_height = ") {
		t.Fatalf("restore of the replica: exit %d:\n%s", code, out)
	}
	t.Logf("restore:\n%s", out)
	cc, err := consensus.LoadConfig(restored)
	if err != nil || cc.Consensus.DoubleSignCheckHeight != 0 {
		t.Fatalf("restored replica's config.toml: double_sign_check_height %d (%v), want 0", cc.Consensus.DoubleSignCheckHeight, err)
	}
	for _, p := range []string{filepath.Join("config", validatorKeyFile), filepath.FromSlash(consensus.PrivValidatorStateFile)} {
		if _, err := os.Stat(filepath.Join(restored, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the restored replica holds %s (%v)", p, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(restored, "config", gossipKeyName)); err != nil || !bytes.Equal(b, gossipKey) {
		t.Fatalf("restored gossip key differs from the original's (%v)", err)
	}
	if got, code := runCLI(t, "gossip-id", "--home", restored); code != 0 || got != gossipID {
		t.Fatalf("gossip-id of the restored replica: exit %d\n%s\nwant\n%s", code, got, gossipID)
	}

	// It follows the chain again from the backup's height, and answers as the validator does.
	n2 := startNode(t, restored, listenFlags{}) // the original replica's addresses, from its configuration
	public := api.NewClient(n2.r.APIURL)
	if st, err := public.Status(ctx); err != nil || st.Height < uint64(m.Height) {
		t.Fatalf("the restored replica starts at height %d (%v), below the backup's %d", st.Height, err, m.Height)
	}
	more, err := anchorDocuments(ctx, agency, key, docs("after-restore", 2), 100)
	if err != nil || more[0].Status != api.SubmitCommitted {
		t.Fatalf("anchor after the restore: %+v %v", more, err)
	}
	waitCaughtUp(t, ctx, public, more[0].Height, 60*time.Second)
	all = append(all, more...)
	checkLookupsAndReceipts(t, ctx, public, restored, testnetAgencyID, all)
	sameAnswer(t, ctx, vn.r.APIURL, n2.r.APIURL, "/v1/anchors/"+all[0].Hash)
	sameAnswer(t, ctx, vn.r.APIURL, n2.r.APIURL, "/v1/anchors/"+more[1].Hash)

	// siegel status of a replica names no validator (its signer is a key in memory, no validator's).
	out, code = runCLI(t, "status", "--home", restored)
	if rep, err := readStatus(ctx, restored); err != nil || code != 0 || !rep.Running || !rep.Node.FullNode || rep.Node.Validator.Address != "" ||
		!strings.Contains(out, "validator:      none (a read replica") {
		t.Fatalf("status of the replica: exit %d, %+v (%v)\n%s", code, rep.Node, err, out)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func flipByte(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// TestBackupRestoreTestnet backs up validator 0 of a 4-validator network while documents are being
// anchored through the others, stops it for good, restores the backup into a new home under the same
// keys (after waiting out double_sign_check_height blocks without its signature), and starts it: it
// catches up, signs commits again, and finds every document anchored, before and after the backup,
// with receipts that verify offline.
func TestBackupRestoreTestnet(t *testing.T) {
	dir := t.TempDir()
	spec, err := initTestnet(dir, freeLayout(t, dir, 4), 4, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]*testNode, len(spec.Nodes))
	for i, nd := range spec.Nodes {
		nodes[i] = startNode(t, nd.Home, listenFlags{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	agency := api.NewClient(nodes[1].r.AgencyURL, nodes[2].r.AgencyURL)
	a := startAnchoring(ctx, agency, key, "tn")
	a.waitFor(t, 9, 60*time.Second)
	home0 := spec.Nodes[0].Home
	out := filepath.Join(t.TempDir(), "node0.backup.tar.gz")
	d, err := runBackup(ctx, home0, out)
	if err != nil {
		t.Fatal(err)
	}
	m := d.m
	if !m.InValidatorSet || m.Validators != 4 || m.soleValidator() {
		t.Fatalf("manifest: in set %v, %d validators", m.InValidatorSet, m.Validators)
	}
	a.waitFor(t, a.count()+6, 60*time.Second)

	// Stop node 0 for good, and let the network go on without it for long enough that its signature
	// is in none of the commits the restored node checks (its last vote may be for the height after
	// its last block).
	nodes[0].stop(t)
	stopped, err := consensus.ReadHeights(home0)
	if err != nil {
		t.Fatal(err)
	}
	public1 := api.NewClient(nodes[1].r.APIURL)
	waitPublicHeight(t, ctx, public1, uint64(stopped.Block)+restoreDoubleSignCheck+3)
	all := a.finish(t)
	kept, later := split(all, m.Height)
	t.Logf("backup at %d, node 0 stopped at %d; %d documents anchored up to the backup, %d after", m.Height, stopped.Block, len(kept), len(later))

	// Node 0's disk is still readable: its sign state, newer than the backup's, goes into the restored home.
	restored := filepath.Join(t.TempDir(), "node0-restored")
	origState := filepath.Join(home0, "data", "priv_validator_state.json")
	orig, err := consensus.ReadSignState(origState)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runRestore(out, restored, origState, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := consensus.ReadSignState(filepath.Join(restored, "data", "priv_validator_state.json"))
	if err != nil || !res.FromOriginal || got != orig || orig.Height <= m.Height {
		t.Fatalf("restored sign state %+v (%v, from original %v), original's %+v, backup at %d", got, err, res.FromOriginal, orig, m.Height)
	}
	cc, err := consensus.LoadConfig(restored)
	if err != nil || cc.Consensus.DoubleSignCheckHeight != restoreDoubleSignCheck || res.DoubleSignCheck != restoreDoubleSignCheck {
		t.Fatalf("restored config.toml: double_sign_check_height %d (%v), restore says %d", cc.Consensus.DoubleSignCheckHeight, err, res.DoubleSignCheck)
	}
	head, err := public1.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n0 := startNode(t, restored, listenFlags{}) // node 0's addresses, from its restored configuration
	public0 := api.NewClient(n0.r.APIURL)
	waitPublicHeight(t, ctx, public0, head.Height+2)

	// It takes part: its signature is in the commits of blocks after the network's head at its start.
	for {
		rep, err := readStatus(ctx, restored)
		if err != nil {
			t.Fatal(err)
		}
		if v := rep.Node.Validator; rep.Running && v.InSet && v.LastSigned > int64(head.Height) {
			t.Logf("restored node: height %d, %d peers, signed %d of the last %d commits, last at %d", rep.Node.Height, rep.Node.Peers, v.Signed, v.Checked, v.LastSigned)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the restored validator signs no commit after height %d: %+v", head.Height, rep.Node)
		case <-time.After(300 * time.Millisecond):
		}
	}
	checkLookupsAndReceipts(t, ctx, public0, restored, testnetAgencyID, all)

	// Restarted at once, its own signatures are in the last commits: with double_sign_check_height
	// still set it would refuse to start (on a halted chain, at every restart). Having signed since the
	// restore, it sets the check back to 0 at this start, records it, and signs again.
	n0.stop(t)
	stoppedAt, err := consensus.ReadHeights(restored)
	if err != nil {
		t.Fatal(err)
	}
	n0 = startNode(t, restored, listenFlags{})
	if cc, err := consensus.LoadConfig(restored); err != nil || cc.Consensus.DoubleSignCheckHeight != 0 {
		t.Fatalf("restarted after signing: double_sign_check_height %d (%v), want 0", cc.Consensus.DoubleSignCheckHeight, err)
	}
	if rec, err := readRestoredRecord(restored); err != nil || rec.DoubleSignCheck == nil || rec.DoubleSignCheck.Cleared == nil ||
		rec.DoubleSignCheck.Height != restoreDoubleSignCheck || !rec.DoubleSignCheck.SignState.Before(*rec.DoubleSignCheck.ClearedAt) {
		t.Fatalf("restore record after the restart: %+v (%v)", rec, err)
	}
	for {
		rep, err := readStatus(ctx, restored)
		if err != nil {
			t.Fatal(err)
		}
		if v := rep.Node.Validator; rep.Running && v.LastSigned > stoppedAt.Block+1 {
			t.Logf("restarted within %d blocks of its stop at %d: signs again, last at %d", restoreDoubleSignCheck, stoppedAt.Block, v.LastSigned)
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the restarted validator signs no commit after height %d: %+v", stoppedAt.Block, rep.Node)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// TestDocBackupWalkthrough runs the backup walkthrough of docs/OPERATORS.md against a dev network, as
// a reader would type it (the siegel command is this test binary, run as its own process), and checks
// each exit status.
func TestDocBackupWalkthrough(t *testing.T) {
	home, lf := newDevHome(t)
	startNode(t, home, lf)
	bin := t.TempDir()
	wrapper := fmt.Sprintf("#!/bin/sh\nSIEGEL_TEST_EXEC=1 exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "siegel"), []byte(wrapper), 0o700); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", doctestScript(docBlock(t, "../../docs/OPERATORS.md", "operators-backup")))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "DIR="+dir, "HOME_DIR="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{"running siegel", "written to", "REWINDS THE CHAIN", "restored " + filepath.Join(dir, "node.backup.tar.gz"), "NOT RUNNING", "is not empty"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}

// TestBackupRefusesOtherFileSystem: with the application's database on another file system than the
// home (here data/siegel is a link into /dev/shm), Pebble could not hard-link it into the copy and
// would copy it inside Commit: the node refuses the backup before taking it, and says why.
func TestBackupRefusesOtherFileSystem(t *testing.T) {
	home, lf := newDevHome(t)
	hs, err1 := os.Stat(home)
	ss, err2 := os.Stat("/dev/shm")
	if err1 != nil || err2 != nil || !ss.IsDir() || hs.Sys().(*syscall.Stat_t).Dev == ss.Sys().(*syscall.Stat_t).Dev {
		t.Skip("needs /dev/shm on another file system than the test's temporary directory")
	}
	other, err := os.MkdirTemp("/dev/shm", "siegel-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	if err := os.MkdirAll(filepath.Join(home, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(home, "data", "siegel")); err != nil {
		t.Fatal(err)
	}
	startNode(t, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	_, err = runBackup(ctx, home, out)
	if err == nil || !strings.Contains(err.Error(), "not on the file system of the backup directory") || !strings.Contains(err.Error(), "inside Commit") {
		t.Fatalf("backup with data/siegel on another file system: %v", err)
	}
	t.Log(err)
	if left, _ := filepath.Glob(filepath.Join(home, backupDirPrefix+"*")); len(left) > 0 {
		t.Fatalf("a refused backup left %v", left)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused backup left %s (%v)", out, err)
	}
}
