package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// Checkpoint signatures travel as vote extensions: when a validator precommits block h, its
// extension is the hash of the checkpoint after h (the app hash that block h+1's header will carry),
// and CometBFT signs the extension with the validator's consensus key. The proposer of h+1 gathers the
// extensions of h from its last commit and puts them, first, into block h+1 as a KindCheckpointSigs
// transaction; every node checks them in ProcessProposal and stores them with block h+1. A checkpoint is
// thus signed one block after it is made, with no key besides the validator's own.

// ExtendVote returns the hash of the checkpoint the block leads to. The block was executed in
// ProcessProposal; if not (the proposer's own block), it is executed now.
func (a *App) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.executedBlock(req.Hash, req.Height, req.Time, req.Txs)
	if err != nil {
		return nil, fmt.Errorf("app: extend vote: %w", err)
	}
	h := p.block.Checkpoint.Hash()
	return &abci.ResponseExtendVote{VoteExtension: h[:]}, nil
}

// VerifyVoteExtension accepts a 32-byte extension. Whether it is the right hash is checked when the
// signatures are gathered: a validator whose state differs then simply contributes no signature.
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	if len(req.VoteExtension) != sha256.Size {
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
	}
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// gatherSignatures builds the KindCheckpointSigs transaction for the checkpoint of the last committed
// height from the vote extensions of the proposer's last commit. It returns nil when they do not reach a
// quorum (for example at the first height, or before vote extensions are enabled).
func (a *App) gatherSignatures(lc abci.ExtendedCommitInfo) ([]byte, error) {
	h := a.last.Height
	if h == 0 || len(lc.Votes) == 0 {
		return nil, nil
	}
	c, err := a.store.Checkpoint(h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	set, err := a.store.Validators(h)
	if err != nil {
		return nil, err
	}
	index := validatorIndex(set)
	want := c.Hash()
	sigs := receipt.Signatures{Round: lc.Round}
	for _, v := range lc.Votes {
		i, ok := index[string(v.Validator.Address)]
		if !ok || v.BlockIdFlag != cmtproto.BlockIDFlagCommit || string(v.VoteExtension) != string(want[:]) || len(v.ExtensionSignature) != 64 {
			continue
		}
		s := receipt.Sig{Validator: uint16(i)}
		copy(s.Signature[:], v.ExtensionSignature)
		sigs.Sigs = append(sigs.Sigs, s)
	}
	// Keep only what verifies (a faulty validator could send a bad signature) and check the quorum.
	sigs.Sigs = keepValid(set, &c, sigs)
	if receipt.VerifyQuorum(set, &c, sigs) != nil {
		return nil, nil
	}
	return (&tx.CheckpointSigs{Height: h, Signatures: sigs}).Encode(), nil
}

// keepValid drops signatures that do not verify, in canonical validator order.
func keepValid(set receipt.ValidatorSet, c *receipt.Checkpoint, sigs receipt.Signatures) []receipt.Sig {
	var out []receipt.Sig
	for _, s := range sigs.Sigs {
		one := receipt.Signatures{Round: sigs.Round, Sigs: []receipt.Sig{s}}
		// A single signature fails VerifyQuorum only for lack of quorum if it is valid.
		if err := receipt.VerifyQuorum(set, c, one); err == nil || errors.Is(err, receipt.ErrNoQuorum) {
			out = append(out, s)
		}
	}
	return out
}

// checkSignatures validates a KindCheckpointSigs transaction in block height: it must carry a quorum of
// valid signatures on the checkpoint of height-1.
func (a *App) checkSignatures(raw []byte, height uint64) (*store.SignedCheckpoint, *rejection, error) {
	cs, err := tx.DecodeCheckpointSigs(raw)
	if err != nil {
		return nil, reject(tx.CodeMalformed, "%v", err), nil
	}
	if cs.Height != height-1 || cs.Height == 0 {
		return nil, reject(tx.CodeMalformed, "signatures for checkpoint %d in block %d", cs.Height, height), nil
	}
	c, err := a.store.Checkpoint(cs.Height)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %d: %w", cs.Height, err)
	}
	set, err := a.store.Validators(cs.Height)
	if err != nil {
		return nil, nil, fmt.Errorf("validators %d: %w", cs.Height, err)
	}
	if err := receipt.VerifyQuorum(set, &c, cs.Signatures); err != nil {
		return nil, reject(tx.CodeBadSignature, "checkpoint %d: %v", cs.Height, err), nil
	}
	return &store.SignedCheckpoint{Height: cs.Height, Signatures: cs.Signatures}, nil, nil
}

// validatorIndex maps CometBFT validator addresses (the first 20 bytes of SHA-256 of the ed25519 key)
// to positions in the canonical set.
func validatorIndex(set receipt.ValidatorSet) map[string]int {
	m := make(map[string]int, len(set))
	for i, v := range set {
		h := sha256.Sum256(v.PubKey[:])
		m[string(h[:20])] = i
	}
	return m
}

// validatorSet converts CometBFT's validator updates into a canonical set. Only ed25519 keys are
// supported: the offline verifier checks ed25519 signatures.
func validatorSet(us []abci.ValidatorUpdate) (receipt.ValidatorSet, error) {
	var set receipt.ValidatorSet
	for i, u := range us {
		k := u.PubKey.GetEd25519()
		if len(k) != 32 {
			return nil, fmt.Errorf("validator %d: only ed25519 validator keys are supported", i)
		}
		var v receipt.Validator
		copy(v.PubKey[:], k)
		v.Power = u.Power
		set = append(set, v)
	}
	set = set.Canonical()
	return set, set.Validate()
}
