package tree_test

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// The log tests build logs with AppendLog, keeping every node it reports as a store would, and check
// its proofs with github.com/transparency-dev/merkle/proof, against roots computed from the leaves
// straight from RFC 6962: every leaf is included in every log that holds it, and every log is consistent
// with every earlier one (so that a checkpoint at a later height proves consistent with each earlier
// one).

type logNodeID struct {
	level uint8
	index uint64
}

// logStore keeps the nodes AppendLog reports, and the log size at which each became complete.
type logStore struct {
	hash map[logNodeID][32]byte
	at   map[logNodeID]uint64
	st   tree.LogState
	// roots[n] is the root AppendLog returned when the log reached size n.
	roots map[uint64][32]byte
}

func newLogStore() *logStore {
	empty := [32]byte(rfc6962.DefaultHasher.EmptyRoot())
	return &logStore{hash: map[logNodeID][32]byte{}, at: map[logNodeID]uint64{}, roots: map[uint64][32]byte{0: empty}}
}

func (s *logStore) append(t testing.TB, leaves [][32]byte) {
	t.Helper()
	st, root, nodes, err := tree.AppendLog(s.st, leaves)
	if err != nil {
		t.Fatalf("AppendLog(size %d, %d leaves) = %v", s.st.Size, len(leaves), err)
	}
	if st.Size != s.st.Size+uint64(len(leaves)) {
		t.Fatalf("AppendLog gave size %d, want %d", st.Size, s.st.Size+uint64(len(leaves)))
	}
	for i, n := range nodes {
		if i > 0 && (n.Level < nodes[i-1].Level || n.Level == nodes[i-1].Level && n.Index <= nodes[i-1].Index) {
			t.Fatalf("AppendLog reported node (%d, %d) after (%d, %d): not ordered by level, then index", n.Level, n.Index, nodes[i-1].Level, nodes[i-1].Index)
		}
		id := logNodeID{n.Level, n.Index}
		if _, ok := s.hash[id]; ok {
			t.Fatalf("AppendLog reported node (%d, %d) twice", n.Level, n.Index)
		}
		s.hash[id], s.at[id] = n.Hash, st.Size
	}
	s.st, s.roots[st.Size] = st, root
}

// readAt reads the nodes as the store held them when the log had size n: a proof for a log of size n
// must not need a node completed later.
func (s *logStore) readAt(n uint64) tree.ReadLogNode {
	return func(level uint8, index uint64) ([32]byte, error) {
		id := logNodeID{level, index}
		h, ok := s.hash[id]
		if !ok || s.at[id] > n {
			return [32]byte{}, fmt.Errorf("node (%d, %d) not stored at size %d", level, index, n)
		}
		return h, nil
	}
}

// logLeaves returns n leaf hashes, as Siegel's log holds them.
func logLeaves(seed uint64, n int) [][32]byte {
	out := make([][32]byte, n)
	for i := range out {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:], seed)
		binary.BigEndian.PutUint64(b[8:], uint64(i))
		out[i] = receipt.LogLeafHash(b[:])
	}
	return out
}

// referenceRoot is the RFC 6962 Merkle tree hash of leaves (leaf hashes), by its recursive definition.
func referenceRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1 << (bits.Len(uint(len(leaves)-1)) - 1) // the largest power of two smaller than n
	l, r := referenceRoot(leaves[:k]), referenceRoot(leaves[k:])
	return [32]byte(rfc6962.DefaultHasher.HashChildren(l[:], r[:]))
}

func slices32(hs [][32]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// logSizes are the sizes the exhaustive tests go up to, and random larger ones.
func logSizes(r *rand.Rand) []int {
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129}
	for range 2 {
		sizes = append(sizes, 130+r.IntN(170))
	}
	return sizes
}

