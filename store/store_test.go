package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

func openStore(t *testing.T, dir string, fs vfs.FS) *Store {
	t.Helper()
	s, err := Open(dir, Options{FS: fs, CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func pub(s string) Key { return Key(hash("key/" + s)) }

var (
	agencyZ = Agency{ID: "zeta", Name: "Zeta Notaries", Keys: []Key{pub("z1"), pub("z2")}}
	agencyA = Agency{ID: "alpha", Name: "Älpha & Co", Keys: []Key{pub("a1")}}
	meta    = hash("meta")
	t1      = time.Date(2025, 5, 6, 7, 8, 9, 123456789, time.UTC)
)

// genesisBlock and block1 are the blocks the round-trip tests save.
func genesisBlock() *Block {
	return &Block{
		Commit:   Commit{Height: 0, AppHash: []byte("genesis hash"), TimeUnixNano: t1.Add(-time.Hour).UnixNano()},
		Params:   []byte(`{"chain_id":"c"}`),
		Agencies: []Agency{agencyZ, agencyA},
	}
}

func block1() *Block {
	return &Block{
		Commit: Commit{Height: 1, AppHash: bytes.Repeat([]byte{0xab}, 32), TimeUnixNano: t1.UnixNano()},
		Anchors: []Anchor{
			{LogIndex: 0, Record: receipt.Record{DocHash: hash("d1"), Agency: "zeta", Signer: pub("z1"), Height: 1, Time: t1, TxHash: hash("tx1"), TxIndex: 0, Entry: 0}},
			{LogIndex: 1, Record: receipt.Record{DocHash: hash("d2"), Agency: "zeta", Signer: pub("z1"), Height: 1, Time: t1, TxHash: hash("tx1"), TxIndex: 0, Entry: 1, MetaDigest: &meta}},
		},
		Nonces: []Nonce{{Signer: pub("z1"), Nonce: 7, Expiry: 9}},
		Txs:    []TxResult{{Hash: hash("tx1"), Height: 1, Index: 0, Code: 0}, {Hash: hash("tx2"), Height: 1, Index: 1, Code: 5}},
	}
}

func save(t *testing.T, s *Store, b *Block) {
	t.Helper()
	if err := s.Save(b); err != nil {
		t.Fatal(err)
	}
}

// checkSaved checks that s holds genesisBlock and block1.
func checkSaved(t *testing.T, s *Store) {
	t.Helper()
	b := block1()
	if c, err := s.LastCommit(); err != nil || !reflect.DeepEqual(c, b.Commit) {
		t.Errorf("LastCommit = %+v, %v; want %+v", c, err, b.Commit)
	}
	if p, err := s.Params(); err != nil || !bytes.Equal(p, genesisBlock().Params) {
		t.Errorf("Params = %q, %v", p, err)
	}
	if as, err := s.Agencies(); err != nil || !reflect.DeepEqual(as, []Agency{agencyA, agencyZ}) {
		t.Errorf("Agencies = %+v, %v; want them ordered by ID", as, err)
	}
	for _, want := range []Agency{agencyA, agencyZ} {
		if a, err := s.Agency(want.ID); err != nil || !reflect.DeepEqual(a, want) {
			t.Errorf("Agency(%q) = %+v, %v", want.ID, a, err)
		}
		for _, k := range want.Keys {
			if a, err := s.AgencyByKey(k); err != nil || a.ID != want.ID {
				t.Errorf("AgencyByKey(%x) = %q, %v; want %q", k[:4], a.ID, err, want.ID)
			}
		}
	}
	for _, want := range b.Anchors {
		r, err := s.Anchor(want.DocHash)
		if err != nil || !bytes.Equal(r.Encode(), want.Encode()) || !r.Time.Equal(t1) || r.LogIndex != want.LogIndex {
			t.Errorf("Anchor(%x) = %+v, %v; want %+v", want.DocHash[:4], r, err, want)
		}
	}
	if r, _ := s.Anchor(hash("d2")); r.MetaDigest == nil || *r.MetaDigest != meta {
		t.Errorf("metadata digest lost: %v", r.MetaDigest)
	}
	for _, want := range b.Txs {
		if r, err := s.TxResult(want.Hash); err != nil || r != want {
			t.Errorf("TxResult = %+v, %v; want %+v", r, err, want)
		}
	}
	if used, err := s.NonceUsed(pub("z1"), 7); err != nil || !used {
		t.Errorf("NonceUsed(z1, 7) = %v, %v", used, err)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	save(t, s, genesisBlock())
	if c, err := s.LastCommit(); err != nil || c.Height != 0 || string(c.AppHash) != "genesis hash" {
		t.Fatalf("LastCommit after genesis = %+v, %v", c, err)
	}
	save(t, s, block1())
	checkSaved(t, s)
	closeStore(t, s)
	s = openStore(t, dir, nil)
	defer closeStore(t, s)
	checkSaved(t, s)
}

func TestFreshStore(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	if c, err := s.LastCommit(); err != nil || !reflect.DeepEqual(c, Commit{}) {
		t.Errorf("LastCommit = %+v, %v; want zero", c, err)
	}
	if as, err := s.Agencies(); err != nil || len(as) != 0 {
		t.Errorf("Agencies = %v, %v", as, err)
	}
	if used, err := s.NonceUsed(pub("z1"), 7); err != nil || used {
		t.Errorf("NonceUsed = %v, %v", used, err)
	}
}

func TestErrNotFound(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	save(t, s, genesisBlock())
	save(t, s, block1())
	fresh := openStore(t, t.TempDir(), nil)
	defer closeStore(t, fresh)
	for _, st := range []*Store{s, fresh} {
		for name, get := range map[string]func() error{
			"Anchor":      func() error { _, err := st.Anchor(hash("nothing")); return err },
			"Agency":      func() error { _, err := st.Agency("nobody"); return err },
			"AgencyByKey": func() error { _, err := st.AgencyByKey(pub("nobody")); return err },
			"TxResult":    func() error { _, err := st.TxResult(hash("no tx")); return err },
		} {
			if err := get(); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", name, err)
			}
		}
	}
	if _, err := fresh.Params(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Params of a fresh store: %v, want ErrNotFound", err)
	}
}

// TestPruneNonces: after Save at height h, exactly the nonces with expiry above h are remembered,
// including those the same block records.
func TestPruneNonces(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	signer := [32]byte(pub("z1"))
	expiries := []uint64{1, 2, 3, 5, 8, 8, 1000}
	var first []Nonce
	for i, e := range expiries {
		first = append(first, Nonce{Signer: signer, Nonce: uint64(i), Expiry: e})
	}
	blocks := map[uint64][]Nonce{1: first, 4: {{Signer: signer, Nonce: 100, Expiry: 4}, {Signer: signer, Nonce: 101, Expiry: 6}}}
	expiryOf := map[uint64]uint64{100: 4, 101: 6}
	for i, e := range expiries {
		expiryOf[uint64(i)] = e
	}
	for h := uint64(1); h <= 9; h++ {
		save(t, s, &Block{Commit: Commit{Height: h, AppHash: []byte{byte(h)}}, Nonces: blocks[h]})
		for _, nonce := range slices.Sorted(maps.Keys(expiryOf)) {
			e := expiryOf[nonce]
			want := e > h && (nonce < 100 || h >= 4)
			if used, err := s.NonceUsed(signer, nonce); err != nil || used != want {
				t.Errorf("height %d: NonceUsed(nonce %d, expiry %d) = %v, %v; want %v", h, nonce, e, used, err, want)
			}
		}
	}
	// The expiry index is pruned with the nonces: only the one with expiry 1000 is left.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pExpiry, sep}, UpperBound: []byte{pExpiry, sep + 1}})
	if err != nil {
		t.Fatal(err)
	}
	var left int
	for it.First(); it.Valid(); it.Next() {
		left++
	}
	if err := it.Close(); err != nil || left != 1 {
		t.Errorf("%d expiry index entries left (%v), want 1", left, err)
	}
}

// TestSaveIsSynced: what Save wrote survives a crash that loses every unsynced write. The store is at
// the root of the file system, as in Pebble's own crash tests: Pebble does not sync the parent of a
// directory it creates, so a directory created by Open itself is lost in such a crash.
func TestSaveIsSynced(t *testing.T) {
	fs := vfs.NewStrictMem()
	s := openStore(t, "", fs)
	save(t, s, genesisBlock())
	save(t, s, block1())
	fs.SetIgnoreSyncs(true)
	closeStore(t, s)
	fs.ResetToSyncedState()
	fs.SetIgnoreSyncs(false)
	s = openStore(t, "", fs)
	defer closeStore(t, s)
	checkSaved(t, s)
}

func TestKeyText(t *testing.T) {
	k := pub("json")
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var back Key
	if err := json.Unmarshal(b, &back); err != nil || back != k {
		t.Fatalf("round trip of %s: %x, %v", b, back, err)
	}
	for _, bad := range []string{`""`, `"abcd"`, `"` + string(bytes.Repeat([]byte("zz"), 32)) + `"`, `"` + string(bytes.Repeat([]byte("a"), 66)) + `"`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("key %s accepted", bad)
		}
	}
}

func TestCorruptRecords(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	txHash, docHash := hash("tx"), hash("doc")
	for k, v := range map[string][]byte{
		string(key(pMeta, []byte(metaCommit))): []byte("short"),
		string(key(pTx, txHash[:])):            []byte("short"),
		string(key(pAnchor, docHash[:])):       {0, 0, 0, 0, 0, 0, 0, 0, 9},
	} {
		if err := s.db.Set([]byte(k), v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	s.docs.add(docHash) // written behind the store's back: tell the filter, as Save would
	if _, err := s.LastCommit(); err == nil {
		t.Error("LastCommit of a corrupt record succeeded")
	}
	if _, err := s.TxResult(hash("tx")); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("TxResult of a corrupt record: %v", err)
	}
	if _, err := s.Anchor(hash("doc")); err == nil || !strings.Contains(err.Error(), "corrupt value of 9 bytes") {
		t.Errorf("Anchor of a corrupt record: %v", err)
	}
	// The two parts of an anchor (anchorvalue.go), each broken in its own way.
	good := func(height uint64, flags byte) []byte {
		v := binary.BigEndian.AppendUint64(nil, 7)
		v = binary.BigEndian.AppendUint64(v, height)
		return append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(v, 0), 3), flags)
	}
	txRec := append(append(make([]byte, 64), 0, 0, 0, 0, 0, 0, 0, 1), "agency-a"...)
	for _, c := range []struct {
		name         string
		value, txRec []byte
		want         string
	}{
		{"unknown flags", good(5, 2), txRec, "flags 0x2"},
		{"digest flag without the digest", good(5, 1), txRec, "flags 0x1 with 25 bytes"},
		{"no transaction record", good(5, 0), nil, "no record of its transaction (height 5, index 0)"},
		{"short transaction record", good(5, 0), txRec[:72], "corrupt transaction record of 72 bytes"},
		{"long agency", good(5, 0), append(slices.Clone(txRec[:72]), strings.Repeat("a", receipt.MaxAgencyIDLen+1)...), "corrupt transaction record"},
	} {
		doc := hash(c.name)
		b := s.db.NewBatch()
		_ = b.Set(key(pAnchor, doc[:]), c.value, nil)
		_ = b.Delete(txRecKey(5, 0), nil)
		if c.txRec != nil {
			_ = b.Set(txRecKey(5, 0), c.txRec, nil)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		s.docs.add(doc)
		if _, err := s.Anchor(doc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	// And whole: the same parts read back as the record they make.
	doc := hash("whole")
	if err := s.db.Set(key(pAnchor, doc[:]), good(5, 0), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set(txRecKey(5, 0), txRec, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.docs.add(doc)
	a, err := s.Anchor(doc)
	want := receipt.Record{DocHash: doc, Agency: "agency-a", Height: 5, Time: time.Unix(0, 1).UTC(), Entry: 3}
	if err != nil || !reflect.DeepEqual(a.Record, want) || a.LogIndex != 7 {
		t.Errorf("Anchor: %+v, %v; want %+v at log index 7", a, err, want)
	}
}

// revocationOf returns a revocation of a document at height, with a successor if one is given.
func revocationOf(height, logIndex uint64, reason uint8, successor *[32]byte) receipt.Revocation {
	return receipt.Revocation{Height: height, Time: t1.Add(time.Duration(height) * time.Second), Reason: reason,
		Successor: successor, Signer: pub("z2"), TxHash: hash(fmt.Sprintf("revocation tx %d", logIndex)), LogIndex: logIndex}
}

// TestSaveRevocationRoundTrip: a block's revocations are stored beside the anchors they revoke, read back
// by Anchor (through the Store and a Reader, before and after reopening) and leave the records alone.
func TestSaveRevocationRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	save(t, s, genesisBlock())
	save(t, s, block1())
	succ := hash("d2 v2")
	revs := []Revoked{
		{Doc: hash("d2"), Revocation: revocationOf(2, 2, 1, &succ)},
		{Doc: hash("never anchored"), Revocation: revocationOf(2, 3, 3, nil)},
	}
	save(t, s, &Block{Commit: Commit{Height: 2, AppHash: []byte{2}, TimeUnixNano: t1.UnixNano()}, Revoked: revs})
	check := func(name string, anchor func([32]byte) (Anchor, error)) {
		t.Helper()
		for _, want := range block1().Anchors {
			a, err := anchor(want.DocHash)
			if err != nil || !bytes.Equal(a.Encode(), want.Encode()) || a.LogIndex != want.LogIndex {
				t.Errorf("%s: Anchor(%x) = %+v, %v; want the record %+v", name, want.DocHash[:4], a, err, want)
			}
			switch wantRev := a.DocHash == hash("d2"); {
			case wantRev && (a.Revocation == nil || !reflect.DeepEqual(*a.Revocation, revs[0].Revocation)):
				t.Errorf("%s: revocation of d2 = %+v, want %+v", name, a.Revocation, revs[0].Revocation)
			case wantRev && a.State() != receipt.StateRevoked, !wantRev && a.State() != receipt.StateAnchored:
				t.Errorf("%s: %x in state %v", name, a.DocHash[:4], a.State())
			case !wantRev && a.Revocation != nil:
				t.Errorf("%s: d1 revoked: %+v", name, a.Revocation)
			}
		}
		// A revocation stored for a hash without an anchor does not make it anchored.
		if a, err := anchor(hash("never anchored")); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Anchor of a revoked hash never anchored = %+v, %v; want ErrNotFound", name, a, err)
		}
	}
	check("store", s.Anchor)
	r, err := s.NewReader()
	if err != nil {
		t.Fatal(err)
	}
	check("reader", r.Anchor)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	s = openStore(t, dir, nil)
	defer closeStore(t, s)
	check("reopened", s.Anchor)

	// A corrupt revocation is an error, not a missing one.
	d1 := hash("d1")
	if err := s.db.Set(key(pRevoked, d1[:]), []byte{1, 2, 3}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Anchor(d1); !errors.Is(err, receipt.ErrMalformed) {
		t.Errorf("Anchor with a corrupt revocation = %+v, %v; want ErrMalformed", a, err)
	}
}

// revoke saves the next block of c, revoking docs (each anchored before) with the given reason and
// carrying the signatures on the previous checkpoint, as the app does: a revocation event in the log,
// the revoked state in the map.
func (c *authChain) revoke(reason uint8, successor *[32]byte, docs ...[32]byte) []Revoked {
	c.t.Helper()
	c.height++
	h := c.height
	b := &Block{}
	var leaves [][32]byte
	var kvs []tree.KV
	for i, d := range docs {
		a, err := c.s.Anchor(d)
		if err != nil {
			c.t.Fatal(err)
		}
		rv := Revoked{Doc: d, Revocation: revocationOf(h, c.log.Size+uint64(i), reason, successor)}
		b.Revoked = append(b.Revoked, rv)
		leaves = append(leaves, receipt.LogLeafHash(receipt.RevocationEvent(d, &rv.Revocation)))
		kvs = append(kvs, tree.KV{Key: d, Value: receipt.MapValue(&a.Record, receipt.StateRevoked, a.LogIndex, &rv.Revocation)})
	}
	c.seal(b, h, leaves, kvs, true)
	return b.Revoked
}

// TestReceiptOfRevocation: the receipt the store assembles for a revoked document says so, with the
// revocation, and verifies; the receipt of an earlier height still shows the document anchored.
func TestReceiptOfRevocation(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	c := newAuthChain(t, s)
	docs := []([32]byte){hash("r0"), hash("r1"), hash("r2"), hash("r3")}
	c.block(false, docs...) // 1
	succ := hash("r0 v2")
	revs := c.revoke(1, &succ, docs[0])               // 2
	c.block(false, hash("r4"))                        // 3
	revs = append(revs, c.revoke(3, nil, docs[2])...) // 4
	c.block(false, hash("r5"))                        // 5: signs 4

	for _, tc := range []struct {
		doc    [32]byte
		height uint64
		rev    *receipt.Revocation
	}{
		{docs[0], 1, nil},
		{docs[0], 2, &revs[0].Revocation},
		{docs[0], 4, &revs[0].Revocation},
		{docs[1], 4, nil},
		{docs[2], 2, nil},
		{docs[2], 3, nil},
		{docs[2], 4, &revs[1].Revocation},
	} {
		r, err := s.Receipt(tc.doc, tc.height)
		if err != nil {
			t.Fatal(err)
		}
		wantState := receipt.StateAnchored
		if tc.rev != nil {
			wantState = receipt.StateRevoked
		}
		if r.State != wantState || !reflect.DeepEqual(r.Revocation, tc.rev) {
			t.Errorf("receipt of %x at %d: state %v, revocation %+v; want %v, %+v", tc.doc[:4], tc.height, r.State, r.Revocation, wantState, tc.rev)
		}
		res := c.verified(t, tc.doc, tc.height)
		if res.State != wantState || !reflect.DeepEqual(res.Revocation, tc.rev) || res.Record == nil || res.Record.Height != 1 {
			t.Errorf("verified receipt of %x at %d: %+v", tc.doc[:4], tc.height, res)
		}
		if tc.rev == nil {
			continue
		}
		// The revocation event is in the log of the receipt's checkpoint.
		p, err := s.LogProof(tc.rev.LogIndex, r.Checkpoint.LogSize)
		if err != nil {
			t.Fatal(err)
		}
		leaf := receipt.LogLeafHash(receipt.RevocationEvent(tc.doc, tc.rev))
		ps := make([][]byte, len(p))
		for i := range p {
			ps[i] = p[i][:]
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, tc.rev.LogIndex, r.Checkpoint.LogSize, leaf[:], ps, r.Checkpoint.LogRoot[:]); err != nil {
			t.Errorf("revocation of %x not in the log at %d: %v", tc.doc[:4], tc.height, err)
		}
	}
}

// TestSaveRefusesDisagreeingAnchors: the anchors of one transaction share one stored record of what is
// the transaction's (anchorvalue.go), so Save refuses a block whose anchors of one transaction differ
// there, instead of storing one of them wrong.
func TestSaveRefusesDisagreeingAnchors(t *testing.T) {
	for name, change := range map[string]func(r *receipt.Record){
		"signer":  func(r *receipt.Record) { r.Signer = pub("a1") },
		"tx hash": func(r *receipt.Record) { r.TxHash = hash("tx9") },
		"agency":  func(r *receipt.Record) { r.Agency = "alpha" },
		"time":    func(r *receipt.Record) { r.Time = r.Time.Add(time.Nanosecond) },
	} {
		t.Run(name, func(t *testing.T) {
			s := openStore(t, t.TempDir(), nil)
			defer closeStore(t, s)
			save(t, s, genesisBlock())
			b := block1()
			change(&b.Anchors[1].Record)
			if err := s.Save(b); err == nil || !strings.Contains(err.Error(), "disagree on what they share") {
				t.Fatalf("Save: %v", err)
			}
			if _, err := s.Anchor(hash("d1")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the refused block's anchor is stored: %v", err)
			}
		})
		// The same, with an anchor of another transaction between the two.
		t.Run(name+", apart", func(t *testing.T) {
			s := openStore(t, t.TempDir(), nil)
			defer closeStore(t, s)
			save(t, s, genesisBlock())
			b := block1()
			other := b.Anchors[0]
			other.DocHash, other.TxHash, other.TxIndex, other.Entry, other.LogIndex = hash("d3"), hash("tx2"), 1, 0, 1
			b.Anchors[1].LogIndex = 2
			b.Anchors = []Anchor{b.Anchors[0], other, b.Anchors[1]}
			change(&b.Anchors[2].Record)
			if err := s.Save(b); err == nil || !strings.Contains(err.Error(), "disagree on what they share") {
				t.Fatalf("Save: %v", err)
			}
		})
	}
}

// TestLegacyAnchorValue: an anchor stored whole (log index and receipt.Record's encoding), as before
// anchorvalue.go, still reads back, with its revocation.
func TestLegacyAnchorValue(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	defer closeStore(t, s)
	want := block1().Anchors[1]
	rev := revocationOf(4, 9, 1, nil)
	if err := s.db.Set(key(pAnchor, want.DocHash[:]), append(binary.BigEndian.AppendUint64(nil, want.LogIndex), want.Encode()...), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Set(key(pRevoked, want.DocHash[:]), rev.Encode(), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.docs.add(want.DocHash)
	got, err := s.Anchor(want.DocHash)
	if err != nil {
		t.Fatal(err)
	}
	want.Revocation = &rev
	if !reflect.DeepEqual(got, want) {
		t.Errorf("legacy anchor read back as %+v, want %+v", got, want)
	}
}

// TestPebbleEvents: a write stall, which holds up every commit, reaches the node's log as a warning
// with Pebble's reason, and so does its end; flushes and compactions only at debug level.
func TestPebbleEvents(t *testing.T) {
	var buf bytes.Buffer
	l := pebbleEvents(slog.New(slog.NewTextHandler(&buf, nil)))
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "L0 file count limit exceeded"})
	l.WriteStallEnd()
	l.FlushEnd(pebble.FlushInfo{JobID: 7, Input: 2, InputBytes: 40 << 20, Done: true})
	l.CompactionEnd(pebble.CompactionInfo{JobID: 8, Reason: "default", Done: true})
	out := buf.String()
	if strings.Contains(out, "state database flush") {
		t.Errorf("a flush is logged at the default level:\n%s", out)
	}
	buf.Reset()
	l = pebbleEvents(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "L0 file count limit exceeded"})
	l.WriteStallEnd()
	l.FlushEnd(pebble.FlushInfo{JobID: 7, Input: 2, InputBytes: 40 << 20, Done: true})
	l.CompactionEnd(pebble.CompactionInfo{JobID: 8, Reason: "default", Done: true})
	out = buf.String()
	for _, want := range []string{"level=WARN msg=\"state database stopped taking writes", "reason=\"L0 file count limit exceeded\"", "level=WARN msg=\"state database takes writes again\"",
		"level=DEBUG msg=\"state database flush\" info=\"[JOB 7] flushed 2 memtables (40MB)", "level=DEBUG msg=\"state database compaction\" info=\"[JOB 8] compacted(default)"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
