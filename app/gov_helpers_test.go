package app

import (
	"crypto/ed25519"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// Helpers of the governance tests. Their names start with gov so that they stay clear of the helpers
// of other test files.

// govOp returns the operator key of consortium member i.
func govOp(i int) ed25519.PrivateKey { return testKey(fmt.Sprintf("operator-%d", i)) }

// govMemberID returns the ID of consortium member i.
func govMemberID(i int) string { return fmt.Sprintf("dc-%d", i) }

// govGenesis is testGenesis(testParams) with a consortium of members members (operator keys govOp(i))
// and the given threshold.
func govGenesis(threshold, members int) Genesis {
	g := testGenesis(testParams)
	g.Consortium.Threshold = threshold
	for i := range members {
		g.Consortium.Members = append(g.Consortium.Members,
			Member{ID: govMemberID(i), Name: fmt.Sprintf("Data centre %d", i), OperatorKey: pubKey(govOp(i))})
	}
	return g
}

// govNonces hands out nonces that no other test file uses (they count from 1), so that the governance
// tests never replay by accident. A replay is made on purpose by sending the same bytes again.
var govNonces atomic.Uint64

func govNonce() uint64 { return 1<<40 + govNonces.Add(1) }

// govTx signs body with key on the test chain, with a fresh nonce and the given expiry.
func govTx(key ed25519.PrivateKey, expiry uint64, body tx.Body) []byte {
	t := &tx.Tx{ChainID: testChain, Nonce: govNonce(), Expiry: expiry, Body: body}
	t.Sign(key)
	return t.Encode()
}

// govExp is an expiry that keeps a transaction valid for the next 50 blocks of n.
func (n *node) govExp() uint64 { return uint64(n.next()) + 50 }

// govDeadline is a proposal deadline well within the allowed life of a proposal made now.
func (n *node) govDeadline() uint64 { return uint64(n.next()) + 1000 }

// govPropose returns a proposal of act by key, with a deadline 1000 blocks ahead.
func (n *node) govPropose(key ed25519.PrivateKey, act tx.Action) []byte {
	return govTx(key, n.govExp(), &tx.Propose{Deadline: n.govDeadline(), Action: act})
}

// govProposeBy returns a proposal of act by key with the given deadline.
func (n *node) govProposeBy(key ed25519.PrivateKey, deadline uint64, act tx.Action) []byte {
	return govTx(key, n.govExp(), &tx.Propose{Deadline: deadline, Action: act})
}

// govApprove returns an approval by key of the proposal made by the transaction proposal.
func (n *node) govApprove(key ed25519.PrivateKey, proposal []byte) []byte {
	return govTx(key, n.govExp(), &tx.Approve{Proposal: tx.ProposalIDOf(proposal)})
}

// govApproveID returns an approval by key of proposal id.
func (n *node) govApproveID(key ed25519.PrivateKey, id tx.ProposalID) []byte {
	return govTx(key, n.govExp(), &tx.Approve{Proposal: id})
}

// govRotate returns a rotation of key to next.
func (n *node) govRotate(key, next ed25519.PrivateKey) []byte {
	return govTx(key, n.govExp(), &tx.RotateKey{NewKey: pubKey(next)})
}

// govAnchor returns an anchor of the given documents by key.
func (n *node) govAnchor(key ed25519.PrivateKey, docs ...[32]byte) []byte {
	return newTx(testChain, key, govNonce(), n.govExp(), docs...).Encode()
}

// govRevoke returns a revocation of document d by key.
func (n *node) govRevoke(key ed25519.PrivateKey, d [32]byte) []byte {
	return govTx(key, n.govExp(), &tx.Revoke{Hash: d, Reason: tx.ReasonWithdrawn})
}

// govOK commits a block of txs, fails the test unless every transaction in it is OK, and returns the
// block's height.
func (n *node) govOK(txs ...[]byte) uint64 {
	n.t.Helper()
	h := uint64(n.next())
	res := n.block(txs...)
	for i, c := range codes(res) {
		if c != tx.CodeOK {
			n.t.Fatalf("block %d: tx %d: %v (%s), want ok", h, i, c, res.TxResults[i].Log)
		}
	}
	return h
}

// govAgency returns a committed agency.
func (n *node) govAgency(id string) store.Agency {
	n.t.Helper()
	a, err := n.st.Agency(id)
	if err != nil {
		n.t.Fatalf("agency %s: %v", id, err)
	}
	return a
}

// govProposal returns a committed proposal.
func (n *node) govProposal(proposal []byte) store.Proposal {
	n.t.Helper()
	p, err := n.st.Proposal(tx.ProposalIDOf(proposal))
	if err != nil {
		n.t.Fatalf("proposal %s: %v", tx.ProposalIDOf(proposal), err)
	}
	return p
}

// govLogSize returns the committed size of the event log.
func (n *node) govLogSize() uint64 {
	n.t.Helper()
	st, err := n.st.LogState()
	if err != nil {
		n.t.Fatal(err)
	}
	return st.Size
}

// govCheckpoint returns the checkpoint of height h.
func (n *node) govCheckpoint(h uint64) receipt.Checkpoint {
	n.t.Helper()
	c, err := n.st.Checkpoint(h)
	if err != nil {
		n.t.Fatalf("checkpoint %d: %v", h, err)
	}
	return c
}

// govValidators returns the validator set in force at height h.
func (n *node) govValidators(h uint64) receipt.ValidatorSet {
	n.t.Helper()
	v, err := n.st.Validators(h)
	if err != nil {
		n.t.Fatalf("validators at %d: %v", h, err)
	}
	return v
}

// Governance actions.

func govRegister(id, name string, keys ...ed25519.PrivateKey) tx.Action {
	a := tx.Action{Kind: tx.ActRegisterAgency, Agency: id, Name: name}
	for _, k := range keys {
		a.Keys = append(a.Keys, pubKey(k))
	}
	return a
}

func govAddKey(id string, k ed25519.PrivateKey) tx.Action {
	return tx.Action{Kind: tx.ActAddAgencyKey, Agency: id, Keys: [][32]byte{pubKey(k)}}
}

func govRetireKey(id string, k ed25519.PrivateKey) tx.Action {
	return tx.Action{Kind: tx.ActRetireAgencyKey, Agency: id, Keys: [][32]byte{pubKey(k)}}
}

func govSuspend(id string) tx.Action { return tx.Action{Kind: tx.ActSuspendAgency, Agency: id} }

func govReinstate(id string) tx.Action { return tx.Action{Kind: tx.ActReinstateAgency, Agency: id} }

func govSetValidator(key [32]byte, power int64) tx.Action {
	return tx.Action{Kind: tx.ActSetValidator, Keys: [][32]byte{key}, Power: power}
}

// govValidatorKey returns the consensus public key of a validator that is in no genesis set.
func govValidatorKey(name string) [32]byte { return pubKey(testKey("validator/" + name)) }

// govSetKey returns the public key of vs[i].
func govSetKey(vs []testValidator, i int) [32]byte {
	var k [32]byte
	copy(k[:], vs[i].key.Public().(ed25519.PublicKey))
	return k
}

// govPlus returns set with v added (or re-weighted), in canonical order.
func govPlus(set receipt.ValidatorSet, v receipt.Validator) receipt.ValidatorSet {
	var out receipt.ValidatorSet
	for _, x := range set {
		if x.PubKey != v.PubKey {
			out = append(out, x)
		}
	}
	if v.Power > 0 {
		out = append(out, v)
	}
	return out.Canonical()
}

// govNode returns a node with a consortium of threshold out of members, and vals genesis validators
// of power 10 each (0: the single validator of testValidators).
func govNode(t testing.TB, threshold, members, vals int) (*node, []testValidator) {
	t.Helper()
	g := govGenesis(threshold, members)
	if vals == 0 {
		return newNode(t, g), nil
	}
	vs := newTestValidators(vals)
	return newValidatorNode(t, g, vs), vs
}

// govExec makes act execute: member 0 proposes it and members 1.. approve it, in one block, up to the
// threshold. It returns the proposal transaction.
func (n *node) govExec(act tx.Action) []byte {
	n.t.Helper()
	p := n.govPropose(govOp(0), act)
	txs := [][]byte{p}
	for i := 1; i < n.app.consortium.Threshold; i++ {
		txs = append(txs, n.govApprove(govOp(i), p))
	}
	h := n.govOK(txs...)
	if pr := n.govProposal(p); pr.Executed != h {
		n.t.Fatalf("proposal of %v executed at %d, want %d", act.Kind, pr.Executed, h)
	}
	return p
}

func govSetParam(name string, v int64) tx.Action {
	return tx.Action{Kind: tx.ActSetParam, Param: name, Power: v}
}
