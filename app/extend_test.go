package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

const accept, rejectStatus = abci.ResponseProcessProposal_ACCEPT, abci.ResponseProcessProposal_REJECT

// atHeight1 returns a node of a 4-validator chain on which block 1, anchoring doc("signed"), is
// committed, and the vote extension of block 1.
func atHeight1(t *testing.T) (*node, []testValidator, []byte) {
	t.Helper()
	vs := newTestValidators(4)
	n := newValidatorNode(t, testGenesis(testParams), vs)
	txs := n.proposeWith(abci.ExtendedCommitInfo{}, anchorTx(keyA1, 1, exp, doc("signed")))
	status, ext, res := n.decide(blockHash(1, "a"), txs)
	if status != accept || len(ext) != 32 || !bytes.Equal(ext, res.AppHash) {
		t.Fatalf("block 1: %v, extension %x, app hash %x", status, ext, res.AppHash)
	}
	return n, vs, ext
}

// fourOf repeats ext for every validator.
func fourOf(ext []byte) [][]byte { return [][]byte{ext, ext, ext, ext} }

// signers returns the positions in vs of the validators that made sigs.
func signers(vs []testValidator, sigs receipt.Signatures) []int {
	set := canonicalSet(vs)
	var out []int
	for _, s := range sigs.Sigs {
		out = append(out, slices.IndexFunc(vs, func(v testValidator) bool {
			return bytes.Equal(v.key.Public().(ed25519.PublicKey), set[s.Validator].PubKey[:])
		}))
	}
	slices.Sort(out)
	return out
}

// sigsBy returns the signatures of the validators vs[which...] on ext as the extension of height and round.
func sigsBy(vs []testValidator, height int64, round int32, ext []byte, which ...int) receipt.Signatures {
	set := canonicalSet(vs)
	sigs := receipt.Signatures{Round: round}
	for _, w := range which {
		i := slices.IndexFunc(set, func(v receipt.Validator) bool {
			return bytes.Equal(v.PubKey[:], vs[w].key.Public().(ed25519.PublicKey))
		})
		s := receipt.Sig{Validator: uint16(i)}
		copy(s.Signature[:], vs[w].signExtension(height, round, ext))
		sigs.Sigs = append(sigs.Sigs, s)
	}
	return sigs
}

func TestCheckpointSignedByQuorum(t *testing.T) {
	n, vs, ext := atHeight1(t)
	const round = 2
	txs := n.proposeWith(extendedCommit(vs, 1, round, fourOf(ext)), anchorTx(keyB, 1, exp, doc("second")))
	if len(txs) != 2 || tx.PeekKind(txs[0]) != tx.KindCheckpointSigs || tx.PeekKind(txs[1]) != tx.KindAnchor {
		t.Fatalf("proposal kinds: %d txs, first %v", len(txs), tx.PeekKind(txs[0]))
	}
	cs, err := tx.DecodeCheckpointSigs(txs[0])
	if err != nil || cs.Height != 1 || cs.Signatures.Round != round || !slices.Equal(signers(vs, cs.Signatures), []int{0, 1, 2, 3}) {
		t.Fatalf("checkpoint signatures %+v, %v", cs, err)
	}
	c, err := n.st.Checkpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Hash(); !bytes.Equal(h[:], ext) {
		t.Fatalf("checkpoint 1 hash %x, FinalizeBlock app hash %x", h, ext)
	}
	set := canonicalSet(vs)
	if err := receipt.VerifyQuorum(set, &c, cs.Signatures); err != nil {
		t.Fatalf("proposed signatures: %v", err)
	}
	status, _, res := n.decide(blockHash(2, "a"), txs)
	if status != accept || !slices.Equal(codes(res), []tx.Code{tx.CodeOK, tx.CodeOK}) {
		t.Fatalf("block 2: %v, codes %v", status, codes(res))
	}
	if got, err := n.st.Signatures(1); err != nil || !slices.Equal(got.Sigs, cs.Signatures.Sigs) || got.Round != round {
		t.Fatalf("stored signatures %+v, %v", got, err)
	}
	if h, err := n.st.LatestSigned(); err != nil || h != 1 {
		t.Errorf("LatestSigned = %d, %v; want 1", h, err)
	}

	trust := receipt.TrustRoot{ChainID: testChain, Validators: set}
	for _, tc := range []struct {
		name  string
		doc   [32]byte
		state receipt.State
	}{
		{"anchored in block 1", doc("signed"), receipt.StateAnchored},
		{"anchored only in block 2", doc("second"), receipt.StateUnknown},
		{"never anchored", doc("never"), receipt.StateUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := n.st.Receipt(tc.doc, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.State != tc.state || got.DocHash != tc.doc || got.AsOf.Hash() != [32]byte(ext) {
				t.Errorf("result %+v", got)
			}
			if tc.state == receipt.StateAnchored && (got.Record.Height != 1 || got.Record.Agency != "agency-a") {
				t.Errorf("record %+v", got.Record)
			}
			// The one-validator set of the other test chains does not vouch for this chain.
			other, err := validatorSet(testValidators)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := receipt.Verify(r, receipt.TrustRoot{ChainID: testChain, Validators: other}); !errors.Is(err, receipt.ErrValidatorSet) {
				t.Errorf("Verify against another set: %v", err)
			}
		})
	}
}

