package app

import (
	"slices"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// TestGovDocTypes: the consortium sets, and clears, the document types an agency may issue; an unknown
// agency is refused.
func TestGovDocTypes(t *testing.T) {
	n, _ := govNode(t, 2, 3, 0)
	set := tx.Action{Kind: tx.ActSetDocTypes, Agency: "agency-a", DocTypes: []string{"zeugnis", "urkunde.geburt"}}
	n.govExec(set)
	if got := n.govAgency("agency-a").DocTypes; !slices.Equal(got, set.DocTypes) {
		t.Fatalf("doc types %v, want %v", got, set.DocTypes)
	}
	n.govExec(tx.Action{Kind: tx.ActSetDocTypes, Agency: "agency-a"})
	if got := n.govAgency("agency-a").DocTypes; len(got) != 0 {
		t.Fatalf("doc types after clearing: %v", got)
	}
	bad := n.govPropose(govOp(0), tx.Action{Kind: tx.ActSetDocTypes, Agency: "nobody", DocTypes: []string{"x"}})
	if c := n.checkTx(bad); c != tx.CodeInvalidAction {
		t.Fatalf("doc types for an unknown agency: %v, want invalid_action", c)
	}
}
