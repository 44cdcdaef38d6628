package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Version is the encoding version this package writes and reads.
const Version = 1

// Kind tells which body a transaction carries.
type Kind uint8

// The transaction kinds.
const (
	KindAnchor Kind = 1
)

func (k Kind) String() string {
	switch k {
	case KindAnchor:
		return "anchor"
	case KindCheckpointSigs:
		return "checkpoint-signatures"
	case KindRevoke:
		return "revoke"
	case KindPropose:
		return "propose"
	case KindApprove:
		return "approve"
	case KindRotateKey:
		return "rotate-key"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Limits of the encoding. The chain's parameters may set tighter ones (see app.Params).
const (
	MaxChainIDLen = 50
	MaxEntries    = 10000
	MaxTxBytes    = 1 << 20
)

// SignDomain is prepended to the signed bytes so that a Siegel signature can never be mistaken for a
// signature over anything else.
const SignDomain = "siegel/tx/v1\n"

// Errors returned by Decode and Verify. They are wrapped with details; test with errors.Is.
var (
	ErrMalformed    = errors.New("tx: malformed")
	ErrOversized    = errors.New("tx: oversized")
	ErrBadSignature = errors.New("tx: bad signature")
)

// Tx is a decoded, not yet verified, transaction.
type Tx struct {
	ChainID   string
	Signer    [32]byte
	Nonce     uint64
	Expiry    uint64
	Body      Body
	Signature [64]byte
}

// Body is the kind-specific part of a transaction.
type Body interface {
	Kind() Kind
	appendTo(b []byte) []byte
}

// Entry is one document in an anchor batch.
type Entry struct {
	Hash       [32]byte
	MetaDigest *[32]byte
}

// Anchor anchors a batch of document hashes.
type Anchor struct {
	Entries []Entry
}

// Kind implements Body.
func (*Anchor) Kind() Kind { return KindAnchor }

func (a *Anchor) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Entries)))
	for _, e := range a.Entries {
		if e.MetaDigest != nil {
			b = append(b, 1)
			b = append(b, e.Hash[:]...)
			b = append(b, e.MetaDigest[:]...)
		} else {
			b = append(b, 0)
			b = append(b, e.Hash[:]...)
		}
	}
	return b
}

// unsigned returns the encoding of everything but the signature, with room for the signature.
func (t *Tx) unsigned() []byte {
	return t.appendUnsigned(make([]byte, 0, t.encodedLen()))
}

// encodedLen is the length of t's encoding, signature included: room enough for an anchor's batch
// (checked, encoded and hashed several times on its way into a block, its buffer was regrown from 128
// bytes each time: 7.5% of what BenchmarkValidatorPipeline allocated); other bodies are short.
func (t *Tx) encodedLen() int {
	n := 3 + len(t.ChainID) + 32 + 8 + 8 + 64
	if a, ok := t.Body.(*Anchor); ok {
		return n + 2 + len(a.Entries)*(1+32+32)
	}
	return n + 128
}

// appendUnsigned appends the encoding of everything but the signature to b.
func (t *Tx) appendUnsigned(b []byte) []byte {
	b = append(b, Version, byte(t.Body.Kind()), byte(len(t.ChainID)))
	b = append(b, t.ChainID...)
	b = append(b, t.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Nonce)
	b = binary.BigEndian.AppendUint64(b, t.Expiry)
	return t.Body.appendTo(b)
}

// SignBytes returns the bytes that the signature covers: SignDomain followed by the encoding of
// everything before the signature.
func (t *Tx) SignBytes() []byte {
	b := make([]byte, 0, len(SignDomain)+t.encodedLen())
	return t.appendUnsigned(append(b, SignDomain...))
}

// Encode returns the canonical encoding of t, signature included.
func (t *Tx) Encode() []byte {
	return append(t.unsigned(), t.Signature[:]...)
}

// Hash returns the SHA-256 of the encoding, which is also CometBFT's transaction hash.
func (t *Tx) Hash() [32]byte { return sha256.Sum256(t.Encode()) }

// Sign sets the signer to key's public key and signs t.
func (t *Tx) Sign(key ed25519.PrivateKey) {
	copy(t.Signer[:], key.Public().(ed25519.PublicKey))
	copy(t.Signature[:], ed25519.Sign(key, t.SignBytes()))
}

