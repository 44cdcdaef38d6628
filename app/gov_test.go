package app

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"slices"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
	"github.com/siegel-notary/siegel/store/tree"
)

var (
	govKeyC  = testKey("c")  // registered by the tests to agency-c
	govKeyD  = testKey("d")  // another new key
	govKeyN1 = testKey("n1") // keys rotated to
	govKeyN2 = testKey("n2")
)

// govCase is a block that holds an unauthorised or invalid governance attempt (or its valid
// counterpart), in the state that makes it so.
type govCase struct {
	name string
	// threshold and members of the consortium (0, 0: 2 of 3); vals genesis validators (0: one).
	threshold, members, vals int
	// block brings the node to the state of the case, committing the blocks it needs, and returns the
	// block under test.
	block func(t *testing.T, n *node, vs []testValidator) [][]byte
	// want is FinalizeBlock's verdict on each transaction of the block. check is CheckTx's, which sees
	// committed state only (nil: the same as want).
	want, check []tx.Code
	// after, if set, looks at the state after the block is committed.
	after func(t *testing.T, n *node, res *abci.ResponseFinalizeBlock)
}

// govOne is a block of one transaction.
func govOne(raw []byte) [][]byte { return [][]byte{raw} }

// govCodes lists verdicts.
func govCodes(cs ...tx.Code) []tx.Code { return cs }

var (
	wantOK            = govCodes(tx.CodeOK)
	wantNotOperator   = govCodes(tx.CodeNotOperator)
	wantKeyRetired    = govCodes(tx.CodeKeyRetired)
	wantSuspended     = govCodes(tx.CodeSuspended)
	wantUnknownAgency = govCodes(tx.CodeUnknownAgency)
	wantInvalidAction = govCodes(tx.CodeInvalidAction)
	wantNoQuorum      = govCodes(tx.CodeNoQuorum)
)

