package tree_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// mem is an in-memory node store.
type mem map[tree.Path]tree.Node

func (m mem) read(p tree.Path) (tree.Node, bool, error) {
	n, ok := m[p]
	return n, ok, nil
}

// update applies kvs and stores the writes, checking that each depth's writes come in order of their
// positions (the store's top relies on it), each position once.
func (m mem) update(t testing.TB, kvs []tree.KV) [32]byte {
	t.Helper()
	root, writes, err := tree.Update(m.read, kvs)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	last := map[uint16][]byte{} // the key of the last write seen at each depth
	for i, w := range writes {
		k := w.Path.Key()
		if prev, ok := last[w.Path.Depth]; ok && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("write %d at depth %d does not come after the depth's write before it", i, w.Path.Depth)
		}
		last[w.Path.Depth] = k
		m[w.Path] = w.Node
	}
	tree.Recycle(writes) // the next update returns its writes in this memory
	return root
}

// reference computes the tree holding leaves from scratch, straight from the rules: it returns the root
// and every node the stored tree must hold.
func reference(leaves map[[32]byte][32]byte) ([32]byte, mem) {
	keys := slices.SortedFunc(maps.Keys(leaves), func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	nodes := mem{}
	var build func(depth int, keys [][32]byte) [32]byte
	build = func(depth int, keys [][32]byte) [32]byte {
		if len(keys) == 0 {
			return [32]byte{}
		}
		var p tree.Path
		p.Depth = uint16(depth)
		for i := range depth {
			if receipt.MapKeyBit(keys[0], i) == 1 {
				p.Bits[i/8] |= 0x80 >> (i % 8)
			}
		}
		var n tree.Node
		if len(keys) == 1 {
			n = tree.Node{Leaf: true, Key: keys[0], Value: leaves[keys[0]]}
			nodes[p] = n
			return sha256.Sum256(append(append([]byte{0}, n.Key[:]...), n.Value[:]...))
		}
		var left, right [][32]byte
		for _, k := range keys {
			if receipt.MapKeyBit(k, depth) == 0 {
				left = append(left, k)
			} else {
				right = append(right, k)
			}
		}
		n = tree.Node{Left: build(depth+1, left), Right: build(depth+1, right)}
		nodes[p] = n
		return sha256.Sum256(append(append([]byte{1}, n.Left[:]...), n.Right[:]...))
	}
	return build(0, keys), nodes
}

func randKey(r *rand.Rand) (k [32]byte) {
	for i := range k {
		k[i] = byte(r.Uint32())
	}
	return k
}

// keySets returns named key sets: random ones of several sizes and adversarial ones.
func keySets(r *rand.Rand) map[string][][32]byte {
	sets := map[string][][32]byte{}
	for _, n := range []int{0, 1, 2, 3, 7, 64, 500, 2000, r.IntN(2001)} {
		var ks [][32]byte
		for range n {
			ks = append(ks, randKey(r))
		}
		sets[fmt.Sprintf("random %d", n)] = ks
	}
	// 40 keys that share their first 200 bits, and pairs that differ only in one late bit.
	prefix := randKey(r)
	var long [][32]byte
	for range 40 {
		k := randKey(r)
		copy(k[:25], prefix[:25])
		long = append(long, k)
	}
	for _, bit := range []int{255, 254, 200, 128, 8, 7, 1, 0} {
		k := randKey(r)
		long = append(long, k)
		k[bit/8] ^= 0x80 >> (bit % 8)
		long = append(long, k)
	}
	sets["long prefixes"] = long
	var zero, ones [32]byte
	for i := range ones {
		ones[i] = 0xff
	}
	last, first := zero, ones
	last[31], first[0] = 1, 0x7f
	sets["extremes"] = [][32]byte{zero, ones, last, first}
	return sets
}

// TestUpdateMatchesReference builds each key set in random batches, with repeated keys and updates of
// existing keys, and checks the root after every batch and the stored nodes at the end.
func TestUpdateMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sets := keySets(r)
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		keys := sets[name]
		t.Run(name, func(t *testing.T) {
			m, want := mem{}, map[[32]byte][32]byte{}
			pending := slices.Clone(keys)
			for len(pending) > 0 || r.IntN(4) != 0 {
				n := min(len(pending), 1+r.IntN(max(1, len(keys)/3)))
				var batch []tree.KV
				for _, k := range pending[:n] {
					batch = append(batch, tree.KV{Key: k, Value: randKey(r)})
				}
				pending = pending[n:]
				for range r.IntN(5) { // updates of earlier keys, possibly of a key of this very batch
					if len(keys) > 0 {
						k := keys[r.IntN(len(keys)-len(pending))]
						batch = append(batch, tree.KV{Key: k, Value: randKey(r)})
					}
				}
				r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				for _, kv := range batch {
					want[kv.Key] = kv.Value // the last value of a repeated key wins
				}
				got := m.update(t, batch)
				if wantRoot, _ := reference(want); got != wantRoot {
					t.Fatalf("after %d keys: root %x, want %x", len(want), got, wantRoot)
				}
			}
			root, nodes := reference(want)
			if !maps.Equal(m, nodes) {
				t.Fatalf("stored %d nodes, reference has %d, or they differ", len(m), len(nodes))
			}
			if got, err := tree.Root(m.read); err != nil || got != root {
				t.Fatalf("Root = %x, %v; want %x", got, err, root)
			}
			// The same map in one batch, in another order, gives the same tree.
			one := mem{}
			var all []tree.KV
			for k, v := range want {
				all = append(all, tree.KV{Key: k, Value: v})
			}
			if got := one.update(t, all); got != root || !maps.Equal(one, nodes) {
				t.Fatalf("one batch: root %x, want %x; or the nodes differ", got, root)
			}
			checkProofs(t, r, m, root, want)
		})
	}
}

