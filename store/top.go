package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// topDepth divides the authenticated map in two. The nodes at depths below it (the top) live in memory;
// only those at topDepth and deeper, and every leaf, are written to Pebble. The top has at most
// 2^topDepth - 1 positions, whatever the number of anchors, 65 bytes each: 272 MB (260 MiB) at 22.
// Below that it grows with the anchors (topLevel; measured at 10,000, 100,000 and 1,000,000 random
// keys: 2, 36 and 260 MiB, about 210-380 bytes per anchor). Every block's update rewrites much of the top (in a block of 10,000 anchors every
// node down to depth 13, and about 10,000 at each depth below), so keeping it out of Pebble saves most
// of the map's reads and over half of its writes, and the compactions those writes cause
// (docs/PERFORMANCE.md: 22 levels instead of 20 took BenchmarkValidatorPipeline from 25.5-26.1 to
// 19.2-22.3 us of CPU per anchor on a store growing to 1.5 million anchors). Open rebuilds the top from
// the nodes at topDepth and the leaves above it, and checks the root against the last checkpoint.
// Neither the app hash nor the proofs depend on where a node is kept. A variable only so that tests can
// move the boundary to where a few thousand keys reach past it.
var topDepth = 22

// topDepthMax bounds topDepth: topIndex reads a position's first 24 bits.
const topDepthMax = 24

// keepGenerations is how many commits back the top can be read: the snapshots that receipts use
// (keepSnapshots) and a margin for a Reader created just before a commit.
const keepGenerations = keepSnapshots + 4

// errTopTooOld is returned when the top is read as of a commit it no longer holds. Like a released
// snapshot it means the height's state is gone, and callers treat it so (a receipt is built again at
// the newest signed height): it wraps ErrNoSnapshot.
var errTopTooOld = fmt.Errorf("%w: the map's state of that commit is no longer held", ErrNoSnapshot)

// topTree is the map's top as of each of the last keepGenerations commits. gen counts commits since
// Open. levels[d] holds the nodes at depth d by their position, their bits as a number (topLevel), as
// of gen. undo[i] lists, for the commit that made generation undoFrom+i, the positions it changed with
// what they held before, in order of position.
type topTree struct {
	mu       sync.RWMutex
	gen      uint64
	levels   []topLevel
	undo     [][]topEntry
	undoFrom uint64
	spare    []topEntry // the undo list last let go, for change to reuse
}

// topNode is a tree.Node in 65 bytes: kind 0 for no node, 1 for a leaf (key, value in a, b), 2 for an
// internal node (left, right in a, b).
type topNode struct {
	kind uint8
	a, b [32]byte
}

const (
	topLeaf uint8 = 1 + iota
	topInternal
)

func toTop(n tree.Node) topNode {
	if n.Leaf {
		return topNode{kind: topLeaf, a: n.Key, b: n.Value}
	}
	return topNode{kind: topInternal, a: n.Left, b: n.Right}
}

func (t topNode) node() (tree.Node, bool) {
	switch t.kind {
	case topLeaf:
		return tree.Node{Leaf: true, Key: t.a, Value: t.b}, true
	case topInternal:
		return tree.Node{Left: t.a, Right: t.b}, true
	}
	return tree.Node{}, false
}

// topIndex is p's place among the positions of its depth (< topDepth <= 24): its bits as a number.
func topIndex(p tree.Path) uint32 {
	if p.Depth == 0 {
		return 0
	}
	v := uint32(p.Bits[0])<<16 | uint32(p.Bits[1])<<8 | uint32(p.Bits[2])
	return v >> (24 - p.Depth)
}

// topEntry is a node at a position of the top: a block's new node there, or, in an undo list, the node
// it replaced.
type topEntry struct {
	depth uint16
	index uint32
	node  topNode
}

func (e topEntry) cmp(depth uint16, index uint32) int {
	if e.depth != depth {
		return int(e.depth) - int(depth)
	}
	return int(int64(e.index) - int64(index))
}

