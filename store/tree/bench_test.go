package tree_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// Benchmarks of this package, and of github.com/celestiaorg/smt doing the same work (celestia_test.go):
//
//	go test -tags pebbledb -run='^$' -bench=. -benchmem ./store/tree
//
// Both store nodes as bytes in a Go map, as a key-value store would: here Path.Key → Node.Encode.
// Trees of 10^6 keys are left out under -short.

// byteStore keeps encoded nodes under their encoded paths, so that reads and writes pay for encoding
// and decoding as they would against Pebble.
type byteStore map[string][]byte

func (s byteStore) read(p tree.Path) (tree.Node, bool, error) {
	var buf [34]byte
	b, ok := s[string(p.AppendKey(buf[:0]))]
	if !ok {
		return tree.Node{}, false, nil
	}
	n, err := tree.DecodeNode(b)
	return n, true, err
}

func (s byteStore) apply(b *testing.B, kvs []tree.KV) {
	_, writes, err := tree.Update(s.read, kvs)
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range writes {
		s[string(w.Path.Key())] = w.Node.Encode()
	}
}

// benchKeys returns n random keys, the same ones for every call with the same seed.
func benchKeys(seed uint64, n int) [][32]byte {
	r := rand.New(rand.NewPCG(seed, 0))
	keys := make([][32]byte, n)
	for i := range keys {
		keys[i] = randKey(r)
	}
	return keys
}

var benchSizes = []int{100_000, 1_000_000}

// builtTrees caches a tree of each size; benchmarks that write work on a copy.
var builtTrees = struct {
	sync.Mutex
	m map[int]byteStore
}{m: map[int]byteStore{}}

func builtTree(b *testing.B, n int) byteStore {
	builtTrees.Lock()
	defer builtTrees.Unlock()
	if s, ok := builtTrees.m[n]; ok {
		return s
	}
	s := byteStore{}
	keys := benchKeys(1, n)
	for i := 0; i < n; i += 10_000 {
		var kvs []tree.KV
		for _, k := range keys[i:min(n, i+10_000)] {
			kvs = append(kvs, tree.KV{Key: k, Value: k})
		}
		s.apply(b, kvs)
	}
	builtTrees.m[n] = s
	return s
}

func skipLarge(b *testing.B, n int) {
	if testing.Short() && n > 100_000 {
		b.Skip("a tree of 10^6 keys is left out under -short")
	}
}

// BenchmarkUpdate inserts batches of new keys into a tree of 10^5 keys and stores the writes.
func BenchmarkUpdate(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=100000/batch=%d", batch), func(b *testing.B) {
			s := maps.Clone(builtTree(b, 100_000))
			r := rand.New(rand.NewPCG(2, uint64(batch)))
			kvs := make([]tree.KV, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for i := range kvs {
					k := randKey(r)
					kvs[i] = tree.KV{Key: k, Value: k}
				}
				s.apply(b, kvs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/key")
		})
	}
}

// BenchmarkProve proves present and absent keys, and reports the average size of the encoded proofs.
func BenchmarkProve(b *testing.B) {
	for _, n := range benchSizes {
		for _, present := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/present=%t", n, present), func(b *testing.B) {
				skipLarge(b, n)
				s := builtTree(b, n)
				keys := benchKeys(1, n)
				if !present {
					keys = benchKeys(3, 100_000)
				}
				b.ReportAllocs()
				b.ResetTimer()
				size := 0
				for i := range b.N {
					p, err := tree.Prove(s.read, keys[i%len(keys)])
					if err != nil {
						b.Fatal(err)
					}
					size += len(p.Encode())
				}
				b.ReportMetric(float64(size)/float64(b.N), "proof-B")
			})
		}
	}
}

// BenchmarkVerify checks inclusion proofs in a tree of 10^5 keys.
func BenchmarkVerify(b *testing.B) {
	s := builtTree(b, 100_000)
	keys := benchKeys(1, 100_000)
	root, err := tree.Root(s.read)
	if err != nil {
		b.Fatal(err)
	}
	proofs := make([]receipt.MapProof, 1000)
	for i := range proofs {
		if proofs[i], err = tree.Prove(s.read, keys[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % len(proofs)
		if err := receipt.VerifyMapInclusion(root, keys[j], keys[j], proofs[j]); err != nil {
			b.Fatal(err)
		}
	}
}
