package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble"
)

// writeSet collects a block's writes and hands them to a Pebble batch in key order.
//
// Pebble inserts a committed batch into its memtable, a skiplist, one key after the other, and starts
// each search from where the previous key went in. A block's keys are hashes, scattered over the whole
// key space when they come in transaction order; sorted, consecutive keys sit close together in the
// skiplist and each insert is a short walk. BenchmarkValidatorPipeline's profile: the memtable insert
// took 16% of its CPU before and half of that after, the sort about as much as it saved; the net effect
// was within the benchmark's noise (docs/PERFORMANCE.md). It also takes allocations off Save.
//
// What is staged must not be changed afterwards: the set keeps the slices, not copies.
type writeSet struct {
	ops   []writeOp
	arena []byte // room for small keys and values, so that each does not cost an allocation
}

// bytes returns a slice of n bytes from the set's arena, valid as long as the set is.
func (w *writeSet) bytes(n int) []byte {
	if len(w.arena)+n > cap(w.arena) {
		w.arena = make([]byte, 0, max(n, 256<<10))
	}
	w.arena = w.arena[:len(w.arena)+n]
	return w.arena[len(w.arena)-n : len(w.arena) : len(w.arena)]
}

type writeOp struct {
	key, value []byte
	seq        int // the order of staging, for writes of the same key
	del        bool
}

func (w *writeSet) set(k, v []byte) {
	w.ops = append(w.ops, writeOp{key: k, value: v, seq: len(w.ops)})
}

func (w *writeSet) delete(k []byte) {
	w.ops = append(w.ops, writeOp{key: k, seq: len(w.ops), del: true})
}

// batchBytes is the size of the Pebble batch that holds the writes: its header and, per write, a kind
// byte, the key and value lengths as varints (at most 5 bytes each) and the key and value. A batch
// made with room for them is never regrown: growing a block's batch (tens of megabytes) by doubling
// copied it over and over: 2.5% of a loaded validator's CPU in one profile (docs/PERFORMANCE.md).
func (w *writeSet) batchBytes() int {
	n := 12
	for _, o := range w.ops {
		n += 1 + 5 + len(o.key) + 5 + len(o.value)
	}
	return n
}

// apply adds the writes to b in key order. Writes of the same key keep the order in which they were
// staged, so the last one staged wins, as it would in the batch directly.
func (w *writeSet) apply(b *pebble.Batch) error {
	w.sort()
	for _, o := range w.ops {
		var err error
		if o.del {
			err = b.Delete(o.key, nil)
		} else {
			err = b.Set(o.key, o.value, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cmpOps orders writes by key, then by the order of staging.
func cmpOps(x, y writeOp) int {
	if c := bytes.Compare(x.key, y.key); c != 0 {
		return c
	}
	return x.seq - y.seq
}

// sort orders the writes by cmpOps. Some of a block's writes come staged in key order already: the
// map's nodes (tree.Update's path order is the order of their keys) and the log's tiles (staged from
// tree.AppendLog's nodes, by level, then index). Anchor records, under their hashes, are scattered.
// The writes are first grouped by their key's first byte, keeping their order, and each group is
// sorted only as far as it is out of order. On
// BenchmarkValidatorPipeline's 40,000-anchor blocks the sort took 2.8% of the CPU (one profile),
// against 8.0-8.6% for one sort of all the writes (two profiles) and, when the log's nodes still came
// unordered and groups were sorted whole, 5.9-6.4% (two profiles) or 8.4% (one, on the day of 2.8%).
func (w *writeSet) sort() {
	// Group g holds the keys starting with byte g (and the empty key, which sorts first, group 0);
	// start[g+1] counts it, then start[g] is where it starts.
	var start [257]int
	group := func(k []byte) int {
		if len(k) == 0 {
			return 0
		}
		return int(k[0])
	}
	for _, o := range w.ops {
		start[group(o.key)+1]++
	}
	for g := 1; g < len(start); g++ {
		start[g] += start[g-1]
	}
	grouped := make([]writeOp, len(w.ops))
	next := start
	for _, o := range w.ops {
		g := group(o.key)
		grouped[next[g]] = o
		next[g]++
	}
	for g := 0; g+1 < len(start); g++ {
		sortOps(grouped[start[g]:start[g+1]])
	}
	w.ops = grouped
}

// sortOps sorts ops by cmpOps: it sorts what follows their longest ordered prefix and merges the two,
// or sorts all of them when that prefix is short.
func sortOps(ops []writeOp) {
	i := 1
	for i < len(ops) && cmpOps(ops[i-1], ops[i]) <= 0 {
		i++
	}
	if i >= len(ops) {
		return
	}
	if i < len(ops)/2 {
		sortByPrefix(ops)
		return
	}
	// The tail holds ops[i], which orders before ops[i-1]: the two parts always need merging.
	tail := ops[i:]
	sortByPrefix(tail)
	// Merge from the front: the prefix is copied aside, and the write position k never passes the
	// read position in the tail (k = a + t <= i + t).
	head := slices.Clone(ops[:i])
	a, t := 0, 0
	for k := range ops {
		if t == len(tail) || (a < len(head) && cmpOps(head[a], tail[t]) <= 0) {
			ops[k] = head[a]
			a++
		} else {
			ops[k] = tail[t]
			t++
		}
	}
}

// sortByPrefix sorts ops by cmpOps. It sorts small entries, each a key's first 8 bytes as a number
// and the op's place, and compares whole keys only where those 8 bytes are equal: most keys out of
// order are hashes (anchor records), which differ in their first bytes. BenchmarkSortOps, a block's
// 40,000 anchor records: 7.1-8.1 ms against 10.1-10.6 ms for sorting the ops themselves (64 bytes
// each, compared with bytes.Compare). Keys that share their first 8 bytes (heights, indexes behind a
// prefix) fall back to cmpOps; of those, only the nonce expiries come out of order, a few per block.
func sortByPrefix(ops []writeOp) {
	type entry struct {
		prefix uint64
		i      int32
	}
	es := make([]entry, len(ops))
	for i, o := range ops {
		es[i] = entry{keyPrefix(o.key), int32(i)}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		return cmpOps(ops[a.i], ops[b.i])
	})
	sorted := make([]writeOp, len(ops))
	for k, e := range es {
		sorted[k] = ops[e.i]
	}
	copy(ops, sorted)
}

// keyPrefix is k's first 8 bytes as a big-endian number, padded with zeros: when two keys' prefixes
// differ, they order the keys as bytes.Compare does (a key that ends within 8 bytes has zeros where a
// longer one with the same start has its bytes, and it is the smaller key, or the prefixes are equal).
func keyPrefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}
