package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// ErrNotFound is returned when a key holds nothing.
var ErrNotFound = errors.New("store: not found")

// Key prefixes. One byte each, so that ranges never overlap.
const (
	pMeta      = 'm' // m/<name>: commit, params, log, layout
	pAnchor    = 'a' // a/<doc hash>            -> anchor value (anchorValue)
	pTxRec     = 'b' // b/<height><tx index>    -> what the anchors of one transaction share (txRecord)
	pAgency    = 'g' // g/<agency ID>           -> Agency JSON
	pKey       = 'k' // k/<public key>          -> agency ID
	pNonce     = 'n' // n/<signer><nonce>       -> expiry
	pExpiry    = 'x' // x/<expiry><signer><nonce> -> empty (index for pruning)
	pTx        = 't' // t/<tx hash>             -> TxResult
	pLog       = 'l' // l/<level><index>        -> log node hash (layouts 1 and 2; now pTile)
	pTile      = 'e' // e/<tile level><index>   -> log tile: up to 256 node hashes (logtiles.go)
	pMap       = 's' // s/<tree path key>       -> map node encoding, at topDepth and below (layout.go)
	pCheck     = 'p' // p/<height>              -> checkpoint encoding
	pSigs      = 'q' // q/<height>              -> checkpoint signatures
	pVals      = 'v' // v/<height>              -> validator set from that height on
	pRevoked   = 'r' // r/<doc hash>            -> receipt.Revocation encoding
	pProposal  = 'o' // o/<proposal ID>         -> Proposal JSON
	pMetaIdx   = 'i' // i/<log index>           -> doc hash of an anchor that committed to metadata
	pMetadata  = 'd' // d/<doc hash>            -> signed metadata message (gossiped; not in the app hash)
	sep        = '/'
	metaCommit = "commit"
	metaParams = "params"
)

// Commit is the state as of the last committed block.
type Commit struct {
	Height  uint64
	AppHash []byte
	// TimeUnixNano is the consensus time of the block at Height.
	TimeUnixNano int64
}

// Key is an ed25519 public key. It reads and writes as hex in JSON.
type Key [32]byte

// MarshalText implements encoding.TextMarshaler.
func (k Key) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("store: public key must be 64 hex digits, got %d characters", len(b))
	}
	_, err := hex.Decode(k[:], b)
	return err
}

// Agency is a registered agency. Keys may sign; Retired keys signed once and may no longer; a
// Suspended agency may not write at all.
type Agency struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Keys      []Key  `json:"keys"`
	Retired   []Key  `json:"retired,omitempty"`
	Suspended bool   `json:"suspended,omitempty"`
	// DocTypes are the document types it may issue; none means any.
	DocTypes []string `json:"doc_types,omitempty"`
}

// Proposal is a governance proposal and the consortium members who approved it.
type Proposal struct {
	ID        [8]byte  `json:"id"`
	Proposer  string   `json:"proposer"`
	Action    []byte   `json:"action"` // the action's encoding (package app/tx)
	Deadline  uint64   `json:"deadline"`
	Height    uint64   `json:"height"`
	Approvals []string `json:"approvals"`
	// Executed is the height at which it reached the threshold and took effect; 0 while open.
	Executed uint64 `json:"executed,omitempty"`
}

// Nonce records that Signer used Nonce in a transaction valid until Expiry.
type Nonce struct {
	Signer [32]byte
	Nonce  uint64
	Expiry uint64
}

// TxResult is where a transaction landed and how it fared.
type TxResult struct {
	Hash   [32]byte
	Height uint64
	Index  uint32
	Code   uint32
}

// Anchor is a stored anchor: the record, where its event sits in the log, and its revocation if any.
type Anchor struct {
	receipt.Record
	LogIndex   uint64
	Revocation *receipt.Revocation
	// MapValue is the document's value in the map while it is anchored: receipt.MapValue of the
	// record with receipt.StateAnchored and LogIndex. The app sets it (it computes it for the map);
	// Save computes it when it is zero.
	MapValue [32]byte
}

