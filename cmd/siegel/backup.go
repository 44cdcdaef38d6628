package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/siegel-notary/siegel/consensus"
	"github.com/spf13/cobra"
)

// backupFormat names the layout of a backup file; restore refuses any other.
const backupFormat = "siegel-backup/1"

// manifestName is the first entry of a backup file.
const manifestName = "manifest.json"

// backupConfigFiles are the files of HOME/config that a validator's backup must hold: everything a node
// needs besides its databases (a full node's, all but validatorKeyFile). gossipKeyName is in a backup
// too when the home has it. addrbook.json is left out (the node rebuilds it from persistent_peers), and
// so are files outside config/ and data/ (logs, agency or operator keys kept in the home by a
// development network).
var backupConfigFiles = []string{"config.toml", "siegel.toml", "genesis.json", "node_key.json", validatorKeyFile}

// validatorKeyFile is the validator's private key in HOME/config, which a full node (read replica)
// does not have.
const validatorKeyFile = "priv_validator_key.json"

// gossipKeyName is the metadata gossip's identity key in HOME/config (the default gossip_key_file): the
// peer ID that the other nodes list in gossip_bootstrap and gossip_allowed_peers. Optional in a backup:
// homes made before the gossip have none until the node's first start.
const gossipKeyName = "gossip.key"

// requiredConfigFiles are the files of HOME/config that a backup of a validator, or of a full node,
// must hold.
func requiredConfigFiles(fullNode bool) []string {
	if !fullNode {
		return backupConfigFiles
	}
	var names []string
	for _, n := range backupConfigFiles {
		if n != validatorKeyFile {
			names = append(names, n)
		}
	}
	return names
}

// backupNode is what the node was when a backup's copy was taken: the node answers POST /v1/backup
// with it (backupTaken), and the manifest records it.
type backupNode struct {
	Version string `json:"version"` // of the node that took it
	ChainID string `json:"chain_id"`
	NodeID  string `json:"node_id"`
	// Height is the last block in the copy; AppHash the application's app hash after it.
	Height    int64     `json:"height"`
	AppHash   string    `json:"app_hash"`
	BlockTime time.Time `json:"block_time"`
	// The validator of this home, whether it is in the validator set after Height, and that set's size.
	ValidatorAddress string `json:"validator_address"`
	InValidatorSet   bool   `json:"in_validator_set"`
	Validators       int    `json:"validators"`
	// FullNode: the home is a full node's (a read replica, siegel.toml full_node = true), which has no
	// validator key nor sign state.
	FullNode bool `json:"full_node,omitempty"`
}

// backupManifest describes a backup file: what the node was when the copy was taken, and every file
// with its size and SHA-256.
type backupManifest struct {
	Format string `json:"format"`
	backupNode
	Created time.Time    `json:"created"`
	Files   []backupFile `json:"files"`
}

