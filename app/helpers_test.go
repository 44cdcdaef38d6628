package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// testChain is the chain ID of every test chain.
const testChain = "siegel-test"

// genesisTime is the consensus time of the genesis; block h is h seconds later.
var genesisTime = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func blockTime(h int64) time.Time { return genesisTime.Add(time.Duration(h) * time.Second) }

// testKey derives a deterministic ed25519 key from a name.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("siegel test key/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pubKey(k ed25519.PrivateKey) store.Key {
	var out store.Key
	copy(out[:], k.Public().(ed25519.PublicKey))
	return out
}

var (
	keyA1 = testKey("a1") // agency-a
	keyA2 = testKey("a2") // agency-a, second key
	keyB  = testKey("b")  // agency-b
	keyX  = testKey("x")  // registered to no agency
)

// testParams are small, so that limits are cheap to reach.
var testParams = Params{MaxBatch: 10, MaxTTL: 100}

func testGenesis(p Params) Genesis {
	return Genesis{Params: p, Agencies: []store.Agency{
		{ID: "agency-a", Name: "Agency A", Keys: []store.Key{pubKey(keyA1), pubKey(keyA2)}},
		{ID: "agency-b", Name: "Agency B", Keys: []store.Key{pubKey(keyB)}},
	}}
}

// doc returns the document hash of a name.
func doc(name string) [32]byte { return sha256.Sum256([]byte("document/" + name)) }

// newTx returns an anchor transaction signed by key (not yet encoded, so that tests can tamper with it).
func newTx(chainID string, key ed25519.PrivateKey, nonce, expiry uint64, hashes ...[32]byte) *tx.Tx {
	es := make([]tx.Entry, len(hashes))
	for i, h := range hashes {
		es[i].Hash = h
	}
	t := &tx.Tx{ChainID: chainID, Nonce: nonce, Expiry: expiry, Body: &tx.Anchor{Entries: es}}
	t.Sign(key)
	return t
}

// anchorTx returns the encoding of an anchor transaction on the test chain.
func anchorTx(key ed25519.PrivateKey, nonce, expiry uint64, hashes ...[32]byte) []byte {
	return newTx(testChain, key, nonce, expiry, hashes...).Encode()
}

// node is one application instance over a real Pebble store.
type node struct {
	t      testing.TB
	fs     *vfs.MemFS // nil: the store is on disk in dir
	dir    string
	st     *store.Store
	app    *App
	closed bool
	// committed collects what the Committed hook reported.
	committed []Committed
}

// newNode opens an application over a fresh store on disk and runs InitChain with g.
func newNode(t testing.TB, g Genesis) *node {
	t.Helper()
	n := openNode(t, nil, t.TempDir())
	n.initChain(g)
	return n
}

// newMemNode is newNode over vfs.NewStrictMem, so that the node can crash.
func newMemNode(t testing.TB, g Genesis) *node {
	t.Helper()
	n := openNode(t, vfs.NewStrictMem(), "") // at the root: see store.TestSaveIsSynced
	n.initChain(g)
	return n
}

func openNode(t testing.TB, fs *vfs.MemFS, dir string) *node {
	t.Helper()
	n := &node{t: t, fs: fs, dir: dir}
	n.open()
	t.Cleanup(func() {
		if !n.closed {
			if err := n.st.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	return n
}

func (n *node) open() {
	n.t.Helper()
	var o store.Options // the node's defaults
	if n.fs != nil {
		o.FS = n.fs
	}
	st, err := store.Open(n.dir, o)
	if err != nil {
		n.t.Fatal(err)
	}
	a, err := New(st, Hooks{Committed: func(c Committed) { n.committed = append(n.committed, c) }})
	if err != nil {
		n.t.Fatal(err)
	}
	n.st, n.app, n.closed = st, a, false
}

// restart closes the store cleanly and opens it again with a new App.
func (n *node) restart() {
	n.t.Helper()
	if err := n.st.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.closed = true
	n.open()
}

// crash loses everything that was not synced, then opens the store again with a new App: the sequence
// that pebble's vfs.NewStrictMem documents.
func (n *node) crash() {
	n.t.Helper()
	if n.fs == nil {
		n.t.Fatal("crash needs a node over vfs.NewStrictMem")
	}
	n.fs.SetIgnoreSyncs(true)
	if err := n.st.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.closed = true
	n.fs.ResetToSyncedState()
	n.fs.SetIgnoreSyncs(false)
	n.open()
}

func (n *node) initChain(g Genesis) []byte {
	n.t.Helper()
	return n.initChainWith(g, testValidators)
}

// initChainWith is initChain with the given genesis validators.
func (n *node) initChainWith(g Genesis, vals []abci.ValidatorUpdate) []byte {
	n.t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		n.t.Fatal(err)
	}
	res, err := n.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, Time: genesisTime, AppStateBytes: b, Validators: vals})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.AppHash
}

func (n *node) info() *abci.ResponseInfo {
	n.t.Helper()
	res, err := n.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		n.t.Fatal(err)
	}
	return res
}

