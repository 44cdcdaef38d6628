package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
	"github.com/siegel-notary/siegel/store/tree"
)

// pendingBlock is an executed block: its effects staged for Commit, its results and checkpoint.
type pendingBlock struct {
	block    store.Block
	time     time.Time
	txs      []store.TxResult // every transaction of the block, for the Committed hook
	results  []*abci.ExecTxResult
	rejected int // transactions with a non-zero code
	log      tree.LogState
	// next is the validator set from two blocks on when this block changes it, else nil.
	next       receipt.ValidatorSet
	chain      *chainState // the chain state from the next block on, when this block changes it
	valUpdates []abci.ValidatorUpdate
}

// maxExecuted bounds the cache of executed blocks (one per round, at most a few per height).
const maxExecuted = 8

// ProcessProposal executes the proposed block and rejects it if it holds any transaction an honest
// proposer would have dropped: a proposer can put anything into a block. The execution is kept for
// ExtendVote and FinalizeBlock.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.executedBlock(req.Hash, req.Height, req.Time, req.Txs)
	if err != nil {
		return nil, fmt.Errorf("app: process proposal: %w", err)
	}
	if p.rejected > 0 {
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the decided block (or takes the execution ProcessProposal made of it) and
// returns the results and the new app hash, the hash of the block's checkpoint. Nothing is written
// until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.executedBlock(req.Hash, req.Height, req.Time, req.Txs)
	if err != nil {
		return nil, fmt.Errorf("app: finalize block %d: %w", req.Height, err)
	}
	a.pending = p
	return &abci.ResponseFinalizeBlock{TxResults: p.results, AppHash: p.block.Commit.AppHash, ValidatorUpdates: p.valUpdates}, nil
}