// TestLogProofs grows logs one leaf at a time and checks, at every size n, the root against the RFC 6962
// definition, the inclusion proof of every leaf and the consistency proof from every smaller size, each
// made from the nodes stored by size n.
func TestLogProofs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, max := range logSizes(r) {
		t.Run(fmt.Sprintf("size=%d", max), func(t *testing.T) {
			leaves := logLeaves(uint64(max), max)
			s := newLogStore()
			for _, l := range leaves {
				s.append(t, [][32]byte{l})
			}
			for n := uint64(0); n <= uint64(max); n++ {
				root := s.roots[n]
				if want := referenceRoot(leaves[:n]); root != want {
					t.Fatalf("root at size %d = %x, want %x", n, root, want)
				}
				read := s.readAt(n)
				for i := uint64(0); i < n; i++ {
					p, err := tree.LogInclusion(read, i, n)
					if err != nil {
						t.Fatalf("LogInclusion(%d, %d) = %v", i, n, err)
					}
					if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, n, leaves[i][:], slices32(p), root[:]); err != nil {
						t.Fatalf("inclusion proof of leaf %d in size %d: %v", i, n, err)
					}
					// The proof is for that leaf, at that index, in that root only.
					if n > 1 {
						other := (i + 1) % n
						if proof.VerifyInclusion(rfc6962.DefaultHasher, i, n, leaves[other][:], slices32(p), root[:]) == nil {
							t.Fatalf("inclusion proof of leaf %d in size %d verifies leaf %d", i, n, other)
						}
						if proof.VerifyInclusion(rfc6962.DefaultHasher, other, n, leaves[i][:], slices32(p), root[:]) == nil && len(p) > 0 {
							t.Fatalf("inclusion proof of leaf %d in size %d verifies at index %d", i, n, other)
						}
					}
				}
				for m := uint64(0); m <= n; m++ {
					p, err := tree.LogConsistency(read, m, n)
					if err != nil {
						t.Fatalf("LogConsistency(%d, %d) = %v", m, n, err)
					}
					old := s.roots[m]
					if err := proof.VerifyConsistency(rfc6962.DefaultHasher, m, n, slices32(p), old[:], root[:]); err != nil {
						t.Fatalf("consistency proof from %d to %d: %v", m, n, err)
					}
					if 0 < m && m < n {
						bad := slices.Clone(p)
						bad[0][0] ^= 1
						if proof.VerifyConsistency(rfc6962.DefaultHasher, m, n, slices32(bad), old[:], root[:]) == nil {
							t.Fatalf("a corrupted consistency proof from %d to %d verifies", m, n)
						}
					}
				}
			}
		})
	}
}

// TestLogLarge checks random inclusion and consistency proofs in a log of 100 000 leaves, appended in
// batches of random sizes.
func TestLogLarge(t *testing.T) {
	const n = 100_000
	r := rand.New(rand.NewPCG(3, 4))
	leaves := logLeaves(7, n)
	s := newLogStore()
	for done := 0; done < n; {
		k := min(n-done, 1+r.IntN(3000))
		s.append(t, leaves[done:done+k])
		done += k
	}
	root := s.roots[n]
	if want := referenceRoot(leaves); root != want {
		t.Fatalf("root = %x, want %x", root, want)
	}
	sizes := slices.Sorted(func(yield func(uint64) bool) {
		for size := range s.roots {
			if !yield(size) {
				return
			}
		}
	})
	for range 2000 {
		i := r.Uint64N(n)
		p, err := tree.LogInclusion(s.readAt(n), i, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, n, leaves[i][:], slices32(p), root[:]); err != nil {
			t.Fatalf("inclusion proof of leaf %d: %v", i, err)
		}
	}
	// Every batch boundary was a checkpoint: each is consistent with the final log and with a later one.
	for k, m := range sizes {
		later := sizes[k+r.IntN(len(sizes)-k)]
		for _, to := range []uint64{later, n} {
			p, err := tree.LogConsistency(s.readAt(to), m, to)
			if err != nil {
				t.Fatal(err)
			}
			old, now := s.roots[m], s.roots[to]
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, m, to, slices32(p), old[:], now[:]); err != nil {
				t.Fatalf("consistency proof from %d to %d: %v", m, to, err)
			}
		}
	}
}

// TestLogBatches checks that the batches a log is appended in do not matter: random splits of the same
// leaves give the same roots at the batch boundaries, the same state and the same nodes as appending one
// leaf at a time. (Each call lists its nodes by level, then index, which logStore.append checks, so the
// lists of several calls are compared in that order too.)
func TestLogBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 50 {
		n := r.IntN(600)
		leaves := logLeaves(uint64(trial), n)
		one, batched := newLogStore(), newLogStore()
		var oneNodes, batchNodes []tree.LogNode
		for _, l := range leaves {
			_, _, nodes, err := tree.AppendLog(one.st, [][32]byte{l})
			if err != nil {
				t.Fatal(err)
			}
			oneNodes = append(oneNodes, nodes...)
			one.append(t, [][32]byte{l})
		}
		for done := 0; done < n || done == 0; {
			k := min(n-done, r.IntN(100)) // batches of 0 leaves included
			_, _, nodes, err := tree.AppendLog(batched.st, leaves[done:done+k])
			if err != nil {
				t.Fatal(err)
			}
			batchNodes = append(batchNodes, nodes...)
			batched.append(t, leaves[done:done+k])
			done += k
			if n == 0 {
				break
			}
		}
		if !reflect.DeepEqual(one.st, batched.st) {
			t.Fatalf("%d leaves: state after batches %+v, one by one %+v", n, batched.st, one.st)
		}
		for size, root := range batched.roots {
			if one.roots[size] != root {
				t.Fatalf("%d leaves: root at size %d differs between batches and one by one", n, size)
			}
		}
		byPosition := func(a, b tree.LogNode) int {
			if a.Level != b.Level {
				return int(a.Level) - int(b.Level)
			}
			return cmp.Compare(a.Index, b.Index)
		}
		slices.SortFunc(oneNodes, byPosition)
		slices.SortFunc(batchNodes, byPosition)
		if !slices.Equal(oneNodes, batchNodes) {
			t.Fatalf("%d leaves: batches report other nodes than appending one by one", n)
		}
		// Leaves and complete nodes: 2n - popcount(n) of them.
		if want := 2*n - bits.OnesCount(uint(n)); len(batchNodes) != want {
			t.Fatalf("%d leaves: %d nodes reported, want %d", n, len(batchNodes), want)
		}
	}
}

