package tx_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// testMeta returns well-formed metadata for docHash(0) by agency "land-registry", signed by
// seededKey(1).
func testMeta() *tx.Metadata {
	m := &tx.Metadata{
		ChainID:    testChainID,
		DocHash:    docHash(0),
		AgencyID:   "land-registry",
		Visibility: tx.Public,
		Fields: []tx.Field{
			{Key: tx.FieldDocType, Value: "deed"},
			{Key: tx.FieldIssuerOffice, Value: "Grundbuchamt Zürich-Altstetten"},
			{Key: tx.FieldLanguage, Value: "de-CH"},
			{Key: tx.FieldTitle, Value: "Kaufvertrag Parzelle 4711"},
			{Key: tx.FieldValidFrom, Value: "2024-01-17"},
			{Key: tx.FieldValidUntil, Value: "2034-01-16"},
		},
	}
	m.Sign(seededKey(1))
	return m
}

// validMetas returns valid, signed metadata of various shapes, in a fixed order.
func validMetas() []*tx.Metadata {
	one := &tx.Metadata{ChainID: "c", DocHash: docHash(1), AgencyID: "a", Visibility: tx.Restricted,
		Fields: []tx.Field{{Key: "x", Value: "y"}}}
	one.Sign(seededKey(2))

	most := &tx.Metadata{ChainID: strings.Repeat("~", tx.MaxChainIDLen), DocHash: docHash(2),
		AgencyID: strings.Repeat("z", tx.MaxAgencyIDBytes), Visibility: tx.Public}
	for i := 0; i < tx.MaxMetaFields; i++ {
		most.Fields = append(most.Fields, tx.Field{Key: fmt.Sprintf("extra_%02d", i), Value: strings.Repeat("é", 100)})
	}
	most.Sign(seededKey(3))

	return []*tx.Metadata{testMeta(), one, most, largestMeta()}
}

// largestMeta returns signed metadata of exactly MaxMetaBytes.
func largestMeta() *tx.Metadata {
	m := &tx.Metadata{ChainID: testChainID, DocHash: docHash(3), AgencyID: "big", Visibility: tx.Public}
	for i := 0; i < 8; i++ {
		m.Fields = append(m.Fields, tx.Field{Key: fmt.Sprintf("k%d", i), Value: strings.Repeat("v", tx.MaxMetaValueLen)})
	}
	size := len(m.Encode())
	m.Fields[7].Value = m.Fields[7].Value[:tx.MaxMetaValueLen-(size-tx.MaxMetaBytes)]
	m.Sign(seededKey(4))
	return m
}

func TestMetaRoundTrip(t *testing.T) {
	for i, m := range validMetas() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if err := m.Check(); err != nil {
				t.Fatalf("Check() = %v", err)
			}
			b := m.Encode()
			got, err := tx.DecodeMeta(b)
			if err != nil {
				t.Fatalf("DecodeMeta = %v", err)
			}
			if !tx.EqualMeta(got, m) || !bytes.Equal(got.Encode(), b) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, m)
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("Verify() = %v", err)
			}
			if got.Digest() != sha256.Sum256(got.SignBytes()) {
				t.Fatalf("Digest is not SHA-256 of SignBytes")
			}
			if !bytes.HasPrefix(got.SignBytes(), []byte(tx.MetaSignDomain)) {
				t.Fatalf("SignBytes lack the domain")
			}
		})
	}
	if n := len(largestMeta().Encode()); n != tx.MaxMetaBytes {
		t.Fatalf("largestMeta is %d bytes, want %d", n, tx.MaxMetaBytes)
	}
}

