package tree_test

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/celestiaorg/smt"
)

// The same benchmarks as in bench_test.go, against github.com/celestiaorg/smt v0.3.0: a compressed
// sparse Merkle tree with SHA-256, which hashes keys again to get their paths and stores values apart
// from the tree. It has no batch update: a batch is one Update per key.

// celestiaStore is a smt.MapStore in a Go map of bytes, like byteStore (and like smt.SimpleMap, which
// cannot be copied).
type celestiaStore map[string][]byte

func (s celestiaStore) Get(k []byte) ([]byte, error) {
	if v, ok := s[string(k)]; ok {
		return v, nil
	}
	return nil, &smt.InvalidKeyError{Key: k}
}

func (s celestiaStore) Set(k, v []byte) error { s[string(k)] = v; return nil }

func (s celestiaStore) Delete(k []byte) error { delete(s, string(k)); return nil }

type celestiaBuilt struct {
	nodes, values celestiaStore
	root          []byte
}

var celestiaTrees = struct {
	sync.Mutex
	m map[int]celestiaBuilt
}{m: map[int]celestiaBuilt{}}

// celestiaTree returns a tree of the same n keys (and values) as builtTree; with copy, on its own maps.
func celestiaTree(b *testing.B, n int, copy bool) *smt.SparseMerkleTree {
	celestiaTrees.Lock()
	defer celestiaTrees.Unlock()
	t, ok := celestiaTrees.m[n]
	if !ok {
		t = celestiaBuilt{nodes: celestiaStore{}, values: celestiaStore{}}
		tr := smt.NewSparseMerkleTree(t.nodes, t.values, sha256.New())
		for _, k := range benchKeys(1, n) {
			if _, err := tr.Update(k[:], k[:]); err != nil {
				b.Fatal(err)
			}
		}
		t.root = tr.Root()
		celestiaTrees.m[n] = t
	}
	if copy {
		t.nodes, t.values = maps.Clone(t.nodes), maps.Clone(t.values)
	}
	return smt.ImportSparseMerkleTree(t.nodes, t.values, sha256.New(), t.root)
}

func BenchmarkCelestiaUpdate(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=100000/batch=%d", batch), func(b *testing.B) {
			t := celestiaTree(b, 100_000, true)
			r := rand.New(rand.NewPCG(2, uint64(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for range batch {
					k := randKey(r)
					if _, err := t.Update(k[:], k[:]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/key")
		})
	}
}

// BenchmarkCelestiaProve makes compact proofs, the library's smallest. Their size is counted as the
// bytes they carry (side nodes, bit mask, leaf data of an absence proof) plus 2 for their side-node
// count; the library defines no encoding.
func BenchmarkCelestiaProve(b *testing.B) {
	for _, n := range benchSizes {
		for _, present := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/present=%t", n, present), func(b *testing.B) {
				skipLarge(b, n)
				t := celestiaTree(b, n, false)
				keys := benchKeys(1, n)
				if !present {
					keys = benchKeys(3, 100_000)
				}
				b.ReportAllocs()
				b.ResetTimer()
				size := 0
				for i := range b.N {
					p, err := t.ProveCompact(keys[i%len(keys)][:])
					if err != nil {
						b.Fatal(err)
					}
					size += 32*len(p.SideNodes) + len(p.BitMask) + len(p.NonMembershipLeafData) + 2
				}
				b.ReportMetric(float64(size)/float64(b.N), "proof-B")
			})
		}
	}
}

// BenchmarkCelestiaVerify checks compact inclusion proofs in a tree of 10^5 keys.
func BenchmarkCelestiaVerify(b *testing.B) {
	t := celestiaTree(b, 100_000, false)
	keys := benchKeys(1, 100_000)
	proofs := make([]smt.SparseCompactMerkleProof, 1000)
	for i := range proofs {
		var err error
		if proofs[i], err = t.ProveCompact(keys[i][:]); err != nil {
			b.Fatal(err)
		}
	}
	h := sha256.New()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % len(proofs)
		if !smt.VerifyCompactProof(proofs[j], t.Root(), keys[j][:], keys[j][:], h) {
			b.Fatal("proof does not verify")
		}
	}
}
