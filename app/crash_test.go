package app

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// The crash tests run on vfs.NewStrictMem: node.crash drops every write that was not synced, closes the
// store and opens it again with a new App, as a restarted node would.

// landed returns the document hashes of the transactions of block that were accepted.
func landed(t *testing.T, block [][]byte, codes []tx.Code) [][32]byte {
	t.Helper()
	var out [][32]byte
	for i, raw := range block {
		if codes[i] != tx.CodeOK {
			continue
		}
		d, err := tx.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Body.(*tx.Anchor).Entries {
			out = append(out, e.Hash)
		}
	}
	if len(out) == 0 {
		t.Fatal("block anchors nothing")
	}
	return out
}

// reference runs blocks on a node that never crashes.
func reference(t *testing.T, blocks [][][]byte) (*node, [][]byte) {
	t.Helper()
	n := newNode(t, testGenesis(testParams))
	hashes, _ := run(n, blocks, 0)
	return n, hashes
}

func TestCrashBeforeCommit(t *testing.T) {
	seq := scenario(7)
	ref, want := reference(t, seq)
	n := newMemNode(t, testGenesis(testParams))
	run(n, seq[:5], 0)
	res := n.finalize(seq[5]...)
	if !bytes.Equal(res.AppHash, want[5]) {
		t.Fatalf("block 6 app hash %x, reference %x", res.AppHash, want[5])
	}
	n.crash()
	if info := n.info(); info.LastBlockHeight != 5 || !bytes.Equal(info.LastBlockAppHash, want[4]) {
		t.Fatalf("after the crash Info reports height %d hash %x, want 5 and %x", info.LastBlockHeight, info.LastBlockAppHash, want[4])
	}
	docs := landed(t, seq[5], codes(res))
	for _, d := range docs {
		if found, _, _, _ := n.anchor(d); found {
			t.Errorf("anchor %x of the uncommitted block survived the crash", d[:4])
		}
	}
	if _, err := n.st.TxResult(sha256.Sum256(seq[5][0])); err == nil {
		t.Error("result of an uncommitted tx survived the crash")
	}
	if got := n.checkTx(seq[5][0]); got != tx.CodeOK {
		t.Errorf("CheckTx of an uncommitted tx after the crash: %v", got)
	}

	// CometBFT replays block 6: same hash, same results.
	again := n.block(seq[5]...)
	if !bytes.Equal(again.AppHash, res.AppHash) || !slices.Equal(codes(again), codes(res)) {
		t.Fatalf("replayed block 6: hash %x codes %v, before the crash %x %v", again.AppHash, codes(again), res.AppHash, codes(res))
	}
	for _, d := range docs {
		if found, _, h, _ := n.anchor(d); !found || h != 6 {
			t.Errorf("anchor %x after the replay: found %v at %d", d[:4], found, h)
		}
	}
	if got := n.block(seq[6]...).AppHash; !bytes.Equal(got, want[6]) {
		t.Errorf("block 7 after recovery: %x, reference %x", got, want[6])
	}
	if !maps.Equal(dump(t, n.st), dump(t, ref.st)) {
		t.Error("stored state after recovery differs from the reference")
	}
}

func TestCrashAfterCommit(t *testing.T) {
	seq := scenario(7)
	ref, want := reference(t, seq)
	n := newMemNode(t, testGenesis(testParams))
	run(n, seq[:5], 0)
	// Crash the moment Save returns: from then on nothing reaches the disk.
	old := beforeCommitHook
	t.Cleanup(func() { beforeCommitHook = old })
	beforeCommitHook = func(h uint64) {
		if h == 6 {
			n.fs.SetIgnoreSyncs(true)
		}
	}
	res := n.block(seq[5]...)
	n.crash()
	if info := n.info(); info.LastBlockHeight != 6 || !bytes.Equal(info.LastBlockAppHash, res.AppHash) || !bytes.Equal(res.AppHash, want[5]) {
		t.Fatalf("after the crash Info reports height %d hash %x, want 6 and %x", info.LastBlockHeight, info.LastBlockAppHash, res.AppHash)
	}
	for _, d := range landed(t, seq[5], codes(res)) {
		if found, _, h, _ := n.anchor(d); !found || h != 6 {
			t.Errorf("anchor %x of the committed block: found %v at %d", d[:4], found, h)
		}
	}
	if r, err := n.st.TxResult(sha256.Sum256(seq[5][0])); err != nil || r.Height != 6 {
		t.Errorf("tx result of the committed block: %+v %v", r, err)
	}
	if got := n.checkTx(seq[5][1]); got != tx.CodeReplayed { // [0] expires at height 6
		t.Errorf("CheckTx of a committed tx after the crash: %v", got)
	}
	if got := n.block(seq[6]...).AppHash; !bytes.Equal(got, want[6]) {
		t.Errorf("block 7 after recovery: %x, reference %x", got, want[6])
	}
	if !maps.Equal(dump(t, n.st), dump(t, ref.st)) {
		t.Error("stored state after recovery differs from the reference")
	}
}

// TestCrashAfterInitChain: the genesis state is synced; whether or not CometBFT calls InitChain again
// (it does while the app reports height 0), the chain continues as if nothing happened.
func TestCrashAfterInitChain(t *testing.T) {
	seq := scenario(2)
	_, want := reference(t, seq)
	for _, initAgain := range []bool{true, false} {
		n := newMemNode(t, testGenesis(testParams))
		genesis := n.info().LastBlockAppHash
		n.crash()
		info := n.info()
		if info.LastBlockHeight != 0 || !bytes.Equal(info.LastBlockAppHash, genesis) || len(genesis) != 32 {
			t.Fatalf("after the crash Info reports height %d hash %x, want 0 and %x", info.LastBlockHeight, info.LastBlockAppHash, genesis)
		}
		if n.app.ChainID() != testChain || n.app.Params() != testParams {
			t.Errorf("after the crash chain %q params %+v", n.app.ChainID(), n.app.Params())
		}
		if as, err := n.st.Agencies(); err != nil || !reflect.DeepEqual(as, testGenesis(testParams).Agencies) {
			t.Errorf("agencies after the crash: %+v %v", as, err)
		}
		if got := n.checkTx(seq[0][0]); got != tx.CodeOK {
			t.Errorf("CheckTx after the crash: %v", got)
		}
		if initAgain {
			if h := n.initChain(testGenesis(testParams)); !bytes.Equal(h, genesis) {
				t.Errorf("InitChain again: hash %x, first %x", h, genesis)
			}
		}
		got, _ := run(n, seq, 0)
		for i := range seq {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("InitChain again=%v: block %d hash %x, reference %x", initAgain, i+1, got[i], want[i])
			}
		}
	}
}
