package receipt

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The document-state map is a compressed sparse Merkle tree over 256-bit keys (document SHA-256s) whose
// values are 32-byte value hashes. Its rules, which are part of the consensus format:
//
//   - bit i of a key (i = 0 is the most significant bit of key[0]) chooses the child at depth i:
//     0 is left, 1 is right;
//   - a leaf hashes to SHA-256(0x00 || key || value), an internal node to SHA-256(0x01 || left || right),
//     and an empty subtree to 32 zero bytes (so does the root of the empty map);
//   - a subtree holding exactly one leaf is that leaf, placed at the shallowest depth at which its key
//     prefix is unique; internal nodes exist only above two or more leaves, and may have one empty child.
//
// Package store/tree builds and updates the tree; this file holds what an offline verifier needs.

// MaxMapDepth is the depth of the deepest possible position: the key length in bits.
const MaxMapDepth = 256

// MapLeafHash returns the hash of the leaf that maps key to value.
func MapLeafHash(key, value [32]byte) [32]byte {
	var b [1 + 64]byte
	b[0] = 0x00
	copy(b[1:], key[:])
	copy(b[33:], value[:])
	return sha256.Sum256(b[:])
}

// MapNodeHash returns the hash of the internal node whose children hash to left and right (32 zero bytes
// for an empty child).
func MapNodeHash(left, right [32]byte) [32]byte {
	var b [1 + 64]byte
	b[0] = 0x01
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// MapKeyBit returns bit i of key (0 or 1), the direction taken at depth i: 0 for left, 1 for right.
func MapKeyBit(key [32]byte, i int) int {
	return int(key[i/8]>>(7-i%8)) & 1
}

// TerminalKind says what a MapProof found where the walk for the queried key stopped.
type TerminalKind uint8

const (
	// TerminalEmpty: an empty subtree. The key is absent.
	TerminalEmpty TerminalKind = 0
	// TerminalMatch: the leaf of the queried key. Its value is not carried; the verifier supplies it.
	TerminalMatch TerminalKind = 1
	// TerminalOther: the leaf of another key that shares the first len(Siblings) bits with the queried
	// key. The queried key is absent.
	TerminalOther TerminalKind = 2
)

// MapProof proves what a key maps to in the document-state map, or that it maps to nothing.
type MapProof struct {
	// Siblings holds the hash of the sibling subtree at each depth from 0 down to the terminal's
	// depth - 1, top-down; 32 zero bytes for an empty one. The terminal's depth is len(Siblings).
	Siblings [][32]byte
	// Terminal is what the walk for the key found at depth len(Siblings).
	Terminal Terminal
}

// Terminal is the end of a MapProof's walk.
type Terminal struct {
	Kind TerminalKind
	// Key and Value are those of the other leaf when Kind is TerminalOther, zero otherwise.
	Key, Value [32]byte
}

// ErrMalformedMapProof is returned by DecodeMapProof for bytes that are not a canonical MapProof encoding.
var ErrMalformedMapProof = errors.New("receipt: malformed map proof")

// ErrProofShape is returned when a proof cannot prove the claim whatever the root: the wrong terminal
// kind, too many siblings, an empty last sibling above a terminal (the tree is compressed, so that
// position cannot exist), or an other leaf whose key is the queried key or strays from its prefix.
var ErrProofShape = errors.New("receipt: proof has the wrong shape")

// ErrRootMismatch is matched (errors.Is) by every RootMismatchError.
var ErrRootMismatch = errors.New("receipt: computed root does not match")

// RootMismatchError is returned when a well-shaped proof leads to a root other than the expected one.
type RootMismatchError struct {
	Expected, Computed [32]byte
}

func (e *RootMismatchError) Error() string {
	return fmt.Sprintf("receipt: computed map root %x does not match expected %x", e.Computed, e.Expected)
}

// Is makes errors.Is(err, ErrRootMismatch) true.
func (e *RootMismatchError) Is(target error) bool { return target == ErrRootMismatch }

// VerifyMapInclusion checks that p proves that key maps to value in the map whose root is root.
func VerifyMapInclusion(root, key, value [32]byte, p MapProof) error {
	if err := checkShape(p); err != nil {
		return err
	}
	if p.Terminal.Kind != TerminalMatch {
		return fmt.Errorf("%w: inclusion needs the key's own leaf, got terminal kind %d", ErrProofShape, p.Terminal.Kind)
	}
	return checkRoot(root, key, MapLeafHash(key, value), p.Siblings)
}

// VerifyMapAbsence checks that p proves that key maps to nothing in the map whose root is root.
func VerifyMapAbsence(root, key [32]byte, p MapProof) error {
	if err := checkShape(p); err != nil {
		return err
	}
	var terminal [32]byte // empty
	switch t := p.Terminal; t.Kind {
	case TerminalEmpty:
	case TerminalOther:
		if t.Key == key {
			return fmt.Errorf("%w: the other leaf holds the queried key", ErrProofShape)
		}
		if n := commonPrefix(t.Key, key); n < len(p.Siblings) {
			return fmt.Errorf("%w: the other leaf shares %d bits with the key, its position %d", ErrProofShape, n, len(p.Siblings))
		}
		terminal = MapLeafHash(t.Key, t.Value)
	default:
		return fmt.Errorf("%w: absence needs an empty or other terminal, got kind %d", ErrProofShape, t.Kind)
	}
	return checkRoot(root, key, terminal, p.Siblings)
}

// checkShape checks what does not depend on the key: the depth, and that the last sibling is not empty.
// (A terminal below an internal node with an empty side would have been placed one level higher.)
func checkShape(p MapProof) error {
	n := len(p.Siblings)
	if n > MaxMapDepth {
		return fmt.Errorf("%w: %d siblings, at most %d", ErrProofShape, n, MaxMapDepth)
	}
	if n > 0 && p.Siblings[n-1] == ([32]byte{}) {
		return fmt.Errorf("%w: empty sibling at depth %d above the terminal", ErrProofShape, n-1)
	}
	return nil
}

// checkRoot recomputes the root bottom-up from the terminal's hash and compares it with root.
func checkRoot(root, key, terminal [32]byte, siblings [][32]byte) error {
	h := terminal
	for d := len(siblings) - 1; d >= 0; d-- {
		if MapKeyBit(key, d) == 0 {
			h = MapNodeHash(h, siblings[d])
		} else {
			h = MapNodeHash(siblings[d], h)
		}
	}
	if h != root {
		return &RootMismatchError{Expected: root, Computed: h}
	}
	return nil
}

// commonPrefix returns the number of leading bits that a and b share (256 if equal).
func commonPrefix(a, b [32]byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			n := 0
			for x&0x80 == 0 {
				x <<= 1
				n++
			}
			return i*8 + n
		}
	}
	return 256
}

