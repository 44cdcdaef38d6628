package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
)

// The helpers here are prefixed with map so as not to collide with the other tests of the package.

// mapKey returns a key whose first byte is b and whose other bytes are a fixed pattern.
func mapKey(b byte) [32]byte {
	k := sha256.Sum256([]byte{b})
	k[0] = b
	return k
}

func mapValue(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// mapFixture is a small tree built by hand from the rules in smt.go.
type mapFixture struct {
	root   [32]byte
	values map[[32]byte][32]byte
	proofs map[[32]byte]receipt.MapProof // for present and absent keys
}

// threeLeaves: keys 000…, 010… and 1…; root = N(N(leaf0, leaf2), leaf8).
// emptySides: keys 000… and 001…; root = N(N(N(leaf0, leaf2), empty), empty).
func mapFixtures() (threeLeaves, emptySides mapFixture) {
	k0, k4, k8, kc, k2 := mapKey(0x00), mapKey(0x40), mapKey(0x80), mapKey(0xc0), mapKey(0x20)
	v0, v4, v8 := mapValue("v0"), mapValue("v4"), mapValue("v8")
	l0, l4, l8 := receipt.MapLeafHash(k0, v0), receipt.MapLeafHash(k4, v4), receipt.MapLeafHash(k8, v8)
	n04 := receipt.MapNodeHash(l0, l4)
	threeLeaves = mapFixture{
		root:   receipt.MapNodeHash(n04, l8),
		values: map[[32]byte][32]byte{k0: v0, k4: v4, k8: v8},
		proofs: map[[32]byte]receipt.MapProof{
			k0: {Siblings: [][32]byte{l8, l4}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
			k4: {Siblings: [][32]byte{l8, l0}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
			k8: {Siblings: [][32]byte{n04}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
			kc: {Siblings: [][32]byte{n04}, Terminal: receipt.Terminal{Kind: receipt.TerminalOther, Key: k8, Value: v8}},
			k2: {Siblings: [][32]byte{l8, l4}, Terminal: receipt.Terminal{Kind: receipt.TerminalOther, Key: k0, Value: v0}},
		},
	}
	l2 := receipt.MapLeafHash(k2, v4)
	n02 := receipt.MapNodeHash(l0, l2)
	emptySides = mapFixture{
		root:   receipt.MapNodeHash(receipt.MapNodeHash(n02, [32]byte{}), [32]byte{}),
		values: map[[32]byte][32]byte{k0: v0, k2: v4},
		proofs: map[[32]byte]receipt.MapProof{
			k0: {Siblings: [][32]byte{{}, {}, l2}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
			k2: {Siblings: [][32]byte{{}, {}, l0}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
			k8: {Siblings: [][32]byte{receipt.MapNodeHash(n02, [32]byte{})}},
			k4: {Siblings: [][32]byte{{}, n02}},
		},
	}
	return threeLeaves, emptySides
}

func TestMapHashes(t *testing.T) {
	k, v := mapKey(0x12), mapValue("v")
	if got, want := receipt.MapLeafHash(k, v), sha256.Sum256(append(append([]byte{0}, k[:]...), v[:]...)); got != want {
		t.Errorf("MapLeafHash = %x, want %x", got, want)
	}
	if got, want := receipt.MapNodeHash(k, v), sha256.Sum256(append(append([]byte{1}, k[:]...), v[:]...)); got != want {
		t.Errorf("MapNodeHash = %x, want %x", got, want)
	}
	for i, want := range []int{0, 0, 0, 1, 0, 0, 1, 0} { // 0x12 = 00010010
		if got := receipt.MapKeyBit(k, i); got != want {
			t.Errorf("MapKeyBit(0x12…, %d) = %d, want %d", i, got, want)
		}
	}
	var last [32]byte
	last[31] = 1
	if receipt.MapKeyBit(last, 255) != 1 || receipt.MapKeyBit(last, 254) != 0 {
		t.Errorf("MapKeyBit of the last bit is wrong")
	}
}

func TestVerifyMapFixtures(t *testing.T) {
	three, sides := mapFixtures()
	for name, f := range map[string]mapFixture{"three leaves": three, "empty sides": sides} {
		for key, p := range f.proofs {
			var err error
			if v, ok := f.values[key]; ok {
				err = receipt.VerifyMapInclusion(f.root, key, v, p)
			} else {
				err = receipt.VerifyMapAbsence(f.root, key, p)
			}
			if err != nil {
				t.Errorf("%s: key %x: %v", name, key[:1], err)
			}
			q, err := receipt.DecodeMapProof(p.Encode())
			if err != nil || !reflect.DeepEqual(q, p) {
				t.Errorf("%s: key %x: DecodeMapProof(Encode()) = %+v, %v; want %+v", name, key[:1], q, err, p)
			}
		}
	}
	if err := receipt.VerifyMapAbsence([32]byte{}, mapKey(1), receipt.MapProof{}); err != nil {
		t.Errorf("absence in the empty map: %v", err)
	}
	err := receipt.VerifyMapAbsence(three.root, mapKey(1), receipt.MapProof{})
	var rm *receipt.RootMismatchError
	if !errors.As(err, &rm) || rm.Expected != three.root || rm.Computed != ([32]byte{}) {
		t.Errorf("empty proof against a non-empty root: %v, want a RootMismatchError with both roots", err)
	}
	if !errors.Is(err, receipt.ErrRootMismatch) {
		t.Errorf("errors.Is(%v, ErrRootMismatch) = false", err)
	}
}

func TestVerifyMapRejects(t *testing.T) {
	three, sides := mapFixtures()
	k0, k2, k4, k8 := mapKey(0x00), mapKey(0x20), mapKey(0x40), mapKey(0x80)
	v0 := three.values[k0]
	flip := func(p receipt.MapProof, i, bit int) receipt.MapProof {
		p.Siblings = append([][32]byte(nil), p.Siblings...)
		p.Siblings[i][bit/8] ^= 0x80 >> (bit % 8)
		return p
	}
	with := func(p receipt.MapProof, t receipt.Terminal) receipt.MapProof { p.Terminal = t; return p }
	incl0, absent2, sidesAbsent4 := three.proofs[k0], three.proofs[k2], sides.proofs[k4]
	tooDeep := receipt.MapProof{Siblings: make([][32]byte, 257)}
	tooDeep.Siblings[256] = v0
	for _, c := range []struct {
		name     string
		root     [32]byte
		key      [32]byte
		value    *[32]byte // nil for an absence check
		p        receipt.MapProof
		want     error
		wantText string
	}{
		{"flipped sibling 0", three.root, k0, &v0, flip(incl0, 0, 5), receipt.ErrRootMismatch, ""},
		{"flipped sibling 1", three.root, k0, &v0, flip(incl0, 1, 255), receipt.ErrRootMismatch, ""},
		{"flipped empty sibling", sides.root, k4, nil, flip(sidesAbsent4, 0, 0), receipt.ErrRootMismatch, ""},
		{"truncated", three.root, k0, &v0, receipt.MapProof{Siblings: incl0.Siblings[:1]}, receipt.ErrProofShape, "inclusion needs"},
		{"truncated match", three.root, k0, &v0, with(receipt.MapProof{Siblings: incl0.Siblings[:1]}, incl0.Terminal), receipt.ErrRootMismatch, ""},
		{"extended", three.root, k0, &v0, with(receipt.MapProof{Siblings: append(incl0.Siblings[:2:2], v0)}, incl0.Terminal), receipt.ErrRootMismatch, ""},
		{"wrong value", three.root, k4, &v0, three.proofs[k4], receipt.ErrRootMismatch, ""},
		{"inclusion with empty terminal", three.root, k0, &v0, with(incl0, receipt.Terminal{}), receipt.ErrProofShape, "inclusion needs"},
		{"inclusion with other terminal", three.root, k2, &v0, absent2, receipt.ErrProofShape, "inclusion needs"},
		{"absence with match terminal", three.root, k0, nil, incl0, receipt.ErrProofShape, "absence needs"},
		{"absence of a present key", three.root, k0, nil, absent2, receipt.ErrProofShape, "holds the queried key"},
		{"other leaf off the prefix", three.root, k4, nil, absent2, receipt.ErrProofShape, "shares 1 bits"},
		{"other leaf replaced", three.root, k2, nil, with(absent2, receipt.Terminal{Kind: receipt.TerminalOther, Key: k4, Value: v0}), receipt.ErrProofShape, "shares 1 bits"},
		{"other value changed", three.root, k2, nil, with(absent2, receipt.Terminal{Kind: receipt.TerminalOther, Key: k0, Value: k0}), receipt.ErrRootMismatch, ""},
		{"other as empty", three.root, k2, nil, with(absent2, receipt.Terminal{}), receipt.ErrRootMismatch, ""},
		{"unknown kind", three.root, k2, nil, with(absent2, receipt.Terminal{Kind: 3}), receipt.ErrProofShape, "kind 3"},
		{"empty last sibling", sides.root, k8, nil, receipt.MapProof{Siblings: [][32]byte{{}}}, receipt.ErrProofShape, "empty sibling at depth 0"},
		{"257 siblings", three.root, k8, nil, tooDeep, receipt.ErrProofShape, "257 siblings"},
		{"257 siblings inclusion", three.root, k8, &v0, with(tooDeep, incl0.Terminal), receipt.ErrProofShape, "257 siblings"},
		{"other root", sides.root, k0, &v0, incl0, receipt.ErrRootMismatch, ""},
	} {
		var err error
		if c.value != nil {
			err = receipt.VerifyMapInclusion(c.root, c.key, *c.value, c.p)
		} else {
			err = receipt.VerifyMapAbsence(c.root, c.key, c.p)
		}
		if !errors.Is(err, c.want) || !bytes.Contains([]byte(errText(err)), []byte(c.wantText)) {
			t.Errorf("%s: %v, want %v (%q)", c.name, err, c.want, c.wantText)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMapProofEncodingGolden(t *testing.T) {
	_, sides := mapFixtures()
	p := sides.proofs[mapKey(0x40)] // siblings: empty, n02; terminal empty
	p.Terminal = receipt.Terminal{Kind: receipt.TerminalOther, Key: mapKey(0x01), Value: mapValue("x")}
	s := p.Siblings[1]
	k, v := p.Terminal.Key, p.Terminal.Value
	want := "0002" + "40" + hex.EncodeToString(s[:]) + "02" + hex.EncodeToString(k[:]) + hex.EncodeToString(v[:])
	if got := hex.EncodeToString(p.Encode()); got != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
	if got := hex.EncodeToString(receipt.MapProof{}.Encode()); got != "000000" {
		t.Errorf("Encode(empty map) = %s, want 000000", got)
	}
	full := receipt.MapProof{Siblings: make([][32]byte, 256), Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}}
	for i := range full.Siblings {
		full.Siblings[i] = mapValue(string(rune(i)))
	}
	b := full.Encode()
	if len(b) != 2+32+256*32+1 {
		t.Errorf("Encode(256 siblings) is %d bytes", len(b))
	}
	if q, err := receipt.DecodeMapProof(b); err != nil || !reflect.DeepEqual(q, full) {
		t.Errorf("DecodeMapProof(256 siblings) = %v", err)
	}
}

func TestDecodeMapProofRejects(t *testing.T) {
	s := mapValue("s")
	h := func(x string) []byte { b, _ := hex.DecodeString(x); return b }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, b := range map[string][]byte{
		"nil":                nil,
		"one byte":           {0},
		"no tag":             {0, 0},
		"depth 257":          cat(h("0101"), make([]byte, 33), h("00")),
		"depth 65535":        h("ffff"),
		"short bitmap":       h("0009ff"),
		"padding bit":        cat(h("000101"), h("00")),
		"padding bit 7":      cat(h("000701"), h("00")),
		"zero sibling":       cat(h("000180"), make([]byte, 32), h("00")),
		"missing sibling":    cat(h("000280"), h("00")),
		"short sibling":      cat(h("000180"), s[:31]),
		"tag 3":              h("000003"),
		"tag 255":            h("0000ff"),
		"short other":        cat(h("000002"), s[:], s[:31]),
		"trailing":           h("00000000"),
		"trailing after key": cat(h("000001"), s[:]),
		"other trailing":     cat(h("000002"), s[:], s[:], h("00")),
	} {
		if p, err := receipt.DecodeMapProof(b); !errors.Is(err, receipt.ErrMalformedMapProof) {
			t.Errorf("%s: DecodeMapProof(%x) = %+v, %v; want ErrMalformedMapProof", name, b, p, err)
		}
	}
}

// FuzzDecodeMapProof checks that DecodeMapProof never panics, fails only with ErrMalformedMapProof, and
// accepts only canonical encodings: Encode gives back exactly the input.
//
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecodeMapProof -fuzztime=60s ./receipt
//
// Interesting inputs are kept in testdata/fuzz/FuzzDecodeMapProof and run by plain go test.
func FuzzDecodeMapProof(f *testing.F) {
	three, sides := mapFixtures()
	for _, fx := range []mapFixture{three, sides} {
		for _, p := range fx.proofs {
			f.Add(p.Encode())
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		p, err := receipt.DecodeMapProof(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeMapProof modified its input")
		}
		if err != nil {
			if !errors.Is(err, receipt.ErrMalformedMapProof) {
				t.Fatalf("DecodeMapProof = %v, want an error wrapping ErrMalformedMapProof", err)
			}
			return
		}
		if enc := p.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("DecodeMapProof accepted a non-canonical encoding:\n  in %x\n out %x", b, enc)
		}
		if len(p.Siblings) > receipt.MaxMapDepth || p.Terminal.Kind > receipt.TerminalOther {
			t.Fatalf("DecodeMapProof accepted %d siblings, kind %d", len(p.Siblings), p.Terminal.Kind)
		}
		// Verification must not panic either, whatever it decides.
		_ = receipt.VerifyMapInclusion(three.root, p.Terminal.Key, p.Terminal.Value, p)
		_ = receipt.VerifyMapAbsence(sides.root, p.Terminal.Value, p)
	})
}
