package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// AppVersion is the version of the state machine's rules, reported to CometBFT in Info.
const AppVersion = 1

// Committed describes a block after it is durably stored.
type Committed struct {
	Height  uint64
	Time    time.Time
	Txs     []store.TxResult
	Anchors []receipt.Record
}

// Hooks let the caller observe the application without the application doing I/O.
// Each hook MUST return quickly and MUST NOT call back into the App.
type Hooks struct {
	// Committed is called after each block is durably stored.
	Committed func(Committed)
}

// App is the ABCI application.
type App struct {
	abci.BaseApplication

	store *store.Store
	hooks Hooks

	mu      sync.Mutex // guards everything below; ABCI calls may come from several connections
	chainID string
	params  Params
	last    store.Commit
	pending *pendingBlock
}

var _ abci.Application = (*App)(nil)

// chainState is what InitChain learns and every later start needs: stored as the "params" record.
type chainState struct {
	ChainID string `json:"chain_id"`
	Params  Params `json:"params"`
}

// pendingBlock is a finalized block whose effects wait for Commit.
type pendingBlock struct {
	block store.Block
	time  time.Time
	txs   []store.TxResult // every transaction of the block, for the Committed hook
}

// New returns the application over s, resuming from the last commit that s holds.
func New(s *store.Store, hooks Hooks) (*App, error) {
	a := &App{store: s, hooks: hooks, params: DefaultParams()}
	last, err := s.LastCommit()
	if err != nil {
		return nil, fmt.Errorf("app: load last commit: %w", err)
	}
	a.last = last
	raw, err := s.Params()
	switch {
	case errors.Is(err, store.ErrNotFound):
		// fresh store: InitChain will set the chain ID and parameters
	case err != nil:
		return nil, fmt.Errorf("app: load params: %w", err)
	default:
		var cs chainState
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, fmt.Errorf("app: stored params: %w", err)
		}
		a.chainID, a.params = cs.ChainID, cs.Params
	}
	return a, nil
}

// ChainID returns the chain ID, known after InitChain.
func (a *App) ChainID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.chainID
}

// Params returns the chain parameters.
func (a *App) Params() Params {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.params
}

// Info reports the last committed height and app hash, from which CometBFT replays what is missing.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "siegel",
		Version:          fmt.Sprint(AppVersion),
		AppVersion:       AppVersion,
		LastBlockHeight:  int64(a.last.Height),
		LastBlockAppHash: a.last.AppHash,
	}, nil
}

// InitChain validates the genesis app_state and stores it, with the chain ID, at height 0 in one synced
// batch. If the node stops before the first block, CometBFT calls InitChain again and the same bytes are
// written again.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	if req.ChainId == "" || len(req.ChainId) > tx.MaxChainIDLen {
		return nil, fmt.Errorf("%w: chain ID %q must be 1 to %d characters", ErrGenesis, req.ChainId, tx.MaxChainIDLen)
	}
	hash, err := genesisHash(req.ChainId, g)
	if err != nil {
		return nil, fmt.Errorf("app: genesis hash: %w", err)
	}
	cs, err := json.Marshal(chainState{ChainID: req.ChainId, Params: g.Params})
	if err != nil {
		return nil, fmt.Errorf("app: encode params: %w", err)
	}
	commit := store.Commit{Height: 0, AppHash: hash, TimeUnixNano: req.Time.UnixNano()}
	if err := a.store.Save(&store.Block{Commit: commit, Params: cs, Agencies: g.Agencies}); err != nil {
		return nil, err
	}
	a.chainID, a.params, a.last = req.ChainId, g.Params, commit
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