// topLevel holds the nodes of one depth: in a map while they are few, then in an array of all 2^depth
// positions. Random keys reach deep early (two of a few thousand keys share 22 bits), so an array per
// depth from the first node on would cost the whole top's memory, 260 MiB, for a small store. The
// array takes over once an eighth of the positions are used, trading memory for speed: a map costs
// about twice an array's bytes per node, so at the switch the array takes about four times the map's
// bytes, but with the whole top in maps their hashing and lookups took a third of the CPU (39-43
// against 25 us per anchor with arrays, docs/PERFORMANCE.md). The eighth itself was not measured
// against other thresholds.
//
// In the array each position's two hashes take one 64-byte slot, a cache line (Go aligns large
// allocations to pages), and its kind a byte of its own: a lookup touches one line of the hashes
// instead of the two that 65-byte nodes mostly straddle, and none for an empty position. The lookups
// miss the caches (a block touches positions spread over the whole of each deep level): with 65-byte
// nodes they were 10.8% of a loaded validator's CPU (docs/PERFORMANCE.md).
type topLevel struct {
	dense  [][64]byte
	kinds  []uint8
	sparse map[uint32]topNode
}

func (l *topLevel) get(i uint32) topNode {
	if l.dense == nil {
		return l.sparse[i]
	}
	k := l.kinds[i]
	if k == 0 {
		return topNode{}
	}
	d := &l.dense[i]
	return topNode{kind: k, a: [32]byte(d[:32]), b: [32]byte(d[32:])}
}

func (l *topLevel) put(depth uint16, i uint32, n topNode) {
	if l.dense != nil {
		l.set(i, n)
		return
	}
	if l.sparse == nil {
		l.sparse = map[uint32]topNode{}
	}
	if n.kind == 0 {
		delete(l.sparse, i)
		return
	}
	l.sparse[i] = n
	if len(l.sparse) >= 1<<depth/8 {
		l.dense = make([][64]byte, 1<<depth)
		l.kinds = make([]uint8, 1<<depth)
		for j, m := range l.sparse {
			l.set(j, m)
		}
		l.sparse = nil
	}
}

// set stores n at position i of the array.
func (l *topLevel) set(i uint32, n topNode) {
	l.kinds[i] = n.kind
	d := &l.dense[i]
	copy(d[:32], n.a[:])
	copy(d[32:], n.b[:])
}

// at returns the node at p as of t.gen; t.mu is held.
func (t *topTree) at(p tree.Path) topNode {
	if int(p.Depth) >= len(t.levels) {
		return topNode{}
	}
	return t.levels[p.Depth].get(topIndex(p))
}

// read returns the node at p (Depth < topDepth) as of generation gen.
func (t *topTree) read(gen uint64, p tree.Path) (tree.Node, bool, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if gen > t.gen {
		return tree.Node{}, false, fmt.Errorf("store: map read at generation %d, ahead of %d", gen, t.gen)
	}
	if gen < t.gen {
		if gen+1 < t.undoFrom {
			return tree.Node{}, false, errTopTooOld
		}
		// The first commit after gen that changed p knows what p held at gen.
		idx := topIndex(p)
		for _, u := range t.undo[gen+1-t.undoFrom:] {
			if i, found := slices.BinarySearchFunc(u, p.Depth, func(e topEntry, d uint16) int { return e.cmp(d, idx) }); found {
				n, ok := u[i].node.node()
				return n, ok, nil
			}
		}
	}
	n, ok := t.at(p).node()
	return n, ok, nil
}

// set stores n at p; t.mu is held for writing.
func (t *topTree) set(p tree.Path, n topNode) {
	t.put(topEntry{depth: p.Depth, index: topIndex(p), node: n})
}

// put stores e's node at e's position and returns what was there; t.mu is held for writing.
func (t *topTree) put(e topEntry) topNode {
	for len(t.levels) <= int(e.depth) {
		t.levels = append(t.levels, topLevel{})
	}
	l := &t.levels[e.depth]
	prev := l.get(e.index)
	l.put(e.depth, e.index, e.node)
	return prev
}

// topChange is what a block changes in the top, prepared by stageMap before the block commits and
// applied by commit after: the new node at each position, in order of position.
type topChange struct {
	writes []topEntry
}

