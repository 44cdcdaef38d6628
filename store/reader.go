package store

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/store/tree"
)

// view holds the lookups that both the Store and a Reader offer, over a key getter that MUST return
// a copy of the value at a key, or ErrNotFound.
type view struct {
	get func([]byte) ([]byte, error)
	// docs, when set, answers for hashes that are certainly not anchored without a lookup. It reflects
	// the latest commit, which is fine for a view of any earlier one: anchors are never deleted.
	docs *docFilter
}

// Reader reads committed state as of its creation, through a Pebble snapshot. Executing a block or
// checking a large batch looks up thousands of keys. Point lookups (Snapshot.Get, whose bloom filters
// apply because every key is its own prefix) measured cheaper than seeks of one reused iterator
// (SeekPrefixGE): in BenchmarkValidatorPipeline 39 instead of 53 us of CPU per anchor, most of it the
// authenticated map's node reads (docs/PERFORMANCE.md). A Reader is not safe for concurrent use; Close
// it when done.
type Reader struct {
	view
	snap *pebble.Snapshot
	top  *topTree
	gen  uint64 // the map top's generation that snap shows
}

// NewReader returns a Reader over the state committed now.
func (s *Store) NewReader() (*Reader, error) {
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	if s.failed != nil {
		return nil, s.failed
	}
	r := &Reader{snap: s.db.NewSnapshot(), top: s.top, gen: s.top.generation()}
	r.view = view{get: r.get, docs: s.docs}
	return r, nil
}

// MapRead returns a tree.Read over the map as of the Reader's snapshot.
func (r *Reader) MapRead() tree.Read { return r.top.mapRead(r.gen, r.get) }

func (r *Reader) get(k []byte) ([]byte, error) {
	v, closer, err := r.snap.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

// Close releases the snapshot.
func (r *Reader) Close() error { return r.snap.Close() }
