package store

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

const stateChain = "state-test"

// validatorKey derives the i-th test validator key from a fixed seed.
func validatorKey(i int) ed25519.PrivateKey {
	seed := hash(fmt.Sprintf("validator %d", i))
	return ed25519.NewKeyFromSeed(seed[:])
}

// validatorSetOf returns the canonical set of keys with power 1 each.
func validatorSetOf(keys ...ed25519.PrivateKey) receipt.ValidatorSet {
	var set receipt.ValidatorSet
	for _, k := range keys {
		var v receipt.Validator
		copy(v.PubKey[:], k.Public().(ed25519.PublicKey))
		v.Power = 1
		set = append(set, v)
	}
	return set.Canonical()
}

// authChain saves blocks with authenticated state, as the app does: every anchor is appended to the log
// and set in the map, every block has a checkpoint, and block h carries the signatures on h-1.
type authChain struct {
	t      *testing.T
	s      *Store
	keys   []ed25519.PrivateKey
	set    receipt.ValidatorSet
	log    tree.LogState
	height uint64
	cps    map[uint64]receipt.Checkpoint
	roots  map[uint64][32]byte // log root by log size
}

func newAuthChain(t *testing.T, s *Store) *authChain {
	t.Helper()
	c := &authChain{t: t, s: s, keys: []ed25519.PrivateKey{validatorKey(0), validatorKey(1), validatorKey(2)},
		cps: map[uint64]receipt.Checkpoint{}, roots: map[uint64][32]byte{}}
	c.set = validatorSetOf(c.keys...)
	b := genesisBlock()
	b.Validators, b.ValidatorsFrom = c.set, 1
	save(t, s, b)
	return c
}

// sign returns the quorum signatures of every validator on the checkpoint of height.
func (c *authChain) sign(height uint64) receipt.Signatures {
	cp := c.cps[height]
	h := cp.Hash()
	sigs := receipt.Signatures{Round: 1}
	for _, k := range c.keys {
		i := slices.IndexFunc(c.set, func(v receipt.Validator) bool { return string(v.PubKey[:]) == string(k.Public().(ed25519.PublicKey)) })
		s := receipt.Sig{Validator: uint16(i)}
		copy(s.Signature[:], ed25519.Sign(k, receipt.ExtensionSignBytes(stateChain, int64(height), 1, h[:])))
		sigs.Sigs = append(sigs.Sigs, s)
	}
	return sigs
}

// record is the record of doc anchored at height, told apart from others by tag.
func record(doc [32]byte, height uint64, tag string) receipt.Record {
	return receipt.Record{DocHash: doc, Agency: "zeta", Signer: pub("z1"), Height: height,
		Time: t1.Add(time.Duration(height) * time.Second), TxHash: hash(fmt.Sprintf("tx %d %s", height, tag))}
}

// block saves the next block, anchoring docs (again, for a document anchored before: a new map value)
// and carrying the signatures on the previous checkpoint unless unsigned.
func (c *authChain) block(unsigned bool, docs ...[32]byte) *Block {
	c.t.Helper()
	c.height++
	h := c.height
	b := &Block{}
	var leaves [][32]byte
	var kvs []tree.KV
	for i, d := range docs {
		a := Anchor{Record: record(d, h, "anchor"), LogIndex: c.log.Size + uint64(i)}
		a.Entry = uint32(i)
		b.Anchors = append(b.Anchors, a)
		leaves = append(leaves, receipt.LogLeafHash(receipt.AnchorEvent(&a.Record)))
		kvs = append(kvs, tree.KV{Key: d, Value: receipt.MapValue(&a.Record, receipt.StateAnchored, a.LogIndex, nil)})
	}
	c.seal(b, h, leaves, kvs, h > 1 && !unsigned)
	return b
}

