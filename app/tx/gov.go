package tx

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Governance and key management. Operators of the consortium's data centres sign proposals and
// approvals with their operator keys; a proposal executes in the block in which it reaches the
// consortium's threshold of approvals (the proposer's counts as the first), once. Agencies rotate their
// own keys.
//
// Propose body:  deadline(8) | action kind(1) | action fields (below)
// Approve body:  proposal ID(8)
// RotateKey body: new key(32)
//
// Actions, with strings as length(1) | bytes:
//
//	1 register agency    ID | name (length 2 bytes) | key count(1) | keys(32 each)
//	2 add agency key     ID | key(32)
//	3 retire agency key  ID | key(32)
//	4 suspend agency     ID
//	5 reinstate agency   ID
//	6 set validator      ed25519 key(32) | power(8); power 0 removes the validator
//	7 set parameter      name | value(8); names: max_batch, max_ttl, threshold
//	8 set document types ID | count(1) | types; the document types the agency may issue (none: any)
const (
	KindPropose   Kind = 4
	KindApprove   Kind = 5
	KindRotateKey Kind = 6
)

// ActionKind names a governance action.
type ActionKind uint8

// The governance actions.
const (
	ActRegisterAgency  ActionKind = 1
	ActAddAgencyKey    ActionKind = 2
	ActRetireAgencyKey ActionKind = 3
	ActSuspendAgency   ActionKind = 4
	ActReinstateAgency ActionKind = 5
	ActSetValidator    ActionKind = 6
	ActSetParam        ActionKind = 7
	ActSetDocTypes     ActionKind = 8
)

var actionNames = map[ActionKind]string{
	ActRegisterAgency: "register-agency", ActAddAgencyKey: "add-agency-key", ActRetireAgencyKey: "retire-agency-key",
	ActSuspendAgency: "suspend-agency", ActReinstateAgency: "reinstate-agency", ActSetValidator: "set-validator",
	ActSetParam: "set-param", ActSetDocTypes: "set-doc-types",
}

func (k ActionKind) String() string {
	if n, ok := actionNames[k]; ok {
		return n
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// Action is a governance action. Fields that a kind does not use are zero.
type Action struct {
	Kind   ActionKind
	Agency string     // agency actions
	Name   string     // register-agency
	Keys   [][32]byte // register-agency: the keys; add/retire: one key; set-validator: the validator key
	Power  int64      // set-validator; set-param: the value
	Param  string     // set-param
	// DocTypes are the document types an agency may issue (set-doc-types; none: any).
	DocTypes []string
}

// Limits of document types: how many one agency may have, and the length of one.
const (
	MaxDocTypes   = 64
	MaxDocTypeLen = 64
)

// ValidDocType reports whether s is a document type name: 1 to 64 characters of a-z, 0-9, '.', '_', '-'.
func ValidDocType(s string) bool { return validName(s, MaxDocTypeLen, "._-") }

// MaxKeysPerAgency bounds the keys registered at once.
const MaxKeysPerAgency = 16

func (a *Action) appendTo(b []byte) []byte {
	b = append(b, byte(a.Kind))
	str := func(s string) { b = append(b, byte(len(s))); b = append(b, s...) }
	switch a.Kind {
	case ActRegisterAgency:
		str(a.Agency)
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Name)))
		b = append(b, a.Name...)
		b = append(b, byte(len(a.Keys)))
		for _, k := range a.Keys {
			b = append(b, k[:]...)
		}
	case ActAddAgencyKey, ActRetireAgencyKey:
		str(a.Agency)
		b = append(b, a.Keys[0][:]...)
	case ActSuspendAgency, ActReinstateAgency:
		str(a.Agency)
	case ActSetValidator:
		b = append(b, a.Keys[0][:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Power))
	case ActSetParam:
		str(a.Param)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Power))
	case ActSetDocTypes:
		str(a.Agency)
		b = append(b, byte(len(a.DocTypes)))
		for _, t := range a.DocTypes {
			str(t)
		}
	}
	return b
}

// Encode returns the action's encoding, as it appears in a proposal.
func (a *Action) Encode() []byte { return a.appendTo(nil) }

// DecodeAction parses what Encode returns.
func DecodeAction(b []byte) (*Action, error) {
	d := decoder{b: b}
	a, err := decodeAction(&d)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the action", ErrMalformed, len(d.b))
	}
	return a, nil
}

