package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// runCLI runs the siegel command in-process and returns its output and exit status.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		if ee.err != nil {
			out.WriteString(ee.err.Error())
		}
		return out.String(), ee.code
	default:
		out.WriteString(err.Error())
		return out.String(), 2
	}
}

// TestRevocationEndToEnd anchors a document, keeps its receipt, revokes it through the CLI, and checks
// that verify says revoked with the reason, the public API shows it, a new receipt proves it, and the old
// receipt still verifies as of its own checkpoint.
func TestRevocationEndToEnd(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keyFile := filepath.Join(home, devKeyFile)
	docFile := filepath.Join(t.TempDir(), "zeugnis.pdf")
	if err := os.WriteFile(docFile, []byte("Abschlusszeugnis 2026"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("Abschlusszeugnis 2026"))
	hexHash := hex.EncodeToString(h[:])

	if out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", keyFile, docFile); code != 0 {
		t.Fatalf("anchor: exit %d: %s", code, out)
	}
	st, _ := api.NewClient(n.r.APIURL).Status(ctx)
	before := waitReceipt(t, ctx, api.NewClient(n.r.APIURL), h, st.Height)
	gen, err := os.ReadFile(consensus.GenesisFile(home))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := receipt.TrustRootFromGenesis(gen)
	if err != nil {
		t.Fatal(err)
	}

	// Another agency's key cannot revoke it; an unknown reason is refused before anything is sent.
	stranger := filepath.Join(t.TempDir(), "stranger.key")
	if _, err := generateKey(stranger, false); err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", stranger, "--hash", hexHash, "--reason", "superseded"); code != 1 || !strings.Contains(out, "unknown_agency") {
		t.Fatalf("revoke with a stranger's key: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", keyFile, "--hash", hexHash, "--reason", "bored"); code != 2 {
		t.Fatalf("revoke with an unknown reason: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", keyFile, "--hash", hexHash, "--reason", "issued_in_error"); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", keyFile, "--hash", hexHash, "--reason", "withdrawn"); code != 1 || !strings.Contains(out, "already_revoked") {
		t.Fatalf("second revoke: exit %d: %s", code, out)
	}

	out, code := runCLI(t, "verify", "--node", n.r.APIURL, docFile)
	if code != 1 || !strings.Contains(out, "REVOKED") || !strings.Contains(out, "issued_in_error") {
		t.Fatalf("verify of a revoked document: exit %d: %s", code, out)
	}
	v, found, err := api.NewClient(n.r.APIURL).Anchor(ctx, h)
	if err != nil || !found || v.Status != api.StatusRevoked || v.Revocation == nil || v.Revocation.Reason != "issued_in_error" {
		t.Fatalf("public API: %+v found=%v err=%v", v, found, err)
	}

	st, _ = api.NewClient(n.r.APIURL).Status(ctx)
	after := waitReceipt(t, ctx, api.NewClient(n.r.APIURL), h, st.Height)
	res, err := receipt.Verify(after, trust)
	if err != nil || res.State != receipt.StateRevoked || res.Revocation == nil || res.Revocation.Reason != 2 {
		t.Fatalf("new receipt: %+v, %v; want revoked for reason 2", res, err)
	}
	old, err := receipt.Verify(before, trust)
	if err != nil || old.State != receipt.StateAnchored || old.AsOf.Height >= res.Revocation.Height {
		t.Fatalf("old receipt: %+v, %v; want anchored as of a checkpoint before the revocation", old, err)
	}
}