func govCases() []govCase {
	registerC := govRegister("agency-c", "Agency C", govKeyC)
	// open commits a proposal of registerC by member 0 that stays open, and returns it.
	open := func(n *node) []byte {
		p := n.govPropose(govOp(0), registerC)
		n.govOK(p)
		return p
	}
	// propose1 makes the block under test a proposal by member 1 of the action that act returns (act
	// may commit blocks first).
	propose1 := func(act func(n *node) tx.Action) func(t *testing.T, n *node, _ []testValidator) [][]byte {
		return func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govPropose(govOp(1), act(n))) }
	}
	fixed := func(a tx.Action) func(*node) tx.Action { return func(*node) tx.Action { return a } }
	// validator returns the public key of genesis validator i (vs nil: the single validator of testValidators).
	validator := func(vs []testValidator, i int) [32]byte {
		if vs == nil {
			return [32]byte(testValidators[0].PubKey.GetEd25519())
		}
		return govSetKey(vs, i)
	}
	addValidator := func(name string, power int64) func(t *testing.T, n *node, _ []testValidator) [][]byte {
		return func(t *testing.T, n *node, _ []testValidator) [][]byte {
			return govOne(n.govPropose(govOp(0), govSetValidator(govValidatorKey(name), power)))
		}
	}
	noUpdates := func(t *testing.T, n *node, res *abci.ResponseFinalizeBlock) {
		if len(res.ValidatorUpdates) != 0 {
			t.Errorf("ValidatorUpdates = %v, want none", res.ValidatorUpdates)
		}
	}
	oneUpdate := func(key [32]byte, power int64) func(t *testing.T, n *node, res *abci.ResponseFinalizeBlock) {
		return func(t *testing.T, n *node, res *abci.ResponseFinalizeBlock) {
			if len(res.ValidatorUpdates) != 1 || !bytes.Equal(res.ValidatorUpdates[0].PubKey.GetEd25519(), key[:]) || res.ValidatorUpdates[0].Power != power {
				t.Errorf("ValidatorUpdates = %v, want one: %x power %d", res.ValidatorUpdates, key[:4], power)
			}
		}
	}
	stillOpen := func(approvals ...string) func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
		return func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
			ps, err := n.st.Proposals()
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || ps[0].Executed != 0 || !slices.Equal(ps[0].Approvals, approvals) {
				t.Errorf("proposals = %+v, want one open, approved by %v", ps, approvals)
			}
			if _, err := n.st.Agency("agency-c"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("agency-c: %v, want not found", err)
			}
		}
	}

	return []govCase{
		// Governance transactions signed by anything but an operator key.
		{name: "not operator/propose by a key of no member", want: wantNotOperator,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govPropose(keyX, registerC)) }},
		{name: "not operator/propose by an agency key", want: wantNotOperator,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govPropose(keyA1, registerC)) }},
		{name: "not operator/approve by a key of no member", want: wantNotOperator, after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govApprove(keyX, open(n))) }},
		{name: "not operator/approve by an agency key", want: wantNotOperator, after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govApprove(keyA1, open(n))) }},
		{name: "not operator/approve by a key of no member, threshold 1", threshold: 1, members: 1, want: wantNotOperator,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govApproveID(keyX, tx.ProposalID{1}))
			}},
		{name: "unknown agency/rotate-key by an operator key", want: wantUnknownAgency,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govRotate(govOp(0), govKeyN1))
			}},
		{name: "unknown agency/anchor by an operator key", want: wantUnknownAgency,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govAnchor(govOp(0), doc("op")))
			}},

		// Retired keys.
		{name: "key retired/anchor after retire-agency-key", want: wantKeyRetired,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govExec(govRetireKey("agency-a", keyA2))
				return govOne(n.govAnchor(keyA2, doc("r")))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				a := n.govAgency("agency-a")
				if !slices.Equal(a.Keys, []store.Key{pubKey(keyA1)}) || !slices.Equal(a.Retired, []store.Key{pubKey(keyA2)}) {
					t.Errorf("agency-a = %+v, want key a1 and a2 retired", a)
				}
			}},
		{name: "key retired/anchor after rotate-key", want: wantKeyRetired,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govRotate(keyA1, govKeyN1))
				return govOne(n.govAnchor(keyA1, doc("r")))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				a := n.govAgency("agency-a")
				if !slices.Equal(a.Keys, []store.Key{pubKey(keyA2), pubKey(govKeyN1)}) || !slices.Equal(a.Retired, []store.Key{pubKey(keyA1)}) {
					t.Errorf("agency-a = %+v, want keys a2, n1 and a1 retired", a)
				}
			}},
		{name: "key retired/revoke after rotate-key", want: wantKeyRetired,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govAnchor(keyA1, doc("r")))
				n.govOK(n.govRotate(keyA1, govKeyN1))
				return govOne(n.govRevoke(keyA1, doc("r")))
			}},
		{name: "key retired/rotate-key again", want: wantKeyRetired,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govRotate(keyA1, govKeyN1))
				return govOne(n.govRotate(keyA1, govKeyN2))
			}},
		{name: "ok/anchor by the key rotated to", want: wantOK,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govRotate(keyA1, govKeyN1))
				return govOne(n.govAnchor(govKeyN1, doc("r")))
			}},

		// Suspended agencies.
		{name: "suspended/anchor", want: wantSuspended,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govExec(govSuspend("agency-a"))
				return govOne(n.govAnchor(keyA2, doc("s")))
			}},
		{name: "suspended/revoke a document anchored before", want: wantSuspended,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govAnchor(keyA1, doc("s")))
				n.govExec(govSuspend("agency-a"))
				return govOne(n.govRevoke(keyA1, doc("s")))
			}},
		{name: "suspended/rotate-key", want: wantSuspended,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govExec(govSuspend("agency-a"))
				return govOne(n.govRotate(keyA1, govKeyN1))
			}},
		{name: "ok/another agency while one is suspended", want: wantOK,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govExec(govSuspend("agency-a"))
				return govOne(n.govAnchor(keyB, doc("s")))
			}},
		{name: "ok/anchor and revoke after reinstatement", want: govCodes(tx.CodeOK, tx.CodeOK),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govAnchor(keyA1, doc("s")))
				n.govExec(govSuspend("agency-a"))
				n.govExec(govReinstate("agency-a"))
				return [][]byte{n.govAnchor(keyA1, doc("t")), n.govRevoke(keyA2, doc("s"))}
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				if found, ag, _, _ := n.anchor(doc("t")); !found || ag != "agency-a" {
					t.Errorf("doc t: found %v by %q", found, ag)
				}
				if a := n.govAgency("agency-a"); a.Suspended {
					t.Errorf("agency-a = %+v, want active", a)
				}
			}},

		// Below the threshold (3 of 4), a proposal has not executed.
		{name: "no threshold/proposal alone", threshold: 3, members: 4, want: wantUnknownAgency, after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				open(n)
				return govOne(n.govAnchor(govKeyC, doc("c")))
			}},
		{name: "no threshold/proposal and one approval", threshold: 3, members: 4, want: wantUnknownAgency, after: stillOpen("dc-0", "dc-1"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p := open(n)
				n.govOK(n.govApprove(govOp(1), p))
				return govOne(n.govAnchor(govKeyC, doc("c")))
			}},
		{name: "ok/proposal and two approvals reach 3 of 4", threshold: 3, members: 4, want: wantOK,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p := open(n)
				n.govOK(n.govApprove(govOp(1), p))
				n.govOK(n.govApprove(govOp(3), p))
				return govOne(n.govAnchor(govKeyC, doc("c")))
			}},

		// Approvals that do not count.
		{name: "replayed/the same approval bytes again", threshold: 3, members: 4, want: govCodes(tx.CodeReplayed), after: stillOpen("dc-0", "dc-1"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				a := n.govApprove(govOp(1), open(n))
				n.govOK(a)
				return govOne(a)
			}},
		{name: "replayed/the same approval bytes twice in one block", threshold: 3, members: 4,
			want: govCodes(tx.CodeOK, tx.CodeReplayed), check: govCodes(tx.CodeOK, tx.CodeOK), after: stillOpen("dc-0", "dc-1"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				a := n.govApprove(govOp(1), open(n))
				return [][]byte{a, a}
			}},
		{name: "replayed/the same proposal bytes again", threshold: 3, members: 4, want: govCodes(tx.CodeReplayed), after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(open(n)) }},
		{name: "already approved/same member, new nonce", threshold: 3, members: 4, want: govCodes(tx.CodeApproved), after: stillOpen("dc-0", "dc-1"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p := open(n)
				n.govOK(n.govApprove(govOp(1), p))
				return govOne(n.govApprove(govOp(1), p))
			}},
		{name: "already approved/same member twice in one block", threshold: 3, members: 4,
			want: govCodes(tx.CodeOK, tx.CodeApproved), check: govCodes(tx.CodeOK, tx.CodeOK), after: stillOpen("dc-0", "dc-1"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p := open(n)
				return [][]byte{n.govApprove(govOp(1), p), n.govApprove(govOp(1), p)}
			}},
		{name: "already approved/the proposer", want: govCodes(tx.CodeApproved), after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govApprove(govOp(0), open(n)))
			}},
		{name: "proposal expired/approval after the deadline", want: govCodes(tx.CodeProposalExpired),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				h := uint64(n.next())
				p := n.govProposeBy(govOp(0), h+1, registerC)
				n.govOK(p)
				n.emptyBlocks(1) // height h+1: the deadline
				return govOne(n.govApprove(govOp(1), p))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				if _, err := n.st.Agency("agency-c"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("agency-c: %v, want not found", err)
				}
			}},
		{name: "ok/approval at the deadline", want: wantOK,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				h := uint64(n.next())
				p := n.govProposeBy(govOp(0), h+1, registerC)
				n.govOK(p)
				return govOne(n.govApprove(govOp(1), p))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) { n.govAgency("agency-c") }},
		{name: "proposal closed/approval of an executed proposal", want: govCodes(tx.CodeClosed),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govApprove(govOp(2), n.govExec(registerC)))
			}},
		{name: "proposal closed/threshold 1, executed when proposed", threshold: 1, members: 2, want: govCodes(tx.CodeClosed),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govApprove(govOp(1), n.govExec(registerC)))
			}},
		{name: "proposal closed/after the deadline too", want: govCodes(tx.CodeClosed),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				h := uint64(n.next())
				p := n.govProposeBy(govOp(0), h, registerC)
				n.govOK(p, n.govApprove(govOp(1), p))
				return govOne(n.govApprove(govOp(2), p))
			}},
		{name: "unknown proposal/an ID nobody proposed", want: govCodes(tx.CodeNoProposal),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				open(n)
				return govOne(n.govApproveID(govOp(1), tx.ProposalID{1, 2, 3, 4, 5, 6, 7, 8}))
			}},
		{name: "unknown proposal/a proposal that was rejected", want: govCodes(tx.CodeNoProposal),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p := n.govPropose(govOp(0), govRegister("agency-a", "Agency A again", govKeyC))
				if got := codes(n.block(p)); got[0] != tx.CodeInvalidAction {
					t.Fatalf("proposal: %v", got)
				}
				return govOne(n.govApprove(govOp(1), p))
			}},

		// Actions that cannot apply.
		{name: "invalid action/register an existing agency ID", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-a", "Agency A again", govKeyC)))},
		{name: "invalid action/register a key of another agency", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-c", "Agency C", govKeyC, keyB)))},
		{name: "invalid action/register a retired key", want: wantInvalidAction,
			block: propose1(func(n *node) tx.Action {
				n.govOK(n.govRotate(keyA1, govKeyN1))
				return govRegister("agency-c", "Agency C", keyA1)
			})},
		{name: "invalid action/register an operator key", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-c", "Agency C", govOp(2))))},
		{name: "invalid action/register a key twice", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-c", "Agency C", govKeyC, govKeyD, govKeyC)))},
		{name: "invalid action/register a malformed agency ID", want: wantInvalidAction,
			block: propose1(fixed(govRegister("Agency-C", "Agency C", govKeyC)))},
		{name: "invalid action/register a name with a control character", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-c", "Agency\x07C", govKeyC)))},
		{name: "invalid action/register an empty name", want: wantInvalidAction,
			block: propose1(fixed(govRegister("agency-c", "", govKeyC)))},
		{name: "invalid action/add a key of another agency", want: wantInvalidAction,
			block: propose1(fixed(govAddKey("agency-a", keyB)))},
		{name: "invalid action/add a key the agency has", want: wantInvalidAction,
			block: propose1(fixed(govAddKey("agency-a", keyA2)))},
		{name: "invalid action/add a key to an unknown agency", want: wantInvalidAction,
			block: propose1(fixed(govAddKey("agency-z", govKeyC)))},
		{name: "invalid action/retire a key the agency does not have", want: wantInvalidAction,
			block: propose1(fixed(govRetireKey("agency-a", keyB)))},
		{name: "invalid action/retire a retired key", want: wantInvalidAction,
			block: propose1(func(n *node) tx.Action {
				n.govExec(govRetireKey("agency-a", keyA2))
				return govRetireKey("agency-a", keyA2)
			})},
		{name: "invalid action/suspend a suspended agency", want: wantInvalidAction,
			block: propose1(func(n *node) tx.Action {
				n.govExec(govSuspend("agency-b"))
				return govSuspend("agency-b")
			})},
		{name: "invalid action/reinstate an active agency", want: wantInvalidAction,
			block: propose1(fixed(govReinstate("agency-b")))},
		{name: "invalid action/suspend an unknown agency", want: wantInvalidAction,
			block: propose1(fixed(govSuspend("agency-z")))},
		{name: "invalid action/remove a validator not in the set", want: wantInvalidAction,
			block: propose1(fixed(govSetValidator(govValidatorKey("stranger"), 0)))},
		{name: "invalid action/set an unknown parameter", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("max_size", 5)))},
		{name: "invalid action/set the threshold to 0", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("threshold", 0)))},
		{name: "invalid action/set the threshold above the members", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("threshold", 4)))},
		{name: "invalid action/set max_batch to 0", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("max_batch", 0)))},
		{name: "invalid action/set max_batch above tx.MaxEntries", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("max_batch", tx.MaxEntries+1)))},
		{name: "invalid action/set max_batch to 2^32+5", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("max_batch", 1<<32+5)))},
		{name: "invalid action/set the threshold to 2^32+1", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("threshold", 1<<32+1)))},
		{name: "invalid action/set max_ttl above 1000000", want: wantInvalidAction,
			block: propose1(fixed(govSetParam("max_ttl", 1_000_001)))},
		{name: "ok/set the threshold to all members", want: wantOK,
			block: propose1(fixed(govSetParam("threshold", 3)))},
		{name: "invalid action/deadline in the past", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.emptyBlocks(2)
				return govOne(n.govProposeBy(govOp(0), uint64(n.next())-1, registerC))
			}},
		{name: "invalid action/deadline too far", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govProposeBy(govOp(0), uint64(n.next())+maxProposalLife+1, registerC))
			}},
		{name: "ok/deadline as far as allowed", want: wantOK, after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govProposeBy(govOp(0), uint64(n.next())+maxProposalLife, registerC))
			}},
		{name: "ok/deadline at the current height", want: wantOK, after: stillOpen("dc-0"),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return govOne(n.govProposeBy(govOp(0), uint64(n.next()), registerC))
			}},
		{name: "invalid action/an approval reaching the threshold of an action that no longer applies", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p1 := n.govPropose(govOp(0), registerC)
				p2 := n.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyD))
				n.govOK(p1, p2)
				n.govOK(n.govApprove(govOp(1), p1))
				return govOne(n.govApprove(govOp(1), p2))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				if a := n.govAgency("agency-c"); !slices.Equal(a.Keys, []store.Key{pubKey(govKeyC)}) {
					t.Errorf("agency-c = %+v, want key c only", a)
				}
			}},
		{name: "invalid action/two registrations of one ID in one block", threshold: 1, members: 1,
			want: govCodes(tx.CodeOK, tx.CodeInvalidAction), check: govCodes(tx.CodeOK, tx.CodeOK),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return [][]byte{n.govPropose(govOp(0), registerC), n.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyD))}
			}},
		{name: "invalid action/one key registered twice in one block", threshold: 1, members: 1,
			want: govCodes(tx.CodeOK, tx.CodeInvalidAction), check: govCodes(tx.CodeOK, tx.CodeOK),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return [][]byte{n.govPropose(govOp(0), registerC), n.govPropose(govOp(0), govAddKey("agency-b", govKeyC))}
			}},
		{name: "invalid action/rotate to a key of another agency", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govRotate(keyA1, keyB)) }},
		{name: "invalid action/rotate to another key of the same agency", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govRotate(keyA1, keyA2)) }},
		{name: "invalid action/rotate to an operator key", want: wantInvalidAction,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte { return govOne(n.govRotate(keyA1, govOp(1))) }},

		// Validator-set changes.
		{name: "no quorum/remove the only validator", threshold: 1, members: 1, want: wantNoQuorum, after: noUpdates,
			block: func(t *testing.T, n *node, vs []testValidator) [][]byte {
				return govOne(n.govPropose(govOp(0), govSetValidator(validator(vs, 0), 0)))
			}},
		{name: "no quorum/remove the only validator of a 1-validator set", threshold: 1, members: 1, vals: 1, want: wantNoQuorum, after: noUpdates,
			block: func(t *testing.T, n *node, vs []testValidator) [][]byte {
				return govOne(n.govPropose(govOp(0), govSetValidator(validator(vs, 0), 0)))
			}},
		{name: "no quorum/two validators added to 2 in one block", threshold: 1, members: 1, vals: 2,
			want: govCodes(tx.CodeOK, tx.CodeNoQuorum), check: govCodes(tx.CodeOK, tx.CodeOK), after: oneUpdate(govValidatorKey("v5"), 5),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				return [][]byte{
					n.govPropose(govOp(0), govSetValidator(govValidatorKey("v5"), 5)),
					n.govPropose(govOp(0), govSetValidator(govValidatorKey("w5"), 5)),
				}
			}},
		{name: "no quorum/two proposals adding validators to 2 executed in one block", vals: 2,
			want: govCodes(tx.CodeOK, tx.CodeNoQuorum), check: govCodes(tx.CodeOK, tx.CodeOK), after: oneUpdate(govValidatorKey("w5"), 5),
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				p1 := n.govPropose(govOp(0), govSetValidator(govValidatorKey("v5"), 5))
				p2 := n.govPropose(govOp(0), govSetValidator(govValidatorKey("w5"), 5))
				n.govOK(p1, p2)
				return [][]byte{n.govApprove(govOp(1), p2), n.govApprove(govOp(2), p1)}
			}},
		{name: "no quorum/two validators added to 2 in consecutive blocks", threshold: 1, members: 1, vals: 2, want: wantNoQuorum,
			block: func(t *testing.T, n *node, _ []testValidator) [][]byte {
				n.govOK(n.govPropose(govOp(0), govSetValidator(govValidatorKey("v5"), 5)))
				return govOne(n.govPropose(govOp(0), govSetValidator(govValidatorKey("w5"), 5)))
			},
			after: func(t *testing.T, n *node, _ *abci.ResponseFinalizeBlock) {
				// Once the first change is in force, the second may follow.
				p := n.govPropose(govOp(0), govSetValidator(govValidatorKey("w5"), 5))
				if got := n.checkTx(p); got != tx.CodeOK {
					t.Errorf("CheckTx of the second addition once the first is in force: %v", got)
				}
				n.govOK(p)
			}},
		{name: "ok/one validator of power 9 added to 2", threshold: 1, members: 1, vals: 2, want: wantOK, after: oneUpdate(govValidatorKey("v9"), 9),
			block: addValidator("v9", 9)},
		{name: "no quorum/one validator of equal power added to 2", threshold: 1, members: 1, vals: 2, want: wantNoQuorum, after: noUpdates,
			block: addValidator("v10", 10)},
		{name: "no quorum/a validator with more than half the power of 4", threshold: 1, members: 1, vals: 4, want: wantNoQuorum, after: noUpdates,
			block: addValidator("v21", 21)},
		{name: "no quorum/a validator with half the power of 4", threshold: 1, members: 1, vals: 4, want: wantNoQuorum, after: noUpdates,
			block: addValidator("v20", 20)},
		{name: "ok/a validator with just under half the power of 4", threshold: 1, members: 1, vals: 4, want: wantOK, after: oneUpdate(govValidatorKey("v19"), 19),
			block: addValidator("v19", 19)},
		{name: "ok/one validator added to 4", threshold: 1, members: 1, vals: 4, want: wantOK, after: oneUpdate(govValidatorKey("v10"), 10),
			block: addValidator("v10", 10)},
		{name: "no quorum/one validator's power raised tenfold", threshold: 1, members: 1, vals: 4, want: wantNoQuorum, after: noUpdates,
			block: func(t *testing.T, n *node, vs []testValidator) [][]byte {
				return govOne(n.govPropose(govOp(0), govSetValidator(validator(vs, 0), 100)))
			}},
		{name: "ok/one validator removed from 4", threshold: 1, members: 1, vals: 4, want: wantOK,
			block: func(t *testing.T, n *node, vs []testValidator) [][]byte {
				return govOne(n.govPropose(govOp(0), govSetValidator(validator(vs, 2), 0)))
			},
			after: func(t *testing.T, n *node, res *abci.ResponseFinalizeBlock) {
				oneUpdate(govSetKey(newTestValidators(4), 2), 0)(t, n, res)
			}},
	}
}