// Encode returns the canonical binary encoding of p:
//
//	depth(2) | bitmap(ceil(depth/8)) | non-empty siblings(32 each) | tag(1) | [key(32) | value(32) if tag 2]
//
// depth is len(Siblings), big-endian. Bit i of the bitmap (most significant bit of its first byte
// first) is set when Siblings[i] is not empty; only those siblings are sent, top-down. The padding bits
// of the bitmap are zero. tag is the TerminalKind. Encode does not check p: encode only proofs with at
// most MaxMapDepth siblings and a valid kind.
func (p MapProof) Encode() []byte {
	depth := len(p.Siblings)
	bitmap := make([]byte, (depth+7)/8)
	n := 0
	for i, s := range p.Siblings {
		if s != ([32]byte{}) {
			bitmap[i/8] |= 0x80 >> (i % 8)
			n++
		}
	}
	b := make([]byte, 0, 2+len(bitmap)+32*n+1+64)
	b = binary.BigEndian.AppendUint16(b, uint16(depth))
	b = append(b, bitmap...)
	for _, s := range p.Siblings {
		if s != ([32]byte{}) {
			b = append(b, s[:]...)
		}
	}
	b = append(b, byte(p.Terminal.Kind))
	if p.Terminal.Kind == TerminalOther {
		b = append(b, p.Terminal.Key[:]...)
		b = append(b, p.Terminal.Value[:]...)
	}
	return b
}

// DecodeMapProof parses the encoding written by Encode. It rejects a depth over MaxMapDepth, non-zero
// padding bits, a sibling sent as 32 zero bytes, an unknown tag and trailing bytes, so that every
// MapProof has exactly one encoding. It does not check the proof against any key or root.
func DecodeMapProof(b []byte) (MapProof, error) {
	var p MapProof
	d := decoder{b: b}
	var depth int
	if h := d.bytes(2); h != nil {
		depth = int(binary.BigEndian.Uint16(h))
	}
	if d.err == nil && depth > MaxMapDepth {
		return p, fmt.Errorf("%w: depth %d over %d", ErrMalformedMapProof, depth, MaxMapDepth)
	}
	bitmap := d.bytes((depth + 7) / 8)
	if d.err == nil && depth%8 != 0 && bitmap[len(bitmap)-1]&(0xff>>(depth%8)) != 0 {
		return p, fmt.Errorf("%w: non-zero bitmap padding", ErrMalformedMapProof)
	}
	if d.err == nil && depth > 0 {
		p.Siblings = make([][32]byte, depth)
		for i := range p.Siblings {
			if bitmap[i/8]&(0x80>>(i%8)) == 0 {
				continue
			}
			copy(p.Siblings[i][:], d.bytes(32))
			if d.err == nil && p.Siblings[i] == ([32]byte{}) {
				return p, fmt.Errorf("%w: sibling %d sent as 32 zero bytes", ErrMalformedMapProof, i)
			}
		}
	}
	switch k := TerminalKind(d.byte()); {
	case d.err != nil:
	case k == TerminalEmpty, k == TerminalMatch:
		p.Terminal.Kind = k
	case k == TerminalOther:
		p.Terminal.Kind = k
		copy(p.Terminal.Key[:], d.bytes(32))
		copy(p.Terminal.Value[:], d.bytes(32))
	default:
		return p, fmt.Errorf("%w: terminal tag %d", ErrMalformedMapProof, k)
	}
	if d.err != nil {
		return p, fmt.Errorf("%w: %v", ErrMalformedMapProof, d.err)
	}
	if len(d.b) != 0 {
		return p, fmt.Errorf("%w: %d trailing bytes", ErrMalformedMapProof, len(d.b))
	}
	return p, nil
}
