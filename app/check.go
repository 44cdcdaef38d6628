package app

import (
	"errors"
	"fmt"
	"slices"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
	"github.com/siegel-notary/siegel/store/tree"
)

// rejection is a transaction's verdict when it is not OK: a code and a message for the client.
type rejection struct {
	code tx.Code
	msg  string
}

func reject(code tx.Code, format string, args ...any) *rejection {
	return &rejection{code: code, msg: fmt.Sprintf(format, args...)}
}

// overlay is what a block under construction has already used: document hashes and nonces. CheckTx uses
// an empty overlay, so its verdict depends on committed state alone.
type overlay struct {
	docs    map[[32]byte]struct{}
	revoked map[[32]byte]struct{}
	nonces  map[nonceKey]struct{}
	// Governance effects of the block so far.
	agencies  map[string]*store.Agency
	newKeys   map[[32]byte]struct{}
	proposals map[tx.ProposalID]*store.Proposal
	vals      receipt.ValidatorSet // the set from two blocks on, when changed
	chain     *chainState          // parameters and threshold from the next block on, when changed
}

type nonceKey struct {
	signer [32]byte
	nonce  uint64
}

func newOverlay() *overlay {
	return &overlay{docs: map[[32]byte]struct{}{}, revoked: map[[32]byte]struct{}{}, nonces: map[nonceKey]struct{}{},
		agencies: map[string]*store.Agency{}, newKeys: map[[32]byte]struct{}{}, proposals: map[tx.ProposalID]*store.Proposal{}}
}

// state is what the checks read: committed state, through the Store or a Reader.
type state interface {
	Agency(id string) (store.Agency, error)
	Proposal(id [8]byte) (store.Proposal, error)
	AgencyByKey(key [32]byte) (store.Agency, error)
	NonceUsed(signer [32]byte, nonce uint64) (bool, error)
	Anchor(doc [32]byte) (store.Anchor, error)
	TxResult(hash [32]byte) (store.TxResult, error)
	MapRead() tree.Read
}

// withReader runs f with a Reader over committed state.
func (a *App) withReader(f func(st state) error) error {
	r, err := a.store.NewReader()
	if err != nil {
		return err
	}
	defer r.Close()
	return f(r)
}

// checked is a transaction that passed every check, with what executing it needs.
type checked struct {
	tx       *tx.Tx
	agency   store.Agency  // the signer's agency (agency transactions)
	member   Member        // the signer (governance transactions)
	target   *store.Anchor // the anchor a revocation revokes
	proposal *store.Proposal
	action   *tx.Action // the action a proposal executes now, if it does
	effects  *effects
}

// check decides whether raw, whose SHA-256 is txHash, may be included in a block at height, given
// committed state and the overlay of the block so far. The order of the checks is fixed, so every node
// reports the same code. An error (as opposed to a rejection) means the store failed: the caller must
// not guess a verdict.
func (a *App) check(st state, raw []byte, txHash [32]byte, height uint64, ov *overlay) (*checked, *rejection, error) {
	t, err := tx.Decode(raw)
	switch {
	case errors.Is(err, tx.ErrOversized):
		return nil, reject(tx.CodeOversized, "%v", err), nil
	case err != nil:
		return nil, reject(tx.CodeMalformed, "%v", err), nil
	}
	if t.ChainID != a.chainID {
		return nil, reject(tx.CodeWrongChain, "signed for chain %q, this is %q", t.ChainID, a.chainID), nil
	}
	if height > t.Expiry {
		return nil, reject(tx.CodeExpired, "expired at height %d, now %d", t.Expiry, height), nil
	}
	if t.Expiry-height > a.params.MaxTTL {
		return nil, reject(tx.CodeExpiryTooFar, "expiry %d is more than %d blocks after %d", t.Expiry, a.params.MaxTTL, height), nil
	}
	if body, ok := t.Body.(*tx.Anchor); ok && len(body.Entries) > a.params.MaxBatch {
		return nil, reject(tx.CodeOversized, "%d hashes in one transaction, the chain allows %d", len(body.Entries), a.params.MaxBatch), nil
	}
	c := &checked{tx: t}
	switch t.Body.(type) {
	case *tx.Propose, *tx.Approve:
		m, ok := a.consortium.member(t.Signer)
		if !ok {
			return nil, reject(tx.CodeNotOperator, "key %x is not the operator key of a consortium member", t.Signer), nil
		}
		c.member = m
	default:
		ag, rej, err := signerAgency(st, t.Signer)
		if rej != nil || err != nil {
			return nil, rej, err
		}
		c.agency = ag
	}
	if !a.sigs.has(txHash) {
		if err := t.Verify(); err != nil {
			return nil, reject(tx.CodeBadSignature, "signature does not verify for key %x", t.Signer), nil
		}
		a.sigs.add(txHash)
	}
	nk := nonceKey{t.Signer, t.Nonce}
	if _, dup := ov.nonces[nk]; dup {
		return nil, reject(tx.CodeReplayed, "nonce %d already used in this block", t.Nonce), nil
	}
	used, err := st.NonceUsed(t.Signer, t.Nonce)
	if err != nil {
		return nil, nil, err
	}
	if used {
		return nil, reject(tx.CodeReplayed, "nonce %d of key %x was already used", t.Nonce, t.Signer[:8]), nil
	}
	var rej *rejection
	switch body := t.Body.(type) {
	case *tx.Anchor:
		rej, err = checkHashes(st, body, ov)
	case *tx.Revoke:
		c.target, rej, err = checkRevoke(st, body, c.agency, ov)
	case *tx.RotateKey:
		c.effects, rej, err = a.checkRotation(st, c.agency.ID, t.Signer, body.NewKey, ov)
	case *tx.Propose:
		rej, err = a.checkPropose(st, c, raw, body, height, ov)
	case *tx.Approve:
		rej, err = a.checkApprove(st, c, body, height, ov)
	default:
		rej = reject(tx.CodeMalformed, "unsupported transaction kind %v", t.Body.Kind())
	}
	if rej != nil || err != nil {
		return nil, rej, err
	}
	return c, nil, nil
}