// TestGatherSignatures: the proposer keeps the valid signatures of validators that extended the
// checkpoint it holds, and proposes them only with a quorum.
func TestGatherSignatures(t *testing.T) {
	stranger := newTestValidators(5)[4]
	for _, tc := range []struct {
		name   string
		votes  string // per validator: '+' the right extension, 'x' another hash, 's' a bad signature, '-' absent
		mutate func(*abci.ExtendedCommitInfo)
		want   []int // the validators whose signatures are proposed; nil: no checkpoint transaction
	}{
		{name: "all four", votes: "++++", want: []int{0, 1, 2, 3}},
		{name: "one extension differs", votes: "++x+", want: []int{0, 1, 3}},
		{name: "one bad signature", votes: "+s++", want: []int{0, 2, 3}},
		{name: "one absent", votes: "+++-", want: []int{0, 1, 2}},
		{name: "two of four", votes: "++--"},
		{name: "two and two that differ", votes: "xx++"},
		{name: "two and two bad signatures", votes: "++ss"},
		{name: "signed for another round", votes: "++++", mutate: func(lc *abci.ExtendedCommitInfo) { lc.Round = 3 }},
		{name: "a stranger among three", votes: "+++-", want: []int{0, 1, 2}, mutate: func(lc *abci.ExtendedCommitInfo) {
			ext := lc.Votes[0].VoteExtension
			lc.Votes = append(lc.Votes, abci.ExtendedVoteInfo{Validator: abci.Validator{Address: stranger.addr, Power: validatorPower},
				VoteExtension: ext, ExtensionSignature: stranger.signExtension(1, 0, ext), BlockIdFlag: cmtproto.BlockIDFlagCommit})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, vs, ext := atHeight1(t)
			other := blockHash(1, "another checkpoint")
			exts := make([][]byte, len(vs))
			for i, c := range tc.votes {
				switch c {
				case '+', 's':
					exts[i] = ext
				case 'x':
					exts[i] = other
				}
			}
			lc := extendedCommit(vs, 1, 0, exts)
			for i, c := range tc.votes {
				if c == 's' {
					lc.Votes[i].ExtensionSignature = vs[i].signExtension(2, 0, ext)
				}
			}
			if tc.mutate != nil {
				tc.mutate(&lc)
			}
			txs := n.proposeWith(lc, anchorTx(keyB, 1, exp, doc("second")))
			if tc.want == nil {
				if len(txs) != 1 || tx.PeekKind(txs[0]) != tx.KindAnchor {
					t.Fatalf("proposal without quorum: %d txs, first %v", len(txs), tx.PeekKind(txs[0]))
				}
			} else {
				cs, err := tx.DecodeCheckpointSigs(txs[0])
				if err != nil || len(txs) != 2 || !slices.Equal(signers(vs, cs.Signatures), tc.want) {
					t.Fatalf("proposal: %d txs, signatures %+v, %v; want signers %v", len(txs), cs, err, tc.want)
				}
			}
			if status, _, res := n.decide(blockHash(2, "a"), txs); status != accept || slices.ContainsFunc(codes(res), func(c tx.Code) bool { return c != tx.CodeOK }) {
				t.Fatalf("block 2: %v, codes %v", status, codes(res))
			}
			got, err := n.st.Signatures(1)
			switch {
			case tc.want == nil && !errors.Is(err, store.ErrNotFound):
				t.Errorf("signatures stored without a quorum: %+v, %v", got, err)
			case tc.want != nil && (err != nil || !slices.Equal(signers(vs, got), tc.want)):
				t.Errorf("stored signatures %+v, %v; want signers %v", got, err, tc.want)
			}
		})
	}
}

