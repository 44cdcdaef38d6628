package app

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// Governance: consortium members propose and approve registry and validator changes; agencies rotate
// their keys. Checks compute a transaction's effects (the agency record after it, new keys, the
// validator set after it); the block's overlay collects them, so that later transactions of the same
// block see them, and the block writes them when it commits. Registry changes bind transactions of
// later blocks only: within its block, an agency transaction is judged by the registry as the block
// began. A validator-set change takes effect two blocks on, as CometBFT applies it.

// maxProposalLife bounds a proposal's deadline, in blocks after it is made (about 10 days at 1.3 s).
const maxProposalLife = 700_000

// effects are what a governance transaction changes when it applies.
type effects struct {
	agency  *store.Agency
	newKeys [][32]byte
	vals    receipt.ValidatorSet
	chain   *chainState // parameters or threshold changed
}

// agency returns the agency as this block has left it so far.
func agencyNow(st state, ov *overlay, id string) (*store.Agency, error) {
	if a, ok := ov.agencies[id]; ok {
		c := cloneAgency(*a)
		return &c, nil
	}
	a, err := st.Agency(id)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func cloneAgency(a store.Agency) store.Agency {
	a.Keys, a.Retired, a.DocTypes = slices.Clone(a.Keys), slices.Clone(a.Retired), slices.Clone(a.DocTypes)
	return a
}

// checkNewKey rejects a key that is registered already (to an agency, in this block, or as an
// operator key).
func (a *App) checkNewKey(st state, k [32]byte, ov *overlay) (*rejection, error) {
	if _, ok := ov.newKeys[k]; ok {
		return reject(tx.CodeInvalidAction, "key %x is registered earlier in this block", k[:8]), nil
	}
	if _, ok := a.consortium.member(k); ok {
		return reject(tx.CodeInvalidAction, "key %x is an operator key", k[:8]), nil
	}
	ag, err := st.AgencyByKey(k)
	if err == nil {
		return reject(tx.CodeInvalidAction, "key %x is already registered to agency %s", k[:8], ag.ID), nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// checkRotation checks that agency id may replace its signing key old by next, and returns the
// effects. They apply to the agency as this block has left it so far: a governance action or another
// rotation earlier in the block may have changed it, and the rotation must not undo that. A key that was
// rotated away or retired earlier in the block cannot be rotated again.
func (a *App) checkRotation(st state, id string, old, next [32]byte, ov *overlay) (*effects, *rejection, error) {
	ag, err := agencyNow(st, ov, id)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(ag.Keys, store.Key(old)) {
		return nil, reject(tx.CodeKeyRetired, "key %x of agency %s was retired earlier in this block", old[:8], id), nil
	}
	if rej, err := a.checkNewKey(st, next, ov); rej != nil || err != nil {
		return nil, rej, err
	}
	return rotation(*ag, old, next), nil, nil
}

// rotation computes the effects of an agency replacing its signing key by a new one.
func rotation(ag store.Agency, old, next [32]byte) *effects {
	c := cloneAgency(ag)
	c.Keys = slices.DeleteFunc(c.Keys, func(k store.Key) bool { return k == store.Key(old) })
	c.Keys = append(c.Keys, store.Key(next))
	c.Retired = append(c.Retired, store.Key(old))
	return &effects{agency: &c, newKeys: [][32]byte{next}}
}

// checkPropose checks a proposal and, when the proposer's approval alone reaches the threshold, the
// action it then executes.
func (a *App) checkPropose(st state, c *checked, raw []byte, p *tx.Propose, height uint64, ov *overlay) (*rejection, error) {
	if p.Deadline < height || p.Deadline-height > maxProposalLife {
		return reject(tx.CodeInvalidAction, "deadline %d must be from %d to %d", p.Deadline, height, height+maxProposalLife), nil
	}
	pr := &store.Proposal{ID: tx.ProposalIDOf(raw), Proposer: c.member.ID, Action: p.Action.Encode(),
		Deadline: p.Deadline, Height: height, Approvals: []string{c.member.ID}}
	// The action must make sense now, even if it executes later (it is checked again then).
	eff, rej, err := a.actionEffects(st, &p.Action, ov)
	if rej != nil || err != nil {
		return rej, err
	}
	c.proposal = pr
	if len(pr.Approvals) >= a.consortium.Threshold {
		pr.Executed = height
		c.action, c.effects = &p.Action, eff
	}
	return nil, nil
}

// checkApprove checks an approval and, when it reaches the threshold, the action it then executes.
func (a *App) checkApprove(st state, c *checked, ap *tx.Approve, height uint64, ov *overlay) (*rejection, error) {
	var pr store.Proposal
	if w, ok := ov.proposals[ap.Proposal]; ok {
		pr = *w
	} else {
		var err error
		pr, err = st.Proposal(ap.Proposal)
		if errors.Is(err, store.ErrNotFound) {
			return reject(tx.CodeNoProposal, "no proposal %s", ap.Proposal), nil
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case pr.Executed != 0:
		return reject(tx.CodeClosed, "proposal %s was executed at height %d", ap.Proposal, pr.Executed), nil
	case height > pr.Deadline:
		return reject(tx.CodeProposalExpired, "proposal %s expired after height %d", ap.Proposal, pr.Deadline), nil
	case slices.Contains(pr.Approvals, c.member.ID):
		return reject(tx.CodeApproved, "member %s already approved proposal %s", c.member.ID, ap.Proposal), nil
	}
	pr.Approvals = append(slices.Clone(pr.Approvals), c.member.ID)
	if len(pr.Approvals) >= a.consortium.Threshold {
		act, err := tx.DecodeAction(pr.Action)
		if err != nil {
			return nil, fmt.Errorf("stored proposal %s: %w", ap.Proposal, err)
		}
		eff, rej, err := a.actionEffects(st, act, ov)
		if rej != nil || err != nil {
			return rej, err
		}
		pr.Executed = height
		c.action, c.effects = act, eff
	}
	c.proposal = &pr
	return nil, nil
}

// actionEffects checks that act applies to the state as this block has left it, and returns its effects.
func (a *App) actionEffects(st state, act *tx.Action, ov *overlay) (*effects, *rejection, error) {
	switch act.Kind {
	case tx.ActSetValidator:
		vals, rej := a.validatorChange(ov, act.Keys[0], act.Power)
		return &effects{vals: vals}, rej, nil
	case tx.ActSetParam:
		cs, rej := a.paramChange(ov, act.Param, act.Power)
		return &effects{chain: cs}, rej, nil
	}
	ag, err := agencyNow(st, ov, act.Agency)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	if act.Kind != tx.ActRegisterAgency && !exists {
		return nil, reject(tx.CodeInvalidAction, "no agency %q", act.Agency), nil
	}
	invalid := func(format string, args ...any) (*effects, *rejection, error) {
		return nil, reject(tx.CodeInvalidAction, format, args...), nil
	}
	switch act.Kind {
	case tx.ActRegisterAgency:
		if exists {
			return invalid("agency %q exists", act.Agency)
		}
		if err := ValidateAgencyID(act.Agency); err != nil {
			return invalid("%v", err)
		}
		if err := ValidateAgencyName(act.Name); err != nil {
			return invalid("agency %q: %v", act.Agency, err)
		}
		na := store.Agency{ID: act.Agency, Name: act.Name}
		for i, k := range act.Keys {
			if slices.Contains(act.Keys[:i], k) {
				return invalid("key %x given twice", k[:8])
			}
			if rej, err := a.checkNewKey(st, k, ov); rej != nil || err != nil {
				return nil, rej, err
			}
			na.Keys = append(na.Keys, store.Key(k))
		}
		return &effects{agency: &na, newKeys: act.Keys}, nil, nil
	case tx.ActAddAgencyKey:
		if rej, err := a.checkNewKey(st, act.Keys[0], ov); rej != nil || err != nil {
			return nil, rej, err
		}
		ag.Keys = append(ag.Keys, store.Key(act.Keys[0]))
		return &effects{agency: ag, newKeys: act.Keys[:1]}, nil, nil
	case tx.ActRetireAgencyKey:
		k := store.Key(act.Keys[0])
		if !slices.Contains(ag.Keys, k) {
			return invalid("key %x is not an active key of agency %s", k[:8], ag.ID)
		}
		ag.Keys = slices.DeleteFunc(ag.Keys, func(x store.Key) bool { return x == k })
		ag.Retired = append(ag.Retired, k)
		return &effects{agency: ag}, nil, nil
	case tx.ActSetDocTypes:
		ag.DocTypes = slices.Clone(act.DocTypes)
		return &effects{agency: ag}, nil, nil
	case tx.ActSuspendAgency, tx.ActReinstateAgency:
		want := act.Kind == tx.ActSuspendAgency
		if ag.Suspended == want {
			return invalid("agency %s is %s already", ag.ID, map[bool]string{true: "suspended", false: "active"}[want])
		}
		ag.Suspended = want
		return &effects{agency: ag}, nil, nil
	}
	return invalid("unknown action %v", act.Kind)
}

// validatorChange applies one validator's new power (0 removes it) to the set that takes effect next,
// refusing a change that would leave no safe quorum: the new set must not be empty, and the validators
// running now (the set of this block, a.vals) must keep more than 2/3 of the new total power, so that the
// chain can go on even if no validator added since is running yet. Validators added by an earlier
// change of this block, or of the block before (in a.next but not yet in force), do not count as running:
// two additions that each pass alone must not pass together.
func (a *App) validatorChange(ov *overlay, key [32]byte, power int64) (receipt.ValidatorSet, *rejection) {
	base := a.next
	if ov.vals != nil {
		base = ov.vals
	}
	next := slices.Clone(base)
	i := slices.IndexFunc(next, func(v receipt.Validator) bool { return v.PubKey == key })
	switch {
	case i >= 0 && power == 0:
		next = slices.Delete(next, i, i+1)
	case i >= 0:
		next[i].Power = power
	case power == 0:
		return nil, reject(tx.CodeInvalidAction, "validator %x is not in the set", key[:8])
	default:
		next = append(next, receipt.Validator{PubKey: key, Power: power}).Canonical()
	}
	if len(next) == 0 {
		return nil, reject(tx.CodeNoQuorum, "the change would leave no validator")
	}
	var kept, total int64
	for _, v := range next {
		total += v.Power
		if j := slices.IndexFunc(a.vals, func(b receipt.Validator) bool { return b.PubKey == v.PubKey }); j >= 0 {
			kept += min(v.Power, a.vals[j].Power)
		}
	}
	if kept*3 <= total*2 {
		return nil, reject(tx.CodeNoQuorum, "validators already running would hold %d of %d voting power, not more than 2/3", kept, total)
	}
	if err := next.Validate(); err != nil {
		return nil, reject(tx.CodeInvalidAction, "%v", err)
	}
	return next, nil
}

// applyEffects records c's effects in the block's overlay.
func (ov *overlay) applyEffects(c *checked) {
	if c.proposal != nil {
		ov.proposals[c.proposal.ID] = c.proposal
	}
	e := c.effects
	if e == nil {
		return
	}
	if e.agency != nil {
		ov.agencies[e.agency.ID] = e.agency
	}
	for _, k := range e.newKeys {
		ov.newKeys[k] = struct{}{}
	}
	if e.vals != nil {
		ov.vals = e.vals
	}
	if e.chain != nil {
		ov.chain = e.chain
	}
}

// paramChange applies a parameter change to the chain state as this block has left it.
func (a *App) paramChange(ov *overlay, name string, v int64) (*chainState, *rejection) {
	cs := chainState{ChainID: a.chainID, Params: a.params, Consortium: a.consortium}
	if ov.chain != nil {
		cs = *ov.chain
	}
	cs.Consortium.Members = slices.Clone(cs.Consortium.Members)
	// Every valid value is small. Refuse a value that an int of 32 bits cannot hold before converting,
	// so that a 32-bit node, where int(v) would wrap, decides as a 64-bit one does.
	if v > math.MaxInt32 {
		return nil, reject(tx.CodeInvalidAction, "parameter %s = %d is out of range", name, v)
	}
	switch name {
	case "max_batch":
		cs.Params.MaxBatch = int(v)
	case "max_ttl":
		cs.Params.MaxTTL = uint64(v)
	case "threshold":
		cs.Consortium.Threshold = int(v)
		if v < 1 || int(v) > len(cs.Consortium.Members) {
			return nil, reject(tx.CodeInvalidAction, "threshold %d must be 1 to %d", v, len(cs.Consortium.Members))
		}
	default:
		return nil, reject(tx.CodeInvalidAction, "unknown parameter %q: max_batch, max_ttl or threshold", name)
	}
	if err := cs.Params.validate(); err != nil {
		return nil, reject(tx.CodeInvalidAction, "%v", err)
	}
	return &cs, nil
}

// govEvent is the log entry of an executed proposal: kind(1) = 3 | proposal ID(8) | action encoding.
func govEvent(pr *store.Proposal) []byte {
	return append(append([]byte{3}, pr.ID[:]...), pr.Action...)
}

// rotationEvent is the log entry of a key rotation: kind(1) = 4 | agency ID length(1) | ID | old | new.
func rotationEvent(agency string, old, next [32]byte) []byte {
	b := append([]byte{4, byte(len(agency))}, agency...)
	return append(append(b, old[:]...), next[:]...)
}

// validatorDiff lists what CometBFT must be told to turn set from into set to.
func validatorDiff(from, to receipt.ValidatorSet) []receipt.Validator {
	var out []receipt.Validator
	for _, v := range to {
		if j := slices.IndexFunc(from, func(f receipt.Validator) bool { return f.PubKey == v.PubKey }); j < 0 || from[j].Power != v.Power {
			out = append(out, v)
		}
	}
	for _, f := range from {
		if !slices.ContainsFunc(to, func(v receipt.Validator) bool { return v.PubKey == f.PubKey }) {
			out = append(out, receipt.Validator{PubKey: f.PubKey})
		}
	}
	slices.SortFunc(out, func(a, b receipt.Validator) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	return out
}