type backupFile struct {
	Path   string `json:"path"` // slash-separated, relative to the home
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// soleValidator reports whether the backed-up node was the network's only validator.
func (m *backupManifest) soleValidator() bool { return m.InValidatorSet && m.Validators == 1 }

func newBackupCmd() *cobra.Command {
	var home, out string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "backup --home DIR --out FILE",
		Short: "Back up a running node: its databases, configuration and keys, into one file",
		Long: "Asks the node running on DIR, over its admin socket DIR/" + adminSocketName + ", for a copy of its databases\n" +
			"(Siegel's in data/siegel, CometBFT's block store, state and evidence in data/*.db) and of its validator's\n" +
			"sign state (data/priv_validator_state.json), taken together at the end of the next block's commit so\n" +
			"that they fit one another; the node keeps running. The copy goes into DIR/" + backupDirPrefix + "* (hard links,\n" +
			"on the same file system) and is removed once packed. The node refuses if DIR and its databases are on\n" +
			"different file systems: the files would be copied while consensus waits.\n\n" +
			"FILE is a gzipped tar file: manifest.json first (chain, height, app hash, validator, node version, time,\n" +
			"and the size and SHA-256 of every file), then config/config.toml, siegel.toml, genesis.json,\n" +
			"node_key.json, priv_validator_key.json, gossip.key (the metadata gossip's identity, if the home has it;\n" +
			"a gossip_key_file elsewhere is not copied), and data/. FILE HOLDS THE VALIDATOR'S PRIVATE KEY: it is\n" +
			"written with mode 0600; keep it where only the operators can read it. It is written as FILE.partial\n" +
			"and renamed when complete; an existing FILE is never overwritten. Restore with 'siegel restore'.\n\n" +
			"A read replica (siegel.toml full_node = true) has no validator key nor sign state: its backup holds\n" +
			"neither, and its manifest says \"full_node\": true.\n" +
			"Run it as the node's user (or root).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			if out == "" {
				return errors.New("--out FILE is required")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d, err := runBackup(ctx, home, out)
			if err != nil {
				return err
			}
			m := d.m
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "backup of %s written to %s\n", home, out)
			fmt.Fprintf(w, "  chain %s, height %d, app hash %s (consensus paused %s for the copy)\n", m.ChainID, m.Height, m.AppHash, d.pause.Round(time.Microsecond))
			fmt.Fprintf(w, "  %d files, %s; the file itself %s, sha256 %s\n", len(m.Files), humanBytes(m.total()), humanBytes(d.size), d.sum)
			if m.FullNode {
				fmt.Fprintf(w, "  a read replica (full_node = true): no validator key or sign state, as it has none\n")
			}
			if d.gossipID != "" {
				fmt.Fprintf(w, "  gossip identity config/%s, peer ID %s\n", gossipKeyName, d.gossipID)
			} else {
				fmt.Fprintf(w, "  NOT in it: %s\n", d.gossipNote)
			}
			if m.FullNode {
				fmt.Fprintf(w, "It holds the node's node key and gossip key: keep it where only the operators can read it.\n")
			} else {
				fmt.Fprintf(w, "It holds the validator's private key: keep it where only the operators can read it.\n")
			}
			fmt.Fprintf(w, "Restore with: %s restore --in %s --home NEWDIR\n", executable(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "home directory of the running node")
	f.StringVar(&out, "out", "", "the backup file to write (must not exist)")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the next block commit, at which the copy is taken")
	return cmd
}

func (m *backupManifest) total() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// runBackup has the node of home copy its databases, and packs them with its configuration into out.
func runBackup(ctx context.Context, home, out string) (*backupDone, error) {
	absHome, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(nodeConfigPath(absHome)); err != nil {
		return nil, fmt.Errorf("%s is not a complete node home: %w", home, err)
	}
	nc, err := loadNodeConfig(absHome)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", home, err)
	}
	configFiles := requiredConfigFiles(nc.FullNode)
	for _, name := range configFiles {
		if _, err := os.Stat(filepath.Join(absHome, "config", name)); err != nil {
			return nil, fmt.Errorf("%s is not a complete node home: %w", home, err)
		}
	}
	gossipKey, gossipNote, err := gossipKeyToCopy(absHome, nc)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s exists: choose a new file name (a backup never overwrites one)", out)
	}
	partial := out + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(partial)
		}
	}()

	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	dir := filepath.Join(absHome, backupDirPrefix+time.Now().UTC().Format("20060102T150405")+"-"+hex.EncodeToString(rnd[:]))
	defer os.RemoveAll(dir)
	var t backupTaken
	if err := newAdminClient(home).do(ctx, "POST", "/v1/backup", backupRequest{Dir: dir}, &t); err != nil {
		if errors.Is(err, errNotRunning) {
			return nil, fmt.Errorf("%w on %s: siegel backup copies a running node; start it first", err, home)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no backup within the timeout (the copy is taken when the next block commits: is the chain halted?): %w", err)
		}
		return nil, err
	}
	// The node copied its sign state or not by what it runs as, the files here go by siegel.toml: they
	// must agree, or the backup would be neither a validator's nor a replica's.
	if t.FullNode != nc.FullNode {
		return nil, fmt.Errorf("%s says full_node = %v, but the node runs with full_node = %v: siegel.toml was changed since it started; "+
			"undo the change, or restart the node with it", nodeConfigPath(home), nc.FullNode, t.FullNode)
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o700); err != nil {
		return nil, err
	}
	for _, name := range configFiles {
		if err := consensus.CopyNewFile(filepath.Join(absHome, "config", name), filepath.Join(dir, "config", name)); err != nil {
			return nil, fmt.Errorf("copy config/%s: %w", name, err)
		}
	}
	var gossipID string
	if gossipKey != "" {
		dst := filepath.Join(dir, "config", gossipKeyName)
		if err := consensus.CopyNewFile(gossipKey, dst); err != nil {
			return nil, fmt.Errorf("copy config/%s: %w", gossipKeyName, err)
		}
		if gossipID, err = gossipPeerID(dst); err != nil {
			return nil, fmt.Errorf("config/%s: %w", gossipKeyName, err)
		}
	}
	m := &backupManifest{Format: backupFormat, backupNode: t.backupNode, Created: t.Taken}
	if m.Files, err = hashTree(dir); err != nil {
		return nil, err
	}
	sum, size, err := writeBackup(f, dir, m)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", partial, err)
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(partial, out); err != nil {
		return nil, err
	}
	done = true
	syncDir(filepath.Dir(out))
	return &backupDone{m: m, sum: sum, size: size, pause: t.Pause, gossipID: gossipID, gossipNote: gossipNote}, nil
}

