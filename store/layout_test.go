package store

import (
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// logNodes returns every complete node of the store's log, read through its tiles.
func logNodes(t *testing.T, s *Store) map[[2]uint64][32]byte {
	t.Helper()
	st, err := s.LogState()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]uint64][32]byte{}
	for level := uint64(0); st.Size>>level > 0; level++ {
		for i := range st.Size >> level {
			h, err := s.readLogNode(uint8(level), i)
			if err != nil {
				t.Fatal(err)
			}
			out[[2]uint64{level, i}] = h
		}
	}
	return out
}

// toLayout1 rewrites a closed store as a build before layout 2 left it: anchor values without their map
// value (every fifth as written before anchors were stored in two parts: log index and whole record),
// the top's leaves stored under s/ (with a stale internal node above the boundary, as stores
// older still hold), every log node under its own key and no tiles, and no layout marker.
func toLayout1(t *testing.T, dir string, ref memMap, log map[[2]uint64][32]byte) (anchors, leaves int) {
	t.Helper()
	rawEdit(t, dir, func(db *pebble.DB, b *pebble.Batch) {
		_ = b.DeleteRange([]byte{pTile, sep}, []byte{pTile, sep + 1}, nil)
		for id, h := range log {
			_ = b.Set(key(pLog, []byte{uint8(id[0])}, u64(id[1])), h[:], nil)
		}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{pAnchor, sep}, UpperBound: []byte{pAnchor, sep + 1}})
		if err != nil {
			t.Fatal(err)
		}
		get := func(k []byte) ([]byte, error) {
			v, closer, err := db.Get(k)
			if errors.Is(err, pebble.ErrNotFound) {
				return nil, ErrNotFound
			} else if err != nil {
				return nil, err
			}
			defer closer.Close()
			return slices.Clone(v), nil
		}
		for it.First(); it.Valid(); it.Next() {
			v := slices.Clone(it.Value())
			if v[24]&anchorHasMapValue == 0 {
				t.Fatalf("anchor %x written without its map value", it.Key()[2:])
			}
			v[24] &^= anchorHasMapValue
			v = v[:len(v)-32]
			if anchors%5 == 0 {
				// Every fifth as written before anchors were stored in two parts: log index and whole record.
				a, err := readAnchor(get, [32]byte(it.Key()[2:]))
				if err != nil {
					t.Fatal(err)
				}
				v = append(u64(a.LogIndex), a.Record.Encode()...)
			}
			if err := b.Set(it.Key(), v, nil); err != nil {
				t.Fatal(err)
			}
			anchors++
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		for p, n := range ref {
			if int(p.Depth) < topDepth && n.Leaf {
				_ = b.Set(p.AppendKey([]byte{pMap, sep}), n.Encode(), nil)
				leaves++
			}
		}
		stale := tree.Node{Left: hash("stale l"), Right: hash("stale r")}
		_ = b.Set(tree.PathTo(hash("x"), 1).AppendKey([]byte{pMap, sep}), stale.Encode(), nil)
		_ = b.Delete(key(pMeta, []byte(metaLayout)), nil)
	})
	return anchors, leaves
}

// rawEdit changes the closed store in dir with f, through Pebble alone, in one synced batch.
func rawEdit(t *testing.T, dir string, f func(db *pebble.DB, b *pebble.Batch)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Comparer: keyComparer()})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	f(db, b)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// tryOpen opens the store in dir and closes it again, and returns Open's error.
func tryOpen(dir string) error {
	s, err := Open(dir, Options{CacheBytes: 1 << 20})
	if err == nil {
		err = s.Close()
	}
	return err
}

// A store of layout 1 opens: Open adds the map value to each anchor value, writes the log's tiles,
// deletes the map nodes above the boundary and the log nodes, and writes the marker; the top it rebuilds gives the last checkpoint's root (Open checks)
// and the chain goes on with the same roots as the reference.
func TestLayoutMigration(t *testing.T) {
	dir := t.TempDir()
	c, log, anchors := layout1Chain(t, dir, 11)
	c.s = openStore(t, dir, nil)
	checkMigrated(t, c, dir, log, anchors)
}