// TestGovRejections runs every case: CheckTx, ProcessProposal and FinalizeBlock agree on the verdict.
func TestGovRejections(t *testing.T) {
	for _, c := range govCases() {
		t.Run(c.name, func(t *testing.T) {
			threshold, members := c.threshold, c.members
			if members == 0 {
				threshold, members = 2, 3
			}
			n, vs := govNode(t, threshold, members, c.vals)
			block := c.block(t, n, vs)
			if len(block) != len(c.want) {
				t.Fatalf("%d transactions, %d verdicts", len(block), len(c.want))
			}
			check := c.check
			if check == nil {
				check = c.want
			}
			logBefore := n.govLogSize()
			for i, raw := range block {
				if got := n.checkTx(raw); got != check[i] {
					t.Errorf("CheckTx(tx %d) = %v, want %v", i, got, check[i])
				}
			}
			// PrepareProposal keeps exactly the transactions that the block accepts.
			var kept [][]byte
			for i, raw := range block {
				if c.want[i] == tx.CodeOK {
					kept = append(kept, raw)
				}
			}
			if got := n.prepare(block...); !reflect.DeepEqual(got, kept) {
				t.Errorf("PrepareProposal kept %d of %d transactions, want %d", len(got), len(block), len(kept))
			}
			wantStatus := abci.ResponseProcessProposal_ACCEPT
			if slices.ContainsFunc(c.want, func(c tx.Code) bool { return c != tx.CodeOK }) {
				wantStatus = abci.ResponseProcessProposal_REJECT
			}
			if got := n.process(block...); got != wantStatus {
				t.Errorf("ProcessProposal = %v, want %v", got, wantStatus)
			}
			res := n.finalize(block...)
			if got := codes(res); !slices.Equal(got, c.want) {
				t.Errorf("FinalizeBlock codes = %v, want %v (%v)", got, c.want, res.TxResults)
			}
			for i, r := range res.TxResults {
				if r.Code != 0 && (r.Codespace != tx.Codespace || r.Log == "") {
					t.Errorf("tx %d: codespace %q, log %q", i, r.Codespace, r.Log)
				}
			}
			n.commit()
			// Rejected transactions leave no event in the log.
			if !slices.Contains(c.want, tx.CodeOK) {
				if got := n.govLogSize(); got != logBefore {
					t.Errorf("log size %d after a rejected transaction, was %d", got, logBefore)
				}
			}
			if c.after != nil {
				c.after(t, n, res)
			}
		})
	}
}

