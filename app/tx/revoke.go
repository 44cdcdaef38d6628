package tx

import "fmt"

// KindRevoke revokes a document the signer's agency anchored. Body:
//
//	document SHA-256(32) | reason(1) | flags(1) | [successor SHA-256(32) if flags&1]
const KindRevoke Kind = 3

// Reason says why a document was revoked. The codes are part of the protocol.
type Reason uint8

// Revocation reasons.
const (
	ReasonSuperseded     Reason = 1 // replaced by a newer document (name it as the successor)
	ReasonIssuedInError  Reason = 2 // should never have been issued
	ReasonWithdrawn      Reason = 3 // withdrawn by the issuer (e.g. a court decision)
	ReasonKeyCompromised Reason = 4 // the signing key may have been misused
)

var reasonNames = map[Reason]string{
	ReasonSuperseded: "superseded", ReasonIssuedInError: "issued_in_error",
	ReasonWithdrawn: "withdrawn", ReasonKeyCompromised: "key_compromised",
}

// String returns the reason's stable name.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason_%d", uint8(r))
}

// Valid reports whether r is a known reason.
func (r Reason) Valid() bool { _, ok := reasonNames[r]; return ok }

// ParseReason accepts a reason's name or number.
func ParseReason(s string) (Reason, error) {
	for r, n := range reasonNames {
		if s == n || s == fmt.Sprint(uint8(r)) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown revocation reason %q: use superseded (1), issued_in_error (2), withdrawn (3) or key_compromised (4)", s)
}

// Revoke is the body of a revocation.
type Revoke struct {
	Hash      [32]byte
	Reason    Reason
	Successor *[32]byte
}

// Kind implements Body.
func (*Revoke) Kind() Kind { return KindRevoke }

func (r *Revoke) appendTo(b []byte) []byte {
	b = append(b, r.Hash[:]...)
	b = append(b, byte(r.Reason))
	if r.Successor != nil {
		b = append(b, 1)
		return append(b, r.Successor[:]...)
	}
	return append(b, 0)
}

func decodeRevoke(d *decoder) (*Revoke, error) {
	r := &Revoke{}
	copy(r.Hash[:], d.bytes(32))
	r.Reason = Reason(d.byte())
	flags := d.byte()
	switch {
	case d.err != nil:
		return nil, fmt.Errorf("%w: revocation: %v", ErrMalformed, d.err)
	case !r.Reason.Valid():
		return nil, fmt.Errorf("%w: unknown revocation reason %d", ErrMalformed, r.Reason)
	case flags == 1:
		var s [32]byte
		copy(s[:], d.bytes(32))
		if d.err != nil {
			return nil, fmt.Errorf("%w: revocation successor: %v", ErrMalformed, d.err)
		}
		if s == r.Hash {
			return nil, fmt.Errorf("%w: a document cannot succeed itself", ErrMalformed)
		}
		r.Successor = &s
	case flags != 0:
		return nil, fmt.Errorf("%w: revocation flags %#x", ErrMalformed, flags)
	}
	return r, nil
}
