package app

import (
	"context"
	"crypto/sha256"
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
	"github.com/siegel-notary/siegel/store/tree"
)

// AppVersion is the version of the state machine's rules, reported to CometBFT in Info.
const AppVersion = 1

// Committed describes a block after it is durably stored.
type Committed struct {
	Height  uint64
	Time    time.Time
	Txs     []store.TxResult
	Anchors []receipt.Record
	Revoked []store.Revoked
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

	mu         sync.Mutex // guards everything below; ABCI calls may come from several connections
	chainID    string
	params     Params
	last       store.Commit
	log        tree.LogState // the event log as of last
	consortium Consortium
	vals       receipt.ValidatorSet // the validator set of height last.Height+1
	next       receipt.ValidatorSet // the validator set of height last.Height+2
	pending    *pendingBlock        // finalized, waiting for Commit
	// executed caches blocks executed in ProcessProposal or ExtendVote, by block hash, so that
	// FinalizeBlock does not execute them again. Emptied at every Commit.
	executed map[[32]byte]*pendingBlock

	sigs sigCache // transactions whose signature verified; safe for concurrent use
}

var _ abci.Application = (*App)(nil)

// chainState is what InitChain learns and every later start needs: stored as the "params" record.
type chainState struct {
	ChainID    string     `json:"chain_id"`
	Params     Params     `json:"params"`
	Consortium Consortium `json:"consortium"`
}

// New returns the application over s, resuming from the last commit that s holds.
func New(s *store.Store, hooks Hooks) (*App, error) {
	a := &App{store: s, hooks: hooks, params: DefaultParams()}
	last, err := s.LastCommit()
	if err != nil {
		return nil, fmt.Errorf("app: load last commit: %w", err)
	}
	a.last = last
	if a.log, err = s.LogState(); err != nil {
		return nil, fmt.Errorf("app: load log state: %w", err)
	}
	// A fresh store has no validators yet: InitChain brings them.
	if a.vals, err = s.Validators(last.Height + 1); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("app: load validators: %w", err)
	}
	if a.next, err = s.Validators(last.Height + 2); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("app: load validators: %w", err)
	}
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
		a.chainID, a.params, a.consortium = cs.ChainID, cs.Params, cs.Consortium
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
	cs, err := json.Marshal(chainState{ChainID: req.ChainId, Params: g.Params, Consortium: g.Consortium})
	if err != nil {
		return nil, fmt.Errorf("app: encode params: %w", err)
	}
	vals, err := validatorSet(req.Validators)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	commit := store.Commit{Height: 0, AppHash: hash, TimeUnixNano: req.Time.UnixNano()}
	if err := a.store.Save(&store.Block{Commit: commit, Params: cs, Agencies: g.Agencies, Validators: vals, ValidatorsFrom: 1}); err != nil {
		return nil, err
	}
	a.chainID, a.params, a.consortium, a.last, a.vals, a.next = req.ChainId, g.Params, g.Consortium, commit, vals, vals
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

// CheckTx runs the checks against committed state only, so that a verdict does not depend on what else
// happens to sit in the mempool. Rechecks after a block run the cheaper recheck.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	height := a.last.Height + 1
	a.mu.Unlock()
	var rej *rejection
	var err error
	if req.Type == abci.CheckTxType_Recheck {
		rej, err = a.recheck(req.Tx, height)
	} else {
		err = a.withReader(func(st state) (err error) {
			_, rej, err = a.check(st, req.Tx, sha256.Sum256(req.Tx), height, newOverlay())
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("app: check tx: %w", err)
	}
	if rej != nil {
		return &abci.ResponseCheckTx{Code: uint32(rej.code), Codespace: tx.Codespace, Log: rej.msg}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// PrepareProposal puts first the signatures on the last checkpoint gathered from the vote extensions,
// then keeps, in mempool order, the transactions that are valid in this block and fit its byte limit,
// dropping those that a transaction before them made invalid (a hash or nonce used twice).
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ov := newOverlay()
	var out [][]byte
	var size int64
	// CometBFT counts a transaction's bytes in the block's protobuf encoding, with its field tag and
	// length prefix, and refuses the proposal if they exceed MaxTxBytes.
	fits := func(raw []byte) bool {
		n := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{raw})
		if req.MaxTxBytes > 0 && size+n > req.MaxTxBytes {
			return false
		}
		size += n
		return true
	}
	sigs, err := a.gatherSignatures(req.LocalLastCommit)
	if err != nil {
		return nil, fmt.Errorf("app: prepare proposal: %w", err)
	}
	if sigs != nil && fits(sigs) {
		out = append(out, sigs)
	}
	err = a.withReader(func(st state) error {
		for _, raw := range req.Txs {
			c, rej, err := a.check(st, raw, sha256.Sum256(raw), uint64(req.Height), ov)
			if err != nil {
				return err
			}
			if rej != nil {
				continue
			}
			if !fits(raw) {
				break
			}
			ov.use(c)
			out = append(out, raw)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("app: prepare proposal: %w", err)
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}