// TestGovValidatorChange follows an accepted validator-set change through the checkpoints and the
// store: a change executed at height h is in force from h+2, as CometBFT applies it, so that the
// checkpoint of h+1 names the new set as the next one.
func TestGovValidatorChange(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := map[bool]string{false: "running", true: "restarted after the change"}[restart]
		t.Run(name, func(t *testing.T) {
			n, vs := govNode(t, 1, 1, 4)
			n.emptyBlocks(2)
			old := canonicalSet(vs)
			fifth := govValidatorKey("fifth")
			updated := govPlus(old, receipt.Validator{PubKey: fifth, Power: validatorPower})
			if old.Hash() == updated.Hash() || len(updated) != 5 {
				t.Fatal("test sets are wrong")
			}

			p := n.govPropose(govOp(0), govSetValidator(fifth, validatorPower))
			if got := n.checkTx(p); got != tx.CodeOK {
				t.Fatalf("CheckTx = %v", got)
			}
			h := uint64(n.next())
			res := n.block(p)
			if got := codes(res); got[0] != tx.CodeOK {
				t.Fatalf("FinalizeBlock = %v (%s)", got, res.TxResults[0].Log)
			}
			if len(res.ValidatorUpdates) != 1 {
				t.Fatalf("ValidatorUpdates = %v, want exactly one", res.ValidatorUpdates)
			}
			if u := res.ValidatorUpdates[0]; !bytes.Equal(u.PubKey.GetEd25519(), fifth[:]) || u.Power != validatorPower {
				t.Fatalf("ValidatorUpdate = %v, want %x with power %d", u, fifth[:4], validatorPower)
			}
			if restart {
				n.restart()
			}
			for i := range 3 {
				if res := n.block(); len(res.ValidatorUpdates) != 0 {
					t.Fatalf("block %d: ValidatorUpdates = %v, want none", h+1+uint64(i), res.ValidatorUpdates)
				}
			}

			type sets struct{ vals, next [32]byte }
			want := map[uint64]sets{
				h - 1: {old.Hash(), old.Hash()},
				h:     {old.Hash(), old.Hash()},
				h + 1: {old.Hash(), updated.Hash()},
				h + 2: {updated.Hash(), updated.Hash()},
				h + 3: {updated.Hash(), updated.Hash()},
			}
			for height, w := range want {
				cp := n.govCheckpoint(height)
				if cp.Validators != w.vals || cp.NextValidators != w.next {
					t.Errorf("checkpoint %d: validators %x, next %x; want %x, %x", height, cp.Validators[:4], cp.NextValidators[:4], w.vals[:4], w.next[:4])
				}
			}
			for height, w := range map[uint64]receipt.ValidatorSet{h: old, h + 1: old, h + 2: updated, h + 3: updated} {
				if got := n.govValidators(height); !reflect.DeepEqual(got, w) {
					t.Errorf("store.Validators(%d) = %v, want %v", height, got, w)
				}
			}
		})
	}
}