// next is the height of the next block.
func (n *node) next() int64 { return n.info().LastBlockHeight + 1 }

// finalize runs FinalizeBlock for the next height without committing.
func (n *node) finalize(txs ...[]byte) *abci.ResponseFinalizeBlock {
	n.t.Helper()
	h := n.next()
	res, err := n.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h, Time: blockTime(h), Txs: txs})
	if err != nil {
		n.t.Fatal(err)
	}
	if len(res.TxResults) != len(txs) {
		n.t.Fatalf("block %d: %d results for %d txs", h, len(res.TxResults), len(txs))
	}
	return res
}

func (n *node) commit() {
	n.t.Helper()
	if _, err := n.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		n.t.Fatal(err)
	}
}

// block finalizes and commits the next block.
func (n *node) block(txs ...[]byte) *abci.ResponseFinalizeBlock {
	n.t.Helper()
	res := n.finalize(txs...)
	n.commit()
	return res
}

// emptyBlocks commits k blocks without transactions.
func (n *node) emptyBlocks(k int) {
	n.t.Helper()
	for range k {
		n.block()
	}
}

func (n *node) checkTx(raw []byte) tx.Code {
	n.t.Helper()
	res, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		n.t.Fatal(err)
	}
	if res.Code != abci.CodeTypeOK && res.Codespace != tx.Codespace {
		n.t.Errorf("CheckTx: code %d in codespace %q", res.Code, res.Codespace)
	}
	return tx.Code(res.Code)
}

func (n *node) prepare(txs ...[]byte) [][]byte {
	n.t.Helper()
	h := n.next()
	res, err := n.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{MaxTxBytes: 64 << 20, Txs: txs, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Txs
}

func (n *node) process(txs ...[]byte) abci.ResponseProcessProposal_ProposalStatus {
	n.t.Helper()
	h := n.next()
	res, err := n.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: txs, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Status
}

// anchor returns the stored record of a document hash and whether there is one.
func (n *node) anchor(h [32]byte) (found bool, agency string, height uint64, txHash [32]byte) {
	n.t.Helper()
	r, err := n.st.Anchor(h)
	if errors.Is(err, store.ErrNotFound) {
		return false, "", 0, [32]byte{}
	}
	if err != nil {
		n.t.Fatal(err)
	}
	return true, r.Agency, r.Height, r.TxHash
}

// codes returns the result codes of a FinalizeBlock response.
func codes(res *abci.ResponseFinalizeBlock) []tx.Code {
	out := make([]tx.Code, len(res.TxResults))
	for i, r := range res.TxResults {
		out[i] = tx.Code(r.Code)
	}
	return out
}

// dump returns every key and value in the store.
func dump(t testing.TB, st *store.Store) map[string]string {
	t.Helper()
	it, err := st.DB().NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for it.First(); it.Valid(); it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		t.Fatal(err)
	}
	return out
}

// testValidators is the genesis validator set of the test chains: one ed25519 validator.
var testValidators = []abci.ValidatorUpdate{{
	PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)}},
	Power:  10,
}}

// testValidator is a validator of a multi-validator test chain, with its consensus key.
type testValidator struct {
	key  ed25519.PrivateKey
	addr []byte // CometBFT's address: the first 20 bytes of SHA-256 of the public key
}

// validatorPower is the voting power of every testValidator.
const validatorPower = 10

// newTestValidators returns n validators whose keys come from fixed seeds.
func newTestValidators(n int) []testValidator {
	vs := make([]testValidator, n)
	for i := range vs {
		seed := sha256.Sum256(fmt.Appendf(nil, "siegel test validator/%d", i))
		k := ed25519.NewKeyFromSeed(seed[:])
		a := sha256.Sum256(k.Public().(ed25519.PublicKey))
		vs[i] = testValidator{key: k, addr: a[:20]}
	}
	return vs
}

// validatorUpdates returns vs as InitChain receives them.
func validatorUpdates(vs []testValidator) []abci.ValidatorUpdate {
	out := make([]abci.ValidatorUpdate, len(vs))
	for i, v := range vs {
		out[i] = abci.ValidatorUpdate{
			PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: v.key.Public().(ed25519.PublicKey)}},
			Power:  validatorPower,
		}
	}
	return out
}

// canonicalSet returns vs as a verifier trusts them: in canonical order.
func canonicalSet(vs []testValidator) receipt.ValidatorSet {
	set := make(receipt.ValidatorSet, len(vs))
	for i, v := range vs {
		copy(set[i].PubKey[:], v.key.Public().(ed25519.PublicKey))
		set[i].Power = validatorPower
	}
	return set.Canonical()
}

// signExtension signs a vote extension of height and round as CometBFT does for v.
func (v testValidator) signExtension(height int64, round int32, ext []byte) []byte {
	return ed25519.Sign(v.key, receipt.ExtensionSignBytes(testChain, height, int64(round), ext))
}

// newValidatorNode is newNode with vs as the genesis validators.
func newValidatorNode(t testing.TB, g Genesis, vs []testValidator) *node {
	t.Helper()
	n := openNode(t, nil, t.TempDir())
	n.initChainWith(g, validatorUpdates(vs))
	return n
}