// checkProofs checks that every key's proof verifies, that absent keys' proofs do, and that mutated
// proofs fail as they should.
func checkProofs(t *testing.T, r *rand.Rand, m mem, root [32]byte, leaves map[[32]byte][32]byte) {
	t.Helper()
	prove := func(k [32]byte) receipt.MapProof {
		p, err := tree.Prove(m.read, k)
		if err != nil {
			t.Fatalf("Prove(%x): %v", k, err)
		}
		q, err := receipt.DecodeMapProof(p.Encode())
		if err != nil {
			t.Fatalf("DecodeMapProof(Encode(Prove(%x))): %v", k, err)
		}
		return q
	}
	var absent [][32]byte
	for range 50 {
		absent = append(absent, randKey(r))
	}
	for k, v := range leaves {
		p := prove(k)
		if err := receipt.VerifyMapInclusion(root, k, v, p); err != nil {
			t.Fatalf("inclusion of %x: %v", k, err)
		}
		checkMutations(t, r, root, k, v, p)
		// Neighbours: the key with its bit flipped at, and just below, the terminal depth, and its last bit.
		for _, bit := range []int{len(p.Siblings), len(p.Siblings) - 1, len(p.Siblings) + 1, 255} {
			if bit >= 0 && bit < 256 {
				n := k
				n[bit/8] ^= 0x80 >> (bit % 8)
				absent = append(absent, n)
			}
		}
	}
	for _, k := range absent {
		if _, ok := leaves[k]; ok {
			continue
		}
		p := prove(k)
		if err := receipt.VerifyMapAbsence(root, k, p); err != nil {
			t.Fatalf("absence of %x: %v", k, err)
		}
		if err := receipt.VerifyMapInclusion(root, k, randKey(r), p); !errors.Is(err, receipt.ErrProofShape) {
			t.Fatalf("inclusion of absent %x: %v, want ErrProofShape", k, err)
		}
		if p.Terminal.Kind == receipt.TerminalOther {
			q := p
			q.Terminal = receipt.Terminal{}
			if err := receipt.VerifyMapAbsence(root, k, q); !errors.Is(err, receipt.ErrRootMismatch) {
				t.Fatalf("absence of %x with the other leaf dropped: %v, want ErrRootMismatch", k, err)
			}
		}
	}
}

// checkMutations checks that damaged versions of a valid inclusion proof p fail with the right error.
func checkMutations(t *testing.T, r *rand.Rand, root, key, value [32]byte, p receipt.MapProof) {
	t.Helper()
	expect := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%x: %s: %v, want %v", key, what, err, want)
		}
	}
	clone := func() receipt.MapProof {
		q := p
		q.Siblings = slices.Clone(p.Siblings)
		return q
	}
	for i := range p.Siblings {
		q := clone()
		bit := r.IntN(256)
		q.Siblings[i][bit/8] ^= 0x80 >> (bit % 8)
		expect(fmt.Sprintf("bit %d of sibling %d flipped", bit, i), receipt.VerifyMapInclusion(root, key, value, q), receipt.ErrRootMismatch)
	}
	if n := len(p.Siblings); n > 0 {
		q := clone()
		q.Siblings = q.Siblings[:n-1]
		want := receipt.ErrRootMismatch
		if n > 1 && q.Siblings[n-2] == ([32]byte{}) {
			want = receipt.ErrProofShape
		}
		expect("truncated", receipt.VerifyMapInclusion(root, key, value, q), want)
		q.Siblings = append(q.Siblings, p.Siblings[n-1], randKey(r))
		want = receipt.ErrRootMismatch
		if n == receipt.MaxMapDepth {
			want = receipt.ErrProofShape
		}
		expect("extended", receipt.VerifyMapInclusion(root, key, value, q), want)
	}
	wrong := value
	wrong[r.IntN(32)] ^= 1 << r.IntN(8)
	expect("wrong value", receipt.VerifyMapInclusion(root, key, wrong, p), receipt.ErrRootMismatch)
	q := clone()
	q.Terminal = receipt.Terminal{}
	expect("empty terminal, inclusion", receipt.VerifyMapInclusion(root, key, value, q), receipt.ErrProofShape)
	expect("empty terminal, absence", receipt.VerifyMapAbsence(root, key, q), receipt.ErrRootMismatch)
	expect("match terminal, absence", receipt.VerifyMapAbsence(root, key, p), receipt.ErrProofShape)
	q.Terminal = receipt.Terminal{Kind: receipt.TerminalOther, Key: key, Value: value}
	expect("other leaf with the queried key", receipt.VerifyMapAbsence(root, key, q), receipt.ErrProofShape)
	expect("other terminal, inclusion", receipt.VerifyMapInclusion(root, key, value, q), receipt.ErrProofShape)
}