// TestGovExecutesOnce: a proposal executes in the block in which it reaches the threshold, by the
// approval that reaches it; approvals after that are proposal_closed, in the same block and later.
func TestGovExecutesOnce(t *testing.T) {
	n, _ := govNode(t, 3, 4, 0)
	p := n.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyC))
	h1 := n.govOK(p)
	size := n.govLogSize()

	approvals := [][]byte{n.govApprove(govOp(2), p), n.govApprove(govOp(1), p), n.govApprove(govOp(3), p)}
	for i, a := range approvals {
		if got := n.checkTx(a); got != tx.CodeOK {
			t.Errorf("CheckTx(approval %d) = %v, want ok: committed state has the proposal open", i, got)
		}
	}
	logBefore := n.app.log
	h2 := uint64(n.next())
	res := n.block(approvals...)
	if got, want := codes(res), govCodes(tx.CodeOK, tx.CodeOK, tx.CodeClosed); !slices.Equal(got, want) {
		t.Fatalf("codes = %v, want %v", got, want)
	}
	pr := n.govProposal(p)
	if pr.Executed != h2 || pr.Height != h1 || pr.Proposer != "dc-0" || !slices.Equal(pr.Approvals, []string{"dc-0", "dc-2", "dc-1"}) {
		t.Fatalf("proposal = %+v, want executed at %d, approved by dc-0, dc-2, dc-1", pr, h2)
	}
	// Exactly one event: the execution, by the second approval.
	if got := n.govLogSize(); got != size+1 {
		t.Fatalf("log size %d, want %d", got, size+1)
	}
	_, root, _, err := tree.AppendLog(logBefore, [][32]byte{receipt.LogLeafHash(govEvent(&pr))})
	if err != nil {
		t.Fatal(err)
	}
	if cp := n.govCheckpoint(h2); cp.LogRoot != root {
		t.Fatalf("checkpoint %d: log root %x, want the root with the governance event %x", h2, cp.LogRoot[:4], root[:4])
	}
	if a := n.govAgency("agency-c"); a.Name != "Agency C" || !slices.Equal(a.Keys, []store.Key{pubKey(govKeyC)}) || a.Suspended {
		t.Fatalf("agency-c = %+v", a)
	}

	late := n.govApprove(govOp(3), p)
	if got := n.checkTx(late); got != tx.CodeClosed {
		t.Errorf("CheckTx(late approval) = %v, want proposal_closed", got)
	}
	if got := codes(n.block(late)); got[0] != tx.CodeClosed {
		t.Errorf("late approval: %v, want proposal_closed", got)
	}
	if pr2 := n.govProposal(p); !reflect.DeepEqual(pr2, pr) {
		t.Errorf("proposal changed after its execution: %+v, was %+v", pr2, pr)
	}
	if got := n.govLogSize(); got != size+1 {
		t.Errorf("log size %d, want %d", got, size+1)
	}
}