// seal completes block b of height h as the app would: appends leaves to the log, sets kvs in the map,
// makes the checkpoint (with the signatures on the previous one when signed) and saves the block.
func (c *authChain) seal(b *Block, h uint64, leaves [][32]byte, kvs []tree.KV, signed bool) {
	c.t.Helper()
	var logRoot [32]byte
	var err error
	c.log, logRoot, b.LogNodes, err = tree.AppendLog(c.log, leaves)
	if err != nil {
		c.t.Fatal(err)
	}
	b.Log = &c.log
	mapRoot, writes, err := tree.Update(c.s.MapRead(), kvs)
	if err != nil {
		c.t.Fatal(err)
	}
	b.MapWrites = writes
	cp := receipt.Checkpoint{ChainID: stateChain, Height: h, Time: t1.Add(time.Duration(h) * time.Second),
		LogSize: c.log.Size, LogRoot: logRoot, MapRoot: mapRoot, Validators: c.set.Hash(), NextValidators: c.set.Hash()}
	b.Checkpoint = &cp
	c.cps[h], c.roots[c.log.Size] = cp, logRoot
	if signed {
		b.Signed = &SignedCheckpoint{Height: h - 1, Signatures: c.sign(h - 1)}
	}
	ch := cp.Hash()
	b.Commit = Commit{Height: h, AppHash: ch[:], TimeUnixNano: cp.Time.UnixNano()}
	save(c.t, c.s, b)
}

// verified returns the verified receipt of doc as of height.
func (c *authChain) verified(t *testing.T, doc [32]byte, height uint64) receipt.Result {
	t.Helper()
	r, err := c.s.Receipt(doc, height)
	if err != nil {
		t.Fatalf("Receipt(%x, %d): %v", doc[:4], height, err)
	}
	res, err := receipt.Verify(r, receipt.TrustRoot{ChainID: stateChain, Validators: c.set})
	if err != nil {
		t.Fatalf("Verify receipt of %x at %d: %v", doc[:4], height, err)
	}
	if res.AsOf != c.cps[height] {
		t.Fatalf("receipt at %d is as of checkpoint %d", height, res.AsOf.Height)
	}
	return res
}

func TestLatestSigned(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	if h, err := s.LatestSigned(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("fresh store: LatestSigned = %d, %v; want ErrNoSnapshot", h, err)
	}
	c := newAuthChain(t, s)
	for _, step := range []struct {
		unsigned bool
		want     uint64 // 0: ErrNoSnapshot
	}{{false, 0}, {false, 1}, {true, 1}, {false, 3}, {false, 4}} {
		c.block(step.unsigned, hash(fmt.Sprint("doc ", c.height+1)))
		h, err := s.LatestSigned()
		if step.want == 0 && !errors.Is(err, ErrNoSnapshot) || step.want != 0 && (err != nil || h != step.want) {
			t.Errorf("after block %d: LatestSigned = %d, %v; want %d", c.height, h, err, step.want)
		}
	}
}

// TestSnapshotsKept: receipts can be made for the last keepSnapshots heights only, and not after a
// restart, which keeps no snapshot.
func TestSnapshotsKept(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	c := newAuthChain(t, s)
	const top = keepSnapshots + 4
	for h := uint64(1); h <= top; h++ {
		c.block(false, hash(fmt.Sprint("doc ", h)))
	}
	if h, err := s.LatestSigned(); err != nil || h != top-1 {
		t.Errorf("LatestSigned = %d, %v; want %d", h, err, top-1)
	}
	for h := uint64(1); h <= top+1; h++ {
		doc := hash(fmt.Sprint("doc ", h))
		_, err := s.Receipt(doc, h)
		switch {
		case h <= top-keepSnapshots || h > top:
			if !errors.Is(err, ErrNoSnapshot) {
				t.Errorf("Receipt at height %d: %v; want ErrNoSnapshot", h, err)
			}
		case h == top: // held, but not signed yet
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Receipt at unsigned height %d: %v; want ErrNotFound", h, err)
			}
		default:
			if res := c.verified(t, doc, h); res.State != receipt.StateAnchored || res.Record.Height != h {
				t.Errorf("receipt at %d: %+v", h, res)
			}
		}
	}
	closeStore(t, s)
	s = openStore(t, dir, nil)
	defer closeStore(t, s)
	if h, err := s.LatestSigned(); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("after reopening: LatestSigned = %d, %v; want ErrNoSnapshot", h, err)
	}
	if _, err := s.Receipt(hash("doc 5"), top-1); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("after reopening: Receipt: %v; want ErrNoSnapshot", err)
	}
}