// layout1Chain writes a chain of 8 blocks in dir with the map's top boundary at depth 12 (4,096
// positions: a log of several tiles, and leaves still above the boundary), rewrites the closed store
// into layout 1 and returns the chain, its log nodes and its number of anchors.
func layout1Chain(t *testing.T, dir string, seed uint64) (*mapChain, map[[2]uint64][32]byte, int) {
	t.Helper()
	lowTop(t, 12)
	c := &mapChain{authChain: newAuthChain(t, openStore(t, dir, nil)), ref: memMap{}, rng: rand.New(rand.NewPCG(seed, seed+1))}
	c.blocks(t, 8, 100)
	log := logNodes(t, c.s)
	if len(log) < 2*tileWidth {
		t.Fatalf("%d log nodes: the test does not test a log of several tiles", len(log))
	}
	closeStore(t, c.s)
	anchors, leaves := toLayout1(t, dir, c.ref, log)
	if leaves == 0 {
		t.Fatal("no leaf above the boundary: the test does not test their migration")
	}
	return c, log, anchors
}

// A migration cut short after some of its batches (as by a crash) is taken up at the next Open, and
// the store then passes the same checks as after a migration run whole (checkMigrated).
func TestLayoutMigrationResumed(t *testing.T) {
	dir := t.TempDir()
	c, log, anchors := layout1Chain(t, dir, 11)
	savedBatch := migrateBatch
	migrateBatch = 50
	t.Cleanup(func() { migrateBatch, migrateCommitted = savedBatch, nil })
	if anchors < 4*migrateBatch {
		t.Fatalf("%d anchors: too few for batches of %d", anchors, migrateBatch)
	}
	crash := errors.New("crash")
	migrateCommitted = func(rewritten int) error {
		if rewritten >= 2*migrateBatch {
			return crash
		}
		return nil
	}
	if err := tryOpen(dir); !errors.Is(err, crash) {
		t.Fatalf("open with the migration cut short: %v", err)
	}
	// Part of the anchors carry their map value now, and nothing else has changed yet.
	rewritten := 0
	rawEdit(t, dir, func(db *pebble.DB, _ *pebble.Batch) {
		if err := eachAnchor(db, func(doc [32]byte, v []byte) error {
			if len(v) > maxAnchorValueLen {
				return nil // a whole record, left as it is
			}
			if _, hasMap, err := decodeAnchorValue(doc, v); err != nil {
				return err
			} else if hasMap {
				rewritten++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if v, closer, err := db.Get(key(pMeta, []byte(metaLayout))); err == nil {
			closer.Close()
			t.Fatalf("layout marker %x written by a migration cut short", v)
		}
	})
	if rewritten != 2*migrateBatch {
		t.Fatalf("%d anchor values rewritten before the cut, want %d", rewritten, 2*migrateBatch)
	}
	migrateCommitted = nil
	c.s = openStore(t, dir, nil)
	checkMigrated(t, c, dir, log, anchors)
}

// checkMigrated checks the store c.s, just migrated from layout 1 in dir: the log reads back as log,
// no log node and no map node above the boundary is left, every one of the anchors carries its map
// value but those with a whole record (toLayout1's every fifth), the marker is written; then the chain goes on with the reference's roots, also after a
// reopen (which does not migrate again).
func checkMigrated(t *testing.T, c *mapChain, dir string, log map[[2]uint64][32]byte, anchors int) {
	t.Helper()
	s := c.s
	if got := logNodes(t, s); !maps.Equal(got, log) {
		t.Fatalf("log nodes after the migration differ (%d, %d before)", len(got), len(log))
	}
	for _, pfx := range []byte{pLog} {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfx, sep}, UpperBound: []byte{pfx, sep + 1}})
		if err != nil {
			t.Fatal(err)
		}
		if it.First() {
			t.Errorf("a log node is left after the migration: %x", it.Key())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pAnchor, sep}, UpperBound: []byte{pAnchor, sep + 1}})
	if err != nil {
		t.Fatal(err)
	}
	n, whole := 0, 0
	for it.First(); it.Valid(); it.Next() {
		n++
		if len(it.Value()) > maxAnchorValueLen {
			whole++ // left as it is: loadTop computes its map value from the record
			continue
		}
		if _, hasMap, err := decodeAnchorValue([32]byte(it.Key()[2:]), it.Value()); err != nil || !hasMap {
			t.Errorf("anchor %x after the migration: map value %v, %v", it.Key()[2:], hasMap, err)
		}
	}
	if err := it.Close(); err != nil || n != anchors {
		t.Fatalf("%d anchors after the migration, %d before (%v)", n, anchors, err)
	}
	if want := (anchors + 4) / 5; whole != want {
		t.Fatalf("%d anchors with a whole record after the migration, %d before", whole, want)
	}
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pMap, sep}, UpperBound: []byte{pMap, sep, 0, byte(topDepth)}})
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		t.Errorf("a node above the boundary is left after the migration: %x", it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.get(key(pMeta, []byte(metaLayout))); err != nil || !slices.Equal(v, layoutValue()) {
		t.Fatalf("layout marker %x, %v", v, err)
	}
	c.blocks(t, 4, 300) // checks each root against the reference
	closeStore(t, c.s)
	c.s = openStore(t, dir, nil)
	c.blocks(t, 1, 10)
	closeStore(t, c.s)
}

