package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// nodeProc is a siegel process: this test binary re-executed as the command.
type nodeProc struct {
	cmd *exec.Cmd
	out bytes.Buffer
	api string
}

func startProc(t *testing.T, home string, lf listenFlags, env ...string) *nodeProc {
	t.Helper()
	p := &nodeProc{api: "http://" + lf.api}
	p.cmd = exec.Command(os.Args[0], "dev", "--home", home, "--api-addr", lf.api, "--agency-addr", lf.agency,
		"--metrics-addr", lf.metrics, "--p2p-addr", lf.p2p)
	p.cmd.Env = append(append(os.Environ(), "SIEGEL_TEST_EXEC=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(p.api + "/v1/status"); err == nil {
			r.Body.Close()
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node did not answer within 60 s:\n%s", p.out.String())
	return nil
}

// waitKilled waits for the process to die by SIGKILL.
func (p *nodeProc) waitKilled(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("node exited with %v, want death by SIGKILL:\n%s", err, p.out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("kill switch did not fire within 60 s:\n%s", p.out.String())
	}
}

// TestCrashRecovery kills the node process (SIGKILL, through the tests' kill switch) at each point
// between FinalizeBlock and the end of Commit of a block holding a batch of anchors. After a restart
// the node has the whole block (CometBFT replays what the application lacks, and the handshake checks
// the app hash), no partial block, and resubmitting the same transaction reports it committed, once.
func TestCrashRecovery(t *testing.T) {
	for _, point := range []string{crashFinalize, crashCommit, crashSaved} {
		t.Run(point, func(t *testing.T) {
			home, lf := newDevHome(t)
			key, err := loadKey(filepath.Join(home, devKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			p := startProc(t, home, lf, crashEnv+"="+point)
			c := api.NewClient("http://" + lf.agency)
			c.Retry = 2 * time.Second
			// Let a few empty blocks pass, so that the crash hits an ordinary block, not the first.
			var st api.Status
			for st.Height < 3 {
				if st, err = c.Status(ctx); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			batch := docs("crash-"+point, 50)
			hashes := make([][32]byte, len(batch))
			for i, d := range batch {
				hashes[i] = d.Hash
			}
			raw := signAnchor(key, st.ChainID, st.Height, 100, hashes)
			first, err := c.Submit(ctx, raw)
			// At "saved" the block is durable and the answer may get out before the kill; it must then
			// say committed. Before that point no answer can be given.
			if err == nil && (point != crashSaved || first.Status != api.SubmitCommitted) {
				t.Fatalf("submission answered %+v although the node was killed at %s", first, point)
			}
			p.waitKilled(t)

			startProc(t, home, lf)
			c.Retry = 30 * time.Second
			r, err := c.Submit(ctx, raw)
			if err != nil {
				t.Fatalf("resubmit after restart: %v", err)
			}
			if r.Status != api.SubmitCommitted || r.Height <= st.Height || (first.Height != 0 && first.Height != r.Height) {
				t.Fatalf("resubmitted transaction: %+v (first answer %+v); want committed in the killed block (after height %d)", r, first, st.Height)
			}
			public := api.NewClient(p.api)
			for _, d := range batch {
				v, found, err := public.Anchor(ctx, d.Hash)
				if err != nil || !found || v.Height != r.Height {
					t.Fatalf("%s after restart: found=%v height=%d err=%v; want height %d", d.Name, found, v.Height, err, r.Height)
				}
			}
			// The chain keeps committing on top of the recovered block.
			later, err := anchorDocuments(ctx, c, key, []document{{Name: "later", Hash: sha256.Sum256([]byte(point))}}, 100)
			if err != nil || later[0].Status != api.SubmitCommitted || later[0].Height <= r.Height {
				t.Fatalf("anchor after recovery: %+v %v", later, err)
			}
			fmt.Fprintf(os.Stderr, "crash at %s of block %d: recovered\n", point, r.Height)
		})
	}
}