// State is the anchor's state in the map.
func (a *Anchor) State() receipt.State {
	if a.Revocation != nil {
		return receipt.StateRevoked
	}
	return receipt.StateAnchored
}

// Revoked is a revocation of document Doc by Agency (which anchored it; the agency is not stored
// again with the revocation).
type Revoked struct {
	Doc    [32]byte
	Agency string
	receipt.Revocation
}

// Block is everything one block changes. Save writes it atomically.
type Block struct {
	Commit   Commit
	Params   []byte // written when non-nil (at genesis)
	Agencies []Agency
	Anchors  []Anchor
	Revoked  []Revoked
	Nonces   []Nonce
	Txs      []TxResult
	// Authenticated state: new log nodes and border, map node writes, and the block's checkpoint.
	LogNodes   []tree.LogNode
	Log        *tree.LogState
	MapWrites  []tree.Write
	Checkpoint *receipt.Checkpoint
	// Signatures of an earlier checkpoint that this block carries.
	Signed *SignedCheckpoint
	// Validators, when set, is the validator set from height ValidatorsFrom on.
	Validators     receipt.ValidatorSet
	ValidatorsFrom uint64
	Proposals      []Proposal
}

// SignedCheckpoint is a checkpoint height and the quorum signatures on it.
type SignedCheckpoint struct {
	Height     uint64
	Signatures receipt.Signatures
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	// FS replaces the file system; tests pass vfs.NewStrictMem() to simulate crashes.
	FS vfs.FS
	// CacheBytes is Pebble's block cache size; 0 means 512 MiB. The tree update reads nodes at random
	// deep in the map: a cache that holds them is a third faster per block than 64 MiB (PERFORMANCE.md).
	CacheBytes int64
	Logger     *slog.Logger
}

// Store is the application state in Pebble. It is safe for concurrent use: Save from one goroutine,
// reads from any.
type Store struct {
	view
	db    *pebble.DB
	dir   string
	snaps snapshots
	docs  *docFilter
	top   *topTree // the authenticated map's upper levels (top.go)
	// commitMu orders a block's commit (Save) and the creation of Readers, so that a Reader knows which
	// generation of the map's top its snapshot shows.
	commitMu sync.RWMutex
	// failed is set, under commitMu, when a block's batch failed to commit. Pebble may have applied the
	// batch before reporting the failure (a WAL sync error), leaving it out of step with the map's top in
	// memory; the store then refuses Save and NewReader, and the node must restart (Open rebuilds the
	// top from what Pebble holds and checks it against the last checkpoint).
	failed error
	commit func(*pebble.Batch) error // commitBatch
	logger *slog.Logger
}

// ErrFailed is returned by Save and NewReader after a block failed to commit.
var ErrFailed = errors.New("store: a block failed to commit; restart the node")

// keyComparer makes every key its own prefix: point lookups (Get, also through a Reader's snapshot) then
// use the bloom filters. It keeps the default comparer's name and ordering, so existing stores open as
// before. Every Open of a store must use it.
func keyComparer() *pebble.Comparer {
	cmp := *pebble.DefaultComparer
	cmp.Split = func(k []byte) int { return len(k) }
	return &cmp
}

