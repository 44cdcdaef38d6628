package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

// revokeCase is a revocation that must be rejected, in the state that makes it so.
type revokeCase struct {
	name   string
	prior  [][]byte // valid transactions committed first, one block each
	before [][]byte // valid transactions ahead of bad in the block under test
	bad    []byte
	check  tx.Code // CheckTx's verdict before the block (committed state only)
	code   tx.Code // FinalizeBlock's verdict in the block; check if zero
	// later is CheckTx's verdict once the block without bad is committed: check if zero, OK if laterOK.
	later   tx.Code
	laterOK bool
	target  [32]byte // the document bad names
}

func revokeCases() []revokeCase {
	deed, never, next := doc("deed"), doc("never"), doc("deed v2")
	anchorA := anchorTx(keyA1, 1, exp, deed)
	anchorB := anchorTx(keyB, 1, exp, deed)
	revokeA := revokeTx(keyA1, 2, exp, deed, tx.ReasonWithdrawn, nil)
	reasonChanged := newRevokeTx(testChain, keyA1, 3, exp, deed, tx.ReasonWithdrawn, nil)
	reasonChanged.Body.(*tx.Revoke).Reason = tx.ReasonIssuedInError
	successorChanged := newRevokeTx(testChain, keyA1, 3, exp, deed, tx.ReasonSuperseded, &next)
	successorChanged.Body.(*tx.Revoke).Successor = &never
	reason0 := revokeTx(keyA1, 3, exp, deed, tx.ReasonWithdrawn, nil)
	reason0[len(reason0)-64-2] = 0 // the reason byte, before the flags and the signature
	return []revokeCase{
		{name: "not anchored/never anchored", bad: revokeTx(keyA1, 2, exp, never, tx.ReasonWithdrawn, nil),
			check: tx.CodeNotAnchored, target: never},
		{name: "not anchored/only the successor is anchored", prior: [][]byte{anchorTx(keyA1, 1, exp, next)},
			bad: revokeTx(keyA1, 2, exp, never, tx.ReasonSuperseded, &next), check: tx.CodeNotAnchored, target: never},
		{name: "not anchored/anchored earlier in the same block", before: [][]byte{anchorA}, bad: revokeA,
			check: tx.CodeNotAnchored, laterOK: true, target: deed},
		{name: "not anchored/anchored by another agency earlier in the same block", before: [][]byte{anchorB}, bad: revokeA,
			check: tx.CodeNotAnchored, later: tx.CodeNotOwner, target: deed},
		{name: "not owner/another agency's document", prior: [][]byte{anchorB}, bad: revokeA,
			check: tx.CodeNotOwner, target: deed},
		{name: "not owner/agency a's document revoked by agency b", prior: [][]byte{anchorA},
			bad: revokeTx(keyB, 2, exp, deed, tx.ReasonKeyCompromised, nil), check: tx.CodeNotOwner, target: deed},
		{name: "not owner/another agency's revoked document", prior: [][]byte{anchorB, revokeTx(keyB, 2, exp, deed, tx.ReasonWithdrawn, nil)},
			bad: revokeA, check: tx.CodeNotOwner, target: deed},
		{name: "already revoked/in an earlier block, other key of the agency", prior: [][]byte{anchorA, revokeA},
			bad: revokeTx(keyA2, 1, exp, deed, tx.ReasonSuperseded, &next), check: tx.CodeRevoked, target: deed},
		{name: "already revoked/in an earlier block, same key and reason", prior: [][]byte{anchorA, revokeA},
			bad: revokeTx(keyA1, 3, exp, deed, tx.ReasonWithdrawn, nil), check: tx.CodeRevoked, target: deed},
		{name: "already revoked/twice in one block", prior: [][]byte{anchorA}, before: [][]byte{revokeA},
			bad: revokeTx(keyA2, 1, exp, deed, tx.ReasonIssuedInError, nil), check: tx.CodeOK, code: tx.CodeRevoked, later: tx.CodeRevoked, target: deed},
		{name: "already revoked/twice in one block, same key", prior: [][]byte{anchorA}, before: [][]byte{revokeA},
			bad: revokeTx(keyA1, 3, exp, deed, tx.ReasonSuperseded, &next), check: tx.CodeOK, code: tx.CodeRevoked, later: tx.CodeRevoked, target: deed},
		{name: "unknown agency/unregistered key", prior: [][]byte{anchorA},
			bad: revokeTx(keyX, 1, exp, deed, tx.ReasonWithdrawn, nil), check: tx.CodeUnknownAgency, target: deed},
		{name: "unknown agency/unregistered key, document never anchored",
			bad: revokeTx(keyX, 1, exp, never, tx.ReasonWithdrawn, nil), check: tx.CodeUnknownAgency, target: never},
		{name: "key retired/another key of the owner, rotated away", prior: [][]byte{anchorA, rotateTx(keyA2, 1, keyA3)},
			bad: revokeTx(keyA2, 2, exp, deed, tx.ReasonWithdrawn, nil), check: tx.CodeKeyRetired, target: deed},
		{name: "key retired/the key that anchored it, rotated away", prior: [][]byte{anchorA, rotateTx(keyA1, 2, keyA3)},
			bad: revokeTx(keyA1, 3, exp, deed, tx.ReasonWithdrawn, nil), check: tx.CodeKeyRetired, target: deed},
		{name: "key retired/another agency's document", prior: [][]byte{anchorB, rotateTx(keyA1, 2, keyA3)},
			bad: revokeTx(keyA1, 3, exp, deed, tx.ReasonWithdrawn, nil), check: tx.CodeKeyRetired, target: deed},
		{name: "replayed/same revocation bytes in a later block", prior: [][]byte{anchorA, revokeA}, bad: revokeA,
			check: tx.CodeReplayed, target: deed},
		{name: "replayed/same revocation bytes twice in one block", prior: [][]byte{anchorA}, before: [][]byte{revokeA}, bad: revokeA,
			check: tx.CodeOK, code: tx.CodeReplayed, later: tx.CodeReplayed, target: deed},
		{name: "replayed/nonce of the anchor", prior: [][]byte{anchorA}, bad: revokeTx(keyA1, 1, exp, deed, tx.ReasonWithdrawn, nil),
			check: tx.CodeReplayed, target: deed},
		{name: "bad signature/reason changed after signing", prior: [][]byte{anchorA}, bad: reasonChanged.Encode(),
			check: tx.CodeBadSignature, target: deed},
		{name: "bad signature/successor changed after signing", prior: [][]byte{anchorA}, bad: successorChanged.Encode(),
			check: tx.CodeBadSignature, target: deed},
		{name: "malformed/reason 0", prior: [][]byte{anchorA}, bad: reason0, check: tx.CodeMalformed, target: deed},
		{name: "expired", prior: [][]byte{anchorA}, bad: revokeTx(keyA1, 2, 1, deed, tx.ReasonWithdrawn, nil),
			check: tx.CodeExpired, target: deed},
		{name: "wrong chain", prior: [][]byte{anchorA}, bad: newRevokeTx("other-chain", keyA1, 2, exp, deed, tx.ReasonWithdrawn, nil).Encode(),
			check: tx.CodeWrongChain, target: deed},
	}
}

