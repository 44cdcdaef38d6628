package tx_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

func TestSignVerify(t *testing.T) {
	key := seededKey(3)
	for name, es := range map[string][]tx.Entry{
		"one entry":       entries(1, noMeta),
		"mixed meta":      entries(5, oddMeta),
		"MaxEntries meta": entries(tx.MaxEntries, allMeta),
	} {
		t.Run(name, func(t *testing.T) {
			orig := &tx.Tx{ChainID: testChainID, Nonce: 1, Expiry: 2, Body: &tx.Anchor{Entries: es}}
			orig.Sign(key)
			if got, want := orig.Signer[:], []byte(key.Public().(ed25519.PublicKey)); !bytes.Equal(got, want) {
				t.Fatalf("Sign set Signer to %x, want the key's public key %x", got, want)
			}
			if err := orig.Verify(); err != nil {
				t.Fatalf("Verify() after Sign = %v, want nil", err)
			}
			if err := mustDecode(t, orig.Encode()).Verify(); err != nil {
				t.Fatalf("Verify() after Sign, Encode, Decode = %v, want nil", err)
			}
		})
	}
}

func TestSignBytes(t *testing.T) {
	orig := signedAnchor(entries(2, oddMeta))
	enc := orig.Encode()
	want := append([]byte(tx.SignDomain), enc[:len(enc)-ed25519.SignatureSize]...)
	if got := orig.SignBytes(); !bytes.Equal(got, want) {
		t.Fatalf("SignBytes() = %x,\nwant SignDomain || encoding without signature = %x", got, want)
	}
	if got := enc[len(enc)-ed25519.SignatureSize:]; !bytes.Equal(got, orig.Signature[:]) {
		t.Fatalf("the encoding does not end with the signature: %x, want %x", got, orig.Signature)
	}
	if !ed25519.Verify(orig.Signer[:], want, orig.Signature[:]) {
		t.Fatalf("the signature does not verify over SignDomain || encoding without signature")
	}
}

// TestVerifyRejectsChangedFields changes one field of a signed transaction at a time.
func TestVerifyRejectsChangedFields(t *testing.T) {
	other := seededKey(4).Public().(ed25519.PublicKey)
	tests := []struct {
		name   string
		change func(*tx.Tx)
	}{
		{"chain ID", func(t *tx.Tx) { t.ChainID = "siegel-test-2" }},
		{"signer", func(t *tx.Tx) { copy(t.Signer[:], other) }},
		{"nonce", func(t *tx.Tx) { t.Nonce++ }},
		{"expiry", func(t *tx.Tx) { t.Expiry++ }},
		{"hash", func(t *tx.Tx) { t.Body.(*tx.Anchor).Entries[0].Hash[31] ^= 1 }},
		{"meta digest", func(t *tx.Tx) { t.Body.(*tx.Anchor).Entries[1].MetaDigest[0] ^= 1 }},
		{"meta digest removed", func(t *tx.Tx) { t.Body.(*tx.Anchor).Entries[1].MetaDigest = nil }},
		{"meta digest added", func(t *tx.Tx) { t.Body.(*tx.Anchor).Entries[0].MetaDigest = metaDigest(0) }},
		{"entry dropped", func(t *tx.Tx) { a := t.Body.(*tx.Anchor); a.Entries = a.Entries[:1] }},
		{"entries swapped", func(t *tx.Tx) { a := t.Body.(*tx.Anchor); a.Entries[0], a.Entries[1] = a.Entries[1], a.Entries[0] }},
		{"signature", func(t *tx.Tx) { t.Signature[0] ^= 1 }},
		{"signature zeroed", func(t *tx.Tx) { t.Signature = [64]byte{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh copy for each case: the changes reach into the entries.
			d := mustDecode(t, signedAnchor(entries(2, oddMeta)).Encode())
			tc.change(d)
			if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("Verify() after changing the %s = %v, want %v", tc.name, err, tx.ErrBadSignature)
			}
		})
	}
}