// executedBlock returns the execution of the block with the given hash, executing it if needed.
func (a *App) executedBlock(hash []byte, height int64, t time.Time, txs [][]byte) (*pendingBlock, error) {
	var key [32]byte
	cacheable := len(hash) == 32
	if cacheable {
		copy(key[:], hash)
		if p, ok := a.executed[key]; ok && p.block.Commit.Height == uint64(height) {
			return p, nil
		}
	}
	var p *pendingBlock
	err := a.withReader(func(st state) (err error) {
		p, err = a.execBlock(st, uint64(height), t, txs)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cacheable {
		if a.executed == nil || len(a.executed) >= maxExecuted {
			a.executed = map[[32]byte]*pendingBlock{}
		}
		a.executed[key] = p
	}
	return p, nil
}

// execBlock checks and executes txs as block height on top of committed state, in memory.
func (a *App) execBlock(st state, height uint64, t time.Time, txs [][]byte) (*pendingBlock, error) {
	if height != a.last.Height+1 {
		return nil, fmt.Errorf("block %d after committed height %d", height, a.last.Height)
	}
	p := &pendingBlock{time: t, results: make([]*abci.ExecTxResult, len(txs))}
	ov := newOverlay()
	landed := map[[32]byte]bool{} // the transactions executed in this block
	// An anchor entry takes at least 33 bytes of its transaction (tx.Anchor's encoding): room for that
	// many anchors, log leaves and map values from the start, instead of regrowing them entry by entry
	// (the regrown anchors were 15% of what BenchmarkValidatorPipeline allocated).
	most := 0
	for _, raw := range txs {
		most += len(raw) / 33
	}
	p.block.Anchors = make([]store.Anchor, 0, most)
	leaves := make([][32]byte, 0, most+len(txs))
	kvs := make([]tree.KV, 0, most)
	for i, raw := range txs {
		txHash := sha256.Sum256(raw)
		var c *checked
		var rej *rejection
		var err error
		if i == 0 && tx.PeekKind(raw) == tx.KindCheckpointSigs {
			p.block.Signed, rej, err = a.checkSignatures(raw, height)
		} else {
			c, rej, err = a.check(st, raw, txHash, height, ov)
		}
		if err != nil {
			return nil, fmt.Errorf("tx %d: %w", i, err)
		}
		code := tx.CodeOK
		if rej != nil {
			code = rej.code
			p.rejected++
			p.results[i] = &abci.ExecTxResult{Code: uint32(code), Codespace: tx.Codespace, Log: rej.msg}
		} else {
			if c != nil {
				ov.use(c)
				leaves, kvs = a.execute(p, c, t, txHash, uint32(i), a.log.Size+uint64(len(leaves)), leaves, kvs)
				landed[txHash] = true
			}
			p.results[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK}
		}
		// A copy of a transaction that landed is rejected (replayed or expired): keep the record of
		// where the original landed rather than overwrite it with the copy's rejection.
		copied, err := copiesLanded(st, rej, txHash, landed)
		if err != nil {
			return nil, fmt.Errorf("tx %d: %w", i, err)
		}
		res := store.TxResult{Hash: txHash, Height: height, Index: uint32(i), Code: uint32(code)}
		p.txs = append(p.txs, res)
		if !copied {
			p.block.Txs = append(p.block.Txs, res)
		}
	}
	if err := a.flushGovernance(p, ov, height); err != nil {
		return nil, err
	}
	var logRoot [32]byte
	var err error
	p.log, logRoot, p.block.LogNodes, err = tree.AppendLog(a.log, leaves)
	if err != nil {
		return nil, err
	}
	p.block.Log = &p.log
	mapRoot, writes, err := tree.Update(st.MapRead(), kvs)
	if err != nil {
		return nil, fmt.Errorf("update map: %w", err)
	}
	p.block.MapWrites = writes
	p.block.Checkpoint = &receipt.Checkpoint{
		ChainID: a.chainID, Height: height, Time: t.UTC(),
		LogSize: p.log.Size, LogRoot: logRoot, MapRoot: mapRoot,
		Validators: a.vals.Hash(), NextValidators: a.next.Hash(),
	}
	h := p.block.Checkpoint.Hash()
	p.block.Commit = store.Commit{Height: height, AppHash: h[:], TimeUnixNano: t.UnixNano()}
	return p, nil
}

// copiesLanded reports whether a rejected transaction has the same bytes as one executed earlier in
// this block (landed) or in a committed block.
func copiesLanded(st state, rej *rejection, txHash [32]byte, landed map[[32]byte]bool) (bool, error) {
	if rej == nil {
		return false, nil
	}
	if landed[txHash] {
		return true, nil
	}
	r, err := st.TxResult(txHash)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r.Code == uint32(tx.CodeOK), nil
}

// execute stages the effects of a checked transaction: its nonce, and its log events (from log index
// next on) with the map values they set.
func (a *App) execute(p *pendingBlock, c *checked, t time.Time, txHash [32]byte, index uint32, next uint64,
	leaves [][32]byte, kvs []tree.KV) ([][32]byte, []tree.KV) {
	p.block.Nonces = append(p.block.Nonces, store.Nonce{Signer: c.tx.Signer, Nonce: c.tx.Nonce, Expiry: c.tx.Expiry})
	height := a.last.Height + 1
	switch body := c.tx.Body.(type) {
	case *tx.Anchor:
		for j, e := range body.Entries {
			an := store.Anchor{LogIndex: next + uint64(j), Record: receipt.Record{
				DocHash:    e.Hash,
				Agency:     c.agency.ID,
				Signer:     c.tx.Signer,
				Height:     height,
				Time:       t.UTC(),
				TxHash:     txHash,
				TxIndex:    index,
				Entry:      uint32(j),
				MetaDigest: e.MetaDigest,
			}}
			an.MapValue = receipt.MapValue(&an.Record, receipt.StateAnchored, an.LogIndex, nil)
			p.block.Anchors = append(p.block.Anchors, an)
			leaves = append(leaves, receipt.LogLeafHash(receipt.AnchorEvent(&an.Record)))
			kvs = append(kvs, tree.KV{Key: e.Hash, Value: an.MapValue})
		}
	case *tx.Propose, *tx.Approve:
		if c.action != nil {
			leaves = append(leaves, receipt.LogLeafHash(govEvent(c.proposal)))
		}
	case *tx.RotateKey:
		leaves = append(leaves, receipt.LogLeafHash(rotationEvent(c.agency.ID, c.tx.Signer, body.NewKey)))
	case *tx.Revoke:
		rv := store.Revoked{Doc: body.Hash, Agency: c.agency.ID, Revocation: receipt.Revocation{
			Height: height, Time: t.UTC(), Reason: uint8(body.Reason), Successor: body.Successor,
			Signer: c.tx.Signer, TxHash: txHash, LogIndex: next,
		}}
		p.block.Revoked = append(p.block.Revoked, rv)
		leaves = append(leaves, receipt.LogLeafHash(receipt.RevocationEvent(body.Hash, &rv.Revocation)))
		kvs = append(kvs, tree.KV{Key: body.Hash, Value: receipt.MapValue(&c.target.Record, receipt.StateRevoked, c.target.LogIndex, &rv.Revocation)})
	}
	return leaves, kvs
}

// Commit writes the pending block in one synced batch, then tells the Committed hook.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending
	if p == nil {
		return nil, errors.New("app: commit without a finalized block")
	}
	if err := a.store.Save(&p.block); err != nil {
		return nil, err
	}
	// Save keeps nothing that points into the map's writes, and no other execution shares them.
	tree.Recycle(p.block.MapWrites)
	p.block.MapWrites = nil
	beforeCommitHook(p.block.Commit.Height)
	a.last, a.log, a.pending, a.executed = p.block.Commit, p.log, nil, nil
	a.vals = a.next
	if p.next != nil {
		a.next = p.next
	}
	if p.chain != nil {
		a.params, a.consortium = p.chain.Params, p.chain.Consortium
	}
	if a.hooks.Committed != nil {
		recs := make([]receipt.Record, len(p.block.Anchors))
		for i := range p.block.Anchors {
			recs[i] = p.block.Anchors[i].Record
		}
		a.hooks.Committed(Committed{Height: p.block.Commit.Height, Time: p.time, Txs: p.txs, Anchors: recs, Revoked: p.block.Revoked})
	}
	return &abci.ResponseCommit{}, nil
}

// beforeCommitHook is replaced by crash tests; it does nothing in a node.
var beforeCommitHook = func(uint64) {}

// flushGovernance moves the governance effects collected in ov into the block: changed agencies and
// proposals (in a fixed order) and, when the validator set changes, the set from height+2 on and the
// updates CometBFT must apply.
func (a *App) flushGovernance(p *pendingBlock, ov *overlay, height uint64) error {
	if ov.chain != nil {
		b, err := json.Marshal(ov.chain)
		if err != nil {
			return err
		}
		p.chain, p.block.Params = ov.chain, b
	}
	for _, id := range slices.Sorted(maps.Keys(ov.agencies)) {
		p.block.Agencies = append(p.block.Agencies, *ov.agencies[id])
	}
	for _, id := range slices.SortedFunc(maps.Keys(ov.proposals), func(x, y tx.ProposalID) int { return bytes.Compare(x[:], y[:]) }) {
		p.block.Proposals = append(p.block.Proposals, *ov.proposals[id])
	}
	if ov.vals == nil {
		return nil
	}
	p.next = ov.vals
	p.block.Validators, p.block.ValidatorsFrom = ov.vals, height+2
	for _, v := range validatorDiff(a.next, ov.vals) {
		p.valUpdates = append(p.valUpdates, abci.ValidatorUpdate{
			PubKey: cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: bytes.Clone(v.PubKey[:])}},
			Power:  v.Power,
		})
	}
	return nil
}
