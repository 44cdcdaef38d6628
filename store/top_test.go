package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// lowTop moves the map's top boundary to depth d for one test, so that a few thousand keys have nodes on
// both sides of it.
func lowTop(t *testing.T, d int) {
	if d > topDepthMax {
		t.Fatalf("top depth %d beyond %d", d, topDepthMax)
	}
	saved := topDepth
	topDepth = d
	t.Cleanup(func() { topDepth = saved })
}

// memMap is the reference: the whole map in memory, every node written where tree.Update says.
type memMap map[tree.Path]tree.Node

func (m memMap) read(p tree.Path) (tree.Node, bool, error) { n, ok := m[p]; return n, ok, nil }

func (m memMap) apply(t *testing.T, kvs []tree.KV) [32]byte {
	t.Helper()
	root, writes, err := tree.Update(m.read, kvs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		m[w.Path] = w.Node
	}
	return root
}

func docOf(i uint64) [32]byte { return hash(string(binary.BigEndian.AppendUint64(nil, i))) }

// mapChain saves blocks on an authChain and applies them to a reference map as well.
type mapChain struct {
	*authChain
	ref  memMap
	rng  *rand.Rand
	next uint64 // documents 0..next-1 are anchored
}

// newMapChain lowers the map's top boundary to depth 6 for the test, opens a store in dir and starts a
// chain on it.
func newMapChain(t *testing.T, dir string, seed uint64) *mapChain {
	lowTop(t, 6)
	s := openStore(t, dir, nil)
	return &mapChain{authChain: newAuthChain(t, s), ref: memMap{}, rng: rand.New(rand.NewPCG(seed, seed+1))}
}

// blocks anchors n blocks of random sizes up to most (re-anchoring some earlier documents, which
// changes their values) and checks every checkpoint's map root against the reference.
func (m *mapChain) blocks(t *testing.T, n, most int) {
	t.Helper()
	for range n {
		var docs [][32]byte
		for range 1 + m.rng.IntN(most) {
			if m.next > 0 && m.rng.IntN(10) == 0 {
				docs = append(docs, docOf(m.rng.Uint64N(m.next)))
				continue
			}
			docs = append(docs, docOf(m.next))
			m.next++
		}
		b := m.block(false, docs...)
		var kvs []tree.KV
		for _, a := range b.Anchors {
			kvs = append(kvs, tree.KV{Key: a.DocHash, Value: receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)})
		}
		if want, got := m.ref.apply(t, kvs), m.cps[m.height].MapRoot; got != want {
			t.Fatalf("height %d: map root %x, reference %x", m.height, got, want)
		}
	}
}

// The top kept in memory gives the same roots and proofs as the whole map kept anywhere, across a
// reopen (which rebuilds the top from the anchors and the nodes at the boundary), with leaves above the
// boundary pushed down by later keys, and for receipts at every height still held.
func TestMapTopMatchesReference(t *testing.T) {
	dir := t.TempDir()
	c := newMapChain(t, dir, 1)
	c.blocks(t, 6, 4) // a shallow tree: leaves above the boundary, later pushed down
	leaves := 0
	for p, n := range c.ref {
		if int(p.Depth) < topDepth && n.Leaf {
			leaves++
		}
	}
	if leaves == 0 {
		t.Fatal("no leaf above the boundary: the test does not test the top's leaves")
	}
	closeStore(t, c.s)
	c.s = openStore(t, dir, nil) // rebuilds the top from the anchors and checks it against the last checkpoint
	c.blocks(t, 12, 600)
	closeStore(t, c.s)

	s := openStore(t, dir, nil)
	c.s = s
	c.blocks(t, 12, 600)
	next := c.next
	for h := c.height - keepSnapshots + 2; h < c.height; h++ {
		// The first document was anchored in the first block; later ones may not be yet at h.
		if res := c.verified(t, docOf(0), h); res.State != receipt.StateAnchored {
			t.Fatalf("doc 0 at height %d: %v", h, res.State)
		}
		for _, i := range []uint64{next / 2, next - 1} {
			if res := c.verified(t, docOf(i), h); res.State != receipt.StateAnchored && res.State != receipt.StateUnknown {
				t.Fatalf("doc %d at height %d: %v", i, h, res.State)
			}
		}
		if res := c.verified(t, docOf(next+5), h); res.State != receipt.StateUnknown {
			t.Fatalf("a document never anchored: %v at height %d", res.State, h)
		}
	}

	// Pebble holds no node above the boundary: the top's leaves are the anchors' (layout 2).
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pMap, sep}, UpperBound: []byte{pMap, sep, 0, byte(topDepth)}})
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		p, err := tree.ParsePath(it.Key()[2:])
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("Pebble holds a node at depth %d, above the boundary %d", p.Depth, topDepth)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
}

