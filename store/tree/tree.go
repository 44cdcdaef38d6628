package tree

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/siegel-notary/siegel/receipt"
)

// Read returns the node stored at a position, with ok false when there is none. The root is at Path{};
// an empty tree has no root.
type Read func(Path) (n Node, ok bool, err error)

// KV sets Key to Value.
type KV struct {
	Key, Value [32]byte
}

// Write stores Node at Path, replacing what was there.
type Write struct {
	Path Path
	Node Node
}

// ErrCorrupt is returned when the nodes that Read returns do not form a tree: a missing child, a leaf
// away from its key's path, an internal node at the deepest level.
var ErrCorrupt = errors.New("tree: corrupt tree")

// Root returns the hash of the tree: 32 zero bytes when it is empty.
func Root(read Read) ([32]byte, error) {
	n, ok, err := read(Path{})
	if err != nil || !ok {
		return [32]byte{}, err
	}
	return n.Hash(), nil
}

// Update sets each key of kvs to its value (the last one given, when a key is repeated) and returns the
// new root and the nodes to write for it, each position once, in the order of the walk: depth first,
// left before right, a node after its children, so that the writes of any one depth come in order of
// their bits (Path.Key order within the depth). Both depend only on the stored tree and on the
// key→value map that kvs describes, not on the order of kvs. Writes that would store the node already
// there are left out. Update reads only the positions on the paths of the keys; it does not modify kvs.
//
// The writes are not sorted across depths: a caller that wants them by depth groups them itself (the
// store's top does so as it takes them). Sorting them here copied every write of a block once more in
// ProcessProposal, on the way to every validator's vote: 5% of a loaded validator's CPU in one profile
// (docs/PERFORMANCE.md).
func Update(read Read, kvs []KV) (root [32]byte, writes []Write, err error) {
	batch := normalize(kvs)
	if len(batch) == 0 {
		root, err = Root(read)
		return root, nil, err
	}
	u := updater{read: read, writes: takeScratch(len(batch))}
	n, ok, err := read(Path{})
	switch {
	case err != nil:
		return root, nil, err
	case ok:
		root, err = u.update(0, n, batch)
	default:
		root = u.build(0, batch)
	}
	if err != nil {
		scratch.put(u.writes)
		return [32]byte{}, nil, err
	}
	return root, u.writes, nil
}

// scratch keeps the buffer that collects an update's writes, the writes Update returns, for the next
// update once the caller hands it back (Recycle): a testnet block's writes take tens of megabytes, and a
// validator's profile under load spent 11% of its CPU clearing freshly allocated memory, most of it
// these buffers (9% once one was kept).
var scratch kept

// kept is a buffer kept between updates.
type kept struct {
	sync.Mutex
	buf []Write
}

// maxScratch bounds a buffer kept between updates (164 bytes a write: 313 MiB). It holds the writes of
// the largest block a 4 MiB block limit lets through (the genesis bound of networks made before the
// 1.5 MiB one, consensus.MaxBlockBytes), 127,000 anchors at takeScratch's 12 a key: a bound below that
// allocated such a block's buffers afresh, and a testnet behind on its load makes such blocks one
// after the other. Under 1.5 MiB blocks the buffers stay below about 46,000 anchors' writes.
const maxScratch = 2_000_000

// takeScratch returns an empty buffer with room for the writes of n keys, the kept one if it is free
// and large enough.
func takeScratch(n int) []Write {
	// Each key rewrites the nodes of its path below the levels the batch shares: about a dozen in a
	// tree of millions.
	return scratch.take(12*n + 64)
}

// take returns an empty buffer with room for want writes: k's, if it holds one large enough.
func (k *kept) take(want int) []Write {
	k.Lock()
	buf := k.buf
	if cap(buf) >= want {
		k.buf = nil
	}
	k.Unlock()
	if cap(buf) < want {
		// Room to spare: a growing tree rewrites a few more nodes per key from block to block (but
		// not beyond what put keeps, when want itself fits).
		n := want + want/8
		if want <= maxScratch {
			n = min(n, maxScratch)
		}
		return make([]Write, 0, n)
	}
	return buf[:0]
}

// put keeps buf in k unless it is too large to keep or k holds a larger one.
func (k *kept) put(buf []Write) {
	if cap(buf) > maxScratch {
		return
	}
	k.Lock()
	if cap(buf) > cap(k.buf) {
		k.buf = buf
	}
	k.Unlock()
}

// Recycle hands back the writes an Update returned, once the caller no longer uses them or anything
// that points into them: the next Update returns its writes in that memory. A validator's block
// returns tens of megabytes of writes; allocated afresh for every block they were 17% of what
// BenchmarkValidatorPipeline allocated (its CPU per anchor did not change measurably without them).
func Recycle(writes []Write) { scratch.put(writes) }