// Open opens or creates the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = 512 << 20
	}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref()
	// A 128 MiB memtable (Pebble's default is 4 MiB) holds many blocks: map nodes just below the
	// in-memory top and log nodes rewritten by the next blocks are replaced before they are flushed,
	// and each flush adds one level-0 sublevel, so fewer flushes mean fewer compactions.
	// BenchmarkValidatorPipeline/block=40000, 128 against 64 MiB: 11.1-12.1 against 12.2-15.5 us of CPU
	// per anchor at 1.2 million anchors (two runs each), 18.7 against 24.3 at 4 million, 40.2 against
	// 49.8 at 10 million (docs/PERFORMANCE.md). Memtables take at most 256 MiB: Pebble stops writes at
	// MemTableStopWritesThreshold (2) times MemTableSize (its documented bound, not measured here).
	opts := &pebble.Options{FS: o.FS, Cache: cache, Logger: quietLogger{o.Logger}, Comparer: keyComparer(), MemTableSize: 128 << 20}
	// Most lookups on the write path are for keys that do not exist (a new hash, a fresh nonce): bloom
	// filters answer those without reading data blocks.
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// The keys are hashes and paths along them and the values mostly hashes, which do not compress:
	// in a profile of BenchmarkValidatorPipeline snappy took 7% of the CPU, and it saved 7-11% of the
	// bytes written. New keys land all over
	// the key space, so each compaction of level 0 into the base level rewrites much of that level:
	// letting level 0 gather 16 sublevels (default 4; a flush makes one) and the base level grow to
	// 512 MiB (default 64 MiB) before compacting makes those compactions rarer and larger.
	// BenchmarkValidatorPipeline/block=40000 to 4 million anchors: 20.2 instead of 26.0 us of CPU and
	// 1,777 instead of 2,194 Pebble bytes per anchor (docs/PERFORMANCE.md). A point lookup then checks
	// up to 12 more bloom filters (up to 44 more should level 0 back up to the stop threshold).
	for i := range opts.Levels {
		opts.Levels[i].Compression = pebble.NoCompression
	}
	opts.L0CompactionThreshold = 16
	opts.L0StopWritesThreshold = 48
	opts.LBaseMaxBytes = 512 << 20
	opts.EventListener = pebbleEvents(o.Logger)
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, docs: &docFilter{}, commit: commitBatch, logger: o.Logger}
	s.view = view{get: s.get, docs: s.docs}
	// One scan of the anchors rebuilds the map's top and fills the document filter.
	if err := s.loadTop(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.snaps.closeAll()
	return s.db.Close()
}

// Dir returns the directory the store was opened in.
func (s *Store) Dir() string { return s.dir }

// DB exposes the Pebble handle for checkpoints and metrics; callers must not write through it.
func (s *Store) DB() *pebble.DB { return s.db }

func key(prefix byte, parts ...[]byte) []byte {
	n := 2
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, prefix, sep)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// get returns a copy of the value at k, or ErrNotFound.
func (s *Store) get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

// LastCommit returns the last committed height and app hash; zero for a fresh store.
func (s *Store) LastCommit() (Commit, error) {
	v, err := s.get(key(pMeta, []byte(metaCommit)))
	if errors.Is(err, ErrNotFound) {
		return Commit{}, nil
	}
	if err != nil {
		return Commit{}, err
	}
	if len(v) < 16 {
		return Commit{}, fmt.Errorf("store: corrupt commit record of %d bytes", len(v))
	}
	return Commit{
		Height:       binary.BigEndian.Uint64(v),
		TimeUnixNano: int64(binary.BigEndian.Uint64(v[8:])),
		AppHash:      v[16:],
	}, nil
}

// Params returns the chain parameters written at genesis.
func (s *Store) Params() ([]byte, error) { return s.get(key(pMeta, []byte(metaParams))) }

// Anchor returns the stored anchor of a document hash.
func (v view) Anchor(doc [32]byte) (Anchor, error) {
	if v.docs != nil && !v.docs.mayContain(doc) {
		return Anchor{}, ErrNotFound
	}
	return readAnchor(v.get, doc)
}

