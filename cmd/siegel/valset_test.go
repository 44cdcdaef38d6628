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
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// govVote proposes (member 0) and approves (the next members) until the threshold is reached.
func govVote(t *testing.T, dir, agencyURL string, threshold int, propose ...string) {
	t.Helper()
	args := append([]string{"gov", "propose"}, propose...)
	args = append(args, "--node", agencyURL, "--key", filepath.Join(dir, "operator-0.key"))
	out, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("propose %v: exit %d: %s", propose, code, out)
	}
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "proposal" {
		t.Fatalf("propose printed %q", out)
	}
	for i := 1; i < threshold; i++ {
		if out, code := runCLI(t, "gov", "approve", f[1], "--node", agencyURL, "--key", filepath.Join(dir, fmt.Sprintf("operator-%d.key", i))); code != 0 {
			t.Fatalf("approve by member %d: exit %d: %s", i, code, out)
		}
	}
}

// TestValidatorSetChange runs 4 validators and a full node, adds the full node as a fifth validator and
// then removes the first one through governance. The chain keeps committing, and receipts from before
// and after the changes verify from the genesis trust root (the later one through two transitions).
func TestValidatorSetChange(t *testing.T) {
	dir, spec := newTestnet(t, 5, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	agencyURL := "http://" + spec.Nodes[1].Agency
	agency := api.NewClient(agencyURL)
	public := api.NewClient("http://" + spec.Nodes[4].API) // the full node serves receipts too
	gen, err := os.ReadFile(consensus.GenesisFile(spec.Nodes[0].Home))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := receipt.TrustRootFromGenesis(gen)
	if err != nil {
		t.Fatal(err)
	}
	anchor := func(name string) ([32]byte, uint64) {
		d := document{Name: name, Hash: sha256.Sum256([]byte(name))}
		res, err := anchorDocuments(ctx, agency, key, []document{d}, 100)
		if err != nil || res[0].Status != api.SubmitCommitted {
			t.Fatalf("anchor %s: %+v %v", name, res, err)
		}
		return d.Hash, res[0].Height
	}

	before, h1 := anchor("before the change")
	r1 := waitReceipt(t, ctx, public, before, h1)

	newKey, err := consensus.ValidatorKey(spec.Nodes[4].Home)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, err := consensus.ValidatorKey(spec.Nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	threshold := 4*2/3 + 1
	govVote(t, dir, agencyURL, threshold, "set-validator", "--validator-key", hex.EncodeToString(newKey), "--power", "10")
	// Removing a validator in the same step as adding one would leave too little of the running power:
	// the rule lets one change at a time through.
	govVote(t, dir, agencyURL, threshold, "set-validator", "--validator-key", hex.EncodeToString(oldKey), "--power", "0")

	after, h2 := anchor("after the change")
	// A change executed at height x is in force from x+2: wait for a checkpoint signed by the new set.
	r2 := waitReceipt(t, ctx, public, after, h2+3)
	if len(r2.Transitions) != 2 {
		t.Fatalf("receipt after the changes carries %d transitions, want 2", len(r2.Transitions))
	}
	for name, r := range map[string]*receipt.Receipt{"before": r1, "after": r2} {
		res, err := receipt.Verify(r, trust)
		if err != nil || res.State != receipt.StateAnchored {
			t.Fatalf("receipt %s the change: %+v, %v", name, res, err)
		}
	}
	last := r2.Transitions[1].Next
	if len(last) != 4 || last.Hash() == trust.Validators.Hash() {
		t.Fatalf("final validator set has %d members (or is the genesis set)", len(last))
	}
	// The chain goes on with the new set.
	_, h3 := anchor("later still")
	if h3 <= h2 {
		t.Fatalf("no progress after the change: %d <= %d", h3, h2)
	}
}
