package consensus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	dbm "github.com/cometbft/cometbft-db"
	cmtstate "github.com/cometbft/cometbft/proto/tendermint/state"
	cmtstore "github.com/cometbft/cometbft/proto/tendermint/store"
	"github.com/cosmos/gogoproto/proto"
)

// ErrDBLocked is returned by ReadHeights when a database is held by a running node.
var ErrDBLocked = errors.New("consensus: database in use by another process")

// Heights are what the CometBFT databases of a stopped home hold.
type Heights struct {
	// BlockBase and Block are the lowest and highest block in the block store.
	BlockBase, Block int64
	// State is the height of CometBFT's saved state; LastResults the height whose FinalizeBlock results
	// are kept for replay after a crash (0 if none).
	State       int64
	LastResults int64
	ChainID     string
}

// Keys of CometBFT v0.40's stores (store/store.go, state/store.go, state/state.go). They are read
// directly because CometBFT's own loaders exit the process on bytes they cannot decode, and
// ReadHeights reads homes restored from files that may be corrupt.
var (
	blockStoreKey       = []byte("blockStore")
	stateKey            = []byte("stateKey")
	lastABCIResponseKey = []byte("lastABCIResponseKey")
)

// ReadHeights reads the heights of the block store and the state of the home, opening both databases
// read-only. It returns ErrDBLocked, and opens nothing, if a running node holds one of them.
func ReadHeights(home string) (Heights, error) {
	var h Heights
	data := filepath.Join(home, "data")
	var bs cmtstore.BlockStoreState
	if err := readKey(data, "blockstore", blockStoreKey, &bs); err != nil {
		return h, err
	}
	h.BlockBase, h.Block = bs.Base, bs.Height
	var st cmtstate.State
	if err := readKey(data, "state", stateKey, &st); err != nil {
		return h, err
	}
	h.State, h.ChainID = st.LastBlockHeight, st.ChainID
	var last cmtstate.ABCIResponsesInfo
	if err := readKey(data, "state", lastABCIResponseKey, &last); err != nil {
		return h, err
	}
	h.LastResults = last.Height
	return h, nil
}

// readKey decodes the value of key in database name of dir into m; a missing key leaves m empty.
func readKey(dir, name string, key []byte, m proto.Message) (err error) {
	path := filepath.Join(dir, name+".db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	lock, err := pebble.LockDirectory(path, vfs.Default)
	var pe *os.PathError
	switch {
	case errors.As(err, &pe): // creating the LOCK file failed: not a lock held by someone
		return fmt.Errorf("consensus: lock %s: %w", path, err)
	case err != nil: // held: by another process (EAGAIN) or in this one
		return fmt.Errorf("%w (%s): %v", ErrDBLocked, path, err)
	}
	defer lock.Close()
	db, err := dbm.NewPebbleDBWithOpts(name, dir, &pebble.Options{ReadOnly: true, ErrorIfNotExists: true, Lock: lock, Logger: silentLogger{}})
	if err != nil {
		return fmt.Errorf("consensus: open %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	v, err := db.Get(key)
	if err != nil {
		return fmt.Errorf("consensus: read %s: %w", path, err)
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("consensus: %s: key %q: %w", path, key, err)
	}
	return nil
}

// silentLogger drops Pebble's log lines (a read-only open reports each WAL it replays); errors reach
// the caller as errors.
type silentLogger struct{}

func (silentLogger) Infof(string, ...any)  {}
func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
