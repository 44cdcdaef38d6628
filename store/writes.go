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
	// Not slices.SortStableFunc: its merges cost more than the insert saves; the sequence number
	// keeps the sort stable.
	slices.SortFunc(w.ops, func(x, y writeOp) int {
		if c := bytes.Compare(x.key, y.key); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
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
