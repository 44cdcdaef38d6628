package tx_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// signedRevoke returns a revocation of docHash(0) on testChainID for the given reason, with a successor
// if one is given, signed by seededKey(1).
func signedRevoke(reason tx.Reason, successor *[32]byte) *tx.Tx {
	t := &tx.Tx{
		ChainID: testChainID,
		Nonce:   0x0102030405060708,
		Expiry:  4242,
		Body:    &tx.Revoke{Hash: docHash(0), Reason: reason, Successor: successor},
	}
	t.Sign(seededKey(1))
	return t
}

// successorHash is the successor used by the tests: another document than the revoked docHash(0).
func successorHash() *[32]byte {
	h := docHash(1)
	return &h
}

// rawRevoke returns the body of a revocation: hash | reason | flags | successor (only if given).
func rawRevoke(hash [32]byte, reason, flags byte, successor ...[32]byte) []byte {
	b := append(bytes.Clone(hash[:]), reason, flags)
	for _, s := range successor {
		b = append(b, s[:]...)
	}
	return b
}

// revokeHeader is header() for a revocation.
func revokeHeader() []byte { return header(1, byte(tx.KindRevoke), testChainID) }

// validRevocations returns valid, signed revocations of every shape.
func validRevocations() []validEncoding {
	var out []validEncoding
	for _, r := range []tx.Reason{tx.ReasonSuperseded, tx.ReasonIssuedInError, tx.ReasonWithdrawn, tx.ReasonKeyCompromised} {
		out = append(out, validEncoding{fmt.Sprintf("%v without successor", r), signedRevoke(r, nil).Encode()})
		out = append(out, validEncoding{fmt.Sprintf("%v with successor", r), signedRevoke(r, successorHash()).Encode()})
	}
	return out
}

func TestRevokeRoundTrip(t *testing.T) {
	zero := [32]byte{}
	for _, tc := range []struct {
		name string
		tx   *tx.Tx
	}{
		{"without successor", signedRevoke(tx.ReasonWithdrawn, nil)},
		{"with successor", signedRevoke(tx.ReasonSuperseded, successorHash())},
		{"key compromised with successor", signedRevoke(tx.ReasonKeyCompromised, successorHash())},
		{"issued in error", signedRevoke(tx.ReasonIssuedInError, nil)},
		{"zero successor of a nonzero hash", signedRevoke(tx.ReasonSuperseded, &zero)},
		{"extreme header values", func() *tx.Tx {
			t := &tx.Tx{
				ChainID: strings.Repeat("~", tx.MaxChainIDLen), Nonce: ^uint64(0), Expiry: ^uint64(0),
				Body: &tx.Revoke{Hash: [32]byte{0xff}, Reason: tx.ReasonKeyCompromised, Successor: &zero},
			}
			t.Sign(seededKey(9))
			return t
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.tx.Encode()
			body := tc.tx.Body.(*tx.Revoke)
			wantLen := 3 + len(tc.tx.ChainID) + 32 + 8 + 8 + 32 + 1 + 1 + 64
			if body.Successor != nil {
				wantLen += 32
			}
			if len(b) != wantLen {
				t.Fatalf("encoding of %d bytes, want %d by the documented layout", len(b), wantLen)
			}
			if b[1] != byte(tx.KindRevoke) || tx.PeekKind(b) != tx.KindRevoke {
				t.Fatalf("kind byte %d, PeekKind %v; want %d", b[1], tx.PeekKind(b), tx.KindRevoke)
			}
			at := 3 + len(tc.tx.ChainID) + 32 + 16
			if !bytes.Equal(b[at:at+32], body.Hash[:]) || b[at+32] != byte(body.Reason) {
				t.Fatalf("body does not start with hash | reason: %x", b[at:at+33])
			}
			if flags := b[at+33]; (flags == 1) != (body.Successor != nil) || flags > 1 {
				t.Fatalf("flags %#x with successor %v", flags, body.Successor != nil)
			}
			if body.Successor != nil && !bytes.Equal(b[at+34:at+66], body.Successor[:]) {
				t.Fatalf("successor not after the flags")
			}

			d := mustDecode(t, b)
			if !reflect.DeepEqual(d, tc.tx) {
				t.Fatalf("Decode(Encode(tx)) = %+v, want %+v", d, tc.tx)
			}
			if got := d.Encode(); !bytes.Equal(got, b) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", got, b)
			}
			if !tx.Equal(d, tc.tx) {
				t.Fatal("Equal(Decode(Encode(tx)), tx) = false")
			}
			if got, want := d.Hash(), sha256.Sum256(b); got != want {
				t.Fatalf("Hash() = %x, want %x", got, want)
			}
			if d.Body.Kind() != tx.KindRevoke {
				t.Fatalf("Body.Kind() = %v, want %v", d.Body.Kind(), tx.KindRevoke)
			}
			if err := d.Verify(); err != nil {
				t.Fatalf("Verify() = %v", err)
			}
		})
	}
}

