package app

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// scenario returns blocks 1..n of transactions, valid and invalid, all derived from the height.
func scenario(n int) [][][]byte {
	blocks := make([][][]byte, n)
	for i := range blocks {
		h := uint64(i + 1)
		var txs [][]byte
		for k, key := range [...]struct {
			name string
			priv ed25519.PrivateKey
		}{{"a1", keyA1}, {"a2", keyA2}, {"b", keyB}} {
			var hashes [][32]byte
			for j := 0; j <= (i+k)%3; j++ {
				hashes = append(hashes, doc(fmt.Sprintf("s/%d/%s/%d", h, key.name, j)))
			}
			expiry := h + uint64(k)*3 // keyA1's expire in their own block, so their nonces are pruned at once
			txs = append(txs, anchorTx(key.priv, h*100+uint64(k), expiry, hashes...))
		}
		meta := newTx(testChain, keyB, h*100+50, h+2, doc(fmt.Sprintf("meta/%d", h)))
		digest := doc(fmt.Sprintf("digest/%d", h))
		meta.Body.(*tx.Anchor).Entries[0].MetaDigest = &digest
		meta.Sign(keyB)
		txs = append(txs, meta.Encode())
		switch {
		case i%4 == 3: // the same bytes as a tx of the previous block
			txs = append(txs, blocks[i-1][1])
		case i%4 == 1: // a nonce used earlier in this block
			txs = append(txs, anchorTx(keyA2, h*100+1, h+3, doc(fmt.Sprintf("nonce again/%d", h))))
		}
		if i%5 == 4 { // a hash anchored two blocks ago, by another agency
			txs = append(txs, anchorTx(keyB, h*100+60, h+1, doc(fmt.Sprintf("fresh/%d", h)), doc(fmt.Sprintf("s/%d/a1/0", h-2))))
		}
		if i%3 == 2 {
			txs = append(txs, anchorTx(keyA1, h*100+70, h-1, doc(fmt.Sprintf("late/%d", h))))
		}
		if i%6 == 1 {
			txs = append(txs, []byte(fmt.Sprintf("garbage %d", h)))
		}
		if i%7 == 2 {
			txs = append(txs, anchorTx(keyX, h, h+1, doc(fmt.Sprintf("stranger/%d", h))))
		}
		if i == 8 {
			txs = append(txs, newTx("other-chain", keyA1, 1, h, doc("other chain")).Encode())
			txs = append(txs, anchorTx(keyB, 1, h+testParams.MaxTTL+1, doc("too far")))
		}
		if i%4 == 2 { // a revocation, of a document anchored by agency-a the block before (its leaf changes)
			txs = append(txs, revokeTx(keyA2, h*100+80, h+2, doc(fmt.Sprintf("s/%d/a1/0", h-1)), tx.ReasonWithdrawn, nil))
		}
		if i%8 == 5 { // a valid tx last, after the rejected ones
			txs = append(txs, anchorTx(keyA2, h*100+90, h+testParams.MaxTTL, doc(fmt.Sprintf("last/%d", h))))
		}
		blocks[i] = txs
	}
	return blocks
}

// run executes blocks on n and returns the app hash and the result codes of each block.
func run(n *node, blocks [][][]byte, restartAfter int) (hashes [][]byte, results [][]tx.Code) {
	n.t.Helper()
	for i, txs := range blocks {
		res := n.block(txs...)
		hashes, results = append(hashes, res.AppHash), append(results, codes(res))
		if info := n.info(); info.LastBlockHeight != int64(i+1) || !bytes.Equal(info.LastBlockAppHash, res.AppHash) {
			n.t.Fatalf("block %d: Info reports height %d hash %x", i+1, info.LastBlockHeight, info.LastBlockAppHash)
		}
		if i+1 == restartAfter {
			if n.fs != nil {
				n.crash()
			} else {
				n.restart()
			}
		}
	}
	return hashes, results
}

