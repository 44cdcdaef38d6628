package consensus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	sm "github.com/cometbft/cometbft/state"
)

// ErrStopped is returned by Backup when the node stops before a block commits.
var ErrStopped = errors.New("consensus: node stopped")

// PrivValidatorStateFile is where a home keeps its validator's last signed height, round and step,
// relative to the home; Backup writes its copy at the same place under its directory.
const PrivValidatorStateFile = "data/priv_validator_state.json"

// dbRecorder opens CometBFT's databases as cfg.DefaultDBProvider does and keeps their handles, so
// that Backup can checkpoint them while the node runs. Each is guarded (guardedDB) against calls that
// CometBFT makes after closing it.
type dbRecorder struct {
	mu  sync.Mutex
	dbs map[string]*guardedDB // by ID: "blockstore", "state", "evidence"
}

func (r *dbRecorder) provider(ctx *cfg.DBContext) (dbm.DB, error) {
	db, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dbs == nil {
		r.dbs = map[string]*guardedDB{}
	}
	g := guardDB(db)
	r.dbs[ctx.ID] = g
	return g, nil
}

func (r *dbRecorder) get(id string) *guardedDB {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dbs[id]
}

func (r *dbRecorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.dbs))
	for id := range r.dbs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// BackupInfo describes a backup that Backup took.
type BackupInfo struct {
	// Height is the last block in the copy. The copy holds the block store and the application's state
	// at Height, and CometBFT's state at Height-1 with the results of block Height saved: a node started
	// from it replays block Height from those results, as after a crash at the end of Commit.
	Height    int64
	BlockTime time.Time
	ChainID   string
	NodeID    string
	// ValidatorAddress is this node's validator address; InValidatorSet whether it is in the set that
	// signs the blocks after Height, which has Validators members. A full node has no validator: its
	// address is empty and it is in no set.
	ValidatorAddress string
	InValidatorSet   bool
	Validators       int
	// FullNode is whether the node runs as a full node (Options.FullNode): the copy then holds no
	// validator sign state.
	FullNode bool
	// Taken is when the copy was taken, by this node's clock.
	Taken time.Time
	// Databases are the database directories written under DIR/data, the application's included.
	Databases []string
	// Pause is how long taking the copy held up Commit, and with it consensus.
	Pause time.Duration
}

type backupRequest struct {
	dir  string
	app  func(dataDir string) error
	done chan struct{}
	info BackupInfo
	err  error
}

// commitHook passes every ABCI call to the application and serves backup requests at the end of
// Commit. There, consensus cannot advance: CometBFT's consensus (or block sync) routine waits for Commit
// to return, having saved block H in the block store and its FinalizeBlock results in the state
// store, and saving state H only after Commit returns; the application has just written block H. A copy
// of all three taken then is a home that CometBFT's handshake accepts (app H, store H, state H-1).
type commitHook struct {
	abci.Application
	serve func(*backupRequest) (BackupInfo, error)

	mu      sync.Mutex
	pending []*backupRequest
	stopped bool
}

// Commit commits the application's block, then takes the backups asked for meanwhile.
func (h *commitHook) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	resp, err := h.Application.Commit(ctx, req)
	if err != nil {
		return resp, err
	}
	h.mu.Lock()
	todo := h.pending
	h.pending = nil
	h.mu.Unlock()
	for _, b := range todo {
		t0 := time.Now()
		b.info, b.err = h.serve(b)
		b.info.Pause = time.Since(t0)
		close(b.done)
	}
	return resp, nil
}

// stop fails the requests still waiting and refuses new ones.
func (h *commitHook) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, b := range h.pending {
		b.err = ErrStopped
		close(b.done)
	}
	h.pending = nil
}

// BackupApp is the application's part of a backup.
type BackupApp struct {
	// DBs are the directories of the application's databases. Like CometBFT's, they must be on the
	// file system of the copy (checkSameFileSystem).
	DBs []string
	// Checkpoint writes the application's copy into the backup's data directory. It runs inside Commit:
	// it MUST NOT make ABCI calls (they would wait for Commit to return) and should be quick (a Pebble
	// checkpoint, which hard-links its files, is).
	Checkpoint func(dataDir string) error
}