// CheckTx runs the checks against committed state only, so that a verdict does not depend on what else
// happens to sit in the mempool.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	height := a.last.Height + 1
	a.mu.Unlock()
	_, rej, err := a.check(req.Tx, height, newOverlay())
	if err != nil {
		return nil, fmt.Errorf("app: check tx: %w", err)
	}
	if rej != nil {
		return &abci.ResponseCheckTx{Code: uint32(rej.code), Codespace: tx.Codespace, Log: rej.msg}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// PrepareProposal keeps, in mempool order, the transactions that are valid in this block and fit its
// byte limit, dropping those that a transaction before them made invalid (a hash or nonce used twice).
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ov := newOverlay()
	var out [][]byte
	var size int64
	for _, raw := range req.Txs {
		// CometBFT counts a transaction's bytes in the block's protobuf encoding, with its field tag
		// and length prefix, and refuses the proposal if they exceed MaxTxBytes.
		n := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{raw})
		if req.MaxTxBytes > 0 && size+n > req.MaxTxBytes {
			break
		}
		c, rej, err := a.check(raw, uint64(req.Height), ov)
		if err != nil {
			return nil, fmt.Errorf("app: prepare proposal: %w", err)
		}
		if rej != nil {
			continue
		}
		ov.use(c)
		out = append(out, raw)
		size += n
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal rejects a block that holds any transaction an honest proposer would have dropped:
// a proposer can put anything into a block.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ov := newOverlay()
	for _, raw := range req.Txs {
		c, rej, err := a.check(raw, uint64(req.Height), ov)
		if err != nil {
			return nil, fmt.Errorf("app: process proposal: %w", err)
		}
		if rej != nil {
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
		ov.use(c)
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock checks every transaction again, executes the valid ones into a pending block and returns
// the new app hash. Nothing is written until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	height := uint64(req.Height)
	if height != a.last.Height+1 {
		return nil, fmt.Errorf("app: finalize block %d after committed height %d", height, a.last.Height)
	}
	p := &pendingBlock{time: req.Time}
	ov := newOverlay()
	results := make([]*abci.ExecTxResult, len(req.Txs))
	h := sha256.New()
	h.Write([]byte("siegel/block/v1\n"))
	h.Write(a.last.AppHash)
	h.Write(binary.BigEndian.AppendUint64(nil, height))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(req.Time.UnixNano())))
	landed := map[[32]byte]bool{} // the transactions executed in this block
	for i, raw := range req.Txs {
		txHash := sha256.Sum256(raw)
		c, rej, err := a.check(raw, height, ov)
		if err != nil {
			return nil, fmt.Errorf("app: finalize block %d tx %d: %w", height, i, err)
		}
		code := tx.CodeOK
		if rej != nil {
			code = rej.code
			results[i] = &abci.ExecTxResult{Code: uint32(code), Codespace: tx.Codespace, Log: rej.msg}
		} else {
			ov.use(c)
			a.execute(p, c, height, req.Time, txHash, uint32(i))
			results[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK}
			landed[txHash] = true
		}
		// A copy of a transaction that landed is rejected (replayed or expired): keep the record of
		// where the original landed rather than overwrite it with the copy's rejection.
		copied, err := a.copiesLanded(rej, txHash, landed)
		if err != nil {
			return nil, fmt.Errorf("app: finalize block %d tx %d: %w", height, i, err)
		}
		res := store.TxResult{Hash: txHash, Height: height, Index: uint32(i), Code: uint32(code)}
		p.txs = append(p.txs, res)
		if !copied {
			p.block.Txs = append(p.block.Txs, res)
		}
		h.Write(txHash[:])
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(code)))
	}
	p.block.Commit = store.Commit{Height: height, AppHash: h.Sum(nil), TimeUnixNano: req.Time.UnixNano()}
	a.pending = p
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: p.block.Commit.AppHash}, nil
}

// copiesLanded reports whether a rejected transaction has the same bytes as one executed earlier in
// this block (landed) or in a committed block.
func (a *App) copiesLanded(rej *rejection, txHash [32]byte, landed map[[32]byte]bool) (bool, error) {
	if rej == nil {
		return false, nil
	}
	if landed[txHash] {
		return true, nil
	}
	r, err := a.store.TxResult(txHash)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r.Code == uint32(tx.CodeOK), nil
}

// execute stages the effects of a checked anchor transaction.
func (a *App) execute(p *pendingBlock, c *checked, height uint64, t time.Time, txHash [32]byte, index uint32) {
	p.block.Nonces = append(p.block.Nonces, store.Nonce{Signer: c.tx.Signer, Nonce: c.tx.Nonce, Expiry: c.tx.Expiry})
	for j, e := range c.tx.Body.(*tx.Anchor).Entries {
		p.block.Anchors = append(p.block.Anchors, receipt.Record{
			DocHash:    e.Hash,
			Agency:     c.agency.ID,
			Signer:     c.tx.Signer,
			Height:     height,
			Time:       t.UTC(),
			TxHash:     txHash,
			TxIndex:    index,
			Entry:      uint32(j),
			MetaDigest: e.MetaDigest,
		})
	}
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
	beforeCommitHook(p.block.Commit.Height)
	a.last, a.pending = p.block.Commit, nil
	if a.hooks.Committed != nil {
		a.hooks.Committed(Committed{Height: p.block.Commit.Height, Time: p.time, Txs: p.txs, Anchors: p.block.Anchors})
	}
	return &abci.ResponseCommit{}, nil
}

// beforeCommitHook is replaced by crash tests; it does nothing in a node.
var beforeCommitHook = func(uint64) {}