func readAnchor(get func([]byte) ([]byte, error), doc [32]byte) (Anchor, error) {
	v, err := get(key(pAnchor, doc[:]))
	if err != nil {
		return Anchor{}, err
	}
	if len(v) > maxAnchorValueLen {
		// Written before anchors were stored in two parts: the log index and the whole record.
		r, err := receipt.DecodeRecord(v[8:])
		if err != nil {
			return Anchor{}, fmt.Errorf("store: anchor %x: %w", doc, err)
		}
		return withRevocation(get, Anchor{Record: r, LogIndex: binary.BigEndian.Uint64(v)})
	}
	a, _, err := decodeAnchorValue(doc, v)
	if err != nil {
		return Anchor{}, err
	}
	tv, err := get(txRecKey(a.Height, a.TxIndex))
	if errors.Is(err, ErrNotFound) {
		return Anchor{}, fmt.Errorf("store: anchor %x: no record of its transaction (height %d, index %d)", doc, a.Height, a.TxIndex)
	}
	if err != nil {
		return Anchor{}, err
	}
	if err := decodeTxRecord(tv, &a.Record); err != nil {
		return Anchor{}, fmt.Errorf("store: anchor %x: %w", doc, err)
	}
	return withRevocation(get, a)
}

// withRevocation adds the document's revocation, if it has one, to a.
func withRevocation(get func([]byte) ([]byte, error), a Anchor) (Anchor, error) {
	doc := a.DocHash
	rv, err := get(key(pRevoked, doc[:]))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return a, err
	default:
		dec, err := receipt.DecodeRevocation(rv)
		if err != nil {
			return a, fmt.Errorf("store: revocation of %x: %w", doc, err)
		}
		a.Revocation = &dec
	}
	return a, nil
}

// Agency returns a registered agency by ID.
func (v view) Agency(id string) (Agency, error) {
	var a Agency
	b, err := v.get(key(pAgency, []byte(id)))
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("store: agency %q: %w", id, err)
	}
	return a, nil
}

// AgencyByKey returns the agency that a public key belongs to.
func (v view) AgencyByKey(k [32]byte) (Agency, error) {
	id, err := v.get(key(pKey, k[:]))
	if err != nil {
		return Agency{}, err
	}
	return v.Agency(string(id))
}

// Agencies returns every registered agency, ordered by ID.
func (s *Store) Agencies() ([]Agency, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pAgency, sep}, UpperBound: []byte{pAgency, sep + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: list agencies: %w", err)
	}
	defer it.Close()
	var out []Agency
	for it.First(); it.Valid(); it.Next() {
		var a Agency
		if err := json.Unmarshal(it.Value(), &a); err != nil {
			return nil, fmt.Errorf("store: agency %q: %w", it.Key()[2:], err)
		}
		out = append(out, a)
	}
	return out, it.Error()
}

