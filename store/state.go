package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

const metaLog = "log"

// ErrNoSnapshot is returned when the state of a height is no longer (or not yet) held for proofs.
var ErrNoSnapshot = errors.New("store: no snapshot of that height")

// stageState adds the authenticated-state part of b to w, and returns the change to the map's top to
// apply once the block's batch has committed.
func (s *Store) stageState(w *writeSet, b *Block) (*topChange, error) {
	set := w.set
	if err := s.stageLogTiles(w, b.LogNodes); err != nil {
		return nil, err
	}
	if b.Log != nil {
		v := u64(b.Log.Size)
		for _, h := range b.Log.Border {
			v = append(v, h[:]...)
		}
		set(key(pMeta, []byte(metaLog)), v)
	}
	top := s.top.stageMap(w, b.MapWrites)
	if b.Checkpoint != nil {
		set(key(pCheck, u64(b.Checkpoint.Height)), b.Checkpoint.Encode())
	}
	if b.Signed != nil {
		set(key(pSigs, u64(b.Signed.Height)), b.Signed.Signatures.Encode())
	}
	if b.Validators != nil {
		set(key(pVals, u64(b.ValidatorsFrom)), b.Validators.Encode())
	}
	return top, nil
}

// LogState returns the log's size and right border as of the last commit.
func (s *Store) LogState() (tree.LogState, error) {
	v, err := s.get(key(pMeta, []byte(metaLog)))
	if errors.Is(err, ErrNotFound) {
		return tree.LogState{}, nil
	}
	if err != nil {
		return tree.LogState{}, err
	}
	if len(v) < 8 || (len(v)-8)%32 != 0 {
		return tree.LogState{}, fmt.Errorf("store: corrupt log state of %d bytes", len(v))
	}
	st := tree.LogState{Size: binary.BigEndian.Uint64(v), Border: make([][32]byte, (len(v)-8)/32)}
	for i := range st.Border {
		copy(st.Border[i][:], v[8+32*i:])
	}
	return st, nil
}

// LogProof returns the inclusion proof of log entry index in the log of the given size.
func (s *Store) LogProof(index, size uint64) ([][32]byte, error) {
	return tree.LogInclusion(s.readLogNode, index, size)
}

// LogConsistency returns the consistency proof between two log sizes.
func (s *Store) LogConsistency(size1, size2 uint64) ([][32]byte, error) {
	return tree.LogConsistency(s.readLogNode, size1, size2)
}

// MapRead returns a tree.Read over the last committed state. Unlike a Reader's, it must not be used
// while a block is being saved.
func (s *Store) MapRead() tree.Read { return s.top.mapRead(s.top.generation(), s.get) }

func mapRead(get func([]byte) ([]byte, error)) tree.Read {
	return func(p tree.Path) (tree.Node, bool, error) {
		v, err := get(p.AppendKey([]byte{pMap, sep}))
		if errors.Is(err, ErrNotFound) {
			return tree.Node{}, false, nil
		}
		if err != nil {
			return tree.Node{}, false, err
		}
		n, err := tree.DecodeNode(v)
		return n, err == nil, err
	}
}

// Checkpoint returns the checkpoint of a height.
func (s *Store) Checkpoint(height uint64) (receipt.Checkpoint, error) {
	v, err := s.get(key(pCheck, u64(height)))
	if err != nil {
		return receipt.Checkpoint{}, err
	}
	return receipt.DecodeCheckpoint(v)
}

// Signatures returns the quorum signatures on the checkpoint of a height.
func (s *Store) Signatures(height uint64) (receipt.Signatures, error) {
	v, err := s.get(key(pSigs, u64(height)))
	if err != nil {
		return receipt.Signatures{}, err
	}
	return receipt.DecodeSignatures(v)
}

// Validators returns the validator set in force at height.
func (s *Store) Validators(height uint64) (receipt.ValidatorSet, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pVals, sep}, UpperBound: key(pVals, u64(height+1))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: validator set at height %d", ErrNotFound, height)
	}
	return receipt.DecodeValidatorSet(it.Value())
}

// snapshots keeps Pebble snapshots of the last few committed heights, so that proofs can be made
// against a checkpoint whose signatures arrive a block later, while the state has moved on.
type snapshots struct {
	mu   sync.Mutex
	list []*heightSnap
}

// heightSnap is the state of one height. Receipts read it without holding the list's lock: refs
// counts the list (while it holds the snapshot) and each reader, and the last one out closes it.
type heightSnap struct {
	height uint64
	snap   *pebble.Snapshot
	gen    uint64 // the map top's generation at this height
	refs   int    // guarded by snapshots.mu
	// head is what every receipt at this height shares (checkpoint, signatures, transitions), built by
	// the first receipt once the checkpoint is signed; nil until then. Guarded by headMu.
	headMu sync.Mutex
	head   *receipt.Receipt
}

// keepSnapshots is how many recent heights stay provable.
const keepSnapshots = 8

func (s *Store) snapshot(height uint64) {
	sn := &heightSnap{height: height, snap: s.db.NewSnapshot(), gen: s.top.generation(), refs: 1}
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	s.snaps.list = append(s.snaps.list, sn)
	if len(s.snaps.list) > keepSnapshots {
		s.snaps.unref(s.snaps.list[0])
		s.snaps.list = s.snaps.list[1:]
	}
}