// backupDone is what runBackup wrote: the manifest, the SHA-256 and size of the file, and how long the
// copy held up consensus; the peer ID of the gossip key it holds, or why it holds none.
type backupDone struct {
	m          *backupManifest
	sum        string
	size       int64
	pause      time.Duration
	gossipID   string
	gossipNote string
}

// gossipKeyToCopy returns the gossip key file of home that a backup holds, or "" and why it holds none.
// Only config/gossip.key is copied (restore puts it back there): a gossip_key_file configured elsewhere,
// inside the home or not, is the operator's to keep.
func gossipKeyToCopy(home string, nc nodeConfig) (path, none string, err error) {
	def := filepath.Join("config", gossipKeyName)
	if filepath.IsAbs(nc.GossipKeyFile) || filepath.Clean(nc.GossipKeyFile) != def {
		return "", fmt.Sprintf("the gossip key %s (siegel.toml gossip_key_file is not %s): keep a copy of it yourself, "+
			"or the restored node gets a new gossip peer ID", gossipKeyPath(home, nc), def), nil
	}
	p := filepath.Join(home, def)
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Sprintf("a gossip key: the home has no %s (the node makes one at its next start)", def), nil
	case err != nil:
		return "", "", fmt.Errorf("gossip key: %w", err)
	case !fi.Mode().IsRegular():
		return "", "", fmt.Errorf("gossip key %s is not a regular file", p)
	}
	return p, "", nil
}

// hashTree lists the regular files under dir, in lexical order, with their sizes and SHA-256.
func hashTree(dir string) ([]backupFile, error) {
	var files []backupFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		sum, n, err := hashPath(p)
		if err != nil {
			return err
		}
		files = append(files, backupFile{Path: filepath.ToSlash(rel), Size: n, SHA256: sum})
		return nil
	})
	return files, err
}

func hashPath(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// writeBackup writes the manifest and the files of dir it lists to w as a gzipped tar, checking each
// file against the manifest as it goes. It returns the SHA-256 and the size of what it wrote.
func writeBackup(w io.Writer, dir string, m *backupManifest) (string, int64, error) {
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", 0, err
	}
	sum := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, sum)}
	gz, err := gzip.NewWriterLevel(cw, gzip.BestSpeed) // SSTables are compressed already
	if err != nil {
		return "", 0, err
	}
	tw := tar.NewWriter(gz)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: m.Created, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(manifestName, int64(len(mb)))); err != nil {
		return "", 0, err
	}
	if _, err := tw.Write(mb); err != nil {
		return "", 0, err
	}
	for _, bf := range m.Files {
		if err := tw.WriteHeader(hdr(bf.Path, bf.Size)); err != nil {
			return "", 0, err
		}
		if err := copyChecked(tw, filepath.Join(dir, filepath.FromSlash(bf.Path)), bf); err != nil {
			return "", 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	if err := gz.Close(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(sum.Sum(nil)), cw.n, nil
}

// copyChecked copies the file at p into w and fails if it is not what bf says.
func copyChecked(w io.Writer, p string, bf backupFile) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, bf.Size))
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != bf.Size || got != bf.SHA256 {
		return fmt.Errorf("%s changed while it was packed", bf.Path)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// syncDir makes a rename in dir durable, as far as the file system allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