func TestUpdateEdgeCases(t *testing.T) {
	m := mem{}
	if root, writes, err := tree.Update(m.read, nil); err != nil || root != ([32]byte{}) || writes != nil {
		t.Fatalf("Update(empty, nil) = %x, %v, %v", root, writes, err)
	}
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	batch := []tree.KV{{Key: b, Value: a}, {Key: a, Value: a}, {Key: b, Value: b}}
	in := slices.Clone(batch)
	root := m.update(t, batch)
	if !slices.Equal(batch, in) {
		t.Fatalf("Update modified its input")
	}
	if want, _ := reference(map[[32]byte][32]byte{a: a, b: b}); root != want {
		t.Fatalf("root %x, want %x (the last value of a repeated key wins)", root, want)
	}
	// Setting keys to the values they have writes nothing.
	if got, writes, err := tree.Update(m.read, batch[1:]); err != nil || got != root || len(writes) != 0 {
		t.Fatalf("no-op Update = %x, %d writes, %v; want %x, 0", got, len(writes), err, root)
	}
	// Updating one of two keys rewrites its leaf and the root only, the root last (the walk writes a
	// node after its children).
	_, writes, err := tree.Update(m.read, []tree.KV{{Key: a, Value: b}})
	if err != nil || len(writes) != 2 || !writes[0].Node.Leaf || writes[1].Path != (tree.Path{}) {
		t.Fatalf("Update of one key = %+v, %v; want one leaf and the root", writes, err)
	}
}

// TestGoldenRoot pins the consensus format: the root of a small map must never change.
func TestGoldenRoot(t *testing.T) {
	m := mem{}
	var kvs []tree.KV
	for i := range 5 {
		kvs = append(kvs, tree.KV{Key: sha256.Sum256([]byte{byte(i)}), Value: sha256.Sum256([]byte{'v', byte(i)})})
	}
	root := m.update(t, kvs)
	want, _ := reference(map[[32]byte][32]byte{kvs[0].Key: kvs[0].Value, kvs[1].Key: kvs[1].Value,
		kvs[2].Key: kvs[2].Value, kvs[3].Key: kvs[3].Value, kvs[4].Key: kvs[4].Value})
	const golden = "7b7dd5da96f1d81c1290da269f75fdf09930b1d6977b9e0431c38b08c127d8db"
	if got := hex.EncodeToString(root[:]); got != golden || root != want {
		t.Fatalf("root = %s, want %s (reference %x)", got, golden, want)
	}
}

// TestUpdateConcurrent runs updates of one stored tree from several goroutines at once, as a validator
// does for competing proposals while CheckTx reads: Update shares a scratch buffer between calls, and
// every call must still return what it returns alone (the race detector watches the buffer too).
func TestUpdateConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	kv := func() tree.KV {
		var k tree.KV
		for i := range k.Key {
			k.Key[i], k.Value[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		return k
	}
	base := mem{}
	var first []tree.KV
	for range 3000 {
		first = append(first, kv())
	}
	base.update(t, first)
	type result struct {
		root   [32]byte
		writes []tree.Write
	}
	batches := make([][]tree.KV, 4)
	want := make([]result, len(batches))
	for i := range batches {
		for range 500 * (i + 1) {
			batches[i] = append(batches[i], kv())
		}
		root, writes, err := tree.Update(base.read, batches[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = result{root, writes}
	}
	errs := make(chan error, len(batches))
	for i := range batches {
		go func() {
			for range 20 {
				root, writes, err := tree.Update(base.read, batches[i])
				if err == nil && (root != want[i].root || !slices.Equal(writes, want[i].writes)) {
					err = fmt.Errorf("batch %d: a different result when run beside the others", i)
				}
				// Handed back, the memory goes to another goroutine's next update: no two updates
				// may be given the same memory (the race detector watches).
				tree.Recycle(writes)
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