// setup brings a fresh node to the state of c before the block under test.
func (c revokeCase) setup(t *testing.T) *node {
	t.Helper()
	n := newMemNode(t, testGenesis(testParams))
	for i, raw := range c.prior {
		if got := codes(n.block(raw)); got[0] != tx.CodeOK {
			t.Fatalf("prior tx %d: code %v", i, got[0])
		}
	}
	return n
}

// TestRevokeRejections checks every reason to reject a revocation in CheckTx, PrepareProposal,
// ProcessProposal and FinalizeBlock, and that the rejected revocation changes nothing but its own result:
// the block with it has the app hash and the stored state of the block without it.
func TestRevokeRejections(t *testing.T) {
	tail := anchorTx(keyB, 900, exp, doc("tail"))
	for _, c := range revokeCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.code == 0 {
				c.code = c.check
			}
			if c.later == 0 && !c.laterOK {
				c.later = c.check
			}
			with, without := c.setup(t), c.setup(t)
			if got := with.checkTx(c.bad); got != c.check {
				t.Errorf("CheckTx: %v, want %v", got, c.check)
			}
			good := append(slices.Clone(c.before), tail)
			block := append(slices.Clone(c.before), c.bad, tail)
			if got := with.process(block...); got != abci.ResponseProcessProposal_REJECT {
				t.Errorf("ProcessProposal with the revocation: %v, want REJECT", got)
			}
			if got := with.process(good...); got != abci.ResponseProcessProposal_ACCEPT {
				t.Errorf("ProcessProposal without the revocation: %v, want ACCEPT", got)
			}
			if got := with.prepare(block...); !slices.EqualFunc(got, good, bytes.Equal) {
				t.Errorf("PrepareProposal kept %d txs, want the %d valid ones", len(got), len(good))
			}

			var revokedBefore *receipt.Revocation
			if found, _, _, _ := with.anchor(c.target); found {
				revokedBefore = with.revocation(c.target)
			}
			// FinalizeBlock with the revocation before the tail (not committed), then with it last, as
			// committed: a rejected transaction in the middle shifts the indices of those after it.
			checkCodes := func(res *abci.ResponseFinalizeBlock, at int) {
				t.Helper()
				for i, r := range res.TxResults {
					want := tx.CodeOK
					if i == at {
						want = c.code
						if r.Codespace != tx.Codespace || r.Log == "" {
							t.Errorf("rejection has codespace %q and log %q", r.Codespace, r.Log)
						}
					}
					if tx.Code(r.Code) != want {
						t.Errorf("FinalizeBlock tx %d of %d: %v, want %v (%s)", i, len(res.TxResults), tx.Code(r.Code), want, r.Log)
					}
				}
			}
			checkCodes(with.finalize(block...), len(c.before))
			res := with.block(append(slices.Clone(good), c.bad)...)
			checkCodes(res, len(good))
			ref := without.block(good...)
			if !bytes.Equal(res.AppHash, ref.AppHash) {
				t.Errorf("app hash %x with the rejected revocation, %x without", res.AppHash, ref.AppHash)
			}
			// The document's revocation is what it was, or what the valid transactions before made it.
			if found, _, _, _ := with.anchor(c.target); found {
				got := with.revocation(c.target)
				if want := without.revocation(c.target); !reflect.DeepEqual(got, want) {
					t.Errorf("revocation %+v, want %+v", got, want)
				}
				if len(c.before) == 0 && !reflect.DeepEqual(got, revokedBefore) {
					t.Errorf("revocation changed from %+v to %+v", revokedBefore, got)
				}
			}
			a, b := dump(t, with.st), dump(t, without.st)
			badHash := sha256.Sum256(c.bad)
			for k := range mergeKeys(a, b) {
				if a[k] == b[k] || k == "m/commit" {
					continue
				}
				if _, inB := b[k]; !inB && k == "t/"+string(badHash[:]) {
					continue // the rejected tx's own result
				}
				t.Errorf("key %q differs: %x vs %x", k, a[k], b[k])
			}
			if bt, err := tx.Decode(c.bad); err == nil && !slices.ContainsFunc(append(slices.Clone(c.prior), c.before...), func(raw []byte) bool {
				e, _ := tx.Decode(raw)
				return e.Signer == bt.Signer && e.Nonce == bt.Nonce
			}) {
				if used, err := with.st.NonceUsed(bt.Signer, bt.Nonce); err != nil || used {
					t.Errorf("rejected revocation used its nonce: %v %v", used, err)
				}
			}
			if got := without.checkTx(c.bad); got != c.later {
				t.Errorf("CheckTx once the block without it is committed: %v, want %v", got, c.later)
			}
		})
	}
}

