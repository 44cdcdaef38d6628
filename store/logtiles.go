package store

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/store/tree"
)

// The log is stored in tiles, as transparency logs serve theirs (C2SP tlog-tiles): tile (L, k) holds
// the hashes of the log tree's nodes at level tileHeight*L with indices tileWidth*k to
// tileWidth*(k+1)-1, as many of them as are complete (the rightmost tile of each level is partial and
// is rewritten as the log grows). The nodes of the levels in between are not stored: readLogNode hashes
// them up from the tile below, at most tileWidth/2 leaves' worth. A block of 40,000 anchors then writes
// about 160 tile keys instead of 80,000 node keys; each was a Pebble write, a memtable insertion and
// bytes to flush and compact (docs/PERFORMANCE.md).
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

func tileKey(level uint8, index uint64) []byte {
	return key(pTile, []byte{level}, u64(index))
}

// stageLogTiles adds to w the tiles that a block's new log nodes (ordered by level, then index, as
// tree.AppendLog gives them) complete or extend. A tile that the block extends is read as committed
// and written again whole.
func (s *Store) stageLogTiles(w *writeSet, nodes []tree.LogNode) error {
	for i := 0; i < len(nodes); {
		n := nodes[i]
		if n.Level%tileHeight != 0 {
			i++
			continue
		}
		// The run of nodes of this level that falls into n's tile.
		tl, ti := n.Level/tileHeight, n.Index/tileWidth
		j := i + 1
		for j < len(nodes) && nodes[j].Level == n.Level && nodes[j].Index/tileWidth == ti {
			j++
		}
		first := int(n.Index % tileWidth)
		if nodes[j-1].Index-n.Index != uint64(j-1-i) {
			return fmt.Errorf("store: log nodes of level %d not consecutive from index %d", n.Level, n.Index)
		}
		v := w.bytes(32 * (first + j - i))[:0]
		if first > 0 {
			old, err := s.get(tileKey(tl, ti))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if len(old) != 32*first {
				return fmt.Errorf("store: log tile (%d, %d) holds %d bytes, want the %d nodes before index %d", tl, ti, len(old), first, n.Index)
			}
			v = append(v, old...)
		}
		for k := i; k < j; k++ {
			v = append(v, nodes[k].Hash[:]...)
		}
		w.set(tileKey(tl, ti), v)
		i = j
	}
	return nil
}

// readLogNode returns the hash of the complete log node at (level, index), from its tile or hashed up
// from the tile below it. Log nodes never change once complete, so the last committed tiles serve any
// earlier log size.
func (s *Store) readLogNode(level uint8, index uint64) ([32]byte, error) {
	var h [32]byte
	base := level - level%tileHeight
	up := level - base // levels to hash up: the node covers 2^up nodes of the base level
	from := index << up
	tl, ti := base/tileHeight, from/tileWidth
	tile, closer, err := s.db.Get(tileKey(tl, ti)) // not s.get: the tile is hashed, not kept, so not copied
	if errors.Is(err, pebble.ErrNotFound) {
		return h, fmt.Errorf("%w: log tile (%d, %d)", ErrNotFound, tl, ti)
	}
	if err != nil {
		return h, fmt.Errorf("store: get: %w", err)
	}
	defer closer.Close()
	off, width := int(from%tileWidth), 1<<up
	if len(tile)%32 != 0 {
		return h, fmt.Errorf("store: corrupt log tile (%d, %d) of %d bytes", tl, ti, len(tile))
	}
	if len(tile) < 32*(off+width) {
		return h, fmt.Errorf("%w: log node (%d, %d) is not complete", ErrNotFound, level, index)
	}
	// The levels between the tile and the node, hashed in place.
	var nodes [tileWidth / 2][32]byte
	for k := range width {
		copy(nodes[k][:], tile[32*(off+k):])
	}
	for ; width > 1; width /= 2 {
		for k := range width / 2 {
			nodes[k] = tree.LogNodeHash(nodes[2*k], nodes[2*k+1])
		}
	}
	return nodes[0], nil
}