// TestBadCheckpointSigsRejected: a block whose checkpoint transaction does not carry a quorum of valid
// signatures on the previous checkpoint is rejected, and if decided anyway stores no signatures.
func TestBadCheckpointSigsRejected(t *testing.T) {
	vs := newTestValidators(4)
	anchor := anchorTx(keyB, 1, exp, doc("second"))
	enc := func(height uint64, sigs receipt.Signatures) []byte {
		return (&tx.CheckpointSigs{Height: height, Signatures: sigs}).Encode()
	}
	for _, tc := range []struct {
		name  string
		block func(ext []byte) [][]byte
		index int // the bad transaction's position
		code  tx.Code
	}{
		{"bad signature", func(ext []byte) [][]byte {
			sigs := sigsBy(vs, 1, 0, ext, 0, 1, 2, 3)
			sigs.Sigs[1].Signature[5] ^= 1
			return [][]byte{enc(1, sigs), anchor}
		}, 0, tx.CodeBadSignature},
		{"signed for the wrong height", func(ext []byte) [][]byte {
			return [][]byte{enc(1, sigsBy(vs, 2, 0, ext, 0, 1, 2, 3)), anchor}
		}, 0, tx.CodeBadSignature},
		{"signed for the wrong round", func(ext []byte) [][]byte {
			sigs := sigsBy(vs, 1, 0, ext, 0, 1, 2, 3)
			sigs.Round = 1
			return [][]byte{enc(1, sigs), anchor}
		}, 0, tx.CodeBadSignature},
		{"another checkpoint signed", func([]byte) [][]byte {
			return [][]byte{enc(1, sigsBy(vs, 1, 0, blockHash(1, "other"), 0, 1, 2, 3)), anchor}
		}, 0, tx.CodeBadSignature},
		{"for a later height", func(ext []byte) [][]byte {
			return [][]byte{enc(2, sigsBy(vs, 1, 0, ext, 0, 1, 2, 3)), anchor}
		}, 0, tx.CodeMalformed},
		{"for height 0", func(ext []byte) [][]byte {
			return [][]byte{enc(0, sigsBy(vs, 1, 0, ext, 0, 1, 2, 3)), anchor}
		}, 0, tx.CodeMalformed},
		{"too few signers", func(ext []byte) [][]byte {
			return [][]byte{enc(1, sigsBy(vs, 1, 0, ext, 0, 2)), anchor}
		}, 0, tx.CodeBadSignature},
		{"a signer twice", func(ext []byte) [][]byte {
			return [][]byte{enc(1, sigsBy(vs, 1, 0, ext, 0, 1, 1)), anchor}
		}, 0, tx.CodeBadSignature},
		{"truncated", func(ext []byte) [][]byte {
			b := enc(1, sigsBy(vs, 1, 0, ext, 0, 1, 2, 3))
			return [][]byte{b[:len(b)-1], anchor}
		}, 0, tx.CodeMalformed},
		{"not first", func(ext []byte) [][]byte {
			return [][]byte{anchor, enc(1, sigsBy(vs, 1, 0, ext, 0, 1, 2, 3))}
		}, 1, tx.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, ext := atHeight1(t)
			txs := tc.block(ext)
			hash := blockHash(2, tc.name)
			if status := n.processBlock(hash, txs); status != rejectStatus {
				t.Errorf("ProcessProposal: %v, want REJECT", status)
			}
			res := n.finalizeBlock(hash, txs)
			for i, r := range res.TxResults {
				want := uint32(tx.CodeOK)
				if i == tc.index {
					want = uint32(tc.code)
				}
				if r.Code != want {
					t.Errorf("tx %d: code %d (%s), want %d", i, r.Code, r.Log, want)
				}
			}
			n.commit()
			if got, err := n.st.Signatures(1); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("signatures stored: %+v, %v", got, err)
			}
			if h, err := n.st.LatestSigned(); !errors.Is(err, store.ErrNoSnapshot) {
				t.Errorf("LatestSigned = %d, %v; want ErrNoSnapshot", h, err)
			}
		})
	}
}