// normalize returns kvs sorted by key, keeping the last value of each repeated key.
func normalize(kvs []KV) []KV {
	byKey := func(a, b KV) int { return bytes.Compare(a.Key[:], b.Key[:]) }
	s := slices.Clone(kvs)
	// A block repeats no key (each document is anchored or revoked once), so an unstable sort is
	// enough (normalize took 1.5-1.7% of BenchmarkValidatorPipeline/block=40000's CPU with it, 2.7-3.2%
	// with the stable sort); only when a key is repeated
	// does the order among its values matter, and then the sort is redone, stable.
	slices.SortFunc(s, byKey)
	for i := 1; i < len(s); i++ {
		if s[i].Key == s[i-1].Key {
			s = slices.Clone(kvs)
			slices.SortStableFunc(s, byKey)
			break
		}
	}
	out := s[:0]
	for i, kv := range s {
		if i+1 < len(s) && s[i+1].Key == kv.Key {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// split returns the index of the first of kvs (sorted, sharing their first depth bits) whose bit depth
// is 1.
func split(kvs []KV, depth int) int {
	return sort.Search(len(kvs), func(i int) bool { return receipt.MapKeyBit(kvs[i].Key, depth) == 1 })
}

type updater struct {
	read   Read
	writes []Write
}

func (u *updater) write(p Path, n Node) [32]byte {
	u.writes = append(u.writes, Write{Path: p, Node: n})
	return n.Hash()
}

// build writes the subtree at depth that holds exactly kvs (sorted, distinct, at least one, sharing their
// first depth bits) where the tree was empty, and returns its hash.
func (u *updater) build(depth int, kvs []KV) [32]byte {
	p := pathTo(kvs[0].Key, depth)
	if len(kvs) == 1 {
		return u.write(p, Node{Leaf: true, Key: kvs[0].Key, Value: kvs[0].Value})
	}
	i := split(kvs, depth)
	n := Node{}
	if i > 0 {
		n.Left = u.build(depth+1, kvs[:i])
	}
	if i < len(kvs) {
		n.Right = u.build(depth+1, kvs[i:])
	}
	return u.write(p, n)
}

// update applies kvs (sorted, distinct, at least one, sharing their first depth bits) to the subtree
// rooted at depth, where node n is stored, and returns its new hash.
func (u *updater) update(depth int, n Node, kvs []KV) ([32]byte, error) {
	p := pathTo(kvs[0].Key, depth)
	if n.Leaf {
		if pathTo(n.Key, depth) != p {
			return [32]byte{}, fmt.Errorf("%w: leaf %x stored at depth %d off its path", ErrCorrupt, n.Key, depth)
		}
		i, found := slices.BinarySearchFunc(kvs, n.Key, func(kv KV, k [32]byte) int { return bytes.Compare(kv.Key[:], k[:]) })
		if !found {
			kvs = slices.Insert(slices.Clip(kvs), i, KV{Key: n.Key, Value: n.Value})
		} else if len(kvs) == 1 && kvs[0].Value == n.Value {
			return n.Hash(), nil
		}
		return u.build(depth, kvs), nil
	}
	if depth >= receipt.MaxMapDepth {
		return [32]byte{}, fmt.Errorf("%w: internal node at depth %d", ErrCorrupt, depth)
	}
	i := split(kvs, depth)
	next := n
	var err error
	if i > 0 {
		if next.Left, err = u.child(depth+1, n.Left, kvs[:i]); err != nil {
			return [32]byte{}, err
		}
	}
	if i < len(kvs) {
		if next.Right, err = u.child(depth+1, n.Right, kvs[i:]); err != nil {
			return [32]byte{}, err
		}
	}
	if next == n {
		return n.Hash(), nil
	}
	return u.write(p, next), nil
}

// child applies kvs to the subtree at depth whose hash, as its parent holds it, is h.
func (u *updater) child(depth int, h [32]byte, kvs []KV) ([32]byte, error) {
	if h == ([32]byte{}) {
		return u.build(depth, kvs), nil
	}
	p := pathTo(kvs[0].Key, depth)
	n, ok, err := u.read(p)
	if err != nil {
		return [32]byte{}, err
	}
	if !ok {
		return [32]byte{}, fmt.Errorf("%w: no node at depth %d below a non-empty child", ErrCorrupt, depth)
	}
	return u.update(depth, n, kvs)
}

// Prove returns the proof of what key maps to: the siblings on the walk from the root towards key, and
// the terminal where the walk stops (an empty subtree, key's leaf or another key's leaf). The proof
// verifies with receipt.VerifyMapInclusion or receipt.VerifyMapAbsence against Root.
func Prove(read Read, key [32]byte) (receipt.MapProof, error) {
	var p receipt.MapProof
	n, ok, err := read(Path{})
	if err != nil || !ok {
		return p, err
	}
	for depth := 0; ; depth++ {
		if n.Leaf {
			switch {
			case n.Key == key:
				p.Terminal.Kind = receipt.TerminalMatch
			case pathTo(n.Key, depth) != pathTo(key, depth):
				return receipt.MapProof{}, fmt.Errorf("%w: leaf %x stored at depth %d off its path", ErrCorrupt, n.Key, depth)
			default:
				p.Terminal = receipt.Terminal{Kind: receipt.TerminalOther, Key: n.Key, Value: n.Value}
			}
			return p, nil
		}
		if depth >= receipt.MaxMapDepth {
			return receipt.MapProof{}, fmt.Errorf("%w: internal node at depth %d", ErrCorrupt, depth)
		}
		on, off := n.child(receipt.MapKeyBit(key, depth))
		p.Siblings = append(p.Siblings, off)
		if on == ([32]byte{}) {
			return p, nil // TerminalEmpty
		}
		if n, ok, err = read(pathTo(key, depth+1)); err != nil {
			return receipt.MapProof{}, err
		} else if !ok {
			return receipt.MapProof{}, fmt.Errorf("%w: no node at depth %d below a non-empty child", ErrCorrupt, depth+1)
		}
	}
}