// TestGovProposedAndExecutedInOneBlock: a proposal and the approval that reaches the threshold may
// share a block.
func TestGovProposedAndExecutedInOneBlock(t *testing.T) {
	n, _ := govNode(t, 2, 3, 0)
	p := n.govPropose(govOp(1), govSuspend("agency-b"))
	a := n.govApprove(govOp(2), p)
	if got := n.checkTx(a); got != tx.CodeNoProposal {
		t.Errorf("CheckTx(approval before its proposal is committed) = %v, want unknown_proposal", got)
	}
	h := n.govOK(p, a)
	if pr := n.govProposal(p); pr.Executed != h || pr.Height != h {
		t.Errorf("proposal = %+v, want made and executed at %d", pr, h)
	}
	if !n.govAgency("agency-b").Suspended {
		t.Error("agency-b is not suspended")
	}
}

// TestGovRegistryNextBlock: registry changes bind agency transactions from the next block on.
func TestGovRegistryNextBlock(t *testing.T) {
	n, _ := govNode(t, 1, 1, 0)
	reg := n.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyC))
	early := n.govAnchor(govKeyC, doc("c1"))
	if got := n.checkTx(early); got != tx.CodeUnknownAgency {
		t.Errorf("CheckTx(anchor by a key not yet registered) = %v", got)
	}
	if got := n.process(reg, early); got != abci.ResponseProcessProposal_REJECT {
		t.Errorf("ProcessProposal = %v, want REJECT", got)
	}
	if got, want := codes(n.block(reg, early)), govCodes(tx.CodeOK, tx.CodeUnknownAgency); !slices.Equal(got, want) {
		t.Fatalf("registration and an anchor by its key in one block: %v, want %v", got, want)
	}
	if found, _, _, _ := n.anchor(doc("c1")); found {
		t.Fatal("c1 anchored in the block that registered its key")
	}
	h := n.govOK(n.govAnchor(govKeyC, doc("c1")))
	if found, ag, height, _ := n.anchor(doc("c1")); !found || ag != "agency-c" || height != h {
		t.Fatalf("c1: found %v by %q at %d", found, ag, height)
	}

	// Suspension, retirement and rotation: the block in which they happen still judges by the registry
	// as it began.
	n.govOK(n.govPropose(govOp(0), govSuspend("agency-c")), n.govAnchor(govKeyC, doc("c2")),
		n.govPropose(govOp(0), govRetireKey("agency-a", keyA2)), n.govAnchor(keyA2, doc("a2")),
		n.govRotate(keyA1, govKeyN1), n.govAnchor(keyA1, doc("a1")))
	for _, d := range []string{"c2", "a2", "a1"} {
		if found, _, _, _ := n.anchor(doc(d)); !found {
			t.Errorf("%s not anchored", d)
		}
	}
	block := [][]byte{n.govAnchor(govKeyC, doc("c3")), n.govAnchor(keyA2, doc("a3")), n.govAnchor(keyA1, doc("a4")), n.govAnchor(govKeyN1, doc("n1"))}
	want := govCodes(tx.CodeSuspended, tx.CodeKeyRetired, tx.CodeKeyRetired, tx.CodeOK)
	for i, raw := range block {
		if got := n.checkTx(raw); got != want[i] {
			t.Errorf("CheckTx(tx %d) = %v, want %v", i, got, want[i])
		}
	}
	if got := codes(n.block(block...)); !slices.Equal(got, want) {
		t.Errorf("the next block: %v, want %v", got, want)
	}

	// A key rotated to cannot sign in the block of the rotation.
	rot := n.govRotate(govKeyN1, govKeyN2)
	if got, want := codes(n.block(rot, n.govAnchor(govKeyN2, doc("n2")))), govCodes(tx.CodeOK, tx.CodeUnknownAgency); !slices.Equal(got, want) {
		t.Errorf("rotation and an anchor by the new key in one block: %v, want %v", got, want)
	}
	n.govOK(n.govAnchor(govKeyN2, doc("n2")))
}

