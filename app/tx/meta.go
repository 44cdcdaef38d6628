package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// MetaVersion is the metadata encoding version this package writes and reads.
const MetaVersion = 1

// MetaSignDomain is prepended to the signed bytes of metadata, and to the digested bytes.
const MetaSignDomain = "siegel/meta/v1\n"

// Limits of the metadata encoding.
const (
	MaxMetaBytes     = 8 << 10
	MaxMetaFields    = 32
	MaxMetaKeyLen    = 32
	MaxMetaValueLen  = 1 << 10
	MaxAgencyIDBytes = 64
)

// Well-known metadata keys. Fields with other keys are allowed.
const (
	FieldDocType      = "doc_type"
	FieldIssuerOffice = "issuer_office"
	FieldLanguage     = "language"
	FieldTitle        = "title"
	FieldValidFrom    = "valid_from"
	FieldValidUntil   = "valid_until"
)

// Visibility says who may read metadata: anyone, or only those the node's API lets read restricted
// metadata. Every node stores both kinds.
type Visibility uint8

// The visibilities.
const (
	Public     Visibility = 1
	Restricted Visibility = 2
)

func (v Visibility) String() string {
	switch v {
	case Public:
		return "public"
	case Restricted:
		return "restricted"
	}
	return fmt.Sprintf("visibility(%d)", uint8(v))
}

// ParseVisibility accepts "public" or "restricted".
func ParseVisibility(s string) (Visibility, error) {
	switch s {
	case "public":
		return Public, nil
	case "restricted":
		return Restricted, nil
	}
	return 0, fmt.Errorf("unknown visibility %q: use public or restricted", s)
}

// Field is one key/value pair of metadata.
type Field struct {
	Key   string
	Value string
}

// Metadata is a decoded, not yet verified, metadata message: what a verifier reads beside "genuine"
// (the kind of document, the issuing office, validity dates). It is not consensus data: the agency signs it and the nodes gossip it, and a node keeps it
// only if its digest equals the MetaDigest that the document's anchor committed to on chain.
//
// Encoding, version 1:
//
// All integers are big-endian; lengths are counted in bytes.
//
//	version      1   = 1
//	chain ID     1+L L in 1..50, printable ASCII without spaces (as in a transaction)
//	document    32   SHA-256 of the document
//	agency ID    1+L L in 1..64: a-z, 0-9 and '-', not starting with '-'
//	signer      32   ed25519 public key of the agency key that signs
//	salt        16   makes the digest unguessable; Sign derives it from the key and the document
//	visibility   1   1 = public, 2 = restricted
//	field count  1   1..MaxMetaFields
//	fields       …   per field: key length(1) | key | value length(2) | value
//	signature   64   ed25519 over MetaSignDomain || every byte before the signature
//
// Keys are 1..32 characters of a-z, 0-9 and '_', strictly ascending (so unique). Values are 1..1024
// bytes of UTF-8 without control characters or bidirectional overrides. The well-known keys have a
// format: doc_type as ValidDocType, valid_from and valid_until a date YYYY-MM-DD (from not after until),
// language a tag such as "de" or "de-CH". Other keys are free. The whole encoding is at most MaxMetaBytes.
//
// Decoding is strict, as for transactions: Encode(DecodeMeta(b)) == b for every accepted b.
//
// The digest that an anchor entry commits to is SHA-256(MetaSignDomain || everything before the
// signature), the hash of exactly the bytes the agency signs. It does not depend on the signature, so an
// agency computes it, anchors the document with it, and signs and publishes the metadata whenever it
// likes; and since it covers the signer key, the agency, the chain and the document, a message can match
// the commitment of one anchor only. The digest is public (it is in the anchor record); the salt keeps
// anyone who can guess every field of restricted metadata from confirming the guess against it. Sign
// derives the salt from the private key and the document hash (DeriveSalt), so signing again gives the
// same message, and hence the same digest.
type Metadata struct {
	ChainID  string
	DocHash  [32]byte
	AgencyID string
	Signer   [32]byte
	// Salt is set by Sign when it is zero (DeriveSalt); a zero salt is valid but guessable.
	Salt       [16]byte
	Visibility Visibility
	// Fields are sorted by key; SortFields puts them in order.
	Fields    []Field
	Signature [64]byte
}