// TestCheckpointSigsNotSubmittable: a checkpoint transaction never comes through the mempool.
func TestCheckpointSigsNotSubmittable(t *testing.T) {
	n, vs, ext := atHeight1(t)
	valid := (&tx.CheckpointSigs{Height: 1, Signatures: sigsBy(vs, 1, 0, ext, 0, 1, 2, 3)}).Encode()
	if code := n.checkTx(valid); code != tx.CodeMalformed {
		t.Errorf("CheckTx: %v, want malformed", code)
	}
	anchor := anchorTx(keyB, 1, exp, doc("second"))
	if txs := n.proposeWith(abci.ExtendedCommitInfo{}, valid, anchor); len(txs) != 1 || !bytes.Equal(txs[0], anchor) {
		t.Errorf("PrepareProposal kept a checkpoint transaction from the mempool: %d txs", len(txs))
	}
	txs := n.proposeWith(extendedCommit(vs, 1, 0, fourOf(ext)), anchor, valid)
	if len(txs) != 2 || tx.PeekKind(txs[0]) != tx.KindCheckpointSigs || !bytes.Equal(txs[1], anchor) {
		t.Errorf("PrepareProposal: %d txs, want its own checkpoint transaction and the anchor", len(txs))
	}
}

// TestExtendVoteExecutes: ExtendVote gives the hash FinalizeBlock later returns, whether or not the block
// went through ProcessProposal.
func TestExtendVoteExecutes(t *testing.T) {
	txsA := [][]byte{anchorTx(keyA1, 1, exp, doc("a"))}
	txsB := [][]byte{anchorTx(keyB, 1, exp, doc("b"))}
	var exts [][]byte
	for _, tc := range []struct {
		name string
		run  func(n *node) []byte
	}{
		{"after ProcessProposal", func(n *node) []byte {
			n.processBlock(blockHash(1, "a"), txsA)
			return n.extendVote(blockHash(1, "a"), txsA)
		}},
		{"own proposal, not processed", func(n *node) []byte { return n.extendVote(blockHash(1, "a"), txsA) }},
		{"another round's proposal processed", func(n *node) []byte {
			n.processBlock(blockHash(1, "b"), txsB)
			return n.extendVote(blockHash(1, "a"), txsA)
		}},
		{"twice", func(n *node) []byte {
			n.extendVote(blockHash(1, "a"), txsA)
			return n.extendVote(blockHash(1, "a"), txsA)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newValidatorNode(t, testGenesis(testParams), newTestValidators(4))
			ext := tc.run(n)
			res := n.finalizeBlock(blockHash(1, "a"), txsA)
			if !bytes.Equal(ext, res.AppHash) || codes(res)[0] != tx.CodeOK {
				t.Fatalf("extension %x, FinalizeBlock app hash %x, codes %v", ext, res.AppHash, codes(res))
			}
			n.commit()
			if c, err := n.st.Checkpoint(1); err != nil || c.Hash() != [32]byte(ext) {
				t.Errorf("stored checkpoint %+v, %v", c, err)
			}
			exts = append(exts, ext)
		})
	}
	for i := range exts {
		if !bytes.Equal(exts[i], exts[0]) {
			t.Errorf("case %d: extension %x, case 0: %x", i, exts[i], exts[0])
		}
	}
}