// TestSignatureCoversEveryByte flips each byte of a small signed transaction in several ways: the result
// must either not decode or not verify. Flips inside the chain ID that keep it printable must reach
// Verify and fail there, which shows that the chain ID is signed.
func TestSignatureCoversEveryByte(t *testing.T) {
	orig := signedAnchor([]tx.Entry{{Hash: docHash(0)}, {Hash: docHash(1), MetaDigest: metaDigest(1)}})
	enc := orig.Encode()
	if err := orig.Verify(); err != nil {
		t.Fatalf("Verify() of the unchanged transaction = %v", err)
	}
	cidStart, cidEnd := 3, 3+len(testChainID)
	for i := range enc {
		verified := false
		for _, mask := range []byte{0x01, 0x02, 0x10, 0x80, 0xff} {
			b := bytes.Clone(enc)
			b[i] ^= mask
			d, err := tx.Decode(b)
			if err != nil {
				// A changed length can make the rest read as an oversized count: either error will do.
				if !errors.Is(err, tx.ErrMalformed) && !errors.Is(err, tx.ErrOversized) {
					t.Fatalf("byte %d ^ %#02x: Decode = %v, want nil, %v or %v", i, mask, err, tx.ErrMalformed, tx.ErrOversized)
				}
				continue
			}
			verified = true
			if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("byte %d ^ %#02x: Verify() = %v, want %v", i, mask, err, tx.ErrBadSignature)
			}
		}
		if i >= cidStart && i < cidEnd && !verified {
			t.Fatalf("no flip of chain ID byte %d (%q) decoded, so none tested the signature", i, enc[i])
		}
	}
}

// TestSignatureNeedsDomain signs the right bytes without the domain, or with another domain: such
// signatures must not verify.
func TestSignatureNeedsDomain(t *testing.T) {
	key := seededKey(5)
	d := signedAnchor(entries(2, oddMeta))
	d.Sign(key)
	unsigned := bytes.TrimPrefix(d.SignBytes(), []byte(tx.SignDomain))
	if len(unsigned) != len(d.SignBytes())-len(tx.SignDomain) {
		t.Fatalf("SignBytes() does not start with SignDomain %q", tx.SignDomain)
	}
	for name, msg := range map[string][]byte{
		"no domain":      unsigned,
		"other version":  append([]byte(strings.Replace(tx.SignDomain, "v1", "v2", 1)), unsigned...),
		"no newline":     append([]byte(strings.TrimSuffix(tx.SignDomain, "\n")), unsigned...),
		"whole encoding": d.Encode(),
	} {
		t.Run(name, func(t *testing.T) {
			c := *d
			copy(c.Signature[:], ed25519.Sign(key, msg))
			if err := c.Verify(); !errors.Is(err, tx.ErrBadSignature) {
				t.Fatalf("Verify() of a signature over %s = %v, want %v", name, err, tx.ErrBadSignature)
			}
		})
	}
}

// TestSignedByOtherKey checks that a signature does not verify under any signer but its own.
func TestSignedByOtherKey(t *testing.T) {
	d := signedAnchor(entries(1, noMeta))
	d.Sign(seededKey(6))
	copy(d.Signer[:], seededKey(7).Public().(ed25519.PublicKey))
	if err := d.Verify(); !errors.Is(err, tx.ErrBadSignature) {
		t.Fatalf("Verify() with the signer replaced = %v, want %v", err, tx.ErrBadSignature)
	}
}

// goldenTx is a fixed transaction: its encoding in testdata/anchor_v1.hex freezes version 1 of the
// wire format, signature included (ed25519 signatures are deterministic).
func goldenTx() *tx.Tx {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	meta := sha256.Sum256([]byte(`{"title":"deed of sale","pages":3}`))
	t := &tx.Tx{
		ChainID: "siegel-golden-1",
		Nonce:   0x0123456789abcdef,
		Expiry:  1_000_000,
		Body: &tx.Anchor{Entries: []tx.Entry{
			{Hash: sha256.Sum256([]byte("golden document one"))},
			{Hash: sha256.Sum256([]byte("golden document two")), MetaDigest: &meta},
			{Hash: sha256.Sum256([]byte("golden document three"))},
		}},
	}
	t.Sign(ed25519.NewKeyFromSeed(seed))
	return t
}

func TestGoldenAnchorV1(t *testing.T) {
	path := filepath.Join("testdata", "anchor_v1.hex")
	want := goldenTx()
	got := want.Encode()
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
			t.Fatalf("writing golden file: %v", err)
		}
		t.Logf("wrote %s (%d bytes encoded)", path, len(got))
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	golden, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatalf("golden file %s is not hex: %v", path, err)
	}
	if !bytes.Equal(got, golden) {
		t.Fatalf("the encoding of the golden transaction changed; version 1 of the wire format must not change\n got %x\nwant %x", got, golden)
	}
	// The frozen bytes must also still decode to the same transaction, and verify.
	d := mustDecode(t, golden)
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Decode(golden) = %+v, want %+v", d, want)
	}
	if err := d.Verify(); err != nil {
		t.Fatalf("Verify() of the golden transaction = %v, want nil", err)
	}
	if wantLen := 3 + len(want.ChainID) + 32 + 8 + 8 + 2 + 3*33 + 32 + 64; len(golden) != wantLen {
		t.Fatalf("golden encoding is %d bytes, want %d by the documented layout", len(golden), wantLen)
	}
}