// SortFields sorts fields by key, as the encoding requires.
func SortFields(fs []Field) {
	slices.SortFunc(fs, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
}

// Field returns the value of the field with the given key.
func (m *Metadata) Field(key string) (string, bool) {
	for _, f := range m.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// unsigned returns the encoding of everything but the signature.
func (m *Metadata) unsigned() []byte {
	n := 1 + 1 + len(m.ChainID) + 32 + 1 + len(m.AgencyID) + 32 + 16 + 1 + 1
	for _, f := range m.Fields {
		n += 1 + len(f.Key) + 2 + len(f.Value)
	}
	b := make([]byte, 0, n+64)
	b = append(b, MetaVersion, byte(len(m.ChainID)))
	b = append(b, m.ChainID...)
	b = append(b, m.DocHash[:]...)
	b = append(b, byte(len(m.AgencyID)))
	b = append(b, m.AgencyID...)
	b = append(b, m.Signer[:]...)
	b = append(b, m.Salt[:]...)
	b = append(b, byte(m.Visibility), byte(len(m.Fields)))
	for _, f := range m.Fields {
		b = append(b, byte(len(f.Key)))
		b = append(b, f.Key...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(f.Value)))
		b = append(b, f.Value...)
	}
	return b
}

// SignBytes returns the bytes that the signature covers: MetaSignDomain followed by the encoding of
// everything before the signature.
func (m *Metadata) SignBytes() []byte {
	return append([]byte(MetaSignDomain), m.unsigned()...)
}

// Digest returns the commitment that an anchor entry carries as MetaDigest: SHA-256 of SignBytes. It
// does not depend on the signature.
func (m *Metadata) Digest() [32]byte { return sha256.Sum256(m.SignBytes()) }

// Encode returns the canonical encoding of m, signature included. It does not check m; Check does.
func (m *Metadata) Encode() []byte {
	return append(m.unsigned(), m.Signature[:]...)
}

// Sign sets the signer to key's public key, the salt (when it is zero) to DeriveSalt(key, m.DocHash),
// and signs m. Compute the digest after Sign: it covers the signer and the salt.
func (m *Metadata) Sign(key ed25519.PrivateKey) {
	copy(m.Signer[:], key.Public().(ed25519.PublicKey))
	if m.Salt == ([16]byte{}) {
		m.Salt = DeriveSalt(key, m.DocHash)
	}
	copy(m.Signature[:], ed25519.Sign(key, m.SignBytes()))
}

// DeriveSalt returns the salt of the metadata of doc signed with key: secret to whoever lacks the key,
// the same every time.
func DeriveSalt(key ed25519.PrivateKey, doc [32]byte) [16]byte {
	h := sha256.New()
	h.Write([]byte("siegel/meta/salt/v1\n"))
	h.Write(key.Seed())
	h.Write(doc[:])
	return [16]byte(h.Sum(nil))
}

// Verify checks the signature against the signer key carried in m, exactly as Tx.Verify does. Whether
// that key may sign for the agency is not its concern.
func (m *Metadata) Verify() error {
	if !voi.VerifyWithOptions(voi.PublicKey(m.Signer[:]), m.SignBytes(), m.Signature[:], verifyOptions) {
		return ErrBadSignature
	}
	return nil
}

// Check reports whether m is well-formed: everything DecodeMeta demands of the fields, and the size
// limit. A client calls it before it computes the digest or signs.
func (m *Metadata) Check() error {
	if len(m.ChainID) == 0 || len(m.ChainID) > MaxChainIDLen {
		return fmt.Errorf("%w: chain ID length %d", ErrMalformed, len(m.ChainID))
	}
	for i := 0; i < len(m.ChainID); i++ {
		if c := m.ChainID[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: chain ID is not printable ASCII", ErrMalformed)
		}
	}
	if !ValidAgencyID(m.AgencyID) {
		return fmt.Errorf("%w: agency ID %q", ErrMalformed, m.AgencyID)
	}
	if m.Visibility != Public && m.Visibility != Restricted {
		return fmt.Errorf("%w: unknown visibility %d", ErrMalformed, m.Visibility)
	}
	if len(m.Fields) == 0 || len(m.Fields) > MaxMetaFields {
		return fmt.Errorf("%w: %d fields, want 1 to %d", ErrMalformed, len(m.Fields), MaxMetaFields)
	}
	for i, f := range m.Fields {
		if !validMetaKey(f.Key) {
			return fmt.Errorf("%w: field %d: key %q", ErrMalformed, i, f.Key)
		}
		if i > 0 && m.Fields[i-1].Key >= f.Key {
			return fmt.Errorf("%w: field %d: key %q does not follow %q", ErrMalformed, i, f.Key, m.Fields[i-1].Key)
		}
		if len(f.Value) == 0 || len(f.Value) > MaxMetaValueLen {
			return fmt.Errorf("%w: field %q: value of %d bytes, want 1 to %d", ErrMalformed, f.Key, len(f.Value), MaxMetaValueLen)
		}
		if err := validMetaText(f.Value); err != nil {
			return fmt.Errorf("%w: field %q: %v", ErrMalformed, f.Key, err)
		}
		if err := checkWellKnown(f); err != nil {
			return fmt.Errorf("%w: field %q: %v", ErrMalformed, f.Key, err)
		}
	}
	from, hasFrom := m.Field(FieldValidFrom)
	until, hasUntil := m.Field(FieldValidUntil)
	if hasFrom && hasUntil && from > until { // YYYY-MM-DD compares as text
		return fmt.Errorf("%w: valid_from %s is after valid_until %s", ErrMalformed, from, until)
	}
	if n := len(m.unsigned()) + 64; n > MaxMetaBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrOversized, n, MaxMetaBytes)
	}
	return nil
}

