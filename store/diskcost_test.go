package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/celestiaorg/smt"
	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
	"github.com/siegel-notary/siegel/store/tree"
)

// BenchmarkAuthStateDisk measures what an anchor costs on disk, in time and bytes, with our
// authenticated state (RFC 6962 log and package tree's sparse Merkle tree in a Store) and with
// github.com/celestiaorg/smt v0.3.0 over Pebble. Each run fills a fresh database in blocks of
// diskBlock random document hashes, each block one synced batch, until docs documents are in:
//
//	go test -tags pebbledb -run='^$' -bench=AuthStateDisk -benchtime=1x -short ./store   # 10^5 documents
//	go test -tags pebbledb -run='^$' -bench=AuthStateDisk -benchtime=1x -timeout=60m ./store
//
// The variants:
//
//   - impl=siegel/state=full: blocks as the app saves them (anchor records, a transaction result per 10
//     anchors, log nodes and border, map writes, checkpoint, commit record) through Store.Save.
//   - impl=siegel/state=map: only the map writes (and the commit record) through Store.Save.
//   - impl=celestia/state=map: the same keys and map values (receipt.MapValue) set with one
//     SparseMerkleTree.Update per key, its nodes and values (smt.MapStore) in an indexed Pebble batch per
//     block committed with pebble.Sync.
//
// Metrics: ns/anchor over the whole fill and ns/anchor-last over the last tenth of it (the marginal cost
// at that size), both wall-clock; cpu-ns/anchor, the process's CPU time (Pebble's background work
// included) over the whole fill, which other load on the machine does not inflate; after closing, reopening, flushing and compacting the whole key range, disk-B/anchor is
// the size of every file in the database directory (tables, WAL, manifest) per document, and the other
// -B/anchor metrics are DB.EstimateDiskUsage of one part's key range per document: auth (log and map:
// prefixes 'e' and 's', or celestia's nodes and values), map ('s', or nodes and values), log ('e', its
// tiles), anchors ('a'), nodes and values (celestia's two stores). Since storage layout 3 our map's
// leaves above depth 22 are not under 's': their values are part of the anchors' ('a'), so the state=map
// variant stores only the nodes at depth 22 and below (its top is rebuilt from anchors it does not
// have), and the siegel "map" figures no longer compare with celestia's.
func BenchmarkAuthStateDisk(b *testing.B) {
	for _, docs := range []int{100_000, 1_000_000} {
		for _, v := range diskVariants {
			b.Run(fmt.Sprintf("impl=%s/docs=%d", v.name, docs), func(b *testing.B) {
				if docs > 100_000 && testing.Short() {
					b.Skip("10^6 documents: not under -short")
				}
				var res diskResult
				for range b.N {
					res = v.run(b, b.TempDir(), docs)
				}
				n := float64(docs)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*n), "ns/anchor")
				b.ReportMetric(float64(res.last.Nanoseconds())/float64(res.lastDocs), "ns/anchor-last")
				if res.cpu > 0 {
					b.ReportMetric(float64(res.cpu.Nanoseconds())/n, "cpu-ns/anchor")
				}
				b.ReportMetric(float64(res.files)/n, "disk-B/anchor")
				var parts []string
				for _, p := range res.parts {
					b.ReportMetric(float64(p.bytes)/n, p.name+"-B/anchor")
					parts = append(parts, fmt.Sprintf("%s %d", p.name, p.bytes))
				}
				b.Logf("%d documents: %d bytes in files (%d in tables); estimated by key range: %s",
					docs, res.files, res.tables, strings.Join(parts, ", "))
			})
		}
	}
}

// diskBlock is how many documents each block anchors; diskTx how many each transaction carries.
const (
	diskBlock = 1000
	diskTx    = 10
)

var diskVariants = []struct {
	name string
	run  func(b *testing.B, dir string, docs int) diskResult
}{
	{"siegel/state=full", func(b *testing.B, dir string, docs int) diskResult { return fillSiegel(b, dir, docs, true) }},
	{"siegel/state=map", func(b *testing.B, dir string, docs int) diskResult { return fillSiegel(b, dir, docs, false) }},
	{"celestia/state=map", fillCelestia},
}

// diskResult is what one fill measured. The timer runs only while blocks are made and saved.
type diskResult struct {
	last     time.Duration // time taken by the last tenth of the blocks
	lastDocs int
	cpu      time.Duration // CPU time (user and system) of the process while the blocks were made, if known
	files    int64         // every file in the directory
	tables   int64         // the .sst files among them
	parts    []diskPart
}

type diskPart struct {
	name  string
	bytes uint64
}

