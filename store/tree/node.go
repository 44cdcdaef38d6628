package tree

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/siegel-notary/siegel/receipt"
)

// Path is a position in the tree: a depth (0 for the root, at most receipt.MaxMapDepth) and the first
// Depth bits of every key below it, in Bits with the remaining bits zero.
type Path struct {
	Depth uint16
	Bits  [32]byte
}

// pathTo returns the position at depth on the way to key.
func pathTo(key [32]byte, depth int) Path {
	p := Path{Depth: uint16(depth), Bits: key}
	if depth >= receipt.MaxMapDepth {
		return p
	}
	i := depth / 8
	p.Bits[i] &= ^byte(0xff >> (depth % 8))
	clear(p.Bits[i+1:])
	return p
}

// Key returns the encoding of p for use as a storage key:
//
//	depth(2, big-endian) | the first ceil(depth/8) bytes of Bits
//
// The root's is 2 bytes, the deepest position's 34. The length follows from the depth, so the encoding
// is unambiguous, and byte order is the order of (Depth, Bits): all positions of one depth are
// contiguous, shallower depths first.
func (p Path) Key() []byte {
	return p.AppendKey(make([]byte, 0, p.KeyLen()))
}

// KeyLen is the length of Key.
func (p Path) KeyLen() int { return 2 + (int(p.Depth)+7)/8 }

// AppendKey appends Key to b: the storage key without an allocation, or behind a prefix.
func (p Path) AppendKey(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, p.Depth)
	return append(b, p.Bits[:(int(p.Depth)+7)/8]...)
}

// ParsePath parses what Key returns. It rejects a depth over receipt.MaxMapDepth, a wrong length and
// non-zero bits beyond the depth.
func ParsePath(b []byte) (Path, error) {
	var p Path
	if len(b) < 2 {
		return p, fmt.Errorf("%w: path of %d bytes", ErrMalformedNode, len(b))
	}
	depth := int(binary.BigEndian.Uint16(b))
	if depth > receipt.MaxMapDepth || len(b) != 2+(depth+7)/8 {
		return p, fmt.Errorf("%w: path of depth %d in %d bytes", ErrMalformedNode, depth, len(b))
	}
	p.Depth = uint16(depth)
	copy(p.Bits[:], b[2:])
	if pathTo(p.Bits, depth) != p {
		return p, fmt.Errorf("%w: path bits beyond depth %d", ErrMalformedNode, depth)
	}
	return p, nil
}

// Node is what is stored at a position: a leaf (Leaf true), which maps Key to Value, or an internal node
// (Leaf false), which holds the hashes of its Left and Right children, 32 zero bytes for an empty one
// (at most one of the two). The fields of the other kind are zero.
type Node struct {
	Leaf        bool
	Key, Value  [32]byte
	Left, Right [32]byte
}

// EncodedLen is the length of every encoded Node.
const EncodedLen = 1 + 64

// ErrMalformedNode is returned by DecodeNode and ParsePath for bytes that Encode and Key did not write.
var ErrMalformedNode = errors.New("tree: malformed node")

// Encode returns the canonical encoding of n, which is also what it hashes:
//
//	0x00 | key(32) | value(32)    for a leaf
//	0x01 | left(32) | right(32)   for an internal node
func (n Node) Encode() []byte { return n.EncodeTo(make([]byte, EncodedLen)) }

// EncodeTo writes Encode's bytes to b, which must be EncodedLen long, and returns it.
func (n Node) EncodeTo(b []byte) []byte {
	b = b[:EncodedLen]
	if n.Leaf {
		b[0] = 0x00
		copy(b[1:], n.Key[:])
		copy(b[33:], n.Value[:])
	} else {
		b[0] = 0x01
		copy(b[1:], n.Left[:])
		copy(b[33:], n.Right[:])
	}
	return b
}

// DecodeNode parses what Encode returns. It rejects a wrong length, an unknown tag and an internal node
// with two empty children.
func DecodeNode(b []byte) (Node, error) {
	var n Node
	if len(b) != EncodedLen {
		return n, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedNode, len(b), EncodedLen)
	}
	switch b[0] {
	case 0x00:
		n.Leaf = true
		copy(n.Key[:], b[1:33])
		copy(n.Value[:], b[33:])
	case 0x01:
		copy(n.Left[:], b[1:33])
		copy(n.Right[:], b[33:])
		if n.Left == ([32]byte{}) && n.Right == ([32]byte{}) {
			return n, fmt.Errorf("%w: internal node with two empty children", ErrMalformedNode)
		}
	default:
		return n, fmt.Errorf("%w: tag %#x", ErrMalformedNode, b[0])
	}
	return n, nil
}

// Hash returns the hash of the subtree rooted at n (receipt.MapLeafHash or receipt.MapNodeHash).
func (n Node) Hash() [32]byte {
	if n.Leaf {
		return receipt.MapLeafHash(n.Key, n.Value)
	}
	return receipt.MapNodeHash(n.Left, n.Right)
}

// child returns the hash of n's child on the side of bit (0 left, 1 right) and of the other child.
func (n Node) child(bit int) (on, off [32]byte) {
	if bit == 0 {
		return n.Left, n.Right
	}
	return n.Right, n.Left
}

// PathTo returns the position at depth on the way to key (or below the position whose bits key holds).
func PathTo(key [32]byte, depth int) Path { return pathTo(key, depth) }
