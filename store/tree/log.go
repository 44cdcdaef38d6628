package tree

import (
	"crypto/sha256"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// LogState is the right border of the append-only log (its compact range from 0 to Size): all that is
// needed to append and compute the root without reading the log.
type LogState struct {
	Size   uint64
	Border [][32]byte
}

// LogNode is a node of the log tree that became complete and can be stored for proofs.
type LogNode struct {
	Level uint8
	Index uint64
	Hash  [32]byte
}

var rangeFactory = &compact.RangeFactory{Hash: hashChildren}

// LogNodeHash is the hash of a log node with children l and r: RFC 6962's SHA-256(0x01 | l | r), as
// rfc6962.DefaultHasher.HashChildren computes it but without a fresh hash.Hash per call (those were 4%
// of what BenchmarkValidatorPipeline allocated). TestHashChildren holds it to the library's.
func LogNodeHash(l, r [32]byte) [32]byte {
	var b [1 + 64]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// hashChildren is LogNodeHash in the form compact.Range and proof.Nodes take.
func hashChildren(l, r []byte) []byte {
	if len(l) != 32 || len(r) != 32 {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	h := LogNodeHash([32]byte(l), [32]byte(r))
	return h[:]
}

// AppendLog appends leaf hashes to the log described by st. It returns the new state, the new root and
// every node that became complete (leaves included), ordered by level, then index: the order of the
// store's keys for them, so that a block's log nodes need no sorting before they are written.
func AppendLog(st LogState, leaves [][32]byte) (LogState, [32]byte, []LogNode, error) {
	border := make([][]byte, len(st.Border))
	for i := range st.Border {
		border[i] = st.Border[i][:]
	}
	r, err := rangeFactory.NewRange(0, st.Size, border)
	if err != nil {
		return st, [32]byte{}, nil, fmt.Errorf("tree: log state: %w", err)
	}
	// The range completes the nodes of each level from left to right, the levels interleaved: kept per
	// level, they come out in index order.
	var levels [][]LogNode
	visit := func(id compact.NodeID, h []byte) {
		for len(levels) <= int(id.Level) {
			levels = append(levels, make([]LogNode, 0, len(leaves)>>len(levels)+1))
		}
		n := LogNode{Level: uint8(id.Level), Index: id.Index}
		copy(n.Hash[:], h)
		levels[id.Level] = append(levels[id.Level], n)
	}
	for _, l := range leaves {
		if err := r.Append(l[:], visit); err != nil {
			return st, [32]byte{}, nil, fmt.Errorf("tree: log append: %w", err)
		}
	}
	root, err := logRoot(r)
	if err != nil {
		return st, root, nil, err
	}
	total := 0
	for _, l := range levels {
		total += len(l)
	}
	nodes := make([]LogNode, 0, total)
	for _, l := range levels {
		nodes = append(nodes, l...)
	}
	out := LogState{Size: r.End(), Border: make([][32]byte, len(r.Hashes()))}
	for i, h := range r.Hashes() {
		copy(out.Border[i][:], h)
	}
	return out, root, nodes, nil
}

// LogRoot returns the root of the log described by st.
func LogRoot(st LogState) ([32]byte, error) {
	_, root, _, err := AppendLog(st, nil)
	return root, err
}

func logRoot(r *compact.Range) ([32]byte, error) {
	var out [32]byte
	if r.End() == 0 {
		copy(out[:], rfc6962.DefaultHasher.EmptyRoot())
		return out, nil
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		return out, fmt.Errorf("tree: log root: %w", err)
	}
	copy(out[:], h)
	return out, nil
}

// ReadLogNode MUST return the hash of the complete log node at (level, index); every such node that
// AppendLog reported has been stored.
type ReadLogNode func(level uint8, index uint64) ([32]byte, error)

// LogInclusion returns the inclusion proof of leaf index in the log of the given size.
func LogInclusion(read ReadLogNode, index, size uint64) ([][32]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("tree: leaf %d is outside a log of size %d", index, size)
	}
	ns, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("tree: inclusion proof: %w", err)
	}
	return rehash(read, ns)
}

// LogConsistency returns the consistency proof between log sizes size1 <= size2.
func LogConsistency(read ReadLogNode, size1, size2 uint64) ([][32]byte, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("tree: consistency from %d to the smaller size %d", size1, size2)
	}
	ns, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("tree: consistency proof: %w", err)
	}
	return rehash(read, ns)
}

func rehash(read ReadLogNode, ns proof.Nodes) ([][32]byte, error) {
	hs := make([][]byte, len(ns.IDs))
	for i, id := range ns.IDs {
		h, err := read(uint8(id.Level), id.Index)
		if err != nil {
			return nil, fmt.Errorf("tree: log node (%d, %d): %w", id.Level, id.Index, err)
		}
		hs[i] = h[:]
	}
	out, err := ns.Rehash(hs, hashChildren)
	if err != nil {
		return nil, fmt.Errorf("tree: rehash proof: %w", err)
	}
	res := make([][32]byte, len(out))
	for i := range out {
		copy(res[i][:], out[i])
	}
	return res, nil
}
