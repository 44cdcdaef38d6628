package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/vfs"
)

// TestMetaAnchors saves blocks whose anchors carry a metadata digest or not, and pages through the index
// in commit order, across a reopen.
func TestMetaAnchors(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, vfs.Default)
	save(t, s, genesisBlock())
	var want [][32]byte
	logIndex := uint64(0)
	for h := uint64(1); h <= 5; h++ {
		b := &Block{Commit: Commit{Height: h, AppHash: []byte{byte(h)}}}
		for i := range 4 {
			d := hash(fmt.Sprintf("doc %d/%d", h, i))
			r := record(d, h, "meta")
			if i%2 == 0 { // every other anchor commits to metadata
				m := hash(fmt.Sprintf("meta %d/%d", h, i))
				r.MetaDigest = &m
				want = append(want, d)
			}
			b.Anchors = append(b.Anchors, Anchor{Record: r, LogIndex: logIndex})
			logIndex++
		}
		save(t, s, b)
	}
	page := func(s *Store, limit int) [][32]byte {
		t.Helper()
		var got [][32]byte
		from := uint64(0)
		for range 100 {
			docs, next, err := s.MetaAnchors(from, limit)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, docs...)
			if len(docs) < limit {
				// The end for now: asking again from next returns nothing.
				if more, n2, err := s.MetaAnchors(next, limit); err != nil || len(more) != 0 || n2 != next {
					t.Fatalf("after the end: %d more, next %d -> %d, %v", len(more), next, n2, err)
				}
				return got
			}
			from = next
		}
		t.Fatal("paging did not end")
		return nil
	}
	for _, limit := range []int{1, 3, 10, 100} {
		if got := page(s, limit); !slices.Equal(got, want) {
			t.Errorf("limit %d: got %d documents, want %d in commit order", limit, len(got), len(want))
		}
	}
	if docs, next, err := s.MetaAnchors(5, 0); err != nil || docs != nil || next != 5 {
		t.Errorf("limit 0: %v %d %v", docs, next, err)
	}
	closeStore(t, s)
	s = openStore(t, dir, vfs.Default)
	defer closeStore(t, s)
	if got := page(s, 4); !slices.Equal(got, want) {
		t.Errorf("after reopen: got %d documents, want %d", len(got), len(want))
	}
}

// TestMetadataPutGetWipe stores metadata, reads it back after a reopen, and wipes it.
func TestMetadataPutGetWipe(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, vfs.Default)
	d1, d2 := hash("one"), hash("two")
	if _, found, err := s.Metadata(d1); found || err != nil {
		t.Fatalf("empty store: found %v, %v", found, err)
	}
	for _, d := range [][32]byte{d1, d2} {
		if err := s.PutMetadata(d, append([]byte("message of "), d[:4]...)); err != nil {
			t.Fatal(err)
		}
	}
	closeStore(t, s)
	s = openStore(t, dir, vfs.Default)
	defer closeStore(t, s)
	raw, found, err := s.Metadata(d1)
	if err != nil || !found || string(raw) != "message of "+string(d1[:4]) {
		t.Fatalf("Metadata: %q %v %v", raw, found, err)
	}
	if n, err := s.MetadataCount(); n != 2 || err != nil {
		t.Fatalf("count %d, %v; want 2", n, err)
	}
	if has, err := s.HasMetadata(d2); !has || err != nil {
		t.Fatalf("before wipe: has %v, %v", has, err)
	}
	if err := s.WipeMetadata(); err != nil {
		t.Fatal(err)
	}
	if has, err := s.HasMetadata(d2); has || err != nil {
		t.Errorf("after wipe: has %v, %v", has, err)
	}
	if n, _ := s.MetadataCount(); n != 0 {
		t.Errorf("after wipe: %d messages", n)
	}
}
