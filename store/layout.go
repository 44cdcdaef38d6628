package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// The storage layout, recorded under m/layout as version(8) | topDepth(8).
//
// Layout 3 (this one) stores no map node above topDepth: the top's leaves are the anchors' map values
// (anchorvalue.go), and loadTop rebuilds the top from them and from the nodes at topDepth. It stores
// the log in tiles (logtiles.go). Layout 1 (stores written before the marker) also stored the top's
// leaves under s/, one more write per anchor and a rewrite and a deletion whenever a new key pushed a
// leaf down, kept anchor values without the map value, and stored every log node under its own key, two
// per anchor; layout 2 (a development build of one night) had the first change but not the tiles.
// Neither the app hash nor a receipt depends on the layout.
const (
	metaLayout = "layout"
	layout     = 3
)

// ErrLayout is returned by Open for a store whose layout this build does not read.
var ErrLayout = errors.New("store: unsupported storage layout")

// migrateBatch is how many anchor values one batch of the migration rewrites (a variable for tests).
var migrateBatch = 100_000

// migrateCommitted, when set (by tests), is called after each batch of rewritten anchor values has
// committed; an error stops the migration there, as a crash would.
var migrateCommitted func(rewritten int) error

// checkLayout brings the store to layout 3 if it is older (a fresh store gets the marker at once) and
// refuses one written with another top depth or by a newer build.
func checkLayout(db *pebble.DB, get func([]byte) ([]byte, error), l *slog.Logger) error {
	v, err := get(key(pMeta, []byte(metaLayout)))
	switch {
	case errors.Is(err, ErrNotFound):
		return migrate(db, get, l)
	case err != nil:
		return err
	case len(v) != 16:
		return fmt.Errorf("%w: corrupt layout record of %d bytes", ErrLayout, len(v))
	}
	ver, depth := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
	if ver > layout || depth != uint64(topDepth) {
		return fmt.Errorf("%w: layout %d with the map's top %d levels deep; this build reads layout %d with %d levels", ErrLayout, ver, depth, layout, topDepth)
	}
	if ver < layout {
		return migrate(db, get, l)
	}
	return nil
}

func layoutValue() []byte {
	return binary.BigEndian.AppendUint64(u64(layout), uint64(topDepth))
}

// migrate brings a store of layout 1 or 2 to layout 3: it adds the map value to every two-part anchor
// value that lacks it (values written before the two parts keep their whole record, from which loadTop
// computes the map value), writes the log's tiles from its nodes, then deletes every stored map node
// above topDepth and every log node, and writes the marker. A migration cut short is taken up again at
// the next Open: whatever it rewrote is what layout 3 holds.
func migrate(db *pebble.DB, get func([]byte) ([]byte, error), l *slog.Logger) error {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	rewritten := 0
	b := db.NewBatch()
	err := eachAnchor(db, func(doc [32]byte, v []byte) error {
		if len(v) > maxAnchorValueLen {
			return nil // a whole record: loadTop computes its map value
		}
		if _, hasMap, err := decodeAnchorValue(doc, v); err != nil || hasMap {
			return err
		}
		a, err := readAnchor(get, doc)
		if err != nil {
			return err
		}
		a.MapValue = receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)
		if err := b.Set(key(pAnchor, doc[:]), appendAnchorValue(nil, &a), nil); err != nil {
			return err
		}
		rewritten++
		if int(b.Count()) < migrateBatch {
			return nil
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		l.Info("state database: migrating to storage layout 3", "anchors_rewritten", rewritten)
		b.Reset()
		if migrateCommitted != nil {
			return migrateCommitted(rewritten)
		}
		return nil
	})
	if err != nil {
		return errors.Join(fmt.Errorf("store: migrate: %w", err), b.Close())
	}
	tiles, err := migrateLog(db, b)
	if err != nil {
		return errors.Join(err, b.Close())
	}
	// Every node above topDepth: the leaves layout 1 kept, and internal nodes of stores older still.
	lower, upper := []byte{pMap, sep, 0, 0}, []byte{pMap, sep, byte(topDepth >> 8), byte(topDepth)}
	if err := b.DeleteRange(lower, upper, nil); err != nil {
		return errors.Join(err, b.Close())
	}
	if err := b.DeleteRange([]byte{pLog, sep}, []byte{pLog, sep + 1}, nil); err != nil {
		return errors.Join(err, b.Close())
	}
	if err := b.Set(key(pMeta, []byte(metaLayout)), layoutValue(), nil); err != nil {
		return errors.Join(err, b.Close())
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return errors.Join(fmt.Errorf("store: migrate: %w", err), b.Close())
	}
	if rewritten > 0 || tiles > 0 {
		l.Info("state database: migrated to storage layout 3", "anchors_rewritten", rewritten, "log_tiles", tiles)
	}
	return b.Close()
}

