package app

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/siegel-notary/siegel/app/tx"
)

// rejectCase is a transaction that must be rejected, in the state that makes it so.
type rejectCase struct {
	name   string
	prior  [][]byte // valid transactions committed first, one block each
	empty  int      // empty blocks committed after prior
	before [][]byte // valid transactions ahead of bad in the block under test
	bad    []byte
	check  tx.Code // CheckTx's verdict: committed state only, so OK when bad conflicts only with before
	code   tx.Code // the verdict in the block
	fresh  [][32]byte
}

const exp = 50 // expiry of the transactions below: valid at every height these tests reach

func rejectCases() []rejectCase {
	valid := anchorTx(keyA1, 1, exp, doc("v"))
	flipped := newTx(testChain, keyA1, 1, exp, doc("fresh"))
	flipped.Signature[10] ^= 1
	otherSigner := newTx(testChain, keyA1, 1, exp, doc("fresh"))
	otherSigner.Signer = pubKey(keyB)
	altered := newTx(testChain, keyA1, 1, exp, doc("fresh"))
	altered.Nonce++
	over := make([][32]byte, testParams.MaxBatch+1)
	for i := range over {
		over[i] = doc("over/" + string(rune('a'+i)))
	}
	wayOver := make([][32]byte, tx.MaxEntries+1)
	for i := range wayOver {
		wayOver[i] = sha256.Sum256([]byte{byte(i), byte(i >> 8), 'w'})
	}
	version2 := bytes.Clone(valid)
	version2[0] = 2
	replayed := anchorTx(keyA1, 7, exp, doc("first"))
	return []rejectCase{
		{name: "malformed/garbage", bad: []byte("not a transaction"), check: tx.CodeMalformed},
		{name: "malformed/empty", bad: []byte{}, check: tx.CodeMalformed},
		{name: "malformed/truncated", bad: valid[:len(valid)-1], check: tx.CodeMalformed},
		{name: "malformed/trailing byte", bad: append(bytes.Clone(valid), 0), check: tx.CodeMalformed},
		{name: "malformed/unknown version", bad: version2, check: tx.CodeMalformed},
		{name: "malformed/repeated hash", bad: anchorTx(keyA1, 1, exp, doc("fresh"), doc("fresh")), check: tx.CodeMalformed, fresh: [][32]byte{doc("fresh")}},
		{name: "oversized/entries over max_batch", bad: anchorTx(keyA1, 1, exp, over...), check: tx.CodeOversized, fresh: over},
		{name: "oversized/entries over tx.MaxEntries", bad: anchorTx(keyA1, 1, exp, wayOver...), check: tx.CodeOversized, fresh: wayOver[:3]},
		{name: "oversized/bytes", bad: make([]byte, tx.MaxTxBytes+1), check: tx.CodeOversized},
		{name: "bad signature/flipped bit", bad: flipped.Encode(), check: tx.CodeBadSignature, fresh: [][32]byte{doc("fresh")}},
		{name: "bad signature/other agency's key", bad: otherSigner.Encode(), check: tx.CodeBadSignature, fresh: [][32]byte{doc("fresh")}},
		{name: "bad signature/altered after signing", bad: altered.Encode(), check: tx.CodeBadSignature, fresh: [][32]byte{doc("fresh")}},
		{name: "unknown agency", bad: anchorTx(keyX, 1, exp, doc("fresh")), check: tx.CodeUnknownAgency, fresh: [][32]byte{doc("fresh")}},
		{name: "replayed/nonce of an earlier block", prior: [][]byte{replayed}, bad: anchorTx(keyA1, 7, exp, doc("fresh")), check: tx.CodeReplayed, fresh: [][32]byte{doc("fresh")}},
		{name: "replayed/same bytes as an earlier block", prior: [][]byte{replayed}, bad: replayed, check: tx.CodeReplayed},
		{name: "replayed/nonce twice in one block", before: [][]byte{replayed}, bad: anchorTx(keyA1, 7, exp+1, doc("fresh")), check: tx.CodeOK, code: tx.CodeReplayed, fresh: [][32]byte{doc("fresh")}},
		{name: "replayed/same bytes twice in one block", before: [][]byte{replayed}, bad: replayed, check: tx.CodeOK, code: tx.CodeReplayed},
		{name: "expired/expiry below height", empty: 2, bad: anchorTx(keyA1, 1, 2, doc("fresh")), check: tx.CodeExpired, fresh: [][32]byte{doc("fresh")}},
		{name: "expired/expiry zero", bad: anchorTx(keyA1, 1, 0, doc("fresh")), check: tx.CodeExpired, fresh: [][32]byte{doc("fresh")}},
		{name: "duplicate hash/earlier block, same agency", prior: [][]byte{anchorTx(keyA1, 1, exp, doc("taken"))}, bad: anchorTx(keyA2, 2, exp, doc("fresh"), doc("taken")), check: tx.CodeDuplicateHash, fresh: [][32]byte{doc("fresh")}},
		{name: "duplicate hash/earlier block, other agency", prior: [][]byte{anchorTx(keyA1, 1, exp, doc("taken"))}, bad: anchorTx(keyB, 2, exp, doc("fresh"), doc("taken")), check: tx.CodeDuplicateHash, fresh: [][32]byte{doc("fresh")}},
		{name: "duplicate hash/two txs in one block", before: [][]byte{anchorTx(keyA1, 1, exp, doc("taken"))}, bad: anchorTx(keyB, 2, exp, doc("fresh"), doc("taken")), check: tx.CodeOK, code: tx.CodeDuplicateHash, fresh: [][32]byte{doc("fresh")}},
		{name: "wrong chain", bad: newTx("other-chain", keyA1, 1, exp, doc("fresh")).Encode(), check: tx.CodeWrongChain, fresh: [][32]byte{doc("fresh")}},
		{name: "expiry too far", bad: anchorTx(keyA1, 1, 1+testParams.MaxTTL+1, doc("fresh")), check: tx.CodeExpiryTooFar, fresh: [][32]byte{doc("fresh")}},
	}
}