// TestRevokeDoesNotAlias: the successor of a decoded revocation does not point into the input.
func TestRevokeDoesNotAlias(t *testing.T) {
	b := signedRevoke(tx.ReasonSuperseded, successorHash()).Encode()
	want := bytes.Clone(b)
	d := mustDecode(t, b)
	for i := range b {
		b[i] ^= 0xff
	}
	if got := d.Encode(); !bytes.Equal(got, want) {
		t.Fatal("changing the input after Decode changed the revocation")
	}
}

func TestRevokeRawValid(t *testing.T) {
	h0, h1 := docHash(0), docHash(1)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"reason 1, no successor", cat(revokeHeader(), rawRevoke(h0, 1, 0), sig)},
		{"reason 4, no successor", cat(revokeHeader(), rawRevoke(h0, 4, 0), sig)},
		{"reason 2, successor", cat(revokeHeader(), rawRevoke(h0, 2, 1, h1), sig)},
		{"zero hash", cat(revokeHeader(), rawRevoke([32]byte{}, 3, 0), sig)},
		{"zero hash, successor", cat(revokeHeader(), rawRevoke([32]byte{}, 3, 1, h1), sig)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecode(t, tc.in)
			if got := d.Encode(); !bytes.Equal(got, tc.in) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", got, tc.in)
			}
		})
	}
}

func TestRevokeDecodeRejects(t *testing.T) {
	h0, h1 := docHash(0), docHash(1)
	tests := []struct {
		name string
		in   []byte
	}{
		{"reason 0", cat(revokeHeader(), rawRevoke(h0, 0, 0), sig)},
		{"reason 5", cat(revokeHeader(), rawRevoke(h0, 5, 0), sig)},
		{"reason 255", cat(revokeHeader(), rawRevoke(h0, 255, 0), sig)},
		{"reason 0 with successor", cat(revokeHeader(), rawRevoke(h0, 0, 1, h1), sig)},
		{"reason 5 with successor", cat(revokeHeader(), rawRevoke(h0, 5, 1, h1), sig)},
		{"flags 2", cat(revokeHeader(), rawRevoke(h0, 1, 2), sig)},
		{"flags 3 with successor", cat(revokeHeader(), rawRevoke(h0, 1, 3, h1), sig)},
		{"flags 0x80", cat(revokeHeader(), rawRevoke(h0, 1, 0x80), sig)},
		{"flags 0xff with successor", cat(revokeHeader(), rawRevoke(h0, 1, 0xff, h1), sig)},
		{"successor is the revoked hash", cat(revokeHeader(), rawRevoke(h0, 1, 1, h0), sig)},
		{"successor is the revoked zero hash", cat(revokeHeader(), rawRevoke([32]byte{}, 1, 1, [32]byte{}), sig)},
		{"successor flag, no successor", cat(revokeHeader(), rawRevoke(h0, 1, 1), sig)},
		{"successor flag, nothing after", cat(revokeHeader(), rawRevoke(h0, 1, 1))},
		{"successor without its flag", cat(revokeHeader(), rawRevoke(h0, 1, 0, h1), sig)},
		{"trailing byte", cat(revokeHeader(), rawRevoke(h0, 1, 0), sig, []byte{0})},
		{"trailing signature", cat(revokeHeader(), rawRevoke(h0, 1, 1, h1), sig, sig)},
		{"no signature", cat(revokeHeader(), rawRevoke(h0, 1, 0))},
		{"signature short by one", cat(revokeHeader(), rawRevoke(h0, 1, 1, h1), sig[:63])},
		{"body cut after the hash", cat(revokeHeader(), h0[:])},
		{"body cut after the reason", cat(revokeHeader(), h0[:], []byte{1})},
		{"header only", revokeHeader()},
		{"anchor body under the revoke kind", cat(revokeHeader(), body(1, rawEntry(0, h0)), sig)},
		{"revoke body under the anchor kind", cat(header(1, 1, testChainID), rawRevoke(h0, 1, 0), sig)},
		{"revoke body under the checkpoint kind", cat(header(1, byte(tx.KindCheckpointSigs), testChainID), rawRevoke(h0, 1, 0), sig)},
		{"revoke body under kind 255", cat(header(1, 255, testChainID), rawRevoke(h0, 1, 0), sig)},
		{"version 2", cat(header(2, byte(tx.KindRevoke), testChainID), rawRevoke(h0, 1, 0), sig)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tx.Decode(tc.in)
			if !errors.Is(err, tx.ErrMalformed) || errors.Is(err, tx.ErrOversized) {
				t.Fatalf("Decode(%d bytes) = %v, want an error wrapping only %v", len(tc.in), err, tx.ErrMalformed)
			}
			if got != nil {
				t.Fatalf("Decode returned a transaction along with error %v", err)
			}
		})
	}
	// A revocation is never oversized: even a revocation padded to MaxTxBytes is only malformed.
	padded := cat(revokeHeader(), rawRevoke(h0, 1, 0), sig)
	padded = append(padded, make([]byte, tx.MaxTxBytes-len(padded))...)
	if _, err := tx.Decode(padded); !errors.Is(err, tx.ErrMalformed) {
		t.Errorf("revocation padded to MaxTxBytes: %v, want ErrMalformed", err)
	}
}