// TestReceiptsWhileBlocksCommit: receipts are built without the snapshot list's lock, while blocks
// commit and push the oldest snapshots out. Every receipt either verifies against its checkpoint or
// says its height is no longer held; none reads a closed snapshot (run with -race).
func TestReceiptsWhileBlocksCommit(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	c := newAuthChain(t, s)
	c.block(false, hash("doc 1"))
	c.block(false, hash("doc 2"))
	trust := receipt.TrustRoot{ChainID: stateChain, Validators: c.set}
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var built, gone atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(g); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				h, err := s.LatestSigned()
				if err != nil {
					errs <- err
					return
				}
				// Heights down to the oldest held, which the next block releases.
				if back := n % keepSnapshots; h > back+1 {
					h -= back
				}
				r, err := s.Receipt(hash("doc 1"), h)
				if errors.Is(err, ErrNoSnapshot) {
					gone.Add(1)
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("receipt at %d: %w", h, err)
					return
				}
				if _, err := receipt.Verify(r, trust); err != nil {
					errs <- fmt.Errorf("receipt at %d: %w", h, err)
					return
				}
				built.Add(1)
			}
		}()
	}
	for i := range 3 * keepSnapshots {
		c.block(false, hash(fmt.Sprint("later ", i)))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if built.Load() == 0 {
		t.Error("no receipt was built while blocks committed")
	}
	t.Logf("%d receipts built, %d found their height released", built.Load(), gone.Load())
}

// TestReceiptSnapshotIsolation: the receipt of height h shows the state of h, whatever later blocks
// did to the same document or the log.
func TestReceiptSnapshotIsolation(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	c := newAuthChain(t, s)
	d1, d2, d3 := hash("d1"), hash("d2"), hash("d3")
	c.block(false, d1, d2)
	c.block(false, d1, d3) // d1's record and map leaf change; d3 is new
	c.block(false, hash("d4"), hash("d5"), hash("d6"))
	c.block(false)
	for _, tc := range []struct {
		name   string
		doc    [32]byte
		height uint64
		state  receipt.State
		at     uint64 // the record's height
	}{
		{"d1 as first anchored", d1, 1, receipt.StateAnchored, 1},
		{"d2 before anything else", d2, 1, receipt.StateAnchored, 1},
		{"d3 before it was anchored", d3, 1, receipt.StateUnknown, 0},
		{"d1 as anchored again", d1, 2, receipt.StateAnchored, 2},
		{"d3 anchored", d3, 2, receipt.StateAnchored, 2},
		{"d2 after more anchors", d2, 3, receipt.StateAnchored, 1},
		{"d4 before it was anchored", hash("d4"), 2, receipt.StateUnknown, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.verified(t, tc.doc, tc.height)
			if res.State != tc.state {
				t.Fatalf("state %v, want %v", res.State, tc.state)
			}
			if tc.state == receipt.StateAnchored {
				if want := record(tc.doc, tc.at, "anchor"); res.Record.Height != tc.at || res.Record.TxHash != want.TxHash {
					t.Errorf("record %+v, want one from height %d", res.Record, tc.at)
				}
			}
		})
	}
}

func TestValidatorsAtHeights(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	sets := []receipt.ValidatorSet{
		validatorSetOf(validatorKey(0)),
		validatorSetOf(validatorKey(0), validatorKey(1)),
		validatorSetOf(validatorKey(2), validatorKey(3), validatorKey(4)),
	}
	g := genesisBlock()
	g.Validators, g.ValidatorsFrom = sets[0], 1
	save(t, s, g)
	for h := uint64(1); h <= 8; h++ {
		b := &Block{Commit: Commit{Height: h, AppHash: []byte{byte(h)}}}
		switch h {
		case 3:
			b.Validators, b.ValidatorsFrom = sets[1], 4
		case 6:
			b.Validators, b.ValidatorsFrom = sets[2], 7
		}
		save(t, s, b)
	}
	check := func() {
		t.Helper()
		if v, err := s.Validators(0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Validators(0) = %v, %v; want ErrNotFound", v, err)
		}
		for _, tc := range []struct {
			height uint64
			set    int
		}{{1, 0}, {3, 0}, {4, 1}, {6, 1}, {7, 2}, {9, 2}, {1 << 40, 2}} {
			if v, err := s.Validators(tc.height); err != nil || !reflect.DeepEqual(v, sets[tc.set]) {
				t.Errorf("Validators(%d) = %v, %v; want set %d", tc.height, v, err, tc.set)
			}
		}
	}
	check()
	closeStore(t, s)
	s = openStore(t, dir, nil)
	defer closeStore(t, s)
	check()
}

