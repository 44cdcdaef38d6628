package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestCheckpointDB saves blocks, checkpoints the open store, saves more, and finds in the checkpoint
// exactly the state of the checkpoint's moment; ReadCommit reads it, and refuses a store held open.
func TestCheckpointDB(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	save := func(h uint64) {
		t.Helper()
		if err := s.Save(&Block{Commit: Commit{Height: h, AppHash: []byte{byte(h), 1, 2}, TimeUnixNano: int64(h)}}); err != nil {
			t.Fatal(err)
		}
	}
	save(1)
	save(2)
	cp := filepath.Join(dir, "cp")
	if err := s.CheckpointDB(cp); err != nil {
		t.Fatal(err)
	}
	save(3)
	if err := s.CheckpointDB(cp); err == nil {
		t.Fatal("checkpoint into an existing directory succeeded")
	}

	if _, err := ReadCommit(filepath.Join(dir, "db")); !errors.Is(err, ErrLocked) {
		t.Fatalf("ReadCommit of an open store: %v, want ErrLocked", err)
	}
	c, err := ReadCommit(cp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Height != 2 || !bytes.Equal(c.AppHash, []byte{2, 1, 2}) {
		t.Fatalf("checkpoint holds %+v, want height 2", c)
	}
	// ReadCommit released its lock: the checkpoint opens as a store.
	s2, err := Open(cp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := s2.LastCommit(); err != nil || c2.Height != 2 {
		t.Fatalf("reopened checkpoint: %+v %v", c2, err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCommit(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("ReadCommit of a missing directory: %v", err)
	}
	if _, err := ReadCommit(t.TempDir()); err == nil {
		t.Fatal("ReadCommit of an empty directory succeeded")
	}
}