// A Reader created before a commit keeps reading the map as of its snapshot, also the top.
func TestMapTopReaderIsolation(t *testing.T) {
	c := newMapChain(t, t.TempDir(), 3)
	s := c.s
	defer closeStore(t, s)
	c.blocks(t, 4, 600)
	r, err := s.NewReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want, err := tree.Root(c.ref.read)
	if err != nil {
		t.Fatal(err)
	}
	c.blocks(t, 4, 600)
	got, err := tree.Root(r.MapRead())
	if err != nil || got != want {
		t.Fatalf("root through a Reader from before 4 commits: %x, %v; want %x", got, err, want)
	}
	c.blocks(t, keepGenerations, 600)
	if _, err := tree.Root(r.MapRead()); !errors.Is(err, errTopTooOld) {
		t.Fatalf("a Reader more than %d commits behind: %v, want errTopTooOld", keepGenerations, err)
	}
}

// Stores written before the top was kept in memory hold internal nodes above the boundary, stale after
// the next block: Open ignores them. A node missing at the boundary, or an anchor whose stored map
// value is not the one in the map, is found at Open.
func TestMapTopLoad(t *testing.T) {
	lowTop(t, 6)
	setup := func(t *testing.T) (string, memMap) {
		dir := t.TempDir()
		c := newMapChain(t, dir, 5)
		c.blocks(t, 6, 600)
		closeStore(t, c.s)
		return dir, c.ref
	}
	// edit changes the stored map with f and opens the store.
	edit := func(t *testing.T, dir string, f func(db *pebble.DB, b *pebble.Batch)) error {
		rawEdit(t, dir, f)
		return tryOpen(dir)
	}
	t.Run("stale internal nodes above", func(t *testing.T) {
		dir, _ := setup(t)
		err := edit(t, dir, func(_ *pebble.DB, b *pebble.Batch) {
			stale := tree.Node{Left: hash("stale l"), Right: hash("stale r")}
			for d := range topDepth {
				_ = b.Set(tree.PathTo(hash("x"), d).AppendKey([]byte{pMap, sep}), stale.Encode(), nil)
			}
		})
		if err != nil {
			t.Fatalf("open with stale internal nodes above the boundary: %v", err)
		}
	})
	t.Run("node missing at the boundary", func(t *testing.T) {
		dir, ref := setup(t)
		var victim tree.Path
		for p := range ref {
			if int(p.Depth) == topDepth {
				victim = p
				break
			}
		}
		err := edit(t, dir, func(_ *pebble.DB, b *pebble.Batch) { _ = b.Delete(victim.AppendKey([]byte{pMap, sep}), nil) })
		if !errors.Is(err, tree.ErrCorrupt) {
			t.Fatalf("open without a node at depth %d: %v, want ErrCorrupt", topDepth, err)
		}
	})
	t.Run("anchor's map value altered", func(t *testing.T) {
		// A few keys, so that their leaves are in the top, which is rebuilt from the anchors' values.
		dir := t.TempDir()
		c := newMapChain(t, dir, 5)
		c.blocks(t, 2, 4)
		closeStore(t, c.s)
		doc := docOf(0)
		inTop := false
		for p, n := range c.ref {
			inTop = inTop || (n.Leaf && n.Key == doc && int(p.Depth) < topDepth)
		}
		if !inTop {
			t.Fatal("doc 0's leaf is not above the boundary: the test does not test the top")
		}
		err := edit(t, dir, func(db *pebble.DB, b *pebble.Batch) {
			k := key(pAnchor, doc[:])
			v, closer, err := db.Get(k)
			if err != nil {
				t.Fatal(err)
			}
			v = slices.Clone(v)
			closer.Close()
			v[len(v)-1] ^= 1 // the map value's last byte
			_ = b.Set(k, v, nil)
		})
		if !errors.Is(err, tree.ErrCorrupt) {
			t.Fatalf("open with an anchor's map value altered: %v, want ErrCorrupt", err)
		}
	})
}