func TestCheckpointRoundTrip(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	var sig receipt.Sig
	copy(sig.Signature[:], slices.Repeat([]byte{0xc3}, 64))
	for i, tc := range []struct {
		cp   receipt.Checkpoint
		sigs receipt.Signatures
	}{
		{receipt.Checkpoint{ChainID: "c", Height: 1, Time: time.Unix(0, 0).UTC()}, receipt.Signatures{}},
		{receipt.Checkpoint{ChainID: stateChain, Height: 2, Time: t1, LogSize: 1 << 40, LogRoot: hash("l"), MapRoot: hash("m"),
			Validators: hash("v"), NextValidators: hash("n")}, receipt.Signatures{Round: 7, Sigs: []receipt.Sig{sig, {Validator: 999}}}},
		{receipt.Checkpoint{ChainID: string(slices.Repeat([]byte{'x'}, 255)), Height: 3, Time: t1.Add(time.Nanosecond)},
			receipt.Signatures{Round: -1, Sigs: []receipt.Sig{{Validator: 65535}}}},
	} {
		h := uint64(i + 1)
		if _, err := s.Signatures(h); !errors.Is(err, ErrNotFound) {
			t.Errorf("Signatures(%d) before saving: %v; want ErrNotFound", h, err)
		}
		save(t, s, &Block{Commit: Commit{Height: h, AppHash: []byte{1}}, Checkpoint: &tc.cp, Signed: &SignedCheckpoint{Height: h, Signatures: tc.sigs}})
		if got, err := s.Checkpoint(h); err != nil || got != tc.cp || got.Hash() != tc.cp.Hash() {
			t.Errorf("Checkpoint(%d) = %+v, %v; want %+v", h, got, err, tc.cp)
		}
		if got, err := s.Signatures(h); err != nil || got.Round != tc.sigs.Round || !slices.Equal(got.Sigs, tc.sigs.Sigs) {
			t.Errorf("Signatures(%d) = %+v, %v; want %+v", h, got, err, tc.sigs)
		}
	}
	if _, err := s.Checkpoint(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Checkpoint(99): %v; want ErrNotFound", err)
	}
}

