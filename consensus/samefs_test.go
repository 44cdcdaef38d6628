package consensus

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCheckSameFileSystem: directories of one file system pass; a database on another (here /proc,
// or /dev/shm) is refused before any copy, with an error that says what to do.
func TestCheckSameFileSystem(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "blockstore.db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkSameFileSystem(dir, db, filepath.Join(dir, "data")); err != nil {
		t.Fatalf("one file system: %v", err)
	}
	if err := checkSameFileSystem(dir, filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing database directory passed")
	}
	if runtime.GOOS != "linux" {
		t.Skip("other file systems: /proc is Linux's")
	}
	checked := 0
	for _, other := range []string{"/proc", "/dev/shm"} {
		a, _, err1 := deviceOf(dir)
		b, _, err2 := deviceOf(other)
		if err1 != nil || err2 != nil || a == b {
			continue
		}
		checked++
		err := checkSameFileSystem(dir, db, other)
		if !errors.Is(err, ErrOtherFileSystem) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "inside Commit") {
			t.Fatalf("a database on %s: %v", other, err)
		}
		t.Log(err)
	}
	if checked == 0 {
		t.Skip("neither /proc nor /dev/shm is on another file system than the temporary directory: the refusal is untested here")
	}
}