// A store written with another boundary, or by a newer build, is refused with ErrLayout.
func TestLayoutRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"other top depth", func() []byte { v := layoutValue(); v[15]++; return v }()},
		{"newer layout", func() []byte { v := layoutValue(); v[7]++; return v }()},
		{"corrupt record", []byte{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			closeStore(t, openStore(t, dir, nil))
			rawEdit(t, dir, func(_ *pebble.DB, b *pebble.Batch) { _ = b.Set(key(pMeta, []byte(metaLayout)), tc.value, nil) })
			if err := tryOpen(dir); !errors.Is(err, ErrLayout) {
				t.Fatalf("open: %v, want ErrLayout", err)
			}
		})
	}
}

// Revoked documents' leaves are rebuilt from their record and revocation (their anchor values hold the
// anchored state's map value): Open, which checks the rebuilt root against the last checkpoint, accepts
// the store as written and after a migration from layout 1.
func TestLayoutRevokedLeaves(t *testing.T) {
	dir := t.TempDir()
	c := newMapChain(t, dir, 13)
	c.blocks(t, 2, 5)  // a few keys: leaves above the boundary
	var top [][32]byte // two documents whose leaves are above the boundary
	for i := range c.next {
		for p, n := range c.ref {
			if n.Leaf && n.Key == docOf(i) && int(p.Depth) < topDepth && len(top) < 2 {
				top = append(top, n.Key)
			}
		}
	}
	if len(top) < 2 {
		t.Fatal("fewer than two leaves above the boundary: the test does not test them")
	}
	revs := c.revoke(1, nil, top...)
	var kvs []tree.KV
	for _, rv := range revs {
		a, err := c.s.Anchor(rv.Doc)
		if err != nil || a.Revocation == nil {
			t.Fatalf("revoked %x: %v, %v", rv.Doc[:4], a.Revocation, err)
		}
		kvs = append(kvs, tree.KV{Key: rv.Doc, Value: receipt.MapValue(&a.Record, receipt.StateRevoked, a.LogIndex, a.Revocation)})
	}
	if got, want := c.ref.apply(t, kvs), c.cps[c.height].MapRoot; got != want {
		t.Fatalf("map root after the revocations %x, reference %x", want, got)
	}
	log := logNodes(t, c.s)
	closeStore(t, c.s)
	if err := tryOpen(dir); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	toLayout1(t, dir, c.ref, log)
	if err := tryOpen(dir); err != nil {
		t.Fatalf("open after the migration: %v", err)
	}
}
