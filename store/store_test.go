package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/siegel-notary/siegel/receipt"
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
	if _, err := s.LastCommit(); err == nil {
		t.Error("LastCommit of a corrupt record succeeded")
	}
	if _, err := s.TxResult(hash("tx")); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("TxResult of a corrupt record: %v", err)
	}
	if _, err := s.Anchor(hash("doc")); !errors.Is(err, receipt.ErrMalformedRecord) {
		t.Errorf("Anchor of a corrupt record: %v", err)
	}
}
