package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// ErrLocked is returned by ReadCommit when another process (or another Store in this process) holds
// the database open.
var ErrLocked = errors.New("store: database in use by another process")

// CheckpointDB writes a consistent copy of the committed state into dir, which must not exist: SSTables
// are hard-linked where the file system allows, the WAL is copied. The copy is a database Open accepts.
// It holds every block saved before the call; to be consistent with CometBFT's stores, the caller MUST
// call it while no block can be saved (package consensus does, from the application's Commit).
func (s *Store) CheckpointDB(dir string) error {
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store: checkpoint into %s: %w", dir, err)
	}
	return nil
}

// ReadCommit returns the last commit of the store in dir without writing to it. It takes the
// database's lock first and returns ErrLocked, without opening anything, when a running node holds it.
// (While ReadCommit runs, a node starting on dir fails to take the lock: keep the call short.)
func ReadCommit(dir string) (Commit, error) {
	if _, err := vfs.Default.Stat(dir); err != nil {
		return Commit{}, fmt.Errorf("store: %w", err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	var pe *os.PathError
	switch {
	case errors.As(err, &pe): // creating the LOCK file failed: not a lock held by someone
		return Commit{}, fmt.Errorf("store: lock %s: %w", dir, err)
	case err != nil: // the lock is held: by another process (EAGAIN) or in this one
		return Commit{}, fmt.Errorf("%w (%s): %v", ErrLocked, dir, err)
	}
	defer lock.Close()
	opts := &pebble.Options{ReadOnly: true, Lock: lock, Comparer: keyComparer(), Logger: quietLogger{}, ErrorIfNotExists: true}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return Commit{}, fmt.Errorf("store: open %s read-only: %w", dir, err)
	}
	s := &Store{db: db}
	s.view = view{get: s.get}
	c, err := s.LastCommit()
	return c, errors.Join(err, db.Close())
}