// TestRevoke revokes a document and checks what the chain stores and answers afterwards.
func TestRevoke(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	ref := newNode(t, testGenesis(testParams)) // the same chain without the revocation
	deed, next, meta := doc("deed"), doc("deed v2"), doc("deed metadata")
	anchor := newTx(testChain, keyA1, 1, exp, doc("other"), deed)
	anchor.Body.(*tx.Anchor).Entries[1].MetaDigest = &meta
	anchor.Sign(keyA1)
	for _, x := range []*node{n, ref} {
		if got := codes(x.block(anchor.Encode())); got[0] != tx.CodeOK {
			t.Fatalf("anchor: %v", got[0])
		}
	}
	orig, err := n.st.Anchor(deed)
	if err != nil || orig.Revocation != nil || orig.LogIndex != 1 {
		t.Fatalf("anchor before the revocation: %+v, %v", orig, err)
	}
	cp1, err := n.st.Checkpoint(1)
	if err != nil {
		t.Fatal(err)
	}

	// The agency's other key revokes, after an anchor in the same block.
	revoke := revokeTx(keyA2, 1, exp, deed, tx.ReasonSuperseded, &next)
	if got := n.checkTx(revoke); got != tx.CodeOK {
		t.Fatalf("CheckTx: %v", got)
	}
	before := anchorTx(keyB, 1, exp, doc("b1"), doc("b2"))
	if got := n.process(before, revoke); got != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("ProcessProposal: %v", got)
	}
	res := n.block(before, revoke)
	if got := codes(res); !slices.Equal(got, []tx.Code{tx.CodeOK, tx.CodeOK}) {
		t.Fatalf("codes %v", got)
	}
	refRes := ref.block(before)
	if bytes.Equal(res.AppHash, refRes.AppHash) {
		t.Fatal("the revocation did not change the app hash")
	}
	cp2, err := n.st.Checkpoint(2)
	if err != nil {
		t.Fatal(err)
	}
	refCp2, err := ref.st.Checkpoint(2)
	if err != nil {
		t.Fatal(err)
	}
	if cp2.MapRoot == refCp2.MapRoot || cp2.LogRoot == refCp2.LogRoot || cp2.LogSize != refCp2.LogSize+1 || cp2.LogSize != cp1.LogSize+3 {
		t.Fatalf("checkpoint 2 %+v, without the revocation %+v", cp2, refCp2)
	}

	got, err := n.st.Anchor(deed)
	if err != nil {
		t.Fatal(err)
	}
	want := receipt.Revocation{Height: 2, Time: blockTime(2).UTC(), Reason: uint8(tx.ReasonSuperseded), Successor: &next,
		Signer: pubKey(keyA2), TxHash: sha256.Sum256(revoke), LogIndex: cp1.LogSize + 2}
	if got.Revocation == nil || !reflect.DeepEqual(*got.Revocation, want) {
		t.Fatalf("revocation %+v, want %+v", got.Revocation, want)
	}
	if got.State() != receipt.StateRevoked || orig.State() != receipt.StateAnchored {
		t.Errorf("states %v then %v", orig.State(), got.State())
	}
	if !bytes.Equal(got.Record.Encode(), orig.Record.Encode()) || got.LogIndex != orig.LogIndex || got.Record.Signer != pubKey(keyA1) {
		t.Errorf("the record changed: %+v, was %+v", got, orig)
	}
	if r, err := n.st.TxResult(sha256.Sum256(revoke)); err != nil || r.Code != 0 || r.Height != 2 || r.Index != 1 {
		t.Errorf("TxResult %+v, %v", r, err)
	}
	if used, err := n.st.NonceUsed(pubKey(keyA2), 1); err != nil || !used {
		t.Errorf("the revocation's nonce is not used: %v, %v", used, err)
	}
	for _, d := range []string{"other", "b1", "b2"} {
		if a, err := n.st.Anchor(doc(d)); err != nil || a.Revocation != nil {
			t.Errorf("%s: %+v, %v", d, a, err)
		}
	}
	// The successor is not anchored by the revocation.
	if found, _, _, _ := n.anchor(next); found {
		t.Error("the successor is anchored")
	}

	// The hash stays taken, for every agency, whether or not the anchor carries metadata.
	for i, raw := range [][]byte{
		anchorTx(keyA1, 10, exp, deed),
		anchorTx(keyA2, 10, exp, doc("fresh"), deed),
		anchorTx(keyB, 10, exp, deed),
	} {
		if got := n.checkTx(raw); got != tx.CodeDuplicateHash {
			t.Errorf("anchor %d: CheckTx %v", i, got)
		}
		if got := codes(n.block(raw)); got[0] != tx.CodeDuplicateHash {
			t.Errorf("anchor %d: FinalizeBlock %v", i, got[0])
		}
	}
	// Revoking again, with any key of the agency, is refused; the successor can be anchored.
	if got := n.checkTx(revokeTx(keyA1, 11, exp, deed, tx.ReasonWithdrawn, nil)); got != tx.CodeRevoked {
		t.Errorf("second revocation: %v", got)
	}
	if got := codes(n.block(anchorTx(keyA1, 12, exp, next))); got[0] != tx.CodeOK {
		t.Errorf("anchoring the successor: %v", got[0])
	}
	now, err := n.st.Anchor(deed)
	if err != nil || !reflect.DeepEqual(now, got) {
		t.Errorf("anchor after later blocks %+v, %v; want %+v", now, err, got)
	}
	// A restart reads the same revocation back.
	n.restart()
	if again := n.revocation(deed); again == nil || !reflect.DeepEqual(*again, want) {
		t.Errorf("after a restart: %+v", again)
	}
}