// Verify checks the signature against the signer key carried in t. Whether that key may sign is not
// its concern.
//
// It uses curve25519-voi (CometBFT's own ed25519), about twice as fast as crypto/ed25519, with the
// options that make it accept exactly what crypto/ed25519 accepts: a block's verdicts must not depend on
// which implementation a node was built with (TestVerifyMatchesStdlib).
func (t *Tx) Verify() error {
	if !voi.VerifyWithOptions(voi.PublicKey(t.Signer[:]), t.SignBytes(), t.Signature[:], verifyOptions) {
		return ErrBadSignature
	}
	return nil
}

var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// Decode parses b strictly (see the package documentation). It checks form only, not the signature.
func Decode(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOversized, len(b), MaxTxBytes)
	}
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, v)
	}
	kind := Kind(d.byte())
	if kind == KindCheckpointSigs {
		return nil, fmt.Errorf("%w: checkpoint signatures are not an agency transaction", ErrMalformed)
	}
	t := &Tx{}
	n := int(d.byte())
	if d.err == nil && (n == 0 || n > MaxChainIDLen) {
		return nil, fmt.Errorf("%w: chain ID length %d", ErrMalformed, n)
	}
	cid := d.bytes(n)
	for _, c := range cid {
		if c < 0x21 || c > 0x7e {
			return nil, fmt.Errorf("%w: chain ID is not printable ASCII", ErrMalformed)
		}
	}
	t.ChainID = string(cid)
	copy(t.Signer[:], d.bytes(32))
	t.Nonce = d.uint64()
	t.Expiry = d.uint64()
	if d.err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, d.err)
	}
	var err error
	switch kind {
	case KindAnchor:
		t.Body, err = decodeAnchor(&d)
	case KindRevoke:
		t.Body, err = decodeRevoke(&d)
	case KindPropose:
		t.Body, err = decodePropose(&d)
	case KindApprove:
		var a Approve
		copy(a.Proposal[:], d.bytes(8))
		t.Body = &a
	case KindRotateKey:
		var r RotateKey
		copy(r.NewKey[:], d.bytes(32))
		t.Body = &r
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, kind)
	}
	if err != nil {
		return nil, err
	}
	copy(t.Signature[:], d.bytes(64))
	if d.err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return t, nil
}

func decodeAnchor(d *decoder) (*Anchor, error) {
	count := int(d.uint16())
	if d.err != nil {
		return nil, fmt.Errorf("%w: anchor count: %v", ErrMalformed, d.err)
	}
	if count == 0 {
		return nil, fmt.Errorf("%w: anchor with no entries", ErrMalformed)
	}
	if count > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, limit %d", ErrOversized, count, MaxEntries)
	}
	// Each entry takes at least 33 bytes: refuse to allocate for entries that cannot be there.
	if len(d.b) < count*33 {
		return nil, fmt.Errorf("%w: %d entries announced, %d bytes left", ErrMalformed, count, len(d.b))
	}
	a := &Anchor{Entries: make([]Entry, count)}
	for i := range a.Entries {
		e := &a.Entries[i]
		flags := d.byte()
		copy(e.Hash[:], d.bytes(32))
		switch {
		case d.err != nil:
		case flags == 1:
			var m [32]byte
			copy(m[:], d.bytes(32))
			e.MetaDigest = &m
		case flags != 0:
			return nil, fmt.Errorf("%w: entry %d: unknown flags %#x", ErrMalformed, i, flags)
		}
		if d.err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrMalformed, i, d.err)
		}
	}
	if i, j, ok := firstRepeat(a.Entries); ok {
		return nil, fmt.Errorf("%w: entries %d and %d anchor the same hash", ErrMalformed, i, j)
	}
	return a, nil
}

// firstRepeat finds two entries with the same document hash.
func firstRepeat(es []Entry) (int, int, bool) {
	if len(es) < 64 {
		for j := range es {
			for i := 0; i < j; i++ {
				if es[i].Hash == es[j].Hash {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	seen := make(map[[32]byte]int, len(es))
	for j, e := range es {
		if i, ok := seen[e.Hash]; ok {
			return i, j, true
		}
		seen[e.Hash] = j
	}
	return 0, 0, false
}

// decoder reads big-endian fields and remembers the first short read.
type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errTruncated
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if b := d.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// Equal reports whether two transactions encode to the same bytes.
func Equal(a, b *Tx) bool { return bytes.Equal(a.Encode(), b.Encode()) }
