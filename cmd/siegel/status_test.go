package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// TestStatus runs `siegel status` against a running development node and after it stopped, and
// `siegel backup` against the stopped node; it also checks the admin socket: its mode, that a second
// node on the same home is refused, and that a socket left by a killed node is replaced.
func TestStatus(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitPublicHeight(t, ctx, api.NewClient(n.r.APIURL), 3)

	sock := adminSocketPath(home)
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, mode %v; want a socket of mode 0600", err, fi.Mode())
	}
	if _, err := listenAdmin(home); err == nil || !strings.Contains(err.Error(), "another node is running") {
		t.Fatalf("a second admin socket on a running home: %v", err)
	}

	// The node writes a backup's copy only directly into its home, into a new .backup-* directory.
	ac := newAdminClient(home)
	for _, dir := range []string{filepath.Join(t.TempDir(), backupDirPrefix+"x"), filepath.Join(home, "data", backupDirPrefix+"x"),
		filepath.Join(home, "not-a-backup"), backupDirPrefix + "relative", filepath.Join(home, "config")} {
		var bt backupTaken
		if err := ac.do(ctx, "POST", "/v1/backup", backupRequest{Dir: dir}, &bt); err == nil || !strings.Contains(err.Error(), "directly in the node's home") {
			t.Errorf("backup into %s: %v", dir, err)
		}
	}
	var bt backupTaken
	if err := ac.do(ctx, "POST", "/v1/backup", map[string]int{"dir": 1}, &bt); err == nil || !strings.Contains(err.Error(), "backup request") {
		t.Errorf("malformed backup request: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(home, link); err != nil {
		t.Fatal(err)
	}
	if err := ac.do(ctx, "POST", "/v1/backup", backupRequest{Dir: filepath.Join(link, backupDirPrefix+"x")}, &bt); err != nil || bt.Height < 1 {
		t.Errorf("backup into the home named through a symbolic link: %+v %v", bt, err)
	}
	if _, err := os.Stat(filepath.Join(home, backupDirPrefix+"x", "data", "siegel")); err != nil {
		t.Errorf("the copy is not in the home: %v", err)
	}
	os.RemoveAll(filepath.Join(home, backupDirPrefix+"x"))

	out, code := runCLI(t, "status", "--home", home)
	if code != 0 {
		t.Fatalf("status of a running node: exit %d\n%s", code, out)
	}
	t.Logf("running:\n%s", out)
	for _, want := range []string{"running siegel", "chain:          " + devChainID, "catching up:    no", "peers:          0",
		"validator:      yes", "of the last", "\n    siegel ", "\n    blockstore.db ", "\n    state.db "} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q", want)
		}
	}
	out, code = runCLI(t, "status", "--home", home, "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d\n%s", code, out)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	v := rep.Node.Validator
	if !rep.Running || rep.Node.Height < 3 || int64(rep.Node.AppHeight) < rep.Node.Height-1 || len(rep.Node.AppHash) != 64 ||
		!v.InSet || v.Validators != 1 || v.Checked == 0 || v.Signed != v.Checked || v.LastSigned < rep.Node.Height-1 {
		t.Fatalf("status of a running validator: %+v", rep.Node)
	}
	sizes := map[string]int64{}
	for _, e := range rep.Disk.Entries {
		sizes[e.Name] = e.Bytes
	}
	for _, db := range []string{"siegel", "blockstore.db", "state.db", "evidence.db"} {
		if sizes[db] <= 0 {
			t.Errorf("disk use of data/%s: %d bytes (entries %+v)", db, sizes[db], rep.Disk.Entries)
		}
	}

	n.stop(t)
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Fatalf("the admin socket outlived the node: %v", err)
	}
	out, code = runCLI(t, "status", "--home", home)
	t.Logf("stopped:\n%s", out)
	if code != 1 || !strings.Contains(out, "NOT RUNNING") || !strings.Contains(out, "on disk:        application at height") {
		t.Fatalf("status of a stopped node: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "status", "--home", home, "--json")
	rep = statusReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("status --json of a stopped node: exit %d, %v\n%s", code, err, out)
	}
	if od := rep.OnDisk; rep.Running || od == nil || od.Error != "" || od.AppHeight < 3 || od.BlockHeight != int64(od.AppHeight) ||
		od.StateHeight != od.BlockHeight || rep.Disk.Bytes <= 0 {
		t.Fatalf("status of a stopped node: %+v %+v", rep, rep.OnDisk)
	}

	// Backup needs the running node, and leaves no file behind.
	bak := filepath.Join(t.TempDir(), "b.tar.gz")
	out, code = runCLI(t, "backup", "--home", home, "--out", bak)
	if code != 2 || !strings.Contains(out, "the node is not running") || !strings.Contains(out, "start it first") {
		t.Fatalf("backup of a stopped node: exit %d\n%s", code, out)
	}
	if left, _ := filepath.Glob(bak + "*"); len(left) > 0 {
		t.Fatalf("a failed backup left %v", left)
	}
	if out, code := runCLI(t, "backup", "--home", home, "--out", home+"/config/genesis.json"); code != 2 || !strings.Contains(out, "exists") {
		t.Fatalf("backup onto an existing file: exit %d\n%s", code, out)
	}
	if out, code := runCLI(t, "status", "--home", t.TempDir()); code != 2 || !strings.Contains(out, "is not a node home") {
		t.Fatalf("status of an empty directory: exit %d\n%s", code, out)
	}

	// A socket left by a killed node: status says nothing answers, and the node starts over it.
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if out, code := runCLI(t, "status", "--home", home); code != 1 || !strings.Contains(out, "nothing answers") {
		t.Fatalf("status with a stale socket: exit %d\n%s", code, out)
	}
	n = startNode(t, home, lf)
	if out, code := runCLI(t, "status", "--home", home); code != 0 {
		t.Fatalf("status after a restart over a stale socket: exit %d\n%s", code, out)
	}
}