func decodeAction(d *decoder) (*Action, error) {
	a := &Action{Kind: ActionKind(d.byte())}
	str := func() string { return string(d.bytes(int(d.byte()))) }
	key := func() {
		var k [32]byte
		copy(k[:], d.bytes(32))
		a.Keys = append(a.Keys, k)
	}
	switch a.Kind {
	case ActRegisterAgency:
		a.Agency = str()
		a.Name = string(d.bytes(int(d.uint16())))
		n := int(d.byte())
		if d.err == nil && (n == 0 || n > MaxKeysPerAgency) {
			return nil, fmt.Errorf("%w: %d keys, want 1 to %d", ErrMalformed, n, MaxKeysPerAgency)
		}
		for i := 0; i < n; i++ {
			key()
		}
	case ActAddAgencyKey, ActRetireAgencyKey:
		a.Agency = str()
		key()
	case ActSuspendAgency, ActReinstateAgency:
		a.Agency = str()
	case ActSetValidator:
		key()
		a.Power = int64(d.uint64())
		if d.err == nil && (a.Power < 0 || a.Power > 1<<50) {
			return nil, fmt.Errorf("%w: validator power %d", ErrMalformed, a.Power)
		}
	case ActSetParam:
		a.Param = str()
		a.Power = int64(d.uint64())
		if d.err == nil && (a.Power < 0 || a.Param == "") {
			return nil, fmt.Errorf("%w: parameter %q = %d", ErrMalformed, a.Param, a.Power)
		}
	case ActSetDocTypes:
		a.Agency = str()
		n := int(d.byte())
		if d.err == nil && n > MaxDocTypes {
			return nil, fmt.Errorf("%w: %d document types, limit %d", ErrMalformed, n, MaxDocTypes)
		}
		for i := 0; i < n && d.err == nil; i++ {
			t := str()
			if d.err == nil && (!ValidDocType(t) || slices.Contains(a.DocTypes, t)) {
				return nil, fmt.Errorf("%w: document type %q is invalid or repeated", ErrMalformed, t)
			}
			a.DocTypes = append(a.DocTypes, t)
		}
	default:
		return nil, fmt.Errorf("%w: unknown action %d", ErrMalformed, a.Kind)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: action: %v", ErrMalformed, d.err)
	}
	if a.Kind != ActSetValidator && a.Kind != ActSetParam && a.Agency == "" {
		return nil, fmt.Errorf("%w: action without an agency ID", ErrMalformed)
	}
	if !utf8.ValidString(a.Name) {
		return nil, fmt.Errorf("%w: agency name is not UTF-8", ErrMalformed)
	}
	return a, nil
}

// Propose proposes a governance action that expires after height Deadline.
type Propose struct {
	Deadline uint64
	Action   Action
}

// Kind implements Body.
func (*Propose) Kind() Kind { return KindPropose }

func (p *Propose) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, p.Deadline)
	return p.Action.appendTo(b)
}

func decodePropose(d *decoder) (*Propose, error) {
	p := &Propose{Deadline: d.uint64()}
	a, err := decodeAction(d)
	if err != nil {
		return nil, err
	}
	p.Action = *a
	return p, nil
}

// ProposalID identifies a proposal: the first 8 bytes of the SHA-256 of its transaction.
type ProposalID [8]byte

// ProposalIDOf returns the ID of the proposal made by the transaction bytes raw.
func ProposalIDOf(raw []byte) ProposalID {
	h := sha256.Sum256(raw)
	var id ProposalID
	copy(id[:], h[:8])
	return id
}

func (id ProposalID) String() string { return fmt.Sprintf("%x", id[:]) }

// Approve approves a proposal.
type Approve struct{ Proposal ProposalID }

// Kind implements Body.
func (*Approve) Kind() Kind { return KindApprove }

func (a *Approve) appendTo(b []byte) []byte { return append(b, a.Proposal[:]...) }

// RotateKey replaces the signing key of the signer's agency by a new key: the new key is registered
// and the signing key retired, in one step.
type RotateKey struct{ NewKey [32]byte }

// Kind implements Body.
func (*RotateKey) Kind() Kind { return KindRotateKey }

func (r *RotateKey) appendTo(b []byte) []byte { return append(b, r.NewKey[:]...) }
