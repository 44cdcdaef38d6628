package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/store"
)

// The admin socket is the operator's way into a running node: HOME/admin.sock, a unix socket of mode
// 0600 (on Linux, connections from other users than the node's and root are also refused by their
// credentials). It serves `siegel status` and `siegel backup` and nothing else, and is never on the
// network.
const adminSocketName = "admin.sock"

// maxSocketPath is the longest path a unix socket can be bound to on Linux (108 bytes with the NUL).
const maxSocketPath = 107

// backupDirPrefix names the directories, directly in the home, into which the node writes a backup's
// copy of its databases (on the same file system as data/, so that Pebble hard-links its files).
const backupDirPrefix = ".backup-"

func adminSocketPath(home string) string { return filepath.Join(home, adminSocketName) }

// errNotRunning means no node answers on a home's admin socket.
var errNotRunning = errors.New("the node is not running")

// listenAdmin opens the admin socket of home. A socket file left behind by a node that was killed is
// replaced; one that answers means another node runs on this home, which fails the start here,
// before anything touches the databases.
func listenAdmin(home string) (net.Listener, error) {
	path := adminSocketPath(home)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("admin socket %s: the path is %d bytes, unix sockets allow %d: use a shorter home path", path, len(path), maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin socket %s: the file exists and is not a socket; remove it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another node is running on %s: it answers on %s", home, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: remove the stale socket: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return peerCheckedListener{l}, nil
}

// adminStatus is the body of the admin socket's GET /v1/status.
type adminStatus struct {
	Version    string    `json:"version"`
	ChainID    string    `json:"chain_id"`
	NodeID     string    `json:"node_id"`
	Height     int64     `json:"height"` // last block in the block store
	BlockTime  time.Time `json:"block_time"`
	AppHeight  uint64    `json:"app_height"` // last block the application committed
	AppHash    string    `json:"app_hash"`
	CatchingUp bool      `json:"catching_up"`
	Peers      int       `json:"peers"`
	// FullNode: a read replica, which has no validator (Validator then holds the set's size only).
	FullNode  bool          `json:"full_node,omitempty"`
	Validator validatorView `json:"validator"`
}

type validatorView struct {
	Address    string `json:"address"`
	InSet      bool   `json:"in_set"`
	Power      int64  `json:"power"`
	TotalPower int64  `json:"total_power"`
	Validators int    `json:"validators"`
	// Checked commits of the latest blocks, Signed of them by this validator, the last at LastSigned.
	Checked    int   `json:"recent_commits"`
	Signed     int   `json:"signed"`
	LastSigned int64 `json:"last_signed_height"`
}

// recentCommits is how many of the latest commits status looks for this validator's signature in.
const recentCommits = 10

// backupRequest is the body of the admin socket's POST /v1/backup.
type backupRequest struct {
	// Dir is where the node writes the copy: HOME/.backup-SOMETHING, which must not exist.
	Dir string `json:"dir"`
}

// backupTaken is the answer to POST /v1/backup.
type backupTaken struct {
	backupNode
	Taken     time.Time `json:"taken"`
	Databases []string  `json:"databases"`
	// Pause is how long the copy held up consensus (inside Commit).
	Pause time.Duration `json:"pause_ns"`
}

// newAdminServer serves the admin socket. Requests end when the server shuts down.
func newAdminServer(home string, node *consensus.Node, st *store.Store, logger *slog.Logger) *http.Server {
	ctx, cancel := context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeAdminJSON(w, http.StatusOK, nodeAdminStatus(node, st))
	})
	mux.HandleFunc("POST /v1/backup", func(w http.ResponseWriter, r *http.Request) {
		var req backupRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeAdminError(w, http.StatusBadRequest, fmt.Errorf("backup request: %w", err))
			return
		}
		if !inHome(home, req.Dir) {
			writeAdminError(w, http.StatusBadRequest, fmt.Errorf("backup directory %q: must be HOME/%s... (directly in the node's home, %s)", req.Dir, backupDirPrefix, home))
			return
		}
		logger.Info("backup requested: waiting for the next commit", "dir", req.Dir)
		t, err := takeBackup(r.Context(), node, st, req.Dir)
		if err != nil {
			logger.Error("backup failed", "dir", req.Dir, "err", err)
			code := http.StatusInternalServerError
			switch {
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, consensus.ErrStopped):
				code = http.StatusServiceUnavailable
			case errors.Is(err, consensus.ErrOtherFileSystem):
				code = http.StatusConflict
			}
			writeAdminError(w, code, err)
			return
		}
		logger.Info("backup taken", "dir", req.Dir, "height", t.Height, "app_hash", t.AppHash)
		writeAdminJSON(w, http.StatusOK, t)
	})
	s := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: a backup waits for the next commit, for as long as the client waits.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.RegisterOnShutdown(cancel)
	return s
}