// TestLogProofs: the inclusion and consistency proofs made from the stored log nodes verify, for every
// entry and every pair of sizes the blocks left, with the reference verifier.
func TestLogProofs(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	c := newAuthChain(t, s)
	var leaves [][32]byte
	sizes := []uint64{0}
	for i, n := range []int{1, 2, 5, 0, 8, 1, 16, 3} {
		var docs [][32]byte
		for j := range n {
			docs = append(docs, hash(fmt.Sprintf("log %d/%d", i, j)))
		}
		for _, a := range c.block(false, docs...).Anchors {
			leaves = append(leaves, receipt.LogLeafHash(receipt.AnchorEvent(&a.Record)))
		}
		sizes = append(sizes, c.log.Size)
	}
	c.roots[0] = [32]byte(rfc6962.DefaultHasher.EmptyRoot())
	for _, size := range sizes[1:] {
		root := c.roots[size]
		for i := uint64(0); i < size; i++ {
			p, err := s.LogProof(i, size)
			if err != nil {
				t.Fatalf("LogProof(%d, %d): %v", i, size, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, leaves[i][:], slices32(p), root[:]); err != nil {
				t.Errorf("inclusion of %d in %d: %v", i, size, err)
			}
		}
		if _, err := s.LogProof(size, size); err == nil {
			t.Errorf("LogProof(%d, %d) succeeded", size, size)
		}
	}
	for _, size1 := range sizes {
		for _, size2 := range sizes {
			p, err := s.LogConsistency(size1, size2)
			if size1 > size2 {
				if err == nil {
					t.Errorf("LogConsistency(%d, %d) succeeded", size1, size2)
				}
				continue
			}
			r1, r2 := c.roots[size1], c.roots[size2]
			if err != nil {
				t.Fatalf("LogConsistency(%d, %d): %v", size1, size2, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, slices32(p), r1[:], r2[:]); err != nil {
				t.Errorf("consistency %d -> %d: %v", size1, size2, err)
			}
			if len(p) > 0 {
				p[len(p)-1][0] ^= 1
				if proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, slices32(p), r1[:], r2[:]) == nil {
					t.Errorf("tampered consistency proof %d -> %d verifies", size1, size2)
				}
			}
		}
	}
}

func slices32(hs [][32]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// TestLogTiles appends to the log in blocks of uneven sizes, past the third tile level, and reads every
// node back through the tiles: those stored and those hashed up from the tile below. Nodes not complete
// yet are not found; a block writes a tile key per 256 nodes of a stored level, not a key per node; and
// inclusion proofs at the last size verify with the reference verifier.
func TestLogTiles(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	var st tree.LogState
	var leaves [][32]byte
	nodes := map[[2]uint64][32]byte{}
	for _, n := range []int{1, 7, 300, 64, 1000, 255, 1, 70_000, 3} {
		add := make([][32]byte, n)
		for i := range add {
			add[i] = sha256.Sum256(fmt.Append(nil, len(leaves), i))
		}
		leaves = append(leaves, add...)
		next, _, ns, err := tree.AppendLog(st, add)
		if err != nil {
			t.Fatal(err)
		}
		var w writeSet
		if err := s.stageLogTiles(&w, ns); err != nil {
			t.Fatal(err)
		}
		if most := 2 + len(ns)/tileWidth*2; len(w.ops) > most+8 {
			t.Errorf("%d log nodes staged as %d keys", len(ns), len(w.ops))
		}
		b := s.db.NewBatch()
		if err := w.apply(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			nodes[[2]uint64{uint64(n.Level), n.Index}] = n.Hash
		}
		st = next
	}
	checked := 0
	for id, want := range nodes {
		if id[0] < tileHeight && id[1]%97 != 0 {
			continue // a sample of the lowest levels, every node above
		}
		got, err := s.readLogNode(uint8(id[0]), id[1])
		if err != nil || got != want {
			t.Fatalf("log node (%d, %d): %x, %v; want %x", id[0], id[1], got, err, want)
		}
		checked++
	}
	if checked < 1000 {
		t.Fatalf("only %d nodes checked", checked)
	}
	for _, id := range [][2]uint64{{0, st.Size}, {1, st.Size / 2}, {8, st.Size >> 8}, {16, 1}, {9, st.Size >> 9}} {
		if _, ok := nodes[id]; ok {
			continue
		}
		if _, err := s.readLogNode(uint8(id[0]), id[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("incomplete log node (%d, %d): %v, want ErrNotFound", id[0], id[1], err)
		}
	}
	root, err := tree.LogRoot(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, 255, 256, 65535, 65536, st.Size - 1, st.Size / 3} {
		p, err := s.LogProof(i, st.Size)
		if err != nil {
			t.Fatalf("LogProof(%d, %d): %v", i, st.Size, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, st.Size, leaves[i][:], slices32(p), root[:]); err != nil {
			t.Errorf("inclusion of %d in %d: %v", i, st.Size, err)
		}
	}
}

// BenchmarkLogProof builds inclusion proofs from the tiles of a log of 100,000 entries, at random
// indexes: each reads three tiles and hashes up the levels between them.
func BenchmarkLogProof(b *testing.B) {
	s, err := Open(b.TempDir(), Options{CacheBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	leaves := make([][32]byte, 100_000)
	for i := range leaves {
		leaves[i] = sha256.Sum256(fmt.Append(nil, i))
	}
	st, _, ns, err := tree.AppendLog(tree.LogState{}, leaves)
	if err != nil {
		b.Fatal(err)
	}
	var w writeSet
	if err := s.stageLogTiles(&w, ns); err != nil {
		b.Fatal(err)
	}
	batch := s.db.NewBatch()
	if err := w.apply(batch); err != nil {
		b.Fatal(err)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		b.Fatal(err)
	}
	i := uint64(0)
	for b.Loop() {
		i = (i*7919 + 12345) % st.Size
		if _, err := s.LogProof(i, st.Size); err != nil {
			b.Fatal(err)
		}
	}
}