func TestVerifyVoteExtension(t *testing.T) {
	n := newNode(t, testGenesis(testParams))
	for _, size := range []int{0, 1, 31, 32, 33, 64} {
		res, err := n.app.VerifyVoteExtension(context.Background(), &abci.RequestVerifyVoteExtension{
			Hash: blockHash(1, "a"), Height: 1, VoteExtension: make([]byte, size)})
		want := abci.ResponseVerifyVoteExtension_REJECT
		if size == 32 {
			want = abci.ResponseVerifyVoteExtension_ACCEPT
		}
		if err != nil || res.Status != want {
			t.Errorf("%d bytes: %v, %v; want %v", size, res.GetStatus(), err, want)
		}
	}
}

// TestCheckpointDeterminism: the same blocks, checkpoint transactions included, give two instances (one
// of them restarted after a crash, the proposer alternating) the same app hashes and stored state.
func TestCheckpointDeterminism(t *testing.T) {
	vs := newTestValidators(4)
	g := testGenesis(testParams)
	mem := openNode(t, vfs.NewStrictMem(), "")
	mem.initChainWith(g, validatorUpdates(vs))
	nodes := []*node{newValidatorNode(t, g, vs), mem}
	const blocks = 6
	var prev []byte
	for h := int64(1); h <= blocks; h++ {
		var lc abci.ExtendedCommitInfo
		if h > 1 {
			lc = extendedCommit(vs, h-1, int32(h%3), fourOf(prev))
		}
		txs := nodes[h%2].proposeWith(lc, anchorTx(keyA1, uint64(h), exp, doc(string(rune('a'+h)))))
		if want := min(h, 2); int64(len(txs)) != want {
			t.Fatalf("block %d: %d txs proposed, want %d", h, len(txs), want)
		}
		var exts [][]byte
		for i, n := range nodes {
			status, ext, res := n.decide(blockHash(h, "d"), txs)
			if status != accept || slices.ContainsFunc(codes(res), func(c tx.Code) bool { return c != tx.CodeOK }) {
				t.Fatalf("block %d on node %d: %v, codes %v", h, i, status, codes(res))
			}
			exts = append(exts, ext)
		}
		if !bytes.Equal(exts[0], exts[1]) || bytes.Equal(exts[0], prev) {
			t.Fatalf("block %d: app hashes %x and %x, previous %x", h, exts[0], exts[1], prev)
		}
		prev = exts[0]
		if h == 3 {
			mem.crash()
		}
	}
	for h := uint64(1); h < blocks; h++ {
		a, errA := nodes[0].st.Signatures(h)
		b, errB := nodes[1].st.Signatures(h)
		if errA != nil || errB != nil || !slices.Equal(a.Sigs, b.Sigs) || a.Round != b.Round || len(a.Sigs) != 4 {
			t.Errorf("signatures of %d: %+v, %v and %+v, %v", h, a, errA, b, errB)
		}
	}
	if !maps.Equal(dump(t, nodes[0].st), dump(t, nodes[1].st)) {
		t.Error("stored states differ")
	}
}

// TestExtensionSignBytesMatchesCometBFT: what the app expects validators to have signed is what
// CometBFT signs, and the validator addresses are CometBFT's.
func TestExtensionSignBytesMatchesCometBFT(t *testing.T) {
	ext := blockHash(7, "x")
	for _, v := range []cmtproto.Vote{
		{Height: 1, Round: 0, Extension: ext},
		{Height: 1 << 40, Round: 5, Extension: ext},
		{Height: 3, Round: 1},
	} {
		for _, chain := range []string{testChain, "x"} {
			want := cmttypes.VoteExtensionSignBytes(chain, &v)
			if got := receipt.ExtensionSignBytes(chain, v.Height, int64(v.Round), v.Extension); !bytes.Equal(got, want) {
				t.Errorf("chain %q height %d round %d: %x, CometBFT %x", chain, v.Height, v.Round, got, want)
			}
		}
	}
	vs := newTestValidators(4)
	index := validatorIndex(canonicalSet(vs))
	for i, v := range vs {
		addr := cmted25519.PubKey(v.key.Public().(ed25519.PublicKey)).Address()
		if !bytes.Equal(addr, v.addr) {
			t.Errorf("validator %d: address %x, CometBFT %x", i, v.addr, addr)
		}
		if _, ok := index[string(addr)]; !ok {
			t.Errorf("validator %d: CometBFT address %x not in the app's index", i, addr)
		}
	}
}