// acquire returns the snapshot of height with a reference the caller must release, or nil.
func (sn *snapshots) acquire(height uint64) *heightSnap {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	for _, x := range sn.list {
		if x.height == height && x.refs > 0 {
			x.refs++
			return x
		}
	}
	return nil
}

func (sn *snapshots) release(x *heightSnap) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	sn.unref(x)
}

// unref drops a reference; sn.mu must be held.
func (sn *snapshots) unref(x *heightSnap) {
	x.refs--
	if x.refs == 0 {
		_ = x.snap.Close()
	}
}

func (sn *snapshots) closeAll() {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	for _, x := range sn.list {
		sn.unref(x) // the list's reference; a reader still holding one closes it on release
	}
	sn.list = nil
}

// LatestSigned returns the highest height whose checkpoint is signed and whose state is still held.
func (s *Store) LatestSigned() (uint64, error) {
	s.snaps.mu.Lock()
	hs := make([]uint64, len(s.snaps.list))
	for i, x := range s.snaps.list {
		hs[i] = x.height
	}
	s.snaps.mu.Unlock()
	for i := len(hs) - 1; i >= 0; i-- {
		_, err := s.get(key(pSigs, u64(hs[i])))
		if err == nil {
			return hs[i], nil
		}
		if !errors.Is(err, ErrNotFound) {
			return 0, err
		}
	}
	return 0, ErrNoSnapshot
}

// Receipt assembles the receipt for doc as of the signed checkpoint of height, from the state held for
// that height.
func (s *Store) Receipt(doc [32]byte, height uint64) (*receipt.Receipt, error) {
	x := s.snaps.acquire(height)
	if x == nil {
		return nil, fmt.Errorf("%w: %d", ErrNoSnapshot, height)
	}
	defer s.snaps.release(x)
	snap := x.snap
	get := func(k []byte) ([]byte, error) {
		v, closer, err := snap.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		defer closer.Close()
		return append([]byte(nil), v...), nil
	}
	head, err := s.receiptHead(x)
	if err != nil {
		return nil, err
	}
	c := head.Checkpoint
	r := &receipt.Receipt{Version: receipt.Version, DocHash: doc, Checkpoint: c, Signatures: head.Signatures, Transitions: head.Transitions}
	if r.MapProof, err = tree.Prove(s.top.mapRead(x.gen, get), doc); err != nil {
		return nil, err
	}
	a, err := readAnchor(get, doc)
	switch {
	case errors.Is(err, ErrNotFound):
		return r, nil
	case err != nil:
		return nil, err
	}
	rec := a.Record
	r.State, r.Record, r.LogIndex, r.Revocation = a.State(), &rec, a.LogIndex, a.Revocation
	if r.LogProof, err = s.LogProof(a.LogIndex, c.LogSize); err != nil {
		return nil, err
	}
	return r, nil
}

// receiptHead returns the parts every receipt at x's height shares, reading them once per height. They
// never change once the checkpoint is signed; the slices are shared by the receipts and must not be
// modified (receipts are encoded, never edited).
func (s *Store) receiptHead(x *heightSnap) (*receipt.Receipt, error) {
	x.headMu.Lock()
	defer x.headMu.Unlock()
	if x.head != nil {
		return x.head, nil
	}
	c, err := s.Checkpoint(x.height)
	if err != nil {
		return nil, fmt.Errorf("store: checkpoint %d: %w", x.height, err)
	}
	sigs, err := s.Signatures(x.height)
	if err != nil {
		return nil, fmt.Errorf("store: signatures %d: %w", x.height, err)
	}
	h := &receipt.Receipt{Checkpoint: c, Signatures: sigs}
	if h.Transitions, err = s.transitions(x.height); err != nil {
		return nil, err
	}
	x.head = h
	return h, nil
}

// transitions returns the validator-set changes from genesis up to the set that signs the checkpoint
// of height: for a set in force from height e > 1, the checkpoint of e-1 (which names it as the next
// set and is signed by the set before), its signatures, and the set itself.
func (s *Store) transitions(height uint64) ([]receipt.Transition, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: key(pVals, u64(2)), UpperBound: key(pVals, u64(height+1))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []receipt.Transition
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 10 {
			return nil, fmt.Errorf("store: corrupt validator-set key of %d bytes", len(k))
		}
		from := binary.BigEndian.Uint64(k[2:])
		next, err := receipt.DecodeValidatorSet(it.Value())
		if err != nil {
			return nil, err
		}
		c, err := s.Checkpoint(from - 1)
		if err != nil {
			return nil, fmt.Errorf("store: checkpoint %d of a validator-set change: %w", from-1, err)
		}
		sigs, err := s.Signatures(from - 1)
		if err != nil {
			return nil, fmt.Errorf("store: signatures on checkpoint %d of a validator-set change: %w", from-1, err)
		}
		out = append(out, receipt.Transition{Checkpoint: c, Signatures: sigs, Next: next})
	}
	return out, it.Error()
}