// DecodeMeta parses b strictly (see the encoding above). It checks form only, not the signature, and
// not whether the digest matches anything on chain.
func DecodeMeta(b []byte) (*Metadata, error) {
	if len(b) > MaxMetaBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOversized, len(b), MaxMetaBytes)
	}
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != MetaVersion {
		return nil, fmt.Errorf("%w: unknown metadata version %d", ErrMalformed, v)
	}
	m := &Metadata{}
	m.ChainID = string(d.bytes(int(d.byte())))
	copy(m.DocHash[:], d.bytes(32))
	m.AgencyID = string(d.bytes(int(d.byte())))
	copy(m.Signer[:], d.bytes(32))
	copy(m.Salt[:], d.bytes(16))
	m.Visibility = Visibility(d.byte())
	n := int(d.byte())
	if d.err != nil {
		return nil, fmt.Errorf("%w: metadata header: %v", ErrMalformed, d.err)
	}
	if n == 0 || n > MaxMetaFields {
		return nil, fmt.Errorf("%w: %d fields, want 1 to %d", ErrMalformed, n, MaxMetaFields)
	}
	m.Fields = make([]Field, n)
	for i := range m.Fields {
		m.Fields[i].Key = string(d.bytes(int(d.byte())))
		m.Fields[i].Value = string(d.bytes(int(d.uint16())))
		if d.err != nil {
			return nil, fmt.Errorf("%w: field %d: %v", ErrMalformed, i, d.err)
		}
	}
	copy(m.Signature[:], d.bytes(64))
	if d.err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return m, nil
}

// EqualMeta reports whether two metadata messages encode to the same bytes.
func EqualMeta(a, b *Metadata) bool { return bytes.Equal(a.Encode(), b.Encode()) }

// ValidAgencyID reports whether s is an agency ID: 1 to 64 characters of a-z, 0-9 and '-', not
// starting with '-'. It is the rule of app.ValidateAgencyID.
func ValidAgencyID(s string) bool {
	return s != "" && s[0] != '-' && validName(s, MaxAgencyIDBytes, "-")
}

func validMetaKey(s string) bool { return validName(s, MaxMetaKeyLen, "_") }

// validName reports whether s is 1 to max bytes of a-z, 0-9 and the bytes of extra.
func validName(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// validMetaText rejects what is not UTF-8, control characters (C0, DEL, C1, including tabs and line
// breaks) and the bidirectional embedding, override and isolate characters, which could make a value
// display as something else than it is.
func validMetaText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("value is not UTF-8")
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("value holds control character %U", r)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return fmt.Errorf("value holds bidirectional control %U", r)
		}
	}
	return nil
}

// checkWellKnown checks the format of the well-known fields.
func checkWellKnown(f Field) error {
	switch f.Key {
	case FieldDocType:
		if !ValidDocType(f.Value) {
			return fmt.Errorf("%q is not a document type", f.Value)
		}
	case FieldValidFrom, FieldValidUntil:
		d, err := time.Parse(time.DateOnly, f.Value)
		if err != nil || d.Format(time.DateOnly) != f.Value {
			return fmt.Errorf("%q is not a date YYYY-MM-DD", f.Value)
		}
	case FieldLanguage:
		if !validLanguage(f.Value) {
			return fmt.Errorf("%q is not a language tag", f.Value)
		}
	}
	return nil
}

// validLanguage accepts a simple BCP 47 tag: a primary language of 2 or 3 lower-case letters, then
// subtags of 1 to 8 letters or digits, each after a '-', at most 35 characters in all.
func validLanguage(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if i == 0 {
			if len(sub) < 2 || len(sub) > 3 {
				return false
			}
			for _, c := range []byte(sub) {
				if c < 'a' || c > 'z' {
					return false
				}
			}
			continue
		}
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
