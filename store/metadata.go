package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Document metadata lives beside the committed state but is not part of it: nodes receive it by gossip,
// each checks it against the digest its anchor committed to, and a node that lost it fetches it again
// from its peers. It is therefore written without fsync and is not in the app hash.

// MetaAnchors lists the documents whose anchors committed to a metadata digest, in commit order (the
// order of their events in the log): up to limit of them whose log index is at least from, and the
// position to go on from. It reads committed state only.
func (s *Store) MetaAnchors(from uint64, limit int) ([][32]byte, uint64, error) {
	if limit <= 0 {
		return nil, from, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: key(pMetaIdx, u64(from)), UpperBound: []byte{pMetaIdx, sep + 1}})
	if err != nil {
		return nil, from, fmt.Errorf("store: list metadata anchors: %w", err)
	}
	defer it.Close()
	next := from
	var docs [][32]byte
	for it.First(); it.Valid() && len(docs) < limit; it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 2+8 || len(v) != 32 {
			return nil, from, fmt.Errorf("store: corrupt metadata index entry %x", k)
		}
		docs = append(docs, [32]byte(v))
		next = binary.BigEndian.Uint64(k[2:]) + 1
	}
	if err := it.Error(); err != nil {
		return nil, from, fmt.Errorf("store: list metadata anchors: %w", err)
	}
	return docs, next, nil
}

// Metadata returns the stored metadata message of doc; found is false if there is none.
func (s *Store) Metadata(doc [32]byte) (raw []byte, found bool, err error) {
	raw, err = s.get(key(pMetadata, doc[:]))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("store: metadata of %x: %w", doc[:8], err)
	}
	return raw, true, nil
}

// HasMetadata reports whether a metadata message is stored for doc. Gossip asks it for every
// announced document, so it does not copy the value out as Metadata does.
func (s *Store) HasMetadata(doc [32]byte) (bool, error) {
	_, closer, err := s.db.Get(key(pMetadata, doc[:]))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: metadata of %x: %w", doc[:8], err)
	}
	return true, closer.Close()
}

// PutMetadata stores raw as the metadata message of doc. The caller has checked it against the chain.
// The write is not synced: after a crash, a lost message is fetched from peers again.
func (s *Store) PutMetadata(doc [32]byte, raw []byte) error {
	if err := s.db.Set(key(pMetadata, doc[:]), raw, pebble.NoSync); err != nil {
		return fmt.Errorf("store: put metadata of %x: %w", doc[:8], err)
	}
	return nil
}

// WipeMetadata deletes every stored metadata message, so that the node fetches them from its peers
// again. The metadata index of the chain stays.
func (s *Store) WipeMetadata() error {
	if err := s.db.DeleteRange([]byte{pMetadata, sep}, []byte{pMetadata, sep + 1}, pebble.Sync); err != nil {
		return fmt.Errorf("store: wipe metadata: %w", err)
	}
	return nil
}

// MetadataCount counts the stored metadata messages. It scans them: for `siegel metadata wipe` and
// tests, not for metrics or other recurring paths.
func (s *Store) MetadataCount() (int, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pMetadata, sep}, UpperBound: []byte{pMetadata, sep + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Error()
}