// change prepares the top's part of a block's map writes, which tree.Update returns in its walk order:
// grouped here by depth, each depth's writes keep their order, that of their positions.
func (t *topTree) change(writes []tree.Write) *topChange {
	// at[d] counts the writes at depth d, then becomes where they go.
	var at [topDepthMax + 1]int
	for _, w := range writes {
		if int(w.Path.Depth) < topDepth {
			at[w.Path.Depth+1]++
		}
	}
	for d := 1; d < len(at); d++ {
		at[d] += at[d-1]
	}
	n := at[len(at)-1] // the writes above topDepth
	// A block's change becomes its undo list (commit), let go keepGenerations commits later: its
	// memory serves a later change (each took 17 MB in BenchmarkValidatorPipeline/block=40000), one of
	// about its size only, so that small blocks after large ones do not keep large lists alive.
	t.mu.Lock()
	buf := t.spare
	fits := cap(buf) >= n && cap(buf) <= 2*n+1024
	if fits {
		t.spare = nil
	}
	t.mu.Unlock()
	if !fits {
		buf = make([]topEntry, 0, n+n/8)
	}
	c := &topChange{writes: buf[:n]}
	for _, w := range writes {
		if d := w.Path.Depth; int(d) < topDepth {
			c.writes[at[d]] = topEntry{depth: d, index: topIndex(w.Path), node: toTop(w.Node)}
			at[d]++
		}
	}
	byPosition := func(a, b topEntry) int { return a.cmp(b.depth, b.index) }
	if !slices.IsSortedFunc(c.writes, byPosition) {
		slices.SortFunc(c.writes, byPosition) // tree.Update's walk gives each depth in this order already
	}
	return c
}

// commit applies a committed block's change (made by change on the same generation) and moves to the
// next generation; c is used up. What each position held before goes into the generation's undo list,
// in order of position, for read's search; it is read where it is replaced, one cache miss for both
// (read apart from the write, in change, the lookups took 5% of a loaded validator's CPU). The undo
// list is c's own memory, each entry's node swapped for the one it replaced.
func (t *topTree) commit(c *topChange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	undo := c.writes
	c.writes = nil
	for i := range undo {
		undo[i].node = t.put(undo[i])
	}
	t.gen++
	if len(t.undo) == 0 {
		t.undoFrom = t.gen
	}
	t.undo = append(t.undo, undo)
	if len(t.undo) > keepGenerations {
		t.spare = t.undo[0] // the latest list let go: the size of recent blocks
		t.undo[0] = nil
		t.undo = t.undo[1:]
		t.undoFrom++
	}
}

// generation returns the generation of the last commit.
func (t *topTree) generation() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.gen
}

// mapRead returns a tree.Read as of generation gen: the top from memory, the rest through get, which
// must read Pebble as of the same commit.
func (t *topTree) mapRead(gen uint64, get func([]byte) ([]byte, error)) tree.Read {
	below := mapRead(get)
	return func(p tree.Path) (tree.Node, bool, error) {
		if int(p.Depth) < topDepth {
			return t.read(gen, p)
		}
		return below(p)
	}
}

// stageMap adds a block's map writes at topDepth and below to ws; nothing above topDepth is stored (the
// top's leaves are the anchors' map values, loadTop). It returns the top's change, for commit once the
// batch has committed.
func (t *topTree) stageMap(ws *writeSet, writes []tree.Write) *topChange {
	c := t.change(writes)
	for _, w := range writes {
		if int(w.Path.Depth) >= topDepth {
			ws.set(mapKey(ws, w.Path), w.Node.EncodeTo(ws.bytes(tree.EncodedLen)))
		}
	}
	return c
}

// mapKey is the store's key of the map node at p, in ws's arena.
func mapKey(ws *writeSet, p tree.Path) []byte {
	return p.AppendKey(append(ws.bytes(2 + p.KeyLen())[:0], pMap, sep))
}