// TestRevokeAfterKeyRotation: a document belongs to its agency, not to the key that anchored it: after
// that key is rotated away, the agency's new key revokes it.
func TestRevokeAfterKeyRotation(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	deed := doc("deed")
	if got := codes(n.block(anchorTx(keyA1, 1, exp, deed))); got[0] != tx.CodeOK {
		t.Fatalf("anchor: %v", got[0])
	}
	if got := codes(n.block(rotateTx(keyA1, 2, keyA3))); got[0] != tx.CodeOK {
		t.Fatalf("rotation: %v", got[0])
	}
	if got := n.checkTx(revokeTx(keyA1, 3, exp, deed, tx.ReasonKeyCompromised, nil)); got != tx.CodeKeyRetired {
		t.Errorf("revocation with the retired key: %v", got)
	}
	revoke := revokeTx(keyA3, 1, exp, deed, tx.ReasonKeyCompromised, nil)
	if got := codes(n.block(revoke)); got[0] != tx.CodeOK {
		t.Fatalf("revocation with the new key: %v", got[0])
	}
	rv := n.revocation(deed)
	if rv == nil || rv.Signer != pubKey(keyA3) || rv.Reason != uint8(tx.ReasonKeyCompromised) || rv.Height != 3 {
		t.Fatalf("revocation %+v", rv)
	}
	if a, err := n.st.Anchor(deed); err != nil || a.Signer != pubKey(keyA1) || a.Agency != "agency-a" {
		t.Errorf("record %+v, %v", a, err)
	}
}

