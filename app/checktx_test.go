package app

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/siegel-notary/siegel/app/tx"
)

// TestCheckTxVerdictSettles: a valid transaction stays valid while the state does not change; once
// committed it is replayed and then expired, never OK again; an expired transaction never becomes valid.
func TestCheckTxVerdictSettles(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	const expiry = 6
	raw := anchorTx(keyA1, 42, expiry, doc("settles"))
	for i := range 5 {
		if got := n.checkTx(raw); got != tx.CodeOK {
			t.Fatalf("CheckTx #%d before commit: %v", i, got)
		}
		res, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_Recheck})
		if err != nil || res.Code != abci.CodeTypeOK {
			t.Fatalf("recheck #%d: %v %v", i, res, err)
		}
	}
	if got := codes(n.block(raw)); got[0] != tx.CodeOK {
		t.Fatalf("FinalizeBlock: %v", got[0])
	}
	// Committed at height 1. Replayed while a block could still include it, expired after.
	for h := int64(1); h <= expiry+5; h++ {
		want := tx.CodeReplayed
		if h+1 > expiry {
			want = tx.CodeExpired
		}
		for range 2 {
			if got := n.checkTx(raw); got != want {
				t.Fatalf("committed height %d: CheckTx %v, want %v", h, got, want)
			}
		}
		if got := n.process(raw); got != abci.ResponseProcessProposal_REJECT {
			t.Fatalf("committed height %d: ProcessProposal %v", h, got)
		}
		n.block()
	}
	// An expired transaction stays expired, however many blocks pass.
	late := anchorTx(keyB, 1, 3, doc("late"))
	for range 20 {
		if got := n.checkTx(late); got != tx.CodeExpired {
			t.Fatalf("next height %d: expired tx: %v", n.next(), got)
		}
		if got := codes(n.block(late)); got[0] != tx.CodeExpired {
			t.Fatalf("expired tx in a block: %v", got[0])
		}
	}
}

// TestExpiryBoundaries: a transaction may be included at its expiry height and at most MaxTTL blocks
// before it.
func TestExpiryBoundaries(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	n.emptyBlocks(3) // next height 4
	tests := []struct {
		expiry uint64
		want   tx.Code
	}{
		{3, tx.CodeExpired},
		{4, tx.CodeOK},
		{4 + testParams.MaxTTL, tx.CodeOK},
		{4 + testParams.MaxTTL + 1, tx.CodeExpiryTooFar},
		{^uint64(0), tx.CodeExpiryTooFar},
	}
	var block [][]byte
	var want []tx.Code
	for i, tc := range tests {
		raw := anchorTx(keyA1, uint64(i), tc.expiry, doc(string(rune('p'+i))))
		if got := n.checkTx(raw); got != tc.want {
			t.Errorf("expiry %d: CheckTx %v, want %v", tc.expiry, got, tc.want)
		}
		block, want = append(block, raw), append(want, tc.want)
	}
	if got := codes(n.block(block...)); !slices.Equal(got, want) {
		t.Errorf("FinalizeBlock codes %v, want %v", got, want)
	}
}