// TestDeterminism runs one sequence of blocks on three independent instances (on disk, in memory,
// and one restarted half-way) and expects the same app hashes, results, Info and stored state.
func TestDeterminism(t *testing.T) {
	const blocks = 20
	seq := scenario(blocks)
	nodes := []*node{newNode(t, testGenesis(testParams)), newMemNode(t, testGenesis(testParams)), newMemNode(t, testGenesis(testParams))}
	var hashes [][][]byte
	var results [][][]tx.Code
	for i, n := range nodes {
		restart := 0
		if i == 2 {
			restart = blocks / 2
		}
		h, r := run(n, seq, restart)
		hashes, results = append(hashes, h), append(results, r)
	}
	for b := range blocks {
		for i := 1; i < len(nodes); i++ {
			if !bytes.Equal(hashes[i][b], hashes[0][b]) {
				t.Fatalf("block %d: app hash %x on node %d, %x on node 0", b+1, hashes[i][b], i, hashes[0][b])
			}
			if !slices.Equal(results[i][b], results[0][b]) {
				t.Fatalf("block %d: results %v on node %d, %v on node 0", b+1, results[i][b], i, results[0][b])
			}
		}
		if b > 0 && bytes.Equal(hashes[0][b], hashes[0][b-1]) {
			t.Errorf("block %d did not change the app hash", b+1)
		}
	}
	want := nodes[0].info()
	state := dump(t, nodes[0].st)
	for i, n := range nodes[1:] {
		if got := n.info(); !reflect.DeepEqual(got, want) {
			t.Errorf("node %d: Info %+v, want %+v", i+1, got, want)
		}
		if got := dump(t, n.st); !maps.Equal(got, state) {
			t.Errorf("node %d: stored state differs", i+1)
		}
	}

	// The scenario must exercise what it claims to.
	seen := map[tx.Code]int{}
	for _, r := range results[0] {
		for _, c := range r {
			seen[c]++
		}
	}
	for _, c := range []tx.Code{tx.CodeOK, tx.CodeMalformed, tx.CodeUnknownAgency, tx.CodeReplayed, tx.CodeExpired, tx.CodeDuplicateHash, tx.CodeWrongChain, tx.CodeExpiryTooFar} {
		if seen[c] == 0 {
			t.Errorf("no tx with code %v in the scenario (codes %v)", c, seen)
		}
	}
	// Revocations landed before the restart: the restarted node rebuilt their leaves from its store.
	if a, err := nodes[2].st.Anchor(doc("s/2/a1/0")); err != nil || a.Revocation == nil {
		t.Errorf("the revocation in block 3: %v, %v", a.Revocation, err)
	}
}

// TestAppHashCoversEveryInput: changing one valid transaction, or the order of two, changes the app hash
// of that block and of every later one, and of no earlier one. The app hash commits to state (the log
// and the map), so a rejected transaction, which changes no state, leaves it as it is; CometBFT's
// LastResultsHash commits to the result codes.
func TestAppHashCoversEveryInput(t *testing.T) {
	const blocks, changed = 12, 6
	seq := scenario(blocks)
	base, results := run(newMemNode(t, testGenesis(testParams)), seq, 0)
	rejected := slices.IndexFunc(results[changed-1], func(c tx.Code) bool { return c != tx.CodeOK })
	if rejected < 0 {
		t.Fatalf("block %d has no rejected tx", changed)
	}
	variants := map[string][][][]byte{}
	for name, r := range map[string]struct {
		index int
		raw   []byte
	}{
		"valid tx":    {0, anchorTx(keyA1, 999_999, changed, doc("the difference"))},
		"rejected tx": {rejected, []byte("other garbage")},
	} {
		v := slices.Clone(seq)
		v[changed-1] = slices.Clone(v[changed-1])
		v[changed-1][r.index] = r.raw
		variants[name] = v
	}
	reordered := slices.Clone(seq)
	reordered[changed-1] = slices.Clone(seq[changed-1])
	reordered[changed-1][0], reordered[changed-1][1] = reordered[changed-1][1], reordered[changed-1][0]
	variants["order of two valid txs"] = reordered
	for name, v := range variants {
		got, _ := run(newMemNode(t, testGenesis(testParams)), v, 0)
		for b := range blocks {
			wantSame := b+1 < changed || name == "rejected tx"
			if same := bytes.Equal(got[b], base[b]); same != wantSame {
				t.Errorf("%s changed in block %d: block %d hash equal=%v", name, changed, b+1, same)
			}
		}
	}
}