// TestRevokeDeterminism runs blocks that mix anchors and revocations, valid and rejected, on two instances
// (one crashed and reopened half-way) and expects the same app hashes, results and stored state.
func TestRevokeDeterminism(t *testing.T) {
	const blocks = 12
	seq := make([][][]byte, blocks)
	for i := range seq {
		h := uint64(i + 1)
		d := func(k uint64) [32]byte { return doc(fmt.Sprintf("r/%d", k)) }
		succ := d(h*10 + 1)
		txs := [][]byte{
			anchorTx(keyA1, h*100, h+5, d(h*10), d(h*10+1), d(h*10+2)),
			anchorTx(keyB, h*100, h+5, d(h*10+3)),
		}
		if h > 1 {
			p := h - 1
			txs = append(txs,
				revokeTx(keyA2, h*100+1, h+5, d(p*10), tx.Reason(1+h%4), &succ),                         // valid
				revokeTx(keyA1, h*100+2, h+5, d(p*10+3), tx.ReasonWithdrawn, nil),                       // not owner
				revokeTx(keyB, h*100+3, h+5, d(p*10+3), tx.ReasonIssuedInError, nil),                    // valid
				revokeTx(keyA1, h*100+4, h+5, d(p*10), tx.ReasonWithdrawn, nil),                         // revoked in this block
				revokeTx(keyA1, h*100+5, h+5, d(h*10+2), tx.ReasonWithdrawn, nil),                       // anchored in this block
				revokeTx(keyA1, h*100+6, h+5, doc(fmt.Sprintf("never/%d", h)), tx.ReasonWithdrawn, nil), // never anchored
			)
		}
		if h > 2 {
			txs = append(txs, revokeTx(keyB, h*100+7, h+5, d((h-2)*10+3), tx.ReasonKeyCompromised, nil)) // revoked a block ago
			txs = append(txs, revokeTx(keyX, h*100+8, h+5, d((h-2)*10+1), tx.ReasonWithdrawn, nil))      // unknown agency
		}
		if h%3 == 0 { // a revocation before the anchor it names, and the same revocation again
			txs = append(txs, seq[i-1][2])
			txs = append([][]byte{revokeTx(keyA1, h*100+9, h+5, d(h*10+1), tx.ReasonSuperseded, nil)}, txs...)
		}
		seq[i] = txs
	}
	nodes := []*node{newNode(t, testGenesis(testParams)), newMemNode(t, testGenesis(testParams))}
	var hashes [][][]byte
	var results [][][]tx.Code
	for i, n := range nodes {
		restart := 0
		if i == 1 {
			restart = blocks / 2
		}
		h, r := run(n, seq, restart)
		hashes, results = append(hashes, h), append(results, r)
	}
	seen := map[tx.Code]int{}
	for b := range blocks {
		if !bytes.Equal(hashes[1][b], hashes[0][b]) || !slices.Equal(results[1][b], results[0][b]) {
			t.Fatalf("block %d: app hash %x, codes %v on node 1; %x, %v on node 0", b+1, hashes[1][b], results[1][b], hashes[0][b], results[0][b])
		}
		if b > 0 && bytes.Equal(hashes[0][b], hashes[0][b-1]) {
			t.Errorf("block %d did not change the app hash", b+1)
		}
		for _, c := range results[0][b] {
			seen[c]++
		}
	}
	if !maps.Equal(dump(t, nodes[0].st), dump(t, nodes[1].st)) {
		t.Error("stored states differ")
	}
	for _, c := range []tx.Code{tx.CodeOK, tx.CodeNotAnchored, tx.CodeNotOwner, tx.CodeRevoked, tx.CodeUnknownAgency, tx.CodeReplayed} {
		if seen[c] == 0 {
			t.Errorf("no tx with code %v in the sequence (codes %v)", c, seen)
		}
	}
	// Revocations landed where they should.
	for h := uint64(2); h <= blocks; h++ {
		rv := nodes[0].revocation(doc(fmt.Sprintf("r/%d", (h-1)*10)))
		if rv == nil || rv.Height != h || rv.Signer != pubKey(keyA2) || rv.Reason != uint8(1+h%4) {
			t.Errorf("revocation of block %d: %+v", h, rv)
		}
	}
}