// migrateLog adds to b the tiles of the log nodes stored one per key, and returns how many. Tiles are
// written whole, from the nodes, so a migration taken up again writes them again unchanged.
func migrateLog(db *pebble.DB, b *pebble.Batch) (int, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{pLog, sep}, UpperBound: []byte{pLog, sep + 1}})
	if err != nil {
		return 0, fmt.Errorf("store: migrate the log: %w", err)
	}
	tiles := 0
	var cur []byte // the tile being gathered
	var tl uint8
	var ti uint64
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		tiles++
		if err := b.Set(tileKey(tl, ti), cur, nil); err != nil || b.Len() < 64<<20 {
			return err
		}
		defer b.Reset()
		return b.Commit(pebble.Sync)
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 11 || len(v) != 32 {
			return 0, errors.Join(fmt.Errorf("store: migrate the log: node %x of %d bytes", k, len(v)), it.Close())
		}
		level, index := k[2], binary.BigEndian.Uint64(k[3:])
		if level%tileHeight != 0 {
			continue
		}
		if len(cur) == 0 || level/tileHeight != tl || index/tileWidth != ti {
			if err := flush(); err != nil {
				return 0, errors.Join(err, it.Close())
			}
			cur, tl, ti = nil, level/tileHeight, index/tileWidth
		}
		if uint64(len(cur)/32) != index%tileWidth {
			return 0, errors.Join(fmt.Errorf("store: migrate the log: node (%d, %d) missing", level, ti*tileWidth+uint64(len(cur)/32)), it.Close())
		}
		cur = append(cur, v...)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, fmt.Errorf("store: migrate the log: %w", err)
	}
	return tiles, flush()
}

// eachAnchor calls f with every stored anchor's document hash and value (valid only during the call),
// in order of the hashes, until f returns an error.
func eachAnchor(db *pebble.DB, f func(doc [32]byte, v []byte) error) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{pAnchor, sep}, UpperBound: []byte{pAnchor, sep + 1}})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 34 {
			return errors.Join(fmt.Errorf("anchor key of %d bytes", len(k)), it.Close())
		}
		if err := f([32]byte(k[2:]), it.Value()); err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// topLeaves returns the leaves of the map above topDepth, in key order: every document whose leaf sits
// there, with its map value. A leaf sits at the shallowest depth where no other key shares its path,
// one below the longest prefix it shares with its neighbours in key order; the others are below a node
// at topDepth, which Pebble holds. It also gives each document to seen: the scan of the anchors is the
// one Open makes (the document filter is filled from it too).
func topLeaves(db *pebble.DB, get func([]byte) ([]byte, error), seen func([32]byte)) ([]tree.Write, error) {
	revoked, err := revokedDocs(db)
	if err != nil {
		return nil, err
	}
	var out []tree.Write
	leaf := func(k, v [32]byte, prevLCP, nextLCP int) {
		if d := 1 + max(prevLCP, nextLCP); d < topDepth {
			out = append(out, tree.Write{Path: tree.PathTo(k, d), Node: tree.Node{Leaf: true, Key: k, Value: v}})
		}
	}
	var cur, curValue [32]byte
	have, prevLCP := false, -1 // -1: no neighbour on that side
	err = eachAnchor(db, func(doc [32]byte, value []byte) error {
		seen(doc)
		v, err := leafValue(get, doc, value, revoked)
		if err != nil {
			return err
		}
		if have {
			l := commonBits(cur, doc)
			leaf(cur, curValue, prevLCP, l)
			prevLCP = l
		}
		cur, curValue, have = doc, v, true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: load map top: %w", err)
	}
	if have {
		leaf(cur, curValue, prevLCP, -1)
	}
	return out, nil
}

// commonBits is the number of leading bits a and b share (they differ).
func commonBits(a, b [32]byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return 8*i + bits.LeadingZeros8(x)
		}
	}
	return 256
}

// leafValue is the map value of the anchor of doc whose stored value is v.
func leafValue(get func([]byte) ([]byte, error), doc [32]byte, v []byte, revoked map[[32]byte]bool) ([32]byte, error) {
	if !revoked[doc] && len(v) <= maxAnchorValueLen {
		a, hasMap, err := decodeAnchorValue(doc, v)
		if err != nil || hasMap {
			return a.MapValue, err
		}
	}
	// A revoked document, or a value without its map value: the whole record is needed.
	a, err := readAnchor(get, doc)
	if err != nil {
		return [32]byte{}, err
	}
	return receipt.MapValue(&a.Record, a.State(), a.LogIndex, a.Revocation), nil
}

// revokedDocs returns the documents that were revoked.
func revokedDocs(db *pebble.DB) (map[[32]byte]bool, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{pRevoked, sep}, UpperBound: []byte{pRevoked, sep + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: list revocations: %w", err)
	}
	out := map[[32]byte]bool{}
	for it.First(); it.Valid(); it.Next() {
		if k := it.Key(); len(k) == 34 {
			out[[32]byte(k[2:])] = true
		}
	}
	return out, errors.Join(it.Error(), it.Close())
}