// setup brings a node to the state of c before the block under test.
func (c rejectCase) setup(t *testing.T) *node {
	t.Helper()
	n := newMemNode(t, testGenesis(testParams))
	for _, raw := range c.prior {
		if got := codes(n.block(raw)); got[0] != tx.CodeOK {
			t.Fatalf("prior tx: code %v", got[0])
		}
	}
	n.emptyBlocks(c.empty)
	return n
}

// TestRejections checks every rejection code everywhere the check runs: CheckTx, PrepareProposal,
// ProcessProposal and FinalizeBlock; and that a rejected transaction changes nothing but its own result.
func TestRejections(t *testing.T) {
	tail := anchorTx(keyB, 900, exp, doc("tail"))
	for _, c := range rejectCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.code == 0 {
				c.code = c.check
			}
			n := c.setup(t)
			if got := n.checkTx(c.bad); got != c.check {
				t.Errorf("CheckTx: %v, want %v", got, c.check)
			}

			good := append(slices.Clone(c.before), tail)
			block := append(slices.Clone(c.before), c.bad, tail)
			if got := n.process(block...); got != abci.ResponseProcessProposal_REJECT {
				t.Errorf("ProcessProposal with the tx: %v, want REJECT", got)
			}
			if got := n.process(good...); got != abci.ResponseProcessProposal_ACCEPT {
				t.Errorf("ProcessProposal without the tx: %v, want ACCEPT", got)
			}
			if got := n.prepare(block...); !slices.EqualFunc(got, good, bytes.Equal) {
				t.Errorf("PrepareProposal kept %d txs, want the %d valid ones", len(got), len(good))
			}

			res := n.block(block...)
			h := uint64(n.info().LastBlockHeight)
			for i, r := range res.TxResults {
				want := tx.CodeOK
				if i == len(c.before) {
					want = c.code
					if r.Codespace != tx.Codespace || r.Log == "" {
						t.Errorf("rejection has codespace %q and log %q", r.Codespace, r.Log)
					}
				}
				if tx.Code(r.Code) != want {
					t.Errorf("FinalizeBlock tx %d: %v, want %v (%s)", i, tx.Code(r.Code), want, r.Log)
				}
			}
			for _, d := range c.fresh {
				if found, _, _, _ := n.anchor(d); found {
					t.Errorf("hash %x of the rejected tx is anchored", d[:4])
				}
			}
			if found, agency, height, _ := n.anchor(doc("tail")); !found || agency != "agency-b" || height != h {
				t.Errorf("valid tx after the rejected one: found=%v agency=%q height=%d", found, agency, height)
			}
			c.checkNonceAndResult(t, n, h)
		})
	}
}

