package app

import (
	"fmt"
	"testing"
)

// TestPrepareProposalBoundsAnchors: a proposer stops adding anchor transactions once the block would
// hold more than MaxBlockAnchors hashes; what is left waits for the next block.
func TestPrepareProposalBoundsAnchors(t *testing.T) {
	p := testParams
	p.MaxBatch = 1000
	n := newNode(t, testGenesis(p))
	var txs [][]byte
	for i := range MaxBlockAnchors/1000 + 3 {
		var hs [][32]byte
		for j := range 1000 {
			hs = append(hs, doc(fmt.Sprintf("bound-%d-%d", i, j)))
		}
		txs = append(txs, anchorTx(keyA1, uint64(10_000+i), 50, hs...))
	}
	got := n.prepare(txs...)
	if len(got) != MaxBlockAnchors/1000 {
		t.Fatalf("proposal holds %d batches of 1,000, want %d", len(got), MaxBlockAnchors/1000)
	}
	res := n.block(got...)
	for i, c := range codes(res) {
		if c != 0 {
			t.Fatalf("tx %d: %v", i, c)
		}
	}
	if rest := n.prepare(txs[len(got):]...); len(rest) != 3 {
		t.Fatalf("the next proposal holds %d of the 3 remaining batches", len(rest))
	}
}