// signerAgency finds the agency of a signing key and checks that the key and the agency may write.
func signerAgency(st state, k [32]byte) (store.Agency, *rejection, error) {
	ag, err := st.AgencyByKey(k)
	if errors.Is(err, store.ErrNotFound) {
		return ag, reject(tx.CodeUnknownAgency, "key %x is not registered to any agency", k), nil
	}
	if err != nil {
		return ag, nil, err
	}
	if slices.Contains(ag.Retired, store.Key(k)) {
		return ag, reject(tx.CodeKeyRetired, "key %x of agency %s was retired", k[:8], ag.ID), nil
	}
	if ag.Suspended {
		return ag, reject(tx.CodeSuspended, "agency %s is suspended", ag.ID), nil
	}
	return ag, nil, nil
}

// checkHashes rejects an anchor batch whose hashes are anchored already, or earlier in the block.
func checkHashes(st state, body *tx.Anchor, ov *overlay) (*rejection, error) {
	for i, e := range body.Entries {
		if _, dup := ov.docs[e.Hash]; dup {
			return reject(tx.CodeDuplicateHash, "entry %d: hash %x is anchored earlier in this block", i, e.Hash), nil
		}
		r, err := st.Anchor(e.Hash)
		if err == nil {
			return reject(tx.CodeDuplicateHash, "entry %d: hash %x is already anchored by %s at height %d", i, e.Hash, r.Agency, r.Height), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, nil
}

// checkRevoke allows an agency to revoke, once, a document it anchored.
func checkRevoke(st state, body *tx.Revoke, ag store.Agency, ov *overlay) (*store.Anchor, *rejection, error) {
	a, err := st.Anchor(body.Hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, reject(tx.CodeNotAnchored, "document %x is not anchored", body.Hash), nil
	}
	if err != nil {
		return nil, nil, err
	}
	if a.Agency != ag.ID {
		return nil, reject(tx.CodeNotOwner, "document %x was anchored by %s, not by %s", body.Hash, a.Agency, ag.ID), nil
	}
	if _, dup := ov.revoked[body.Hash]; dup || a.Revocation != nil {
		return nil, reject(tx.CodeRevoked, "document %x is already revoked", body.Hash), nil
	}
	return &a, nil, nil
}

// use records in ov what c consumes, so that later transactions in the same block cannot reuse it.
func (ov *overlay) use(c *checked) {
	ov.nonces[nonceKey{c.tx.Signer, c.tx.Nonce}] = struct{}{}
	switch b := c.tx.Body.(type) {
	case *tx.Anchor:
		for _, e := range b.Entries {
			ov.docs[e.Hash] = struct{}{}
		}
	case *tx.Revoke:
		ov.revoked[b.Hash] = struct{}{}
	}
	ov.applyEffects(c)
}

// recheck is CheckTx's cheaper pass over a transaction still in the mempool after a block: of the reasons
// to reject, only expiry and the use of its nonce change as blocks commit for a transaction that once
// passed check (its signature, size and signer do not). A hash that another transaction anchored in the
// meantime is not looked for here: PrepareProposal drops such a transaction from every proposal, and
// the mempool lets go of it when it expires. This keeps rechecks of large batches from costing a store
// lookup per hash per block.
func (a *App) recheck(raw []byte, height uint64) (*rejection, error) {
	t, err := tx.Decode(raw)
	if err != nil {
		return reject(tx.CodeMalformed, "%v", err), nil
	}
	if height > t.Expiry {
		return reject(tx.CodeExpired, "expired at height %d, now %d", t.Expiry, height), nil
	}
	used, err := a.store.NonceUsed(t.Signer, t.Nonce)
	if err != nil {
		return nil, err
	}
	if used {
		return reject(tx.CodeReplayed, "nonce %d of key %x was already used", t.Nonce, t.Signer[:8]), nil
	}
	return nil, nil
}