// NonceUsed reports whether signer already used nonce in a committed transaction that has not expired.
func (v view) NonceUsed(signer [32]byte, nonce uint64) (bool, error) {
	_, err := v.get(key(pNonce, signer[:], u64(nonce)))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// TxResult returns where a committed transaction landed.
func (v view) TxResult(h [32]byte) (TxResult, error) {
	b, err := v.get(key(pTx, h[:]))
	if err != nil {
		return TxResult{}, err
	}
	if len(b) != 16 {
		return TxResult{}, fmt.Errorf("store: corrupt tx result of %d bytes", len(b))
	}
	return TxResult{Hash: h, Height: binary.BigEndian.Uint64(b), Index: binary.BigEndian.Uint32(b[8:]), Code: binary.BigEndian.Uint32(b[12:])}, nil
}

// Save writes one block's changes, its height and app hash in one synced batch, and prunes nonces that
// can no longer be replayed (those whose expiry is at or below the new height).
func (s *Store) Save(b *Block) error {
	stored := 0 // the map writes at topDepth and below: stageMap stores only those
	for i := range b.MapWrites {
		if int(b.MapWrites[i].Path.Depth) >= topDepth {
			stored++
		}
	}
	// The log's nodes take a tile key per tileWidth, and one more per level for the partial tiles (in
	// the 64).
	w := writeSet{ops: make([]writeOp, 0, 64+stored+2*len(b.Anchors)+len(b.LogNodes)/tileWidth+2*len(b.Nonces)+len(b.Txs)+len(b.Revoked))}
	set := w.set
	var errs []error
	c := b.Commit
	cv := binary.BigEndian.AppendUint64(nil, c.Height)
	cv = binary.BigEndian.AppendUint64(cv, uint64(c.TimeUnixNano))
	cv = append(cv, c.AppHash...)
	set(key(pMeta, []byte(metaCommit)), cv)
	if b.Params != nil {
		set(key(pMeta, []byte(metaParams)), b.Params)
	}
	for _, a := range b.Agencies {
		v, err := json.Marshal(a)
		errs = append(errs, err)
		set(key(pAgency, []byte(a.ID)), v)
		for _, k := range a.Keys {
			set(key(pKey, k[:]), []byte(a.ID))
		}
	}
	// A transaction's shared record is staged once, from its first anchor; every other anchor of it must
	// agree. Its anchors come one after the other, so the previous anchor's transaction is checked
	// first; the map catches a transaction met again later.
	type txID struct {
		height uint64
		index  uint32
	}
	first := map[txID]*Anchor{}
	var tx *Anchor // the previous anchor's first anchor
	for i := range b.Anchors {
		a := &b.Anchors[i]
		if tx == nil || tx.Height != a.Height || tx.TxIndex != a.TxIndex {
			id := txID{a.Height, a.TxIndex}
			if tx = first[id]; tx == nil {
				tx, first[id] = a, a
				set(txRecKey(a.Height, a.TxIndex), appendTxRecord(w.bytes(txRecordLen(a.Agency))[:0], &a.Record))
			}
		}
		if tx.TxHash != a.TxHash || tx.Signer != a.Signer || tx.Agency != a.Agency || !tx.Time.Equal(a.Time) {
			errs = append(errs, fmt.Errorf("anchors %x and %x of transaction %d disagree on what they share", tx.DocHash[:8], a.DocHash[:8], a.TxIndex))
		}
		if a.MapValue == ([32]byte{}) {
			a.MapValue = receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)
		}
		set(key(pAnchor, a.DocHash[:]), appendAnchorValue(w.bytes(anchorValueLen(a))[:0], a))
		if a.MetaDigest != nil {
			set(key(pMetaIdx, u64(a.LogIndex)), a.DocHash[:])
		}
	}
	for _, pr := range b.Proposals {
		v, err := json.Marshal(pr)
		errs = append(errs, err)
		set(key(pProposal, pr.ID[:]), v)
	}
	for i := range b.Revoked {
		r := &b.Revoked[i]
		set(key(pRevoked, r.Doc[:]), r.Revocation.Encode())
	}
	top, err := s.stageState(&w, b)
	errs = append(errs, err)
	for _, n := range b.Nonces {
		if n.Expiry <= c.Height {
			continue // already past its expiry: pruneNonces, which reads committed state, would miss it
		}
		set(key(pNonce, n.Signer[:], u64(n.Nonce)), u64(n.Expiry))
		set(key(pExpiry, u64(n.Expiry), n.Signer[:], u64(n.Nonce)), nil)
	}
	for _, t := range b.Txs {
		v := binary.BigEndian.AppendUint64(nil, t.Height)
		v = binary.BigEndian.AppendUint32(v, t.Index)
		v = binary.BigEndian.AppendUint32(v, t.Code)
		set(key(pTx, t.Hash[:]), v)
	}
	errs = append(errs, s.pruneNonces(&w, c.Height))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: stage block %d: %w", c.Height, err)
	}
	// Into the filter before the commit: a reader that sees the anchors then also sees them in the
	// filter. Should the commit fail, the extra hashes only cost lookups.
	docs := make([][32]byte, len(b.Anchors))
	for i := range b.Anchors {
		docs[i] = b.Anchors[i].DocHash
	}
	s.docs.add(docs...)
	batch := s.db.NewBatchWithSize(w.batchBytes())
	defer batch.Close()
	if err := w.apply(batch); err != nil {
		return fmt.Errorf("store: batch of block %d: %w", c.Height, err)
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if err := s.commit(batch); err != nil {
		s.failed = fmt.Errorf("%w: block %d: %v", ErrFailed, c.Height, err)
		return fmt.Errorf("store: commit block %d: %w", c.Height, err)
	}
	s.top.commit(top)
	s.snapshot(c.Height)
	return nil
}

