package tx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestVerifyMatchesStdlib: Verify (curve25519-voi with the standard library's options) accepts exactly
// what crypto/ed25519 accepts, over valid signatures, every single-bit mutation of the signature and of
// the key, and keys and R values of small order. A node built with either must reach the same verdict.
func TestVerifyMatchesStdlib(t *testing.T) {
	agree := func(name string, tr *Tx) {
		t.Helper()
		std := ed25519.Verify(ed25519.PublicKey(tr.Signer[:]), tr.SignBytes(), tr.Signature[:])
		if got := tr.Verify() == nil; got != std {
			t.Fatalf("%s: Verify says %v, crypto/ed25519 says %v", name, got, std)
		}
	}
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	base := &Tx{ChainID: "c", Nonce: 1, Expiry: 9, Body: &Anchor{Entries: []Entry{{Hash: sha256.Sum256([]byte("d"))}}}}
	base.Sign(key)
	agree("valid", base)
	for bit := range 64 * 8 {
		m := *base
		m.Signature[bit/8] ^= 1 << (bit % 8)
		agree("signature bit", &m)
	}
	for bit := range 32 * 8 {
		m := *base
		m.Signer[bit/8] ^= 1 << (bit % 8)
		agree("key bit", &m)
	}
	// Small-order points (the identity and points of order 2, 4, 8) as key and as R: the cases on which
	// ed25519 implementations are known to differ.
	small := [][32]byte{
		{1},
		{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80},
		{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
		{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	}
	for _, p := range small {
		m := *base
		m.Signer = p
		agree("small-order key", &m)
		copy(m.Signature[:32], p[:])
		clear(m.Signature[32:])
		agree("small-order key and R, zero S", &m)
		m = *base
		copy(m.Signature[:32], p[:])
		agree("small-order R", &m)
	}
	// Many random keys and messages, valid and with S pushed past the group order.
	for i := range 200 {
		seed := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		k := ed25519.NewKeyFromSeed(seed[:])
		m := &Tx{ChainID: "c", Nonce: uint64(i), Expiry: 9, Body: &Anchor{Entries: []Entry{{Hash: sha256.Sum256([]byte{byte(i)})}}}}
		m.Sign(k)
		agree("random valid", m)
		m.Signature[63] |= 0xf0 // S >= L: non-canonical, rejected by both
		agree("non-canonical S", m)
	}
}

func BenchmarkVerify(b *testing.B) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	tr := &Tx{ChainID: "c", Nonce: 1, Expiry: 9, Body: &Anchor{Entries: []Entry{{Hash: sha256.Sum256([]byte("d"))}}}}
	tr.Sign(key)
	b.Run("voi", func(b *testing.B) {
		for range b.N {
			if tr.Verify() != nil {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for range b.N {
			if !ed25519.Verify(ed25519.PublicKey(tr.Signer[:]), tr.SignBytes(), tr.Signature[:]) {
				b.Fatal("invalid")
			}
		}
	})
}