// diskRange is a key range whose estimated disk usage is reported under name.
type diskRange struct {
	name   string
	ranges [][2][]byte
}

// prefixRange is the range of keys that start with prefix and '/'.
func prefixRange(prefix byte) [2][]byte { return [2][]byte{{prefix, '/'}, {prefix, '/' + 1}} }

// blockDocs returns the documents and records of block h (from 1): diskBlock random hashes from r, in
// transactions of diskTx, their log indexes following on from the documents of earlier blocks.
func blockDocs(r *rand.Rand, h uint64) []store.Anchor {
	signer := sha256.Sum256([]byte("bench signer"))
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Second)
	out := make([]store.Anchor, diskBlock)
	var txHash [32]byte
	for i := range out {
		var doc [32]byte
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(doc[j:], r.Uint64())
		}
		if i%diskTx == 0 {
			txHash = sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, h), uint64(i)))
		}
		out[i] = store.Anchor{LogIndex: (h-1)*diskBlock + uint64(i), Record: receipt.Record{
			DocHash: doc, Agency: "bench-agency", Signer: signer, Height: h, Time: t,
			TxHash: txHash, TxIndex: uint32(i / diskTx), Entry: uint32(i % diskTx),
		}}
	}
	return out
}

// timeBlocks calls block(h) for h from 1 until docs documents are in, and returns the time the last
// tenth of the blocks took.
func timeBlocks(b *testing.B, docs int, res *diskResult, block func(h uint64) error) {
	cpu0, cpuOK := cpuTime()
	blocks := (docs + diskBlock - 1) / diskBlock
	lastFrom := blocks - max(1, blocks/10)
	var start time.Time
	for i := range blocks {
		if i == lastFrom {
			start = time.Now()
		}
		if err := block(uint64(i + 1)); err != nil {
			b.Fatal(err)
		}
	}
	res.last, res.lastDocs = time.Since(start), (blocks-lastFrom)*diskBlock
	if cpu1, ok := cpuTime(); ok && cpuOK {
		res.cpu = cpu1 - cpu0
	}
}

// cpuTime returns the user and system CPU time of this process so far, from /proc/self/stat (in clock
// ticks, taken to be 100 a second as on every common Linux), with ok false where there is no such file.
// Other processes on the machine do not count in it, unlike in the wall-clock times.
func cpuTime() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

func fillSiegel(b *testing.B, dir string, docs int, full bool) diskResult {
	b.StopTimer()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, uint64(docs)))
	var log tree.LogState
	b.StartTimer()
	var res diskResult
	timeBlocks(b, docs, &res, func(h uint64) error {
		anchors := blockDocs(r, h)
		kvs := make([]tree.KV, len(anchors))
		leaves := make([][32]byte, len(anchors))
		for i := range anchors {
			a := &anchors[i]
			kvs[i] = tree.KV{Key: a.DocHash, Value: receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)}
			if full {
				leaves[i] = receipt.LogLeafHash(receipt.AnchorEvent(&a.Record))
			}
		}
		rd, err := s.NewReader()
		if err != nil {
			return err
		}
		mapRoot, writes, err := tree.Update(rd.MapRead(), kvs)
		if err := errors.Join(err, rd.Close()); err != nil {
			return err
		}
		blk := &store.Block{MapWrites: writes, Commit: store.Commit{Height: h, AppHash: mapRoot[:], TimeUnixNano: anchors[0].Time.UnixNano()}}
		if full {
			var logRoot [32]byte
			if log, logRoot, blk.LogNodes, err = tree.AppendLog(log, leaves); err != nil {
				return err
			}
			st := log
			blk.Log, blk.Anchors = &st, anchors
			for i := 0; i < len(anchors); i += diskTx {
				blk.Txs = append(blk.Txs, store.TxResult{Hash: anchors[i].TxHash, Height: h, Index: anchors[i].TxIndex})
			}
			blk.Checkpoint = &receipt.Checkpoint{ChainID: "bench", Height: h, Time: anchors[0].Time,
				LogSize: log.Size, LogRoot: logRoot, MapRoot: mapRoot}
			ch := blk.Checkpoint.Hash()
			blk.Commit.AppHash = ch[:]
		}
		return s.Save(blk)
	})
	b.StopTimer()
	// Closing releases the snapshots the store keeps of recent heights, which would hold overwritten
	// map nodes through the compaction.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = store.Open(dir, store.Options{}); err != nil {
		b.Fatal(err)
	}
	ranges := []diskRange{
		{"auth", [][2][]byte{prefixRange('e'), prefixRange('s')}},
		{"map", [][2][]byte{prefixRange('s')}},
	}
	if full {
		ranges = append(ranges, diskRange{"log", [][2][]byte{prefixRange('e')}}, diskRange{"anchors", [][2][]byte{prefixRange('a')}})
	}
	res.parts = compactAndEstimate(b, s.DB(), ranges)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	res.files, res.tables = dirSize(b, dir)
	b.StartTimer()
	return res
}