// commitBatch commits a block's batch, synced. Tests replace it to make a commit fail.
func commitBatch(b *pebble.Batch) error { return b.Commit(pebble.Sync) }

// pruneNonces deletes, in w, the nonces whose expiry is at most height.
func (s *Store) pruneNonces(w *writeSet, height uint64) error {
	upper := key(pExpiry, u64(height+1))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pExpiry, sep}, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 2+8+32+8 {
			return fmt.Errorf("corrupt expiry key of %d bytes", len(k))
		}
		w.delete(key(pNonce, k[10:]))
		w.delete(append([]byte(nil), k...))
	}
	return it.Error()
}

// pebbleEvents logs when Pebble stops taking writes (level 0 at L0StopWritesThreshold sublevels, or
// too many memtables waiting for their flush) and when it takes them again, as warnings: meanwhile every
// Save, and so every Commit, waits, and the node commits no block. At debug level it also logs each
// flush and compaction as it ends.
func pebbleEvents(l *slog.Logger) *pebble.EventListener {
	q := quietLogger{l}
	return &pebble.EventListener{
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			q.logger().Warn("state database stopped taking writes until its compactions catch up; commits wait", "reason", info.Reason, "component", "pebble")
		},
		WriteStallEnd: func() {
			q.logger().Warn("state database takes writes again", "component", "pebble")
		},
		// Flushes and compactions explain a slow block: at log_level debug each one is logged when it
		// ends, with its levels, bytes and duration.
		// Pebble's summary (a compaction's names every file) is only built when debug is on.
		FlushEnd: func(info pebble.FlushInfo) {
			if l := q.logger(); l.Enabled(context.Background(), slog.LevelDebug) {
				l.Debug("state database flush", "info", info.String(), "component", "pebble")
			}
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			if l := q.logger(); l.Enabled(context.Background(), slog.LevelDebug) {
				l.Debug("state database compaction", "info", info.String(), "component", "pebble")
			}
		},
	}
}

// quietLogger sends Pebble's log lines to slog (at debug for info, so a node's log stays readable).
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) logger() *slog.Logger {
	if q.l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return q.l
}

func (q quietLogger) Infof(format string, args ...any) {
	q.logger().Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (q quietLogger) Errorf(format string, args ...any) {
	q.logger().Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (q quietLogger) Fatalf(format string, args ...any) {
	q.logger().Error(fmt.Sprintf(format, args...), "component", "pebble")
	panic(fmt.Sprintf(format, args...))
}

// Proposal returns a governance proposal.
func (v view) Proposal(id [8]byte) (Proposal, error) {
	var p Proposal
	b, err := v.get(key(pProposal, id[:]))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("store: proposal %x: %w", id, err)
	}
	return p, nil
}

// Proposals returns every proposal, ordered by ID.
func (s *Store) Proposals() ([]Proposal, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pProposal, sep}, UpperBound: []byte{pProposal, sep + 1}})
	if err != nil {
		return nil, fmt.Errorf("store: list proposals: %w", err)
	}
	defer it.Close()
	var out []Proposal
	for it.First(); it.Valid(); it.Next() {
		var p Proposal
		if err := json.Unmarshal(it.Value(), &p); err != nil {
			return nil, fmt.Errorf("store: proposal: %w", err)
		}
		out = append(out, p)
	}
	return out, it.Error()
}
