package store

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// view holds the lookups that both the Store and a Reader offer, over a key getter that MUST return
// a copy of the value at a key, or ErrNotFound.
type view struct {
	get func([]byte) ([]byte, error)
	// docs, when set, answers for hashes that are certainly not anchored without a lookup. It reflects
	// the latest commit, which is fine for a view of any earlier one: anchors are never deleted.
	docs *docFilter
}

// Reader reads committed state, as of its creation, through one Pebble iterator. Executing a block or
// checking a large batch looks up thousands of keys; a point lookup through a reused iterator (with
// bloom filters, as SeekPrefixGE uses them) costs a fraction of a DB.Get, which sets up iterators over
// every level each time. A Reader is not safe for concurrent use; Close it when done.
type Reader struct {
	view
	it *pebble.Iterator
}

// NewReader returns a Reader over the state committed now.
func (s *Store) NewReader() (*Reader, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, fmt.Errorf("store: new reader: %w", err)
	}
	r := &Reader{it: it}
	r.view = view{get: r.get, docs: s.docs}
	return r, nil
}

func (r *Reader) get(k []byte) ([]byte, error) {
	// Keys are whole-key prefixes (Pebble's default Split), so the bloom filters apply.
	if !r.it.SeekPrefixGE(k) || !bytes.Equal(r.it.Key(), k) {
		if err := r.it.Error(); err != nil {
			return nil, fmt.Errorf("store: get: %w", err)
		}
		return nil, ErrNotFound
	}
	v, err := r.it.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	return append([]byte(nil), v...), nil
}

// Close releases the iterator.
func (r *Reader) Close() error { return r.it.Close() }