// TestMetaGolden pins the version 1 encoding and digest: a change here breaks every digest on chain.
func TestMetaGolden(t *testing.T) {
	m := &tx.Metadata{ChainID: "siegel-1", DocHash: [32]byte{1}, AgencyID: "ag", Visibility: tx.Restricted,
		Fields: []tx.Field{{Key: "doc_type", Value: "deed"}, {Key: "title", Value: "Ä"}}}
	m.Sign(seededKey(1))
	if m.Salt != tx.DeriveSalt(seededKey(1), m.DocHash) || m.Salt == ([16]byte{}) {
		t.Fatalf("Sign set the salt %x, want DeriveSalt's", m.Salt)
	}
	const wantUnsigned = "01" + "08" + "73696567656c2d31" + // chain ID
		"0100000000000000000000000000000000000000000000000000000000000000" + // document
		"02" + "6167" + // agency
		"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" + // signer
		"c7bd19110016f8e01c0f371e814636a1" + // salt: SHA-256("siegel/meta/salt/v1\n" || seed || document)[:16]
		"02" + "02" + // visibility, field count
		"08" + "646f635f74797065" + "0004" + "64656564" + // doc_type=deed
		"05" + "7469746c65" + "0002" + "c384" // title=Ä
	enc := m.Encode()
	if got := hex.EncodeToString(enc[:len(enc)-64]); got != wantUnsigned {
		t.Fatalf("unsigned encoding\n got %s\nwant %s", got, wantUnsigned)
	}
	want := sha256.Sum256(append([]byte("siegel/meta/v1\n"), enc[:len(enc)-64]...))
	if m.Digest() != want {
		t.Fatalf("Digest = %x, want %x", m.Digest(), want)
	}
	const wantDigest = "0f13d2dcf2c3349b7be19d0040c3aa0bfd2ec4e5d1a7b6c31aed4a00289f977a"
	if got := hex.EncodeToString(want[:]); got != wantDigest {
		t.Fatalf("digest %s, want %s", got, wantDigest)
	}
	if !ed25519.Verify(m.Signer[:], m.SignBytes(), m.Signature[:]) {
		t.Fatalf("signature does not verify with crypto/ed25519")
	}
}

func TestMetaDigestIgnoresSignature(t *testing.T) {
	m := testMeta()
	before := m.Digest()
	m.Signature = [64]byte{}
	if m.Digest() != before {
		t.Fatalf("Digest depends on the signature")
	}
	m.Fields[0].Value = "will"
	if m.Digest() == before {
		t.Fatalf("Digest does not depend on the fields")
	}
}

func TestMetaVerifyRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(m *tx.Metadata)
	}{
		{"flipped signature bit", func(m *tx.Metadata) { m.Signature[5] ^= 1 }},
		{"zero signature", func(m *tx.Metadata) { m.Signature = [64]byte{} }},
		{"changed field", func(m *tx.Metadata) { m.Fields[3].Value = "Kaufvertrag Parzelle 4712" }},
		{"changed document", func(m *tx.Metadata) { m.DocHash[0] ^= 1 }},
		{"changed agency", func(m *tx.Metadata) { m.AgencyID = "tax-office" }},
		{"changed visibility", func(m *tx.Metadata) { m.Visibility = tx.Restricted }},
		{"changed chain", func(m *tx.Metadata) { m.ChainID = "siegel-test-2" }},
		{"other signer", func(m *tx.Metadata) { copy(m.Signer[:], seededKey(2).Public().(ed25519.PublicKey)) }},
		{"signed as a transaction", func(m *tx.Metadata) {
			b := append([]byte(tx.SignDomain), m.SignBytes()[len(tx.MetaSignDomain):]...)
			copy(m.Signature[:], ed25519.Sign(seededKey(1), b))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMeta()
			tc.mutate(m)
			got, err := tx.DecodeMeta(m.Encode())
			if err != nil {
				t.Fatalf("DecodeMeta = %v", err)
			}
			if err := got.Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("Verify() = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestDecodeMetaRejects covers every rule of the encoding, on metadata that is otherwise valid and
// signed (so that only form can be the reason).
func TestDecodeMetaRejects(t *testing.T) {
	fields := func(kv ...string) func(m *tx.Metadata) {
		return func(m *tx.Metadata) {
			m.Fields = nil
			for i := 0; i < len(kv); i += 2 {
				m.Fields = append(m.Fields, tx.Field{Key: kv[i], Value: kv[i+1]})
			}
		}
	}
	value := func(v string) func(m *tx.Metadata) { return fields("note", v) }
	many := func(n int, size int) func(m *tx.Metadata) {
		return func(m *tx.Metadata) {
			m.Fields = nil
			for i := 0; i < n; i++ {
				m.Fields = append(m.Fields, tx.Field{Key: fmt.Sprintf("f%02d", i), Value: strings.Repeat("x", size)})
			}
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(m *tx.Metadata)
		want   error
	}{
		{"empty chain ID", func(m *tx.Metadata) { m.ChainID = "" }, tx.ErrMalformed},
		{"long chain ID", func(m *tx.Metadata) { m.ChainID = strings.Repeat("c", tx.MaxChainIDLen+1) }, tx.ErrMalformed},
		{"chain ID with space", func(m *tx.Metadata) { m.ChainID = "siegel 1" }, tx.ErrMalformed},
		{"empty agency", func(m *tx.Metadata) { m.AgencyID = "" }, tx.ErrMalformed},
		{"upper-case agency", func(m *tx.Metadata) { m.AgencyID = "Land" }, tx.ErrMalformed},
		{"agency starting with dash", func(m *tx.Metadata) { m.AgencyID = "-land" }, tx.ErrMalformed},
		{"long agency", func(m *tx.Metadata) { m.AgencyID = strings.Repeat("a", tx.MaxAgencyIDBytes+1) }, tx.ErrMalformed},
		{"visibility 0", func(m *tx.Metadata) { m.Visibility = 0 }, tx.ErrMalformed},
		{"visibility 3", func(m *tx.Metadata) { m.Visibility = 3 }, tx.ErrMalformed},
		{"no fields", fields(), tx.ErrMalformed},
		{"too many fields", many(tx.MaxMetaFields+1, 1), tx.ErrMalformed},
		{"empty key", fields("", "v"), tx.ErrMalformed},
		{"upper-case key", fields("Title", "v"), tx.ErrMalformed},
		{"key with dash", fields("valid-from", "v"), tx.ErrMalformed},
		{"long key", fields(strings.Repeat("k", tx.MaxMetaKeyLen+1), "v"), tx.ErrMalformed},
		{"unsorted keys", fields("b", "1", "a", "2"), tx.ErrMalformed},
		{"duplicate keys", fields("a", "1", "a", "1"), tx.ErrMalformed},
		{"empty value", value(""), tx.ErrMalformed},
		{"long value", value(strings.Repeat("v", tx.MaxMetaValueLen+1)), tx.ErrMalformed},
		{"value not UTF-8", value("caf\xe9"), tx.ErrMalformed},
		{"value with overlong UTF-8", value("\xc0\xaf"), tx.ErrMalformed},
		{"value with newline", value("line\nbreak"), tx.ErrMalformed},
		{"value with tab", value("a\tb"), tx.ErrMalformed},
		{"value with NUL", value("a\x00b"), tx.ErrMalformed},
		{"value with DEL", value("a\x7fb"), tx.ErrMalformed},
		{"value with C1 control", value("a\u0085b"), tx.ErrMalformed},
		{"value with bidi override", value("abc\u202edcba"), tx.ErrMalformed},
		{"value with bidi isolate", value("abc\u2067x"), tx.ErrMalformed},
		{"bad document type", fields("doc_type", "Deed"), tx.ErrMalformed},
		{"date without padding", fields("valid_from", "2024-1-17"), tx.ErrMalformed},
		{"impossible date", fields("valid_until", "2024-02-30"), tx.ErrMalformed},
		{"date with time", fields("valid_from", "2024-01-17T00:00:00Z"), tx.ErrMalformed},
		{"valid from after until", fields("valid_from", "2024-01-18", "valid_until", "2024-01-17"), tx.ErrMalformed},
		{"language upper-case", fields("language", "DE"), tx.ErrMalformed},
		{"language with underscore", fields("language", "de_CH"), tx.ErrMalformed},
		{"language with empty subtag", fields("language", "de-"), tx.ErrMalformed},
		{"oversized", many(9, tx.MaxMetaValueLen), tx.ErrOversized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMeta()
			tc.mutate(m)
			m.Sign(seededKey(1))
			if err := m.Check(); !errors.Is(err, tc.want) {
				t.Errorf("Check() = %v, want %v", err, tc.want)
			}
			got, err := tx.DecodeMeta(m.Encode())
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("DecodeMeta = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestDecodeMetaRejectsBytes covers what a Metadata value cannot express: versions, truncation,
// trailing bytes, lengths that disagree with the content.
func TestDecodeMetaRejectsBytes(t *testing.T) {
	good := testMeta().Encode()
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, tx.ErrMalformed},
		{"version 0", cat([]byte{0}, good[1:]), tx.ErrMalformed},
		{"version 2", cat([]byte{2}, good[1:]), tx.ErrMalformed},
		{"trailing byte", cat(good, []byte{0}), tx.ErrMalformed},
		{"field count 0", setByte(good, fieldCountOffset(), 0), tx.ErrMalformed},
		{"field count too high", setByte(good, fieldCountOffset(), 7), tx.ErrMalformed},
		{"field count 255", setByte(good, fieldCountOffset(), 255), tx.ErrMalformed},
		{"value length past the end", setByte(good, fieldCountOffset()+1+1+len("doc_type"), 0xff), tx.ErrMalformed},
		{"over MaxMetaBytes", make([]byte, tx.MaxMetaBytes+1), tx.ErrOversized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tx.DecodeMeta(tc.b)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("DecodeMeta = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	for n := 0; n < len(good); n++ {
		if _, err := tx.DecodeMeta(good[:n]); !errors.Is(err, tx.ErrMalformed) {
			t.Fatalf("DecodeMeta(first %d of %d bytes) = %v, want ErrMalformed", n, len(good), err)
		}
	}
}

// fieldCountOffset is where the field count sits in testMeta's encoding.
func fieldCountOffset() int {
	return 1 + 1 + len(testChainID) + 32 + 1 + len("land-registry") + 32 + 16 + 1
}

func setByte(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

func TestVisibility(t *testing.T) {
	for _, v := range []tx.Visibility{tx.Public, tx.Restricted} {
		got, err := tx.ParseVisibility(v.String())
		if err != nil || got != v {
			t.Fatalf("ParseVisibility(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := tx.ParseVisibility("secret"); err == nil {
		t.Fatalf("ParseVisibility accepted an unknown visibility")
	}
	if s := tx.Visibility(9).String(); s != "visibility(9)" {
		t.Fatalf("String() = %q", s)
	}
}

func TestSortFieldsAndField(t *testing.T) {
	fs := []tx.Field{{"title", "t"}, {"doc_type", "deed"}, {"language", "fr"}}
	tx.SortFields(fs)
	m := &tx.Metadata{ChainID: "c", AgencyID: "a", Visibility: tx.Public, Fields: fs}
	if err := m.Check(); err != nil {
		t.Fatalf("Check() after SortFields = %v", err)
	}
	if v, ok := m.Field("language"); !ok || v != "fr" {
		t.Fatalf("Field(language) = %q, %v", v, ok)
	}
	if _, ok := m.Field("absent"); ok {
		t.Fatalf("Field(absent) found")
	}
}

// An agency describes a document, commits to the description in its anchor transaction, and
// publishes the signed description once the anchor is committed. A node checks the signature and that
// the digest equals the one on chain.
func ExampleMetadata() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	deed := sha256.Sum256([]byte("contents of deed-2024-0117.pdf"))

	m := &tx.Metadata{
		ChainID:    "siegel-1",
		DocHash:    deed,
		AgencyID:   "land-registry",
		Visibility: tx.Public,
		Fields: []tx.Field{
			{Key: tx.FieldTitle, Value: "Kaufvertrag Parzelle 4711"},
			{Key: tx.FieldDocType, Value: "deed"},
			{Key: tx.FieldValidFrom, Value: "2024-01-17"},
		},
	}
	tx.SortFields(m.Fields)
	copy(m.Signer[:], key.Public().(ed25519.PublicKey)) // the digest covers the signer key
	m.Salt = tx.DeriveSalt(key, deed)                   // and the salt, which Sign would set the same way
	if err := m.Check(); err != nil {
		fmt.Println("check:", err)
		return
	}
	digest := m.Digest() // goes into the anchor: tx.Entry{Hash: deed, MetaDigest: &digest}

	m.Sign(key)
	raw := m.Encode() // what is published once the anchor is committed

	got, err := tx.DecodeMeta(raw)
	if err != nil {
		fmt.Println("decode:", err)
		return
	}
	fmt.Println("verify error:", got.Verify())
	fmt.Println("digest matches:", got.Digest() == digest)
	fmt.Println("encoded bytes:", len(raw))
	// Output:
	// verify error: <nil>
	// digest matches: true
	// encoded bytes: 241
}

// TestMetaSalt: Sign derives the salt from the key and the document (so signing again gives the same
// message), keeps a salt already set, and the salt changes the digest.
func TestMetaSalt(t *testing.T) {
	a, b := seededKey(1), seededKey(2)
	if tx.DeriveSalt(a, docHash(1)) == tx.DeriveSalt(a, docHash(2)) || tx.DeriveSalt(a, docHash(1)) == tx.DeriveSalt(b, docHash(1)) {
		t.Fatal("DeriveSalt ignores the document or the key")
	}
	m1, m2 := testMeta(), testMeta()
	m1.Sign(a)
	m2.Sign(a)
	if !bytes.Equal(m1.Encode(), m2.Encode()) {
		t.Fatal("signing the same metadata twice gives different messages")
	}
	if m1.Salt != tx.DeriveSalt(a, m1.DocHash) {
		t.Fatalf("Sign set salt %x, not DeriveSalt of the key and the document", m1.Salt)
	}
	unsalted := *m1
	unsalted.Salt = [16]byte{}
	if unsalted.Digest() == m1.Digest() {
		t.Fatal("the salt does not change the digest")
	}
	set := testMeta()
	set.Salt = [16]byte{9}
	set.Sign(a)
	if set.Salt != ([16]byte{9}) {
		t.Fatalf("Sign replaced a salt that was set: %x", set.Salt)
	}
}