// loadTop rebuilds the top: its leaves are the anchors' (topLeaves, which gives each document to
// seen), and below it are the nodes stored at topDepth.
func loadTop(db *pebble.DB, get func([]byte) ([]byte, error), seen func([32]byte)) (*topTree, error) {
	base, err := topLeaves(db, get, seen)
	if err != nil {
		return nil, err
	}
	lower := []byte{pMap, sep, byte(topDepth >> 8), byte(topDepth)}
	upper := []byte{pMap, sep, byte((topDepth + 1) >> 8), byte(topDepth + 1)}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("store: load map top: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		p, err := tree.ParsePath(it.Key()[2:])
		if err != nil {
			return nil, errors.Join(fmt.Errorf("store: load map top: %w", err), it.Close())
		}
		n, err := tree.DecodeNode(it.Value())
		if err != nil {
			return nil, errors.Join(fmt.Errorf("store: load map top at depth %d: %w", p.Depth, err), it.Close())
		}
		base = append(base, tree.Write{Path: p, Node: n})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("store: load map top: %w", err)
	}
	// Order by position along the keys: each subtree's entries are then contiguous.
	slices.SortFunc(base, func(a, b tree.Write) int {
		if c := bytes.Compare(a.Path.Bits[:], b.Path.Bits[:]); c != 0 {
			return c
		}
		return int(a.Path.Depth) - int(b.Path.Depth)
	})
	t := &topTree{}
	var build func(depth int, es []tree.Write) ([32]byte, error)
	build = func(depth int, es []tree.Write) ([32]byte, error) {
		if depth == topDepth {
			if len(es) != 1 {
				return [32]byte{}, fmt.Errorf("%w: %d nodes at one position of depth %d", tree.ErrCorrupt, len(es), depth)
			}
			return es[0].Node.Hash(), nil
		}
		if es[0].Node.Leaf && int(es[0].Path.Depth) == depth {
			if len(es) != 1 {
				return [32]byte{}, fmt.Errorf("%w: leaf at depth %d above other nodes", tree.ErrCorrupt, depth)
			}
			t.set(es[0].Path, toTop(es[0].Node))
			return es[0].Node.Hash(), nil
		}
		if len(es) == 1 && es[0].Node.Leaf {
			return [32]byte{}, fmt.Errorf("%w: lone leaf at depth %d below depth %d", tree.ErrCorrupt, es[0].Path.Depth, depth)
		}
		i, _ := slices.BinarySearchFunc(es, 1, func(e tree.Write, _ int) int {
			if receipt.MapKeyBit(e.Path.Bits, depth) == 1 {
				return 1
			}
			return -1
		})
		var n tree.Node
		var err error
		if i > 0 {
			if n.Left, err = build(depth+1, es[:i]); err != nil {
				return [32]byte{}, err
			}
		}
		if i < len(es) {
			if n.Right, err = build(depth+1, es[i:]); err != nil {
				return [32]byte{}, err
			}
		}
		t.set(tree.PathTo(es[0].Path.Bits, depth), toTop(n))
		return n.Hash(), nil
	}
	if len(base) > 0 {
		if _, err := build(0, base); err != nil {
			return nil, fmt.Errorf("store: load map top: %w", err)
		}
	}
	return t, nil
}

// loadTop rebuilds the map's top and checks it against the checkpoint of the last commit: a top that
// does not give the committed root would make the node compute wrong app hashes.
func (s *Store) loadTop() error {
	if err := checkLayout(s.db, s.get, s.logger); err != nil {
		return err
	}
	t, err := loadTop(s.db, s.get, func(doc [32]byte) { s.docs.add(doc) })
	if err != nil {
		return err
	}
	s.top = t
	c, err := s.LastCommit()
	if err != nil || c.Height == 0 {
		return err
	}
	cp, err := s.Checkpoint(c.Height)
	if errors.Is(err, ErrNotFound) {
		return nil // a store written by tests without checkpoints
	}
	if err != nil {
		return err
	}
	root, err := tree.Root(s.MapRead())
	if err != nil {
		return fmt.Errorf("store: map root: %w", err)
	}
	if root != cp.MapRoot {
		return fmt.Errorf("%w: the map's root %x is not the root %x of the checkpoint of height %d", tree.ErrCorrupt, root, cp.MapRoot, c.Height)
	}
	return nil
}
