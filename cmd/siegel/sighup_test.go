package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestTLSSIGHUPDuringStartup sends SIGHUP (systemctl reload) to a node process over and over while it
// starts: from the moment its command runs (the dev command has opened node.log, before the store,
// the CometBFT handshake and the gossip) until it serves, and once more after. The process keeps
// running and serving, the reloads asked during start-up are done once the listeners are up, and
// SIGTERM still stops it cleanly.
func TestTLSSIGHUPDuringStartup(t *testing.T) {
	for _, name := range []string{"start", "dev"} {
		if c, _, err := newRootCmd().Find([]string{name}); err != nil || c.Annotations[nodeCommand] == "" {
			t.Errorf("siegel %s is not marked as a node command (main would not take SIGHUP from the start): %v", name, err)
		}
	}
	home, lf := newDevHome(t)
	logFile := filepath.Join(home, "node.log")
	_ = os.Remove(logFile)
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "dev", "--home", home, "--api-addr", lf.api, "--agency-addr", lf.agency,
		"--metrics-addr", lf.metrics, "--p2p-addr", lf.p2p)
	cmd.Env = append(os.Environ(), "SIEGEL_TEST_EXEC=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
	})
	died := func(err error) {
		t.Helper()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
				t.Fatalf("the node died by %v during start-up:\n%s", ws.Signal(), out.String())
			}
		}
		t.Fatalf("the node exited during start-up: %v\n%s", err, out.String())
	}

	// The command is running once node.log exists.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(logFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			died(err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node.log not created within 30 s:\n%s", out.String())
		}
	}
	// A dev node on a fresh chain starts in tens of milliseconds: signal it every 200 µs until it serves.
	var sent atomic.Int64
	stopHUP := make(chan struct{})
	hupDone := make(chan struct{})
	go func() {
		defer close(hupDone)
		for {
			select {
			case <-stopHUP:
				return
			default:
			}
			if cmd.Process.Signal(syscall.SIGHUP) != nil {
				return // exited
			}
			sent.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-exited:
			died(err)
		default:
		}
		if r, err := http.Get("http://" + lf.api + "/v1/status"); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not serve within 60 s:\n%s", out.String())
		}
	}
	close(stopHUP)
	<-hupDone
	reloads := func() int {
		b, _ := os.ReadFile(logFile)
		return strings.Count(string(b), "SIGHUP: no listener has TLS, nothing to reload")
	}
	t.Logf("%d SIGHUPs sent during start-up; %d reloads logged by the time it served", sent.Load(), reloads())
	if sent.Load() < 10 {
		t.Fatalf("only %d SIGHUPs sent before the node served: the test did not cover the start-up", sent.Load())
	}
	// One more, with the node up, and it still serves.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("the node exited after a SIGHUP: %v\n%s", err, out.String())
	default:
	}
	r, err := http.Get("http://" + lf.api + "/v1/status")
	if err != nil {
		t.Fatalf("not serving after the SIGHUPs: %v", err)
	}
	r.Body.Close()
	if n := reloads(); n < 1 || int64(n) > sent.Load()+1 {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("%d SIGHUP reloads logged for %d signals:\n%s", n, sent.Load()+1, b)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
}
