package consensus

import (
	"errors"
	"fmt"
	"os"
)

// ErrOtherFileSystem is returned by Backup when a database is on
// another file system than the backup directory.
var ErrOtherFileSystem = errors.New("consensus: not on the file system of the backup directory")

// checkSameFileSystem returns an error wrapping ErrOtherFileSystem unless every one of dbs (existing
// paths) is on the file system of dir, by their device IDs. Pebble's Checkpoint hard-links a
// database's files into the copy and, where it cannot (another file system), copies every one of
// them: inside Commit, with consensus waiting. Where device IDs are not known (not a unix system), it
// checks nothing.
func checkSameFileSystem(dir string, dbs ...string) error {
	want, ok, err := deviceOf(dir)
	if err != nil || !ok {
		return err
	}
	for _, db := range dbs {
		got, _, err := deviceOf(db)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%w: %s is on device %#x, the backup directory %s on %#x: Pebble could not hard-link the database's "+
				"files into the copy and would copy every one of them while consensus waits (inside Commit), so the node refuses. "+
				"Keep the home and its data/ on one file system (mount the home, not data/ or a database alone), or stop the node "+
				"and copy its home instead", ErrOtherFileSystem, db, got, dir, want)
		}
	}
	return nil
}

func deviceOf(p string) (uint64, bool, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, false, fmt.Errorf("consensus: %w", err)
	}
	dev, ok := statDevice(fi)
	return dev, ok, nil
}
