package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// TestJSONLogs runs a node with log_format = "json", anchors and revokes a document, and reads the log
// as a log shipper would: every line is JSON; the block's commit says its height and the agencies in it;
// the submission says the agency, the transaction and its code; the revocation the agency and the
// height; and looking documents up on the public API adds no line per request.
func TestJSONLogs(t *testing.T) {
	home, lf := newDevHome(t)
	var logs logBuffer
	n := startNodeWith(t, home, lf, &logs, nil)
	key := filepath.Join(home, devKeyFile)
	doc := filepath.Join(t.TempDir(), "urkunde.pdf")
	if err := os.WriteFile(doc, []byte("Urkunde für die Logs"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("Urkunde für die Logs"))
	hash := hex.EncodeToString(sum[:])
	out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", key, "--json", doc)
	if code != 0 {
		t.Fatalf("anchor: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", key, "--hash", hash, "--reason", "withdrawn"); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, out)
	}

	// The hook logs right after the commit it reports, which the CLI may see first.
	var recs []map[string]any
	var commit, submission, revoked []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		recs = logs.records(t)
		commit = find(recs, "block committed", func(r map[string]any) bool {
			h, ok := r["height"].(float64)
			as, _ := r["agencies"].([]any)
			return ok && h > 0 && r["anchors"] == 1.0 && len(as) == 1 && as[0] == devAgencyID
		})
		submission = find(recs, "submission", func(r map[string]any) bool {
			return r["agency"] == devAgencyID && r["kind"] == "anchor" && r["status"] == "committed" && r["code"] == "ok" &&
				len(fmt.Sprint(r["tx_hash"])) == 64 && r["height"] != nil
		})
		revoked = find(recs, "document revoked", func(r map[string]any) bool {
			return r["agency"] == devAgencyID && r["doc"] == hash && r["reason"] == "withdrawn" && r["height"] != nil
		})
		if len(commit) > 0 && len(submission) > 0 && len(revoked) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d commit lines with the height and the agency, %d submission lines with the agency, %d revocation lines; the log:\n%s",
				len(commit), len(submission), len(revoked), logs.String())
		}
	}
	if !strings.Contains(out, fmt.Sprint(submission[0]["tx_hash"])) {
		t.Errorf("the submission line's tx_hash %v is not the one the CLI printed: %s", submission[0]["tx_hash"], out)
	}
	if submission[0]["height"] != commit[0]["height"] {
		t.Errorf("submission at height %v, the block with the anchor at %v", submission[0]["height"], commit[0]["height"])
	}
	for _, r := range recs {
		if r["level"] == "ERROR" {
			t.Errorf("error in the log: %v", r)
		}
	}

	// Blocks that only carry the validators' checkpoint signatures (or nothing) log at debug.
	st, err := publicHeight(t, n.r.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		now, err := publicHeight(t, n.r.APIURL)
		if err == nil && now >= st+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the chain did not grow by 3 blocks in 20 s: %v", err)
		}
	}
	for _, r := range find(logs.records(t), "block committed", nil) {
		if r["anchors"] == 0.0 && r["revocations"] == 0.0 && r["rejected"] == 0.0 {
			t.Errorf("a block without anchors, revocations or rejections logged at info: %v", r)
		}
	}
	if testing.Verbose() {
		t.Logf("the log:\n%s", logs.String())
	}
	// 50 lookups on the public API: no line each.
	before := len(logs.records(t))
	for range 50 {
		if out, code := runCLI(t, "verify", "--node", n.r.APIURL, "--hash", hash); code != 1 || !strings.Contains(out, "REVOKED") {
			t.Fatalf("verify: exit %d: %s", code, out)
		}
	}
	if added := len(logs.records(t)) - before; added >= 10 {
		t.Errorf("50 public lookups added %d log lines at info", added)
	}
}

// publicHeight returns the committed height the public API reports.
func publicHeight(t *testing.T, url string) (uint64, error) {
	t.Helper()
	st, err := api.NewClient(url).Status(context.Background())
	return st.Height, err
}