// A block whose batch fails to commit may still be in Pebble (a WAL sync error is reported after the
// batch was applied), out of step with the map's top in memory: the store refuses further blocks and
// Readers until it is reopened (Open rebuilds the top from Pebble, TestMapTopLoad).
func TestFailedCommitStopsTheStore(t *testing.T) {
	c := newMapChain(t, t.TempDir(), 7)
	s := c.s
	c.blocks(t, 3, 300)

	// The batch is applied, then the commit reports an error, as after a failed WAL sync.
	s.commit = func(b *pebble.Batch) error {
		return errors.Join(b.Commit(pebble.Sync), errors.New("injected sync failure"))
	}
	c.height++
	if err := s.Save(&Block{Commit: Commit{Height: c.height}}); err == nil {
		t.Fatal("Save with a failing commit succeeded")
	}
	s.commit = commitBatch
	if err := s.Save(&Block{Commit: Commit{Height: c.height + 1}}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Save after a failed commit: %v, want ErrFailed", err)
	}
	if _, err := s.NewReader(); !errors.Is(err, ErrFailed) {
		t.Fatalf("NewReader after a failed commit: %v, want ErrFailed", err)
	}
	closeStore(t, s)
}

// The top's change does not depend on the order of the writes it is given (tree.Update sorts them;
// Block.MapWrites from elsewhere might not): the change comes out the same, in order of position, which
// the undo lists that commit makes from it must be in for read's search.
func TestMapTopChangeOrder(t *testing.T) {
	dir := t.TempDir()
	c := newMapChain(t, dir, 9)
	c.blocks(t, 4, 4) // leaves above the boundary
	kvs := []tree.KV{}
	for i := range 300 {
		kvs = append(kvs, tree.KV{Key: docOf(uint64(1000 + i)), Value: hash(fmt.Sprint("v", i))})
	}
	_, writes, err := tree.Update(c.s.MapRead(), kvs)
	if err != nil {
		t.Fatal(err)
	}
	change := func(ws []tree.Write) []topEntry {
		var w writeSet
		return c.s.top.stageMap(&w, ws).writes
	}
	want := change(writes)
	if !slices.IsSortedFunc(want, func(a, b topEntry) int { return a.cmp(b.depth, b.index) }) {
		t.Fatal("the change is not in order of position")
	}
	reversed := slices.Clone(writes)
	slices.Reverse(reversed)
	if got := change(reversed); !slices.Equal(got, want) {
		t.Errorf("reversed writes: %d entries, sorted: %d (or different ones)", len(got), len(want))
	}
	closeStore(t, c.s)
}

// TestTopLevelSparseThenDense checks a depth of the top through its change from a map to an array: every
// node stays where it was put, a cleared position reads as empty, and the array comes when an eighth of
// the positions are used, not before.
func TestTopLevelSparseThenDense(t *testing.T) {
	const depth = 10
	var l topLevel
	want := map[uint32]topNode{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; len(want) < 1<<depth/4; step++ {
		i := rng.Uint32N(1 << depth)
		n := topNode{kind: topLeaf, a: hash(fmt.Sprint(step))}
		if step%7 == 3 {
			n = topNode{} // clearing a position, used or not
			delete(want, i)
		} else {
			want[i] = n
		}
		wasDense := l.dense != nil
		l.put(depth, i, n)
		if !wasDense && (l.dense != nil) != (len(want) >= 1<<depth/8) {
			t.Fatalf("step %d, %d nodes: array %v", step, len(want), l.dense != nil)
		}
		for j := range uint32(1 << depth) {
			if got := l.get(j); got != want[j] {
				t.Fatalf("step %d: position %d holds %v, want %v", step, j, got, want[j])
			}
		}
	}
	if l.dense == nil {
		t.Fatalf("%d nodes of %d positions still in a map", len(want), 1<<depth)
	}
}

// A block's change is kept as its undo list for keepGenerations commits and its memory then serves a
// later change of about its size: after a large block, a run of empty ones lets the large lists go.
func TestTopUndoMemory(t *testing.T) {
	var top topTree
	var big []tree.Write
	for i := range 5000 {
		big = append(big, tree.Write{Path: tree.PathTo(docOf(uint64(i)), 16), Node: tree.Node{Leaf: true, Key: docOf(uint64(i))}})
	}
	for range 3 {
		top.commit(top.change(big))
	}
	for range keepGenerations + 2 {
		top.commit(top.change(nil))
	}
	if c := cap(top.spare); c > 1024 {
		t.Errorf("after empty blocks the spare undo list has room for %d entries", c)
	}
	for i, u := range top.undo {
		if cap(u) > 1024 {
			t.Errorf("undo list %d of an empty block has room for %d entries", i, cap(u))
		}
	}
}