// TestStatusStartingAndReplica: a socket that accepts connections but does not answer (a node bound
// it and is still starting) is reported as STARTING, not NOT RUNNING, and its databases are left
// alone; a read replica's status names no validator address.
func TestStatusStartingAndReplica(t *testing.T) {
	home, _ := newDevHome(t)
	l, err := net.Listen("unix", adminSocketPath(home)) // bound, never served
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	rep, err := readStatus(ctx, home)
	if err != nil || rep.Running || !rep.Starting || rep.OnDisk != nil {
		t.Fatalf("status of a node that is starting: %+v, %v", rep, err)
	}
	var b strings.Builder
	printStatus(&b, rep, time.Now())
	if !strings.Contains(b.String(), "STARTING") || strings.Contains(b.String(), "NOT RUNNING") {
		t.Fatalf("status of a node that is starting:\n%s", b.String())
	}
	t.Logf("starting:\n%s", b.String())
	l.Close()
	os.Remove(adminSocketPath(home))
	if rep, err := readStatus(context.Background(), home); err != nil || rep.Running || rep.Starting {
		t.Fatalf("status of a stopped node: %+v, %v", rep, err)
	}

	b.Reset()
	printStatus(&b, statusReport{Home: home, Running: true, Node: &adminStatus{FullNode: true,
		Validator: validatorView{Address: "ABCDEF0123", Validators: 4}}}, time.Now())
	if strings.Contains(b.String(), "ABCDEF0123") || !strings.Contains(b.String(), "validator:      none (a read replica") {
		t.Fatalf("status of a replica:\n%s", b.String())
	}
}

// TestStartRemovesStaleBackups: a backup's copy left in the home (a killed siegel backup) is removed
// when the node starts.
func TestStartRemovesStaleBackups(t *testing.T) {
	home, lf := newDevHome(t)
	stale := filepath.Join(home, backupDirPrefix+"20260101T000000-deadbeef")
	if err := os.MkdirAll(filepath.Join(stale, "data", "siegel"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "data", "siegel", "000001.sst"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(home, "backup-notes.txt")
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	startNode(t, home, lf)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale backup copy %s still there after the start (%v)", stale, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the start removed %s: %v", keep, err)
	}
}
