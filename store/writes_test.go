package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestWriteSetSort compares the grouped, run-aware sort with a plain sort of the same writes, on sets
// shaped like a block's (ordered runs, scattered keys, repeated keys, deletes, an empty key) and on
// random ones.
func TestWriteSetSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randKey := func(prefix byte, n int) []byte {
		k := make([]byte, n)
		for i := range k {
			k[i] = byte(rng.IntN(4)) // few distinct bytes: many equal keys and shared prefixes
		}
		if n > 0 {
			k[0] = prefix
		}
		return k
	}
	shapes := map[string]func(w *writeSet){
		"empty": func(*writeSet) {},
		"one":   func(w *writeSet) { w.set([]byte("a"), nil) },
		"ordered run then a few out of order": func(w *writeSet) {
			for i := range 500 {
				w.set(fmt.Appendf(nil, "m%06d", i), []byte{1})
			}
			for range 20 {
				w.delete(fmt.Appendf(nil, "m%06d", rng.IntN(600)))
			}
		},
		"long keys sharing their first 8 bytes": func(w *writeSet) {
			// Like the log's nodes or the nonce expiries: a prefix, then numbers, here out of order.
			for range 500 {
				k := []byte{'l', '/', byte(rng.IntN(2)), 0, 0, 0, 0, 0, 0, 0}
				k = append(k, byte(rng.IntN(3)), byte(rng.IntN(256)))
				w.set(k, []byte{byte(rng.IntN(256))})
			}
		},
		"an ordered run of long keys, then long keys out of order": func(w *writeSet) {
			for i := range 400 {
				w.set(fmt.Appendf(nil, "a/%012d", i), nil)
			}
			for range 100 {
				w.set(fmt.Appendf(nil, "a/%012d", rng.IntN(500)), []byte{1})
			}
		},
		"out of order from the start": func(w *writeSet) {
			for range 500 {
				w.set(randKey('a', 6), []byte{byte(rng.IntN(256))})
			}
		},
		"groups interleaved": func(w *writeSet) {
			for i := range 300 {
				w.set(fmt.Appendf(nil, "m%06d", i), nil)
				w.set(randKey('a', 5), nil)
				if i%7 == 0 {
					w.set(nil, []byte{byte(i)})
					w.delete(randKey(0xff, 3))
				}
			}
		},
		"random": func(w *writeSet) {
			for range 2000 {
				k := randKey(byte(rng.IntN(3)), rng.IntN(5))
				if rng.IntN(4) == 0 {
					w.delete(k)
				} else {
					w.set(k, []byte{byte(rng.IntN(256))})
				}
			}
		},
	}
	for name, fill := range shapes {
		for round := range 20 {
			var w writeSet
			fill(&w)
			// The order wanted, built without cmpOps: by key, writes of one key in the order staged.
			want := slices.Clone(w.ops)
			slices.SortStableFunc(want, func(x, y writeOp) int { return bytes.Compare(x.key, y.key) })
			w.sort()
			if len(w.ops) != len(want) {
				t.Fatalf("%s #%d: %d writes after the sort, want %d", name, round, len(w.ops), len(want))
			}
			for i := range want {
				g, x := w.ops[i], want[i]
				if !bytes.Equal(g.key, x.key) || g.seq != x.seq || g.del != x.del || !bytes.Equal(g.value, x.value) {
					t.Fatalf("%s #%d: write %d is %q (seq %d), want %q (seq %d)", name, round, i, g.key, g.seq, x.key, x.seq)
				}
			}
		}
	}
}

// BenchmarkSortOps sorts a block's anchor records (40,000 keys under random hashes, as staged) with
// sortByPrefix and with a sort of the writes themselves by cmpOps.
func BenchmarkSortOps(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]writeOp, 40_000)
	for i := range ops {
		k := make([]byte, 34)
		k[0], k[1] = pAnchor, sep
		for j := 2; j < len(k); j++ {
			k[j] = byte(rng.IntN(256))
		}
		ops[i] = writeOp{key: k, value: make([]byte, 80), seq: i}
	}
	for _, s := range []struct {
		name string
		sort func([]writeOp)
	}{
		{"prefix", sortByPrefix},
		{"whole", func(o []writeOp) { slices.SortFunc(o, cmpOps) }},
	} {
		b.Run(s.name, func(b *testing.B) {
			work := make([]writeOp, len(ops))
			for b.Loop() {
				copy(work, ops)
				s.sort(work)
			}
		})
	}
}
