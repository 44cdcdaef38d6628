package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/siegel-notary/siegel/app/tx"
)

func (n *node) recheckTx(raw []byte) tx.Code {
	n.t.Helper()
	res, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_Recheck})
	if err != nil {
		n.t.Fatal(err)
	}
	return tx.Code(res.Code)
}

// TestRecheck: after a block, a transaction still in the mempool is dropped once it expires or its
// nonce is used; a hash anchored meanwhile by another transaction is left to PrepareProposal.
func TestRecheck(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	pending := anchorTx(keyA1, 1, 3, doc("r1"))
	sameNonce := anchorTx(keyA1, 1, 3, doc("r2"))
	otherSameHash := anchorTx(keyA2, 7, 50, doc("r3"))
	lateOne := anchorTx(keyA1, 9, 50, doc("r3"))
	for _, raw := range [][]byte{pending, sameNonce, otherSameHash, lateOne} {
		if c := n.checkTx(raw); c != tx.CodeOK {
			t.Fatalf("CheckTx = %v before any block", c)
		}
	}
	n.block(pending, otherSameHash) // height 1
	if c := n.recheckTx(sameNonce); c != tx.CodeReplayed {
		t.Errorf("recheck of a tx whose nonce was used = %v, want replayed", c)
	}
	if c := n.recheckTx(lateOne); c != tx.CodeOK {
		t.Errorf("recheck of a tx whose hash was anchored meanwhile = %v, want ok (left to PrepareProposal)", c)
	}
	if got := n.prepare(lateOne); len(got) != 0 {
		t.Errorf("PrepareProposal kept a tx whose hash is anchored")
	}
	if c := n.checkTx(lateOne); c != tx.CodeDuplicateHash {
		t.Errorf("a new CheckTx of it = %v, want duplicate_hash", c)
	}
	n.emptyBlocks(3) // height 4: past the expiry of 3
	expiring := anchorTx(keyA2, 8, 3, doc("r4"))
	if c := n.recheckTx(expiring); c != tx.CodeExpired {
		t.Errorf("recheck of an expired tx = %v, want expired", c)
	}
	if c := n.recheckTx([]byte("garbage")); c != tx.CodeMalformed {
		t.Errorf("recheck of garbage = %v, want malformed", c)
	}
}