// compactAndEstimate flushes and compacts the whole key range of db and returns the estimated disk
// usage of each range.
func compactAndEstimate(b *testing.B, db *pebble.DB, ranges []diskRange) []diskPart {
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Compact([]byte{0}, []byte{0xff, 0xff}, true); err != nil {
		b.Fatal(err)
	}
	var out []diskPart
	for _, r := range ranges {
		p := diskPart{name: r.name}
		for _, kr := range r.ranges {
			n, err := db.EstimateDiskUsage(kr[0], kr[1])
			if err != nil {
				b.Fatal(err)
			}
			p.bytes += n
		}
		out = append(out, p)
	}
	return out
}

// dirSize returns the total size of the files under dir, and of the .sst files among them.
func dirSize(b *testing.B, dir string) (files, tables int64) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files += info.Size()
		if strings.HasSuffix(path, ".sst") {
			tables += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return files, tables
}

// celestiaDB holds the batch of the block being made; its two MapStores read and write through it.
type celestiaDB struct {
	db    *pebble.DB
	batch *pebble.Batch
}

// pebbleMapStore is an smt.MapStore over the keys of celestiaDB that start with prefix and '/'.
type pebbleMapStore struct {
	c      *celestiaDB
	prefix byte
}

func (m pebbleMapStore) key(k []byte) []byte {
	return append([]byte{m.prefix, '/'}, k...)
}

func (m pebbleMapStore) Get(k []byte) ([]byte, error) {
	v, closer, err := m.c.batch.Get(m.key(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, &smt.InvalidKeyError{Key: k}
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

func (m pebbleMapStore) Set(k, v []byte) error { return m.c.batch.Set(m.key(k), v, pebble.NoSync) }

func (m pebbleMapStore) Delete(k []byte) error { return m.c.batch.Delete(m.key(k), pebble.NoSync) }

// openCelestiaDB opens Pebble in dir for the celestia variant: bloom filters as store.Open sets them, a
// 64 MiB block cache, otherwise Pebble's defaults. store.Open also tunes its memtable, compression and
// level sizes for its own writes, so the two variants do not run on identical settings.
func openCelestiaDB(dir string) (*pebble.DB, error) {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, Logger: quietPebble{}}
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	opts.EnsureDefaults()
	return pebble.Open(dir, opts)
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)         {}
func (quietPebble) Errorf(string, ...any)        {}
func (quietPebble) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func fillCelestia(b *testing.B, dir string, docs int) diskResult {
	b.StopTimer()
	db, err := openCelestiaDB(dir)
	if err != nil {
		b.Fatal(err)
	}
	c := &celestiaDB{db: db}
	t := smt.NewSparseMerkleTree(pebbleMapStore{c, 'n'}, pebbleMapStore{c, 'v'}, sha256.New())
	r := rand.New(rand.NewPCG(7, uint64(docs)))
	b.StartTimer()
	var res diskResult
	timeBlocks(b, docs, &res, func(h uint64) error {
		anchors := blockDocs(r, h)
		c.batch = db.NewIndexedBatch()
		defer c.batch.Close()
		for i := range anchors {
			a := &anchors[i]
			v := receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)
			if _, err := t.Update(a.DocHash[:], v[:]); err != nil {
				return err
			}
		}
		// The root, as the commit record holds the app hash.
		if err := c.batch.Set([]byte("m/root"), binary.BigEndian.AppendUint64(append([]byte(nil), t.Root()...), h), pebble.NoSync); err != nil {
			return err
		}
		return c.batch.Commit(pebble.Sync)
	})
	b.StopTimer()
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if db, err = openCelestiaDB(dir); err != nil {
		b.Fatal(err)
	}
	res.parts = compactAndEstimate(b, db, []diskRange{
		{"auth", [][2][]byte{prefixRange('n'), prefixRange('v')}},
		{"map", [][2][]byte{prefixRange('n'), prefixRange('v')}},
		{"nodes", [][2][]byte{prefixRange('n')}},
		{"values", [][2][]byte{prefixRange('v')}},
	})
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	res.files, res.tables = dirSize(b, dir)
	b.StartTimer()
	return res
}