// TestRevokeReceipts takes a document through anchoring (height 1) and revocation (height 2) on a
// 4-validator chain and checks the receipts of both heights from the trust root, the revocation event in
// the log of height 2 and the log's consistency between the two.
func TestRevokeReceipts(t *testing.T) {
	vs := newTestValidators(4)
	n := newValidatorNode(t, testGenesis(testParams), vs)
	deed, next := doc("deed"), doc("deed v2")
	filler := func(p string, k int) [][32]byte {
		var out [][32]byte
		for i := range k {
			out = append(out, doc(fmt.Sprintf("%s/%d", p, i)))
		}
		return out
	}
	decide := func(h int64, lc abci.ExtendedCommitInfo, txs ...[]byte) []byte {
		t.Helper()
		proposed := n.proposeWith(lc, txs...)
		status, ext, res := n.decide(blockHash(h, "r"), proposed)
		if status != accept || slices.ContainsFunc(codes(res), func(c tx.Code) bool { return c != tx.CodeOK }) || len(proposed) != len(txs)+min(int(h)-1, 1) {
			t.Fatalf("block %d: %v, %d txs proposed, codes %v", h, status, len(proposed), codes(res))
		}
		return ext
	}
	ext1 := decide(1, abci.ExtendedCommitInfo{},
		anchorTx(keyB, 1, exp, filler("b", 5)...),
		anchorTx(keyA1, 1, exp, append(filler("a", 3), deed)...))
	revoke := revokeTx(keyA2, 1, exp, deed, tx.ReasonSuperseded, &next)
	ext2 := decide(2, extendedCommit(vs, 1, 0, fourOf(ext1)),
		anchorTx(keyB, 2, exp, filler("c", 4)...), revoke, anchorTx(keyA1, 2, exp, next))
	decide(3, extendedCommit(vs, 2, 1, fourOf(ext2)), anchorTx(keyB, 3, exp, doc("later")))

	trust := receipt.TrustRoot{ChainID: testChain, Validators: canonicalSet(vs)}
	cp1, err := n.st.Checkpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	cp2, err := n.st.Checkpoint(2)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := n.st.Anchor(deed)
	if err != nil || stored.Revocation == nil {
		t.Fatalf("stored anchor %+v, %v", stored, err)
	}
	rev := *stored.Revocation
	if rev.Height != 2 || rev.LogIndex != cp1.LogSize+4 || rev.TxHash != sha256.Sum256(revoke) || *rev.Successor != next {
		t.Fatalf("revocation %+v (log size at 1: %d)", rev, cp1.LogSize)
	}

	// Before: anchored as of height 1.
	r1, err := n.st.Receipt(deed, 1)
	if err != nil {
		t.Fatal(err)
	}
	res1, err := receipt.Verify(r1, trust)
	if err != nil {
		t.Fatalf("Verify(receipt at 1): %v", err)
	}
	if res1.State != receipt.StateAnchored || res1.Revocation != nil || r1.Revocation != nil || res1.AsOf.Hash() != [32]byte(ext1) ||
		!bytes.Equal(res1.Record.Encode(), stored.Record.Encode()) {
		t.Fatalf("receipt at 1: %+v", res1)
	}

	// After: revoked as of height 2, with the same record.
	r2, err := n.st.Receipt(deed, 2)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := receipt.Verify(r2, trust)
	if err != nil {
		t.Fatalf("Verify(receipt at 2): %v", err)
	}
	if res2.State != receipt.StateRevoked || res2.Revocation == nil || !reflect.DeepEqual(*res2.Revocation, rev) ||
		res2.AsOf.Hash() != [32]byte(ext2) || !bytes.Equal(res2.Record.Encode(), res1.Record.Encode()) || r2.LogIndex != r1.LogIndex {
		t.Fatalf("receipt at 2: %+v", res2)
	}
	// The map value at height 2 is that of the revocation, and not the anchor's any more.
	if err := receipt.VerifyMapInclusion(cp2.MapRoot, deed, receipt.MapValue(&stored.Record, receipt.StateRevoked, stored.LogIndex, &rev), r2.MapProof); err != nil {
		t.Errorf("map value of the revocation at 2: %v", err)
	}
	if err := receipt.VerifyMapInclusion(cp2.MapRoot, deed, receipt.MapValue(&stored.Record, receipt.StateAnchored, stored.LogIndex, nil), r2.MapProof); !errors.Is(err, receipt.ErrRootMismatch) {
		t.Errorf("the anchored map value verifies at 2: %v", err)
	}
	if err := receipt.VerifyMapInclusion(cp1.MapRoot, deed, receipt.MapValue(&stored.Record, receipt.StateAnchored, stored.LogIndex, nil), r1.MapProof); err != nil {
		t.Errorf("anchored map value at 1: %v", err)
	}
	// The receipt at 2 claiming the anchored state does not verify.
	claim := *r2
	claim.State, claim.Revocation = receipt.StateAnchored, nil
	if _, err := receipt.Verify(&claim, trust); !errors.Is(err, receipt.ErrRootMismatch) {
		t.Errorf("receipt at 2 claiming anchored: %v", err)
	}
	// Both forms of the file carry the revocation.
	j, err := json.Marshal(r2)
	if err != nil {
		t.Fatal(err)
	}
	for name, dec := range map[string]func() (*receipt.Receipt, error){
		"JSON":    func() (*receipt.Receipt, error) { return receipt.DecodeJSON(j) },
		"compact": func() (*receipt.Receipt, error) { return receipt.DecodeCompact(r2.EncodeCompact()) },
	} {
		back, err := dec()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := receipt.Verify(back, trust); err != nil || !reflect.DeepEqual(got, res2) {
			t.Errorf("%s: Verify = %+v, %v", name, got, err)
		}
	}

	// The log of height 2 holds the revocation event at its index.
	leaf := receipt.LogLeafHash(receipt.RevocationEvent(deed, &rev))
	lp, err := n.st.LogProof(rev.LogIndex, cp2.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, rev.LogIndex, cp2.LogSize, leaf[:], hashes(lp), cp2.LogRoot[:]); err != nil {
		t.Errorf("revocation event not in the log at 2: %v", err)
	}
	for _, idx := range []uint64{rev.LogIndex - 1, rev.LogIndex + 1} {
		p, err := n.st.LogProof(idx, cp2.LogSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, cp2.LogSize, leaf[:], hashes(p), cp2.LogRoot[:]); err == nil {
			t.Errorf("revocation event verifies at log index %d too", idx)
		}
	}
	// The anchor event is still where the receipts say, in both logs.
	anchorLeaf := receipt.LogLeafHash(receipt.AnchorEvent(&stored.Record))
	for _, cp := range []receipt.Checkpoint{cp1, cp2} {
		p, err := n.st.LogProof(stored.LogIndex, cp.LogSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, stored.LogIndex, cp.LogSize, anchorLeaf[:], hashes(p), cp.LogRoot[:]); err != nil {
			t.Errorf("anchor event at log size %d: %v", cp.LogSize, err)
		}
	}

	// The log of height 2 extends that of height 1.
	cons, err := n.st.LogConsistency(cp1.LogSize, cp2.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp1.LogSize, cp2.LogSize, hashes(cons), cp1.LogRoot[:], cp2.LogRoot[:]); err != nil {
		t.Errorf("log at 2 not consistent with log at 1: %v", err)
	}
	other := cp1.LogRoot
	other[0] ^= 1
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp1.LogSize, cp2.LogSize, hashes(cons), other[:], cp2.LogRoot[:]); err == nil {
		t.Error("consistency proof verifies against another root")
	}

	// The successor, anchored after the revocation in block 2, and a document never anchored.
	for _, tc := range []struct {
		doc    [32]byte
		height uint64
		state  receipt.State
	}{{next, 1, receipt.StateUnknown}, {next, 2, receipt.StateAnchored}, {doc("never"), 2, receipt.StateUnknown}} {
		r, err := n.st.Receipt(tc.doc, tc.height)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := receipt.Verify(r, trust); err != nil || got.State != tc.state || got.Revocation != nil {
			t.Errorf("receipt of %x at %d: %+v, %v; want %v", tc.doc[:4], tc.height, got, err, tc.state)
		}
	}
}

func hashes(hs [][32]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