// TestGovRotationsInOneBlock: registry changes made in one block add up; none undoes an earlier one.
func TestGovRotationsInOneBlock(t *testing.T) {
	t.Run("two keys of one agency", func(t *testing.T) {
		n, _ := govNode(t, 1, 1, 0)
		n.govOK(n.govRotate(keyA1, govKeyN1), n.govRotate(keyA2, govKeyN2))
		a := n.govAgency("agency-a")
		if !govSameKeys(a.Keys, govKeyN1, govKeyN2) || !govSameKeys(a.Retired, keyA1, keyA2) {
			t.Fatalf("agency-a = %+v, want keys n1, n2 and a1, a2 retired", a)
		}
		want := govCodes(tx.CodeKeyRetired, tx.CodeKeyRetired, tx.CodeOK, tx.CodeOK)
		block := [][]byte{n.govAnchor(keyA1, doc("1")), n.govAnchor(keyA2, doc("2")), n.govAnchor(govKeyN1, doc("3")), n.govAnchor(govKeyN2, doc("4"))}
		if got := codes(n.block(block...)); !slices.Equal(got, want) {
			t.Fatalf("anchors after the rotations: %v, want %v", got, want)
		}
	})
	t.Run("one key twice", func(t *testing.T) {
		n, _ := govNode(t, 1, 1, 0)
		r1, r2 := n.govRotate(keyA1, govKeyN1), n.govRotate(keyA1, govKeyN2)
		for _, r := range [][]byte{r1, r2} {
			if got := n.checkTx(r); got != tx.CodeOK {
				t.Fatalf("CheckTx = %v", got)
			}
		}
		if got, want := codes(n.block(r1, r2)), govCodes(tx.CodeOK, tx.CodeKeyRetired); !slices.Equal(got, want) {
			t.Fatalf("codes = %v, want %v", got, want)
		}
		a := n.govAgency("agency-a")
		if !govSameKeys(a.Keys, keyA2, govKeyN1) || !govSameKeys(a.Retired, keyA1) {
			t.Fatalf("agency-a = %+v, want keys a2, n1 and a1 retired", a)
		}
		if got := n.checkTx(n.govAnchor(govKeyN2, doc("x"))); got != tx.CodeUnknownAgency {
			t.Fatalf("anchor by n2: %v, want unknown_agency", got)
		}
	})
	t.Run("governance and rotation", func(t *testing.T) {
		n, _ := govNode(t, 1, 1, 0)
		n.govOK(n.govPropose(govOp(0), govAddKey("agency-a", govKeyC)), n.govRotate(keyA1, govKeyN1),
			n.govPropose(govOp(0), govSuspend("agency-a")))
		a := n.govAgency("agency-a")
		if !govSameKeys(a.Keys, keyA2, govKeyC, govKeyN1) || !govSameKeys(a.Retired, keyA1) || !a.Suspended {
			t.Fatalf("agency-a = %+v, want keys a2, c, n1, a1 retired, suspended", a)
		}
		if got, want := codes(n.block(n.govRotate(keyA2, govKeyN2), n.govPropose(govOp(0), govRetireKey("agency-a", keyA2)))),
			govCodes(tx.CodeSuspended, tx.CodeOK); !slices.Equal(got, want) {
			t.Fatalf("codes = %v, want %v", got, want)
		}
		n.govOK(n.govPropose(govOp(0), govReinstate("agency-a")))
		if got, want := codes(n.block(n.govRotate(govKeyC, govKeyN2), n.govPropose(govOp(0), govRetireKey("agency-a", govKeyC)))),
			govCodes(tx.CodeOK, tx.CodeInvalidAction); !slices.Equal(got, want) {
			t.Fatalf("rotation, then retirement of the key rotated away: %v, want %v", got, want)
		}
		a = n.govAgency("agency-a")
		if !govSameKeys(a.Keys, govKeyN1, govKeyN2) || !govSameKeys(a.Retired, keyA1, keyA2, govKeyC) || a.Suspended {
			t.Fatalf("agency-a = %+v, want keys n1, n2, a1, a2, c retired, active", a)
		}
	})
}

// govSameKeys reports whether got holds exactly the public keys of want, in any order.
func govSameKeys(got []store.Key, want ...ed25519.PrivateKey) bool {
	w := make([]store.Key, len(want))
	for i, k := range want {
		w[i] = pubKey(k)
	}
	cmp := func(a, b store.Key) int { return bytes.Compare(a[:], b[:]) }
	return slices.Equal(slices.SortedFunc(slices.Values(got), cmp), slices.SortedFunc(slices.Values(w), cmp))
}

// TestGovRetiredKeyAnchorsStay: retiring or rotating away a key, or suspending its agency, leaves what
// it anchored as it was.
func TestGovRetiredKeyAnchorsStay(t *testing.T) {
	n, _ := govNode(t, 2, 3, 0)
	n.govOK(n.govAnchor(keyA1, doc("by a1")), n.govAnchor(keyA2, doc("by a2"), doc("by a2 too")))
	docs := []string{"by a1", "by a2", "by a2 too"}
	before := map[string]store.Anchor{}
	for _, d := range docs {
		a, err := n.st.Anchor(doc(d))
		if err != nil {
			t.Fatal(err)
		}
		before[d] = a
	}
	n.govExec(govRetireKey("agency-a", keyA2))
	n.govOK(n.govRotate(keyA1, govKeyN1))
	n.govExec(govSuspend("agency-a"))
	n.emptyBlocks(2)
	for _, d := range docs {
		a, err := n.st.Anchor(doc(d))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, before[d]) {
			t.Errorf("%s: %+v, was %+v", d, a, before[d])
		}
		// Still anchored: nobody can anchor it again.
		if got := n.checkTx(n.govAnchor(keyB, doc(d))); got != tx.CodeDuplicateHash {
			t.Errorf("%s: anchoring it again: %v, want duplicate_hash", d, got)
		}
	}
}

// TestGovLogEvents: every executed proposal and every rotation appends one event to the log; proposals
// and approvals that do not execute append none.
func TestGovLogEvents(t *testing.T) {
	n, _ := govNode(t, 2, 3, 0)
	step := func(name string, grow uint64, txs ...[]byte) {
		t.Helper()
		size := n.govLogSize()
		h := n.govOK(txs...)
		if got := n.govLogSize(); got != size+grow {
			t.Fatalf("%s: log grew by %d, want %d", name, got-size, grow)
		}
		if cp := n.govCheckpoint(h); cp.LogSize != size+grow {
			t.Fatalf("%s: checkpoint log size %d, want %d", name, cp.LogSize, size+grow)
		}
	}
	p1 := n.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyC))
	step("a proposal", 0, p1)
	step("an approval that executes it", 1, n.govApprove(govOp(1), p1))

	logBefore := n.app.log
	r := n.govRotate(keyA1, govKeyN1)
	h := n.govOK(r)
	_, root, _, err := tree.AppendLog(logBefore, [][32]byte{receipt.LogLeafHash(rotationEvent("agency-a", pubKey(keyA1), pubKey(govKeyN1)))})
	if err != nil {
		t.Fatal(err)
	}
	if cp := n.govCheckpoint(h); cp.LogRoot != root || cp.LogSize != logBefore.Size+1 {
		t.Fatalf("rotation: checkpoint log %d %x, want %d %x", cp.LogSize, cp.LogRoot[:4], logBefore.Size+1, root[:4])
	}

	p2 := n.govPropose(govOp(2), govSuspend("agency-b"))
	p3 := n.govPropose(govOp(0), govAddKey("agency-c", govKeyD))
	step("two proposals, an anchor of two documents, a rotation", 3, p2, p3, n.govAnchor(keyA2, doc("x"), doc("y")), n.govRotate(govKeyN1, govKeyN2))
	step("two executions", 2, n.govApprove(govOp(0), p2), n.govApprove(govOp(1), p3))

	// Rejected governance transactions add nothing.
	size := n.govLogSize()
	n.block(n.govApprove(govOp(2), p2), n.govPropose(keyX, govSuspend("agency-a")), n.govPropose(govOp(0), govSuspend("agency-b")))
	if got := n.govLogSize(); got != size {
		t.Fatalf("rejected governance transactions grew the log from %d to %d", size, got)
	}
}