// extendedCommit builds the extended commit of height h in round that CometBFT hands the next proposer:
// vote i carries exts[i], signed by vs[i]; a nil extension stands for an absent precommit.
func extendedCommit(vs []testValidator, h int64, round int32, exts [][]byte) abci.ExtendedCommitInfo {
	lc := abci.ExtendedCommitInfo{Round: round}
	for i, v := range vs {
		vote := abci.ExtendedVoteInfo{Validator: abci.Validator{Address: v.addr, Power: validatorPower}, BlockIdFlag: cmtproto.BlockIDFlagAbsent}
		if exts[i] != nil {
			vote.BlockIdFlag = cmtproto.BlockIDFlagCommit
			vote.VoteExtension = exts[i]
			vote.ExtensionSignature = v.signExtension(h, round, exts[i])
		}
		lc.Votes = append(lc.Votes, vote)
	}
	return lc
}

// blockHash returns a distinct block hash for a height and a label, so that executions are cached.
func blockHash(h int64, label string) []byte {
	b := sha256.Sum256(fmt.Appendf(nil, "block %d/%s", h, label))
	return b[:]
}

// proposeWith runs PrepareProposal for the next height with the extended last commit lc.
func (n *node) proposeWith(lc abci.ExtendedCommitInfo, txs ...[]byte) [][]byte {
	n.t.Helper()
	h := n.next()
	res, err := n.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{
		MaxTxBytes: 64 << 20, Txs: txs, LocalLastCommit: lc, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Txs
}

// processBlock runs ProcessProposal for the next height on the block with the given hash.
func (n *node) processBlock(hash []byte, txs [][]byte) abci.ResponseProcessProposal_ProposalStatus {
	n.t.Helper()
	h := n.next()
	res, err := n.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Hash: hash, Txs: txs, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.Status
}

// extendVote runs ExtendVote for the next height on the block with the given hash.
func (n *node) extendVote(hash []byte, txs [][]byte) []byte {
	n.t.Helper()
	h := n.next()
	res, err := n.app.ExtendVote(context.Background(), &abci.RequestExtendVote{Hash: hash, Txs: txs, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	return res.VoteExtension
}

// finalizeBlock runs FinalizeBlock for the next height on the block with the given hash, without Commit.
func (n *node) finalizeBlock(hash []byte, txs [][]byte) *abci.ResponseFinalizeBlock {
	n.t.Helper()
	h := n.next()
	res, err := n.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Hash: hash, Txs: txs, Height: h, Time: blockTime(h)})
	if err != nil {
		n.t.Fatal(err)
	}
	if len(res.TxResults) != len(txs) {
		n.t.Fatalf("block %d: %d results for %d txs", h, len(res.TxResults), len(txs))
	}
	return res
}

// decide takes a proposed block through ProcessProposal, ExtendVote, FinalizeBlock and Commit, as a
// validator does, and returns the verdict, the vote extension and FinalizeBlock's response.
func (n *node) decide(hash []byte, txs [][]byte) (abci.ResponseProcessProposal_ProposalStatus, []byte, *abci.ResponseFinalizeBlock) {
	n.t.Helper()
	status := n.processBlock(hash, txs)
	ext := n.extendVote(hash, txs)
	res := n.finalizeBlock(hash, txs)
	n.commit()
	return status, ext, res
}

// newRevokeTx returns a revocation of document h signed by key (not yet encoded, so that tests can
// tamper with it).
func newRevokeTx(chainID string, key ed25519.PrivateKey, nonce, expiry uint64, h [32]byte, reason tx.Reason, successor *[32]byte) *tx.Tx {
	t := &tx.Tx{ChainID: chainID, Nonce: nonce, Expiry: expiry, Body: &tx.Revoke{Hash: h, Reason: reason, Successor: successor}}
	t.Sign(key)
	return t
}

// revokeTx returns the encoding of a revocation on the test chain.
func revokeTx(key ed25519.PrivateKey, nonce, expiry uint64, h [32]byte, reason tx.Reason, successor *[32]byte) []byte {
	return newRevokeTx(testChain, key, nonce, expiry, h, reason, successor).Encode()
}

// revocation returns the stored revocation of a document hash: nil if it is anchored and not revoked.
// The document must be anchored.
func (n *node) revocation(h [32]byte) *receipt.Revocation {
	n.t.Helper()
	a, err := n.st.Anchor(h)
	if err != nil {
		n.t.Fatalf("anchor %x: %v", h[:4], err)
	}
	return a.Revocation
}

// keyA3 is registered to no agency until agency-a rotates a key to it.
var keyA3 = testKey("a3")

// rotateTx returns the encoding of a key rotation: key's agency replaces key by next.
func rotateTx(key ed25519.PrivateKey, nonce uint64, next ed25519.PrivateKey) []byte {
	t := &tx.Tx{ChainID: testChain, Nonce: nonce, Expiry: exp, Body: &tx.RotateKey{NewKey: pubKey(next)}}
	t.Sign(key)
	return t.Encode()
}