// TestPrunedNonceCannotReplay: after a nonce is pruned, the transaction that used it is expired, so
// pruning never lets its bytes in again. Reusing the nonce in a newly signed transaction with a later
// expiry is allowed by design: nonces are remembered only until their expiry.
func TestPrunedNonceCannotReplay(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	signer := pubKey(keyA1)
	orig := anchorTx(keyA1, 5, 3, doc("orig"))
	n.block(orig) // height 1
	for h := 1; h <= 3; h++ {
		used, err := n.st.NonceUsed(signer, 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := h < 3; used != want {
			t.Fatalf("committed height %d: NonceUsed %v, want %v", h, used, want)
		}
		if h < 3 {
			n.block()
		}
	}
	reuse := anchorTx(keyA1, 5, 3, doc("reuse")) // the old expiry
	for _, raw := range [][]byte{orig, reuse} {
		if got := n.checkTx(raw); got != tx.CodeExpired {
			t.Errorf("CheckTx after pruning: %v, want expired", got)
		}
		if got := codes(n.block(raw)); got[0] != tx.CodeExpired {
			t.Errorf("FinalizeBlock after pruning: %v, want expired", got[0])
		}
	}
	if found, _, _, _ := n.anchor(doc("reuse")); found {
		t.Error("replay after pruning anchored its hash")
	}
	fresh := anchorTx(keyA1, 5, 20, doc("new expiry"))
	if got := codes(n.block(fresh)); got[0] != tx.CodeOK {
		t.Errorf("nonce reused with a new expiry after pruning: %v", got[0])
	}
}

// TestPrepareProposalByteLimit: the kept transactions fit MaxTxBytes as CometBFT counts it (protobuf
// size), else CometBFT refuses the proposal.
func TestPrepareProposalByteLimit(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	txs := [][]byte{anchorTx(keyA1, 1, exp, doc("l1")), anchorTx(keyA1, 2, exp, doc("l2")), anchorTx(keyA1, 3, exp, doc("l3"))}
	proto := cmttypes.ComputeProtoSizeForTxs(cmttypes.ToTxs(txs[:2]))
	for _, tc := range []struct {
		limit int64
		want  int
	}{
		{0, 3}, // no limit
		{proto, 2},
		{proto - 1, 1},
		{int64(len(txs[0]) + len(txs[1])), 1}, // raw bytes fit, protobuf bytes do not
		{1, 0},
	} {
		res, err := n.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{MaxTxBytes: tc.limit, Txs: txs, Height: 1, Time: blockTime(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Txs) != tc.want || !slices.EqualFunc(res.Txs, txs[:tc.want], func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Errorf("limit %d: kept %d txs, want the first %d", tc.limit, len(res.Txs), tc.want)
		}
		if tc.limit > 0 {
			if err := cmttypes.ToTxs(res.Txs).Validate(tc.limit); err != nil {
				t.Errorf("limit %d: CometBFT would refuse the proposal: %v", tc.limit, err)
			}
		}
	}
}

// TestBlockSequenceErrors: FinalizeBlock at a height other than the next one, and Commit without
// FinalizeBlock, are errors rather than silent corruption.
func TestBlockSequenceErrors(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	ctx := context.Background()
	for _, h := range []int64{0, 2, 5} {
		if _, err := n.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: blockTime(h)}); err == nil {
			t.Errorf("FinalizeBlock at height %d after 0 succeeded", h)
		}
	}
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err == nil {
		t.Error("Commit without FinalizeBlock succeeded")
	}
	n.block()
	if _, err := n.app.Commit(ctx, &abci.RequestCommit{}); err == nil {
		t.Error("second Commit of one block succeeded")
	}
	if got := n.info().LastBlockHeight; got != 1 {
		t.Errorf("height %d after the errors, want 1", got)
	}
}

// TestCommittedHook: the hook sees every transaction of the block and every anchor.
func TestCommittedHook(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	good := anchorTx(keyA1, 1, exp, doc("h1"), doc("h2"))
	n.block(good, good, []byte("junk"))
	if len(n.committed) != 1 {
		t.Fatalf("hook called %d times", len(n.committed))
	}
	c := n.committed[0]
	if c.Height != 1 || !c.Time.Equal(blockTime(1)) || len(c.Txs) != 3 || len(c.Anchors) != 2 {
		t.Fatalf("hook got height %d time %v, %d txs, %d anchors", c.Height, c.Time, len(c.Txs), len(c.Anchors))
	}
	wantCodes := []uint32{0, uint32(tx.CodeReplayed), uint32(tx.CodeMalformed)}
	for i, r := range c.Txs {
		if r.Code != wantCodes[i] || r.Index != uint32(i) || r.Height != 1 {
			t.Errorf("hook tx %d: %+v", i, r)
		}
	}
	if c.Anchors[1].DocHash != doc("h2") || c.Anchors[1].Entry != 1 || c.Anchors[1].Agency != "agency-a" || c.Anchors[0].TxHash != sha256.Sum256(good) {
		t.Errorf("hook anchors: %+v", c.Anchors)
	}
}