// TestRevokeReasonsExhaustive decodes a revocation with every reason byte and both flag values: exactly
// reasons 1 to 4 decode, and they keep the reason.
func TestRevokeReasonsExhaustive(t *testing.T) {
	h0, h1 := docHash(0), docHash(1)
	for r := range 256 {
		for _, succ := range []bool{false, true} {
			in := cat(revokeHeader(), rawRevoke(h0, byte(r), 0), sig)
			if succ {
				in = cat(revokeHeader(), rawRevoke(h0, byte(r), 1, h1), sig)
			}
			d, err := tx.Decode(in)
			valid := r >= 1 && r <= 4
			if valid != (err == nil) || valid != tx.Reason(r).Valid() {
				t.Fatalf("reason %d (successor %v): Decode = %v, Valid() = %v", r, succ, err, tx.Reason(r).Valid())
			}
			if err == nil {
				b := d.Body.(*tx.Revoke)
				if b.Reason != tx.Reason(r) || (b.Successor != nil) != succ || b.Hash != h0 {
					t.Fatalf("reason %d: decoded %+v", r, b)
				}
			} else if !errors.Is(err, tx.ErrMalformed) {
				t.Fatalf("reason %d: %v, want ErrMalformed", r, err)
			}
		}
	}
}

// TestRevokeTruncated cuts valid revocations at every length short of the whole.
func TestRevokeTruncated(t *testing.T) {
	for _, v := range validRevocations() {
		t.Run(v.name, func(t *testing.T) {
			mustDecode(t, v.b)
			for n := range len(v.b) {
				d, err := tx.Decode(v.b[:n])
				if !errors.Is(err, tx.ErrMalformed) || d != nil {
					t.Fatalf("Decode of the first %d of %d bytes = %v, %v; want %v", n, len(v.b), d, err, tx.ErrMalformed)
				}
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	for _, tc := range []struct {
		r    tx.Reason
		n    uint8
		name string
	}{
		{tx.ReasonSuperseded, 1, "superseded"},
		{tx.ReasonIssuedInError, 2, "issued_in_error"},
		{tx.ReasonWithdrawn, 3, "withdrawn"},
		{tx.ReasonKeyCompromised, 4, "key_compromised"},
		{0, 0, "reason_0"},
		{5, 5, "reason_5"},
		{255, 255, "reason_255"},
	} {
		if uint8(tc.r) != tc.n {
			t.Errorf("%s = %d, want %d: the reason codes are part of the protocol", tc.name, tc.r, tc.n)
		}
		if got := tc.r.String(); got != tc.name {
			t.Errorf("Reason(%d).String() = %q, want %q", tc.n, got, tc.name)
		}
		if valid := tc.n >= 1 && tc.n <= 4; tc.r.Valid() != valid {
			t.Errorf("Reason(%d).Valid() = %v", tc.n, !valid)
		}
	}
}

func TestParseReason(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want tx.Reason
	}{
		{"superseded", tx.ReasonSuperseded}, {"1", tx.ReasonSuperseded},
		{"issued_in_error", tx.ReasonIssuedInError}, {"2", tx.ReasonIssuedInError},
		{"withdrawn", tx.ReasonWithdrawn}, {"3", tx.ReasonWithdrawn},
		{"key_compromised", tx.ReasonKeyCompromised}, {"4", tx.ReasonKeyCompromised},
	} {
		got, err := tx.ParseReason(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseReason(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	// Every valid reason parses from its own name and number.
	for r := range 256 {
		reason := tx.Reason(r)
		if !reason.Valid() {
			continue
		}
		for _, s := range []string{reason.String(), fmt.Sprint(r)} {
			if got, err := tx.ParseReason(s); err != nil || got != reason {
				t.Errorf("ParseReason(%q) = %v, %v; want %v", s, got, err, reason)
			}
		}
	}
	for _, in := range []string{"", "0", "5", "255", "256", "-1", "01", " 1", "1 ", "+1", "0x1",
		"Superseded", "SUPERSEDED", "superseded ", "issued-in-error", "issued in error", "reason_1", "reason_5",
		"unknown", "revoked", "key_compromised\x00"} {
		got, err := tx.ParseReason(in)
		if err == nil {
			t.Errorf("ParseReason(%q) = %v, want an error", in, got)
			continue
		}
		if got != 0 {
			t.Errorf("ParseReason(%q) returned %v along with its error", in, got)
		}
		if !strings.Contains(err.Error(), "superseded") {
			t.Errorf("ParseReason(%q) error %q does not list the reasons", in, err)
		}
	}
}

// TestRevokeSignatureCoversEveryByte flips each byte of signed revocations in several ways: the result
// must not decode, or not verify.
func TestRevokeSignatureCoversEveryByte(t *testing.T) {
	for _, orig := range []*tx.Tx{signedRevoke(tx.ReasonWithdrawn, nil), signedRevoke(tx.ReasonSuperseded, successorHash())} {
		enc := orig.Encode()
		if err := orig.Verify(); err != nil {
			t.Fatalf("Verify() of the unchanged revocation = %v", err)
		}
		bodyStart := 3 + len(testChainID) + 32 + 16
		for i := range enc {
			verified := false
			for _, mask := range []byte{0x01, 0x02, 0x04, 0x10, 0x80, 0xff} {
				b := bytes.Clone(enc)
				b[i] ^= mask
				d, err := tx.Decode(b)
				if err != nil {
					if !errors.Is(err, tx.ErrMalformed) && !errors.Is(err, tx.ErrOversized) {
						t.Fatalf("byte %d ^ %#02x: Decode = %v", i, mask, err)
					}
					continue
				}
				verified = true
				if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
					t.Fatalf("byte %d ^ %#02x: Verify() = %v, want %v", i, mask, err, tx.ErrBadSignature)
				}
			}
			// Every byte of the revoked hash and of the successor has flips that decode: they must reach
			// Verify, which shows that the body is signed. So does a reason changed to another valid one.
			inHash := i >= bodyStart && i < bodyStart+32
			inSucc := orig.Body.(*tx.Revoke).Successor != nil && i >= bodyStart+34 && i < bodyStart+66
			if (inHash || inSucc || i == bodyStart+32) && !verified {
				t.Fatalf("no flip of body byte %d decoded, so none tested the signature", i-bodyStart)
			}
		}
	}
}

// TestRevokeVerifyRejectsChangedFields changes one field of a signed revocation at a time.
func TestRevokeVerifyRejectsChangedFields(t *testing.T) {
	other := docHash(2)
	for _, tc := range []struct {
		name   string
		change func(*tx.Revoke)
	}{
		{"hash", func(r *tx.Revoke) { r.Hash[0] ^= 1 }},
		{"reason", func(r *tx.Revoke) { r.Reason = tx.ReasonWithdrawn }},
		{"successor changed", func(r *tx.Revoke) { r.Successor[31] ^= 1 }},
		{"successor removed", func(r *tx.Revoke) { r.Successor = nil }},
		{"successor replaced", func(r *tx.Revoke) { r.Successor = &other }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecode(t, signedRevoke(tx.ReasonSuperseded, successorHash()).Encode())
			tc.change(d.Body.(*tx.Revoke))
			if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("Verify() = %v, want %v", err, tx.ErrBadSignature)
			}
			// Re-encoded, the changed revocation decodes (it is well formed) and still does not verify.
			if err := mustDecode(t, d.Encode()).Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("Verify() after Encode, Decode = %v, want %v", err, tx.ErrBadSignature)
			}
		})
	}
	// A revocation signature does not verify as an anchor of the same hash, nor the other way round.
	rv := signedRevoke(tx.ReasonSuperseded, nil)
	an := signedAnchor([]tx.Entry{{Hash: docHash(0)}})
	an.Nonce, an.Expiry = rv.Nonce, rv.Expiry
	an.Signature = rv.Signature
	if err := an.Verify(); !errors.Is(err, tx.ErrBadSignature) {
		t.Fatalf("a revocation's signature verifies on an anchor: %v", err)
	}
	// The signer's key signs, and no other.
	d := signedRevoke(tx.ReasonWithdrawn, nil)
	copy(d.Signer[:], seededKey(2).Public().(ed25519.PublicKey))
	if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
		t.Fatalf("Verify() with the signer replaced = %v", err)
	}
}
