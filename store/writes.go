package store

import (
	"bytes"
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

// sort orders the writes by cmpOps. The largest group of a block's writes, the map's nodes, comes
// staged in key order already (tree.Update's path order is the order of their keys); others are
// scattered (anchor records under their hashes; the log's nodes come level by level, not in key
// order): the writes are first grouped by their key's first byte, keeping their order, and each group
// is sorted only as far as it is out of order. On
// BenchmarkValidatorPipeline's 40,000-anchor blocks the sort took 5.9-6.4% of the CPU instead of
// 8.0-8.6% (two profiles each).
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
		slices.SortFunc(ops, cmpOps)
		return
	}
	tail := ops[i:]
	slices.SortFunc(tail, cmpOps)
	if cmpOps(ops[i-1], tail[0]) <= 0 {
		return
	}
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