// removeStaleBackups removes the HOME/.backup-* directories left by a siegel backup that was killed,
// or by a node that stopped while one was being packed. The node calls it at start, once its admin
// socket is bound (so no other node runs on home): the copy of a backup still being packed from the
// previous run would go too, and that backup fails (its files are checked as they are packed).
func removeStaleBackups(home string, logger *slog.Logger) {
	dirs, err := filepath.Glob(filepath.Join(home, backupDirPrefix+"*"))
	if err != nil {
		return
	}
	for _, d := range dirs {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			logger.Warn("cannot remove a backup's copy left from before", "dir", d, "err", err)
			continue
		}
		logger.Info("removed a backup's copy left from before (a siegel backup killed, or the node stopped while it ran)", "dir", d)
	}
}

// inHome reports whether dir is HOME/.backup-SOMETHING, resolving symbolic links (the node and the
// command may name the home differently).
func inHome(home, dir string) bool {
	if !filepath.IsAbs(dir) || !strings.HasPrefix(filepath.Base(dir), backupDirPrefix) {
		return false
	}
	h, err := filepath.EvalSymlinks(home)
	if err != nil {
		return false
	}
	p, err := filepath.EvalSymlinks(filepath.Dir(dir))
	return err == nil && p == h
}

// takeBackup asks the node for a copy of its databases, the application's included, in dir.
func takeBackup(ctx context.Context, node *consensus.Node, st *store.Store, dir string) (backupTaken, error) {
	var app store.Commit
	info, err := node.Backup(ctx, dir, consensus.BackupApp{DBs: []string{st.Dir()}, Checkpoint: func(data string) error {
		c, err := st.LastCommit()
		if err != nil {
			return err
		}
		app = c
		return st.CheckpointDB(filepath.Join(data, "siegel"))
	}})
	if err != nil {
		return backupTaken{}, err
	}
	if app.Height != uint64(info.Height) {
		return backupTaken{}, fmt.Errorf("backup: the application is at height %d but the block store at %d", app.Height, info.Height)
	}
	return backupTaken{
		backupNode: backupNode{
			Version: version, ChainID: info.ChainID, NodeID: info.NodeID,
			Height: info.Height, AppHash: hex.EncodeToString(app.AppHash), BlockTime: info.BlockTime.UTC(),
			ValidatorAddress: info.ValidatorAddress, InValidatorSet: info.InValidatorSet, Validators: info.Validators,
			FullNode: info.FullNode,
		},
		Taken: info.Taken, Databases: info.Databases, Pause: info.Pause,
	}, nil
}

func nodeAdminStatus(node *consensus.Node, st *store.Store) adminStatus {
	ns := node.Status()
	c, _ := st.LastCommit()
	v := node.Validator(recentCommits)
	return adminStatus{
		Version: version, ChainID: ns.ChainID, NodeID: ns.NodeID,
		Height: ns.Height, BlockTime: ns.LatestBlockTime.UTC(),
		AppHeight: c.Height, AppHash: hex.EncodeToString(c.AppHash),
		CatchingUp: ns.CatchingUp, Peers: ns.Peers, FullNode: node.FullNode(),
		Validator: validatorView{
			Address: v.Address, InSet: v.InSet, Power: v.Power, TotalPower: v.TotalPower, Validators: v.Validators,
			Checked: v.Checked, Signed: v.Signed, LastSigned: v.LastSigned,
		},
	}
}

type adminErrorBody struct {
	Error string `json:"error"`
}

func writeAdminJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAdminError(w http.ResponseWriter, code int, err error) {
	writeAdminJSON(w, code, adminErrorBody{Error: err.Error()})
}

// adminClient talks to the node of home over its admin socket.
type adminClient struct {
	path string
	hc   *http.Client
	// connected is set once a connection to the socket was made: a node that accepts connections but
	// does not answer is starting (its socket is bound first, served once the node runs) or hung.
	connected atomic.Bool
}

func newAdminClient(home string) *adminClient {
	path := adminSocketPath(home)
	c := &adminClient{path: path}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", path)
			if err == nil {
				c.connected.Store(true)
			}
			return conn, err
		},
		DisableKeepAlives: true,
	}
	c.hc = &http.Client{Transport: tr}
	return c
}

// do sends a request and decodes the JSON answer into out. It returns an error wrapping errNotRunning
// when no node listens on the socket.
func (c *adminClient) do(ctx context.Context, method, route string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://siegel-admin"+route, r)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOENT):
			return fmt.Errorf("%w (no admin socket %s)", errNotRunning, c.path)
		case errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("%w (nothing answers on %s)", errNotRunning, c.path)
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("admin socket %s: permission denied: run this as the node's user or root", c.path)
		}
		return fmt.Errorf("admin socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", c.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e adminErrorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("node: %s", e.Error)
		}
		return fmt.Errorf("node: %s", resp.Status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin socket %s: answer: %w", c.path, err)
	}
	return nil
}