// TestGovDeterminism: two instances fed the same governance and anchor transactions agree on every
// result, app hash and validator update, and end with the same store, even when one restarts.
func TestGovDeterminism(t *testing.T) {
	vs := newTestValidators(4)
	a, _ := govNode(t, 2, 3, 4)
	b, _ := govNode(t, 2, 3, 4)
	fifth := govValidatorKey("fifth")

	reg := a.govPropose(govOp(0), govRegister("agency-c", "Agency C", govKeyC, govKeyD))
	addV := a.govPropose(govOp(1), govSetValidator(fifth, validatorPower))
	suspB := a.govPropose(govOp(2), govSuspend("agency-b"))
	raise := a.govPropose(govOp(0), govSetValidator(govSetKey(vs, 1), 12))
	remove := a.govPropose(govOp(2), govSetValidator(govSetKey(vs, 3), 0))
	const o, u, c, r, s = tx.CodeOK, tx.CodeUnknownAgency, tx.CodeClosed, tx.CodeKeyRetired, tx.CodeSuspended
	blocks := []struct {
		txs  [][]byte
		want []tx.Code
	}{
		{[][]byte{reg, a.govAnchor(keyA1, doc("1"))}, govCodes(o, o)},
		{[][]byte{a.govApprove(govOp(2), reg), a.govAnchor(govKeyC, doc("2")), a.govApprove(govOp(1), reg)}, govCodes(o, u, c)},
		{[][]byte{a.govAnchor(govKeyC, doc("2")), a.govRotate(keyA1, govKeyN1), addV, a.govApprove(govOp(2), addV)}, govCodes(o, o, o, o)},
		{[][]byte{suspB, a.govApprove(govOp(0), suspB), a.govAnchor(keyB, doc("3")), a.govRotate(govKeyD, govKeyN2)}, govCodes(o, o, o, o)},
		{[][]byte{a.govAnchor(keyB, doc("4")), a.govAnchor(govKeyN1, doc("5")), a.govAnchor(keyA1, doc("6"))}, govCodes(s, o, r)},
		{[][]byte{raise, a.govApprove(govOp(1), raise), a.govApprove(govOp(2), raise)}, govCodes(o, o, c)},
		{nil, nil},
		{[][]byte{remove, a.govApprove(govOp(0), remove), a.govAnchor(govKeyN2, doc("7"))}, govCodes(o, o, o)},
		{nil, nil},
		{nil, nil},
	}
	var updates int
	for i, blk := range blocks {
		ra, rb := a.block(blk.txs...), b.block(blk.txs...)
		if got := codes(ra); !slices.Equal(got, blk.want) {
			t.Fatalf("block %d: codes %v, want %v", i+1, got, blk.want)
		}
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Fatalf("block %d: app hashes differ", i+1)
		}
		if !reflect.DeepEqual(codes(ra), codes(rb)) || !reflect.DeepEqual(ra.ValidatorUpdates, rb.ValidatorUpdates) {
			t.Fatalf("block %d: results differ: %v %v, %v %v", i+1, codes(ra), ra.ValidatorUpdates, codes(rb), rb.ValidatorUpdates)
		}
		updates += len(ra.ValidatorUpdates)
		if i%3 == 1 {
			b.restart()
		}
	}
	if updates != 3 {
		t.Errorf("%d validator updates in all, want 3", updates)
	}
	if da, db := dump(t, a.st), dump(t, b.st); !reflect.DeepEqual(da, db) {
		t.Errorf("the stores differ")
	}
	if got := a.govValidators(uint64(a.next())); len(got) != 4 {
		t.Errorf("final validator set %v, want 4 validators", got)
	}
}

// TestGovSetParam: parameter and threshold changes bind from the next block on.
func TestGovSetParam(t *testing.T) {
	t.Run("threshold", func(t *testing.T) {
		n, _ := govNode(t, 2, 3, 0)
		p := n.govPropose(govOp(0), govSetParam("threshold", 1))
		q := n.govPropose(govOp(2), govSuspend("agency-b"))
		n.govOK(p, n.govApprove(govOp(1), p), q)
		if pr := n.govProposal(q); pr.Executed != 0 {
			t.Fatalf("a proposal made in the block that lowered the threshold executed: %+v", pr)
		}
		r := n.govPropose(govOp(1), govSuspend("agency-a"))
		h := n.govOK(r)
		if pr := n.govProposal(r); pr.Executed != h || !n.govAgency("agency-a").Suspended {
			t.Fatalf("a proposal made after the threshold was lowered to 1 did not execute: %+v", pr)
		}
		n.restart()
		if got := n.app.consortium.Threshold; got != 1 {
			t.Fatalf("threshold %d after a restart, want 1", got)
		}
	})
	t.Run("max_batch", func(t *testing.T) {
		n, _ := govNode(t, 1, 1, 0)
		three := func(p string) []byte { return n.govAnchor(keyA1, doc(p+"1"), doc(p+"2"), doc(p+"3")) }
		n.govOK(n.govPropose(govOp(0), govSetParam("max_batch", 2)), three("a"))
		big := three("b")
		if got := n.checkTx(big); got != tx.CodeOversized {
			t.Errorf("CheckTx = %v, want oversized", got)
		}
		if got := codes(n.block(big)); got[0] != tx.CodeOversized {
			t.Errorf("FinalizeBlock = %v, want oversized", got)
		}
	})
}