// checkNonceAndResult checks that the rejected tx did not use its nonce and that its recorded result
// is the rejection, unless identical bytes landed before (then that landing stays on record).
func (c rejectCase) checkNonceAndResult(t *testing.T, n *node, h uint64) {
	t.Helper()
	earlier := append(slices.Clone(c.prior), c.before...)
	bt, err := tx.Decode(c.bad)
	if err == nil && !slices.ContainsFunc(earlier, func(raw []byte) bool {
		e, _ := tx.Decode(raw)
		return e.Signer == bt.Signer && e.Nonce == bt.Nonce
	}) {
		if used, err := n.st.NonceUsed(bt.Signer, bt.Nonce); err != nil || used {
			t.Errorf("rejected tx used its nonce: %v %v", used, err)
		}
	}
	r, err := n.st.TxResult(sha256.Sum256(c.bad))
	if err != nil {
		t.Fatalf("TxResult of the rejected tx: %v", err)
	}
	want := txResultWant{Code: uint32(c.code), Height: h, Index: uint32(len(c.before))}
	if i := slices.IndexFunc(c.prior, func(raw []byte) bool { return bytes.Equal(raw, c.bad) }); i >= 0 {
		want = txResultWant{Code: 0, Height: uint64(i + 1), Index: 0} // where the same bytes landed
	}
	if j := slices.IndexFunc(c.before, func(raw []byte) bool { return bytes.Equal(raw, c.bad) }); j >= 0 {
		want = txResultWant{Code: 0, Height: h, Index: uint32(j)}
	}
	if got := (txResultWant{r.Code, r.Height, r.Index}); got != want {
		t.Errorf("TxResult %+v, want %+v", got, want)
	}
}

// txResultWant is the part of a store.TxResult that tests compare.
type txResultWant struct {
	Code   uint32
	Height uint64
	Index  uint32
}

// TestRejectedTxChangesNothing compares a block that ends with a rejected tx against the same block
// without it: the stores may differ only in the commit record and the rejected tx's result.
func TestRejectedTxChangesNothing(t *testing.T) {
	tail := anchorTx(keyB, 900, exp, doc("tail"))
	for _, c := range rejectCases() {
		t.Run(c.name, func(t *testing.T) {
			with, without := c.setup(t), c.setup(t)
			good := append(slices.Clone(c.before), tail)
			with.block(append(slices.Clone(good), c.bad)...)
			without.block(good...)
			a, b := dump(t, with.st), dump(t, without.st)
			badHash := sha256.Sum256(c.bad)
			for k := range mergeKeys(a, b) {
				if a[k] == b[k] || k == "m/commit" {
					continue
				}
				if _, inB := b[k]; !inB && strings.Contains(k, string(badHash[:])) {
					continue // the rejected tx's own result
				}
				t.Errorf("key %q differs: %x vs %x", k, a[k], b[k])
			}
		})
	}
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// TestAnchorNeverOverwritten: once a hash is anchored, no later transaction, of any agency or key,
// with or without metadata, changes its record.
func TestAnchorNeverOverwritten(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	h := doc("deed")
	first := anchorTx(keyA1, 1, exp, h)
	if got := codes(n.block(first)); got[0] != tx.CodeOK {
		t.Fatalf("first anchor: %v", got[0])
	}
	orig, err := n.st.Anchor(h)
	if err != nil {
		t.Fatal(err)
	}
	if orig.Agency != "agency-a" || orig.Height != 1 || orig.TxHash != sha256.Sum256(first) || orig.Signer != pubKey(keyA1) {
		t.Fatalf("record %+v", orig)
	}
	withMeta := newTx(testChain, keyB, 2, exp, h)
	meta := doc("meta")
	withMeta.Body.(*tx.Anchor).Entries[0].MetaDigest = &meta
	withMeta.Sign(keyB)
	attempts := []struct {
		name string
		raw  []byte
	}{
		{"other agency", anchorTx(keyB, 1, exp, h)},
		{"other agency, with metadata", withMeta.Encode()},
		{"same agency, other key", anchorTx(keyA2, 1, exp, h)},
		{"same key, new nonce", anchorTx(keyA1, 2, exp, h)},
		{"other agency, among fresh ones", anchorTx(keyB, 3, exp, doc("x1"), h, doc("x2"))},
	}
	for _, a := range attempts {
		name, raw := a.name, a.raw
		if got := n.checkTx(raw); got != tx.CodeDuplicateHash {
			t.Errorf("%s: CheckTx %v", name, got)
		}
		if got := codes(n.block(raw)); got[0] != tx.CodeDuplicateHash {
			t.Errorf("%s: FinalizeBlock %v", name, got[0])
		}
		now, err := n.st.Anchor(h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now.Encode(), orig.Encode()) {
			t.Fatalf("%s: record changed from %+v to %+v", name, orig, now)
		}
	}
	// In one block the first transaction wins.
	h2 := doc("will")
	res := n.block(anchorTx(keyB, 10, exp, h2), anchorTx(keyA1, 10, exp, h2))
	if got := codes(res); !slices.Equal(got, []tx.Code{tx.CodeOK, tx.CodeDuplicateHash}) {
		t.Fatalf("codes %v", got)
	}
	if found, agency, _, _ := n.anchor(h2); !found || agency != "agency-b" {
		t.Errorf("first tx of the block lost: %v %q", found, agency)
	}
}