// Backup writes a consistent copy of the node's databases into dir, which must not exist yet: CometBFT's
// databases as dir/data/ID.db, the validator's last sign state as dir/data/priv_validator_state.json
// (not for a full node, which has no validator), and whatever app.Checkpoint writes into dir/data. The
// copy is taken at the end of the next Commit, so Backup waits for the next block; it returns ctx's
// error, and leaves the request, if ctx ends first. It returns ErrOtherFileSystem, before writing
// anything, if a database (CometBFT's or app.DBs) is not on the file system of dir's parent.
func (n *Node) Backup(ctx context.Context, dir string, app BackupApp) (BackupInfo, error) {
	if !filepath.IsAbs(dir) {
		return BackupInfo{}, fmt.Errorf("consensus: backup directory %q is not an absolute path", dir)
	}
	// Refused before anything is written, and long before Commit: see checkSameFileSystem.
	dbDirs := slices.Clone(app.DBs)
	for _, id := range n.dbs.ids() {
		dbDirs = append(dbDirs, filepath.Join(n.n.Config().DBDir(), id+".db"))
	}
	if err := checkSameFileSystem(filepath.Dir(dir), dbDirs...); err != nil {
		return BackupInfo{}, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("consensus: backup directory: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("consensus: backup directory: %w", err)
	}
	r := &backupRequest{dir: dir, app: app.Checkpoint, done: make(chan struct{})}
	h := n.hook
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return BackupInfo{}, ErrStopped
	}
	h.pending = append(h.pending, r)
	h.mu.Unlock()
	select {
	case <-r.done:
		return r.info, r.err
	case <-ctx.Done():
	}
	h.mu.Lock()
	i := slices.Index(h.pending, r)
	if i >= 0 {
		h.pending = slices.Delete(h.pending, i, i+1)
	}
	h.mu.Unlock()
	if i >= 0 {
		return BackupInfo{}, fmt.Errorf("consensus: no block committed to take the backup at: %w", ctx.Err())
	}
	<-r.done // being taken right now: a matter of moments
	return r.info, r.err
}

// takeBackup runs inside Commit (commitHook).
func (n *Node) takeBackup(r *backupRequest) (BackupInfo, error) {
	bs := n.n.BlockStore()
	info := BackupInfo{
		Height:   bs.Height(),
		ChainID:  n.n.GenesisDoc().ChainID,
		NodeID:   string(n.n.NodeInfo().ID()),
		Taken:    time.Now().UTC(),
		FullNode: n.fullNode,
	}
	if meta := bs.LoadBlockMeta(info.Height); meta != nil {
		info.BlockTime = meta.Header.Time
	}
	data := filepath.Join(r.dir, "data")
	// CometBFT's state must be one block behind the block store, with the block's results saved: the
	// handshake replays the block from them. Anything else means this is not the moment we think it is.
	stateDB := n.dbs.get("state")
	if stateDB == nil {
		return info, errors.New("consensus: backup: CometBFT's state database is not open")
	}
	stateStore := sm.NewStore(stateDB, sm.StoreOptions{DiscardABCIResponses: true})
	state, err := stateStore.Load()
	if err != nil {
		return info, fmt.Errorf("consensus: backup: load state: %w", err)
	}
	if state.LastBlockHeight != info.Height-1 {
		return info, fmt.Errorf("consensus: backup: block store at %d but state at %d, not one behind", info.Height, state.LastBlockHeight)
	}
	if _, err := stateStore.LoadLastFinalizeBlockResponse(info.Height); err != nil {
		return info, fmt.Errorf("consensus: backup: results of block %d: %w", info.Height, err)
	}
	// From Height+1 on, the set is the one this state names as next.
	info.Validators = state.NextValidators.Size()
	if pk, err := n.n.PrivValidator().GetPubKey(); err == nil && !n.fullNode {
		info.ValidatorAddress = pk.Address().String()
		info.InValidatorSet = state.NextValidators.HasAddress(pk.Address())
	}

	if err := r.app(data); err != nil {
		return info, fmt.Errorf("consensus: backup: application: %w", err)
	}
	for _, id := range n.dbs.ids() {
		db := n.dbs.get(id).DB()
		if db == nil {
			return info, fmt.Errorf("consensus: backup: database %s is not a Pebble database", id)
		}
		if err := db.Checkpoint(filepath.Join(data, id+".db"), pebble.WithFlushedWAL()); err != nil {
			return info, fmt.Errorf("consensus: backup: checkpoint %s: %w", id, err)
		}
	}
	// The file is replaced atomically (written aside, renamed) whenever the validator signs, and
	// nothing signs while Commit runs. A full node has no validator, so no sign state to keep (its
	// signer lives in memory and signs nothing; a file left in its home is not its own).
	if !n.fullNode {
		if err := CopyNewFile(n.n.Config().PrivValidatorStateFile(), filepath.Join(r.dir, PrivValidatorStateFile)); err != nil {
			return info, fmt.Errorf("consensus: backup: validator state: %w", err)
		}
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		return info, fmt.Errorf("consensus: backup: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			info.Databases = append(info.Databases, e.Name())
		}
	}
	return info, nil
}

// CopyNewFile copies src to dst, which must not exist, with mode 0600, and syncs it.
func CopyNewFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Sync(), out.Close())
}