// TestLogStateRoundTrip checks that a LogState is all that is needed to go on: appending to the state
// of a prefix gives the state and root of appending everything at once, LogRoot gives the root of a
// state, and the border has one hash per bit of the size.
func TestLogStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		n := 1 + r.IntN(2000)
		cut := r.IntN(n + 1)
		leaves := logLeaves(uint64(n), n)
		whole, wholeRoot, _, err := tree.AppendLog(tree.LogState{}, leaves)
		if err != nil {
			t.Fatal(err)
		}
		prefix, prefixRoot, _, err := tree.AppendLog(tree.LogState{}, leaves[:cut])
		if err != nil {
			t.Fatal(err)
		}
		// The state as a store would persist it: size and border, copied.
		saved := tree.LogState{Size: prefix.Size, Border: slices.Clone(prefix.Border)}
		if len(saved.Border) != bits.OnesCount64(saved.Size) {
			t.Fatalf("size %d: border of %d hashes, want %d", saved.Size, len(saved.Border), bits.OnesCount64(saved.Size))
		}
		if root, err := tree.LogRoot(saved); err != nil || root != prefixRoot || root != referenceRoot(leaves[:cut]) {
			t.Fatalf("LogRoot(state of %d) = %x, %v; want %x", cut, root, err, prefixRoot)
		}
		resumed, resumedRoot, _, err := tree.AppendLog(saved, leaves[cut:])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(resumed, whole) || resumedRoot != wholeRoot {
			t.Fatalf("%d leaves resumed at %d: state %+v root %x, want %+v %x", n, cut, resumed, resumedRoot, whole, wholeRoot)
		}
		if root, err := tree.LogRoot(whole); err != nil || root != wholeRoot {
			t.Fatalf("LogRoot(whole) = %x, %v; want %x", root, err, wholeRoot)
		}
	}
}

// TestLogRejects checks the errors: a state whose border does not fit its size, proofs for impossible
// positions, a missing node.
func TestLogRejects(t *testing.T) {
	leaves := logLeaves(9, 10)
	st, _, _, err := tree.AppendLog(tree.LogState{}, leaves)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []tree.LogState{
		{Size: st.Size, Border: st.Border[:1]},
		{Size: st.Size + 1, Border: st.Border},
		{Size: 0, Border: st.Border},
	} {
		if _, _, _, err := tree.AppendLog(bad, leaves[:1]); err == nil {
			t.Errorf("AppendLog accepted state of size %d with %d border hashes", bad.Size, len(bad.Border))
		}
		if _, err := tree.LogRoot(bad); err == nil {
			t.Errorf("LogRoot accepted state of size %d with %d border hashes", bad.Size, len(bad.Border))
		}
	}
	s := newLogStore()
	s.append(t, leaves)
	read := s.readAt(10)
	if _, err := tree.LogInclusion(read, 10, 10); err == nil {
		t.Error("LogInclusion(10, 10) succeeded")
	}
	if _, err := tree.LogInclusion(read, 0, 0); err == nil {
		t.Error("LogInclusion(0, 0) succeeded")
	}
	if _, err := tree.LogConsistency(read, 5, 4); err == nil {
		t.Error("LogConsistency(5, 4) succeeded")
	}
	if _, err := tree.LogInclusion(s.readAt(10), 3, 11); err == nil {
		t.Error("LogInclusion beyond the stored nodes succeeded")
	}
	if _, err := tree.LogConsistency(s.readAt(10), 3, 12); err == nil {
		t.Error("LogConsistency beyond the stored nodes succeeded")
	}
}
