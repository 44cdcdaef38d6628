package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/store"
)

// restoreDoubleSignCheck is the consensus.double_sign_check_height that restore writes: before joining
// consensus, the restored validator looks for its own signature in the last that many commits.
const restoreDoubleSignCheck = 10

// Limits on what restore accepts from a backup file, which it treats as hostile.
const (
	maxManifestBytes = 16 << 20
	maxBackupFiles   = 200_000
	maxBackupFile    = 1 << 40 // one file, 1 TiB
	maxBackupPath    = 255
)

// restoredName is the record a restore leaves in the home: the manifest, and when and from what.
const restoredName = "restored.json"

func newRestoreCmd() *cobra.Command {
	var in, home, valState string
	var soleRewind bool
	cmd := &cobra.Command{
		Use:   "restore --in FILE --home NEWDIR [--validator-state FILE] [--sole-validator-rewind]",
		Short: "Restore a node home from a file made by 'siegel backup'",
		Long: "Checks FILE (its manifest, the size and SHA-256 of every file, that the databases hold the manifest's\n" +
			"height and app hash) and unpacks it into NEWDIR, which must be new or empty. Nothing is left in NEWDIR\n" +
			"if any check fails. Run it as the node's user, so that the node owns its files.\n\n" +
			"A restored validator must never sign what the original signed after the backup: that is double-signing,\n" +
			"which CometBFT records on chain as evidence against the validator, and which can split receipts\n" +
			"between two histories.\n" +
			"So:\n" +
			"  - Stop the original node FOR GOOD before starting the restored one (disable its service, and remove its\n" +
			"    config/priv_validator_key.json or the machine). Never run both.\n" +
			"  - If the original's data/priv_validator_state.json is still readable, pass it with --validator-state:\n" +
			"    the restored validator then signs nothing at or below what the original last signed.\n" +
			fmt.Sprintf("  - restore sets consensus.double_sign_check_height = %d in config.toml, once: when it has caught up, the\n", restoreDoubleSignCheck) +
			fmt.Sprintf("    node looks for its validator's signature in the last %d commits and stops (CometBFT: \"found signature\n", restoreDoubleSignCheck) +
			"    from the same key\") if it finds one, because then the original was signing moments ago. Wait that many\n" +
			"    blocks after the original stopped and start again. Once the restored validator has signed, the node\n" +
			"    sets it back to 0 at its next start (recorded in NEWDIR/" + restoredName + "): the check passed, and its own\n" +
			"    signatures would fail it. Not set for a network's only validator: they are always in the last commits.\n" +
			"The backup of a network's ONLY validator is refused without --sole-validator-rewind: restored, it goes on\n" +
			"from the backup's height, the blocks the original committed after it are lost, and their receipts still\n" +
			"verify: two histories. Better, if the chain's newer blocks survive on a read replica: its data/, this\n" +
			"validator's config/ and a priv_validator_state.json at or above the replica's height.\n\n" +
			"A read replica's backup (manifest \"full_node\": true) holds no validator key nor sign state, and needs\n" +
			"neither: restore sets no double_sign_check_height for it and takes no --validator-state. Stop the\n" +
			"original replica before starting the restored one: they share a node key and a gossip identity.\n" +
			"The gossip identity (config/gossip.key) is restored when the backup holds it, so the other nodes'\n" +
			"gossip_bootstrap and gossip_allowed_peers still name this node.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return errors.New("--in FILE is required")
			}
			if home == "" {
				return errors.New("--home NEWDIR is required")
			}
			res, err := runRestore(in, home, valState, soleRewind)
			if err != nil {
				return err
			}
			printRestored(cmd.OutOrStdout(), in, home, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "backup file made by 'siegel backup'")
	f.StringVar(&home, "home", "", "home directory to restore into (must not exist, or be empty)")
	f.StringVar(&valState, "validator-state", "", "the original node's data/priv_validator_state.json, if readable: the newer sign state is kept")
	f.BoolVar(&soleRewind, "sole-validator-rewind", false, "restore the network's ONLY validator, rewinding the chain to the backup's height (refused without it)")
	return cmd
}

// restoreResult is what runRestore did.
type restoreResult struct {
	Manifest *backupManifest
	// SignState is the validator's sign state the restored home holds, and FromOriginal whether it
	// came from --validator-state rather than the backup.
	SignState    consensus.SignState
	FromOriginal bool
	// DoubleSignCheck is the double_sign_check_height written into config.toml (0: left as it was).
	DoubleSignCheck int64
	// GossipID is the peer ID of the gossip key restored into config/gossip.key ("" if the backup holds
	// none); GossipKeyFile is siegel.toml's gossip_key_file.
	GossipID      string
	GossipKeyFile string
}

// runRestore checks the backup file in and unpacks it into home.
// soleRewind is --sole-validator-rewind: without it, the backup of a network's only validator is
// refused (soleValidatorRefusal).
func runRestore(in, home, valState string, soleRewind bool) (res *restoreResult, err error) {
	fi, err := os.Stat(in)
	if err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("backup file %s is not a regular file", in)
	}
	var original consensus.SignState
	if valState != "" {
		if original, err = consensus.ReadSignState(valState); err != nil {
			return nil, fmt.Errorf("--validator-state: %w", err)
		}
	}
	created, err := prepareHome(home)
	if err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(home, ".restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var moved []string
	defer func() {
		if err == nil {
			return
		}
		os.RemoveAll(staging)
		for _, p := range moved {
			os.RemoveAll(p)
		}
		if created {
			os.Remove(home)
		}
	}()

	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("backup file: %w", err)
	}
	defer f.Close()
	// Refusals that the manifest alone decides come before the archive is unpacked.
	m, err := unpackBackup(f, staging, func(m *backupManifest) error {
		switch {
		case m.soleValidator() && !soleRewind:
			return soleValidatorRefusal(m)
		case m.FullNode && valState != "":
			return errors.New("--validator-state: this is the backup of a read replica (full node), which has no validator and so no " +
				"sign state; restore it without the flag")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup file %s: %w", in, err)
	}
	if err := checkRestored(staging, m); err != nil {
		return nil, fmt.Errorf("backup file %s is inconsistent: %w", in, err)
	}
	res = &restoreResult{Manifest: m}
	nc, err := loadNodeConfig(staging) // checked by checkRestored
	if err != nil {
		return nil, err
	}
	res.GossipKeyFile = nc.GossipKeyFile
	if gk := filepath.Join(staging, "config", gossipKeyName); fileExists(gk) {
		if res.GossipID, err = gossipPeerID(gk); err != nil {
			return nil, fmt.Errorf("backup file %s: config/%s: %w", in, gossipKeyName, err)
		}
	}
	if !m.FullNode {
		if res.SignState, err = consensus.ReadSignState(filepath.Join(staging, filepath.FromSlash(consensus.PrivValidatorStateFile))); err != nil {
			return nil, fmt.Errorf("backup file %s: %w", in, err)
		}
	}
	if valState != "" && res.SignState.Before(original) {
		if m.soleValidator() && original.Height > m.Height {
			return nil, fmt.Errorf("--validator-state: the original validator signed at height %d, after the backup's %d: as the network's only "+
				"validator, the restored node could produce no block without signing those heights again; it would halt the chain", original.Height, m.Height)
		}
		dst := filepath.Join(staging, filepath.FromSlash(consensus.PrivValidatorStateFile))
		if err := os.Remove(dst); err != nil {
			return nil, err
		}
		if err := consensus.CopyNewFile(valState, dst); err != nil {
			return nil, fmt.Errorf("--validator-state: %w", err)
		}
		res.SignState, res.FromOriginal = original, true
	}
	// A replica signs nothing, so it has nothing to check (and a validator that is the network's only one
	// would find its own signatures and never start).
	if !m.FullNode && !m.soleValidator() {
		if err := consensus.SetDoubleSignCheckHeight(staging, restoreDoubleSignCheck); err != nil {
			return nil, err
		}
		res.DoubleSignCheck = restoreDoubleSignCheck
	}
	for _, d := range []string{"config", "data"} {
		if err := os.Rename(filepath.Join(staging, d), filepath.Join(home, d)); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		moved = append(moved, filepath.Join(home, d))
	}
	if err := os.Remove(staging); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	rec := restoredRecord{Restored: time.Now().UTC(), From: in, Manifest: m}
	if res.DoubleSignCheck > 0 {
		rec.DoubleSignCheck = &doubleSignCheckRecord{Height: res.DoubleSignCheck, SignState: res.SignState}
	}
	if err := writeRestoredRecord(home, &rec); err != nil { // synced, and the home with it
		return nil, fmt.Errorf("restore: %w", err)
	}
	return res, nil
}

// errSoleValidator is restore's refusal of a network's only validator without --sole-validator-rewind.
var errSoleValidator = errors.New("the backup of the network's only validator")

// soleValidatorRefusal explains why restoring the network's only validator is refused without
// --sole-validator-rewind, and what to do instead.
func soleValidatorRefusal(m *backupManifest) error {
	return fmt.Errorf("it is %w (validator %s, the validator set's only member at height %d). Restoring it REWINDS THE CHAIN "+
		"to height %d: the blocks the original committed after that are lost, yet receipts issued for them still verify offline "+
		"against the same genesis, and the restored node commits other blocks at those heights: two histories that both verify.\n"+
		"If a newer copy of the chain exists, do not rewind: take a read replica's data/ (stopped, at the chain's tip) into a new "+
		"home with this validator's config/ (its priv_validator_key.json), and a data/priv_validator_state.json at or above the "+
		"replica's tip (the original's, if its disk is readable); started, the validator goes on from the tip and nothing is lost "+
		"(docs/OPERATORS.md, \"Backup and restore\").\n"+
		"If nothing newer exists, or you accept the rewind and will anchor the lost documents again, restore with --sole-validator-rewind",
		errSoleValidator, m.ValidatorAddress, m.Height, m.Height)
}

// prepareHome makes sure home is a new or empty directory, and says whether it created it.
func prepareHome(home string) (bool, error) {
	fi, err := os.Stat(home)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(home, 0o700); err != nil {
			return false, fmt.Errorf("restore: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("restore: %w", err)
	case !fi.IsDir():
		return false, fmt.Errorf("%s is not a directory", home)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("%s is not empty (it holds %s): restore only into a new or empty directory", home, entries[0].Name())
	}
	return false, nil
}

// unpackBackup reads a backup file from r into dir, checking it as it goes. It returns the manifest
// once every file listed has been written with the size and SHA-256 it lists, and nothing else is in
// the file.
// accept, if not nil, may refuse the backup by its manifest before any file is unpacked.
func unpackBackup(r io.Reader, dir string, accept func(*backupManifest) error) (*backupManifest, error) {
	br := bufio.NewReader(r)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file (a backup is a .tar.gz made by 'siegel backup'): %w", err)
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil {
		return nil, damaged("reading the first entry", err)
	}
	if hdr.Name != manifestName {
		return nil, fmt.Errorf("the first entry is %q, not %s: not a Siegel backup", hdr.Name, manifestName)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size > maxManifestBytes {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", manifestName, maxManifestBytes)
	}
	mb, err := io.ReadAll(tr)
	if err != nil {
		return nil, damaged("reading "+manifestName, err)
	}
	m, err := decodeManifest(mb)
	if err != nil {
		return nil, err
	}
	if accept != nil {
		if err := accept(m); err != nil {
			return nil, err
		}
	}
	if free, err := freeBytes(dir); err == nil && uint64(m.total()) > free {
		return nil, fmt.Errorf("it holds %s, but the file system of %s has %s free", humanBytes(m.total()), dir, humanBytes(int64(min(free, 1<<62))))
	}
	for i, want := range m.Files {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("truncated: it ends after %d of the %d files the manifest lists (%s is missing)", i, len(m.Files), want.Path)
		}
		if err != nil {
			return nil, damaged("reading the entry of "+want.Path, err)
		}
		if err := checkEntry(hdr, want); err != nil {
			return nil, err
		}
		if err := writeEntry(tr, dir, want); err != nil {
			return nil, err
		}
	}
	hdr, err = tr.Next()
	switch {
	case err == nil:
		return nil, fmt.Errorf("entry %q is not in the manifest", hdr.Name)
	case !errors.Is(err, io.EOF):
		return nil, damaged("after the last file", err)
	}
	// The rest of the gzip stream is the tar's end padding; reading it to the end checks the gzip CRC.
	if n, err := io.Copy(io.Discard, io.LimitReader(gz, 1<<20)); err != nil {
		return nil, damaged("at its end", err)
	} else if n == 1<<20 {
		return nil, errors.New("data after the end of the tar archive")
	}
	if _, err := br.Peek(1); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the end of the gzip stream")
	}
	return m, nil
}

// damaged describes an error reading the file: truncated or corrupt.
func damaged(where string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("truncated (%s): %w", where, err)
	}
	return fmt.Errorf("corrupt (%s): %w", where, err)
}

// decodeManifest parses and checks a manifest: format, chain, height, app hash, and a file list of
// safe, unique paths in the layout a backup has, with every file a home needs.
func decodeManifest(b []byte) (*backupManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m backupManifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the manifest", manifestName)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", manifestName, fmt.Sprintf(format, args...))
	}
	if m.Format != backupFormat {
		return nil, bad("format %q: this siegel reads %q", m.Format, backupFormat)
	}
	if m.ChainID == "" || len(m.ChainID) > 50 {
		return nil, bad("chain ID %q: want 1 to 50 characters", m.ChainID)
	}
	if m.Height < 1 {
		return nil, bad("height %d: want at least 1", m.Height)
	}
	if h, err := hex.DecodeString(m.AppHash); err != nil || len(h) != 32 {
		return nil, bad("app hash %q: want 64 hex digits", m.AppHash)
	}
	if len(m.Files) == 0 || len(m.Files) > maxBackupFiles {
		return nil, bad("%d files: want 1 to %d", len(m.Files), maxBackupFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	var total int64
	for _, f := range m.Files {
		if err := checkBackupPath(f.Path); err != nil {
			return nil, bad("%v", err)
		}
		if seen[f.Path] {
			return nil, bad("%s is listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 || f.Size > maxBackupFile {
			return nil, bad("%s: size %d: want 0 to %d", f.Path, f.Size, int64(maxBackupFile))
		}
		if total += f.Size; total > maxBackupFile*16 {
			return nil, bad("the files add up to more than %d bytes", int64(maxBackupFile*16))
		}
		if h, err := hex.DecodeString(f.SHA256); err != nil || len(h) != sha256.Size || f.SHA256 != strings.ToLower(f.SHA256) {
			return nil, bad("%s: sha256 %q: want 64 lower-case hex digits", f.Path, f.SHA256)
		}
	}
	if m.FullNode && seen["config/"+validatorKeyFile] {
		return nil, bad("it is a full node's (read replica's), yet lists config/%s: a full node holds no validator key, and refuses to start with one", validatorKeyFile)
	}
	var missing []string
	for _, name := range requiredConfigFiles(m.FullNode) {
		if !seen["config/"+name] {
			missing = append(missing, "config/"+name)
		}
	}
	if !m.FullNode && !seen[consensus.PrivValidatorStateFile] {
		missing = append(missing, consensus.PrivValidatorStateFile)
	}
	for _, db := range []string{"data/siegel/", "data/blockstore.db/", "data/state.db/"} {
		if !slices.ContainsFunc(m.Files, func(f backupFile) bool { return strings.HasPrefix(f.Path, db) }) {
			missing = append(missing, db)
		}
	}
	if len(missing) > 0 {
		return nil, bad("a home needs %s, which it does not list", strings.Join(missing, ", "))
	}
	return &m, nil
}

// checkBackupPath accepts the paths a backup holds: config/NAME for the known configuration files and
// the gossip key, data/priv_validator_state.json, and data/DB/NAME where DB is siegel or ends in .db:
// relative, clean, without ".." or anything hidden, and nothing else.
func checkBackupPath(p string) error {
	if p == "" || len(p) > maxBackupPath || !path.IsAbs("/"+p) || path.Clean(p) != p || !filepath.IsLocal(p) ||
		strings.ContainsAny(p, "\\\x00") || strings.Contains(p, "/.") || strings.HasPrefix(p, ".") {
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && parts[0] == "config" && (slices.Contains(backupConfigFiles, parts[1]) || parts[1] == gossipKeyName):
	case p == consensus.PrivValidatorStateFile:
	case len(parts) == 3 && parts[0] == "data" && (parts[1] == "siegel" || (strings.HasSuffix(parts[1], ".db") && len(parts[1]) > 3)):
	default:
		return fmt.Errorf("path %q is not where a backup keeps files (config/*.toml|json, config/%s, data/priv_validator_state.json, data/DB/FILE)", p, gossipKeyName)
	}
	return nil
}

// checkEntry checks a tar entry against the manifest's next file.
func checkEntry(hdr *tar.Header, want backupFile) error {
	if hdr.Name != want.Path {
		if err := checkBackupPath(hdr.Name); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		return fmt.Errorf("entry %q where the manifest lists %s next", hdr.Name, want.Path)
	}
	if hdr.Typeflag != tar.TypeReg {
		kind := map[byte]string{tar.TypeSymlink: "a symbolic link", tar.TypeLink: "a hard link", tar.TypeDir: "a directory",
			tar.TypeChar: "a device", tar.TypeBlock: "a device", tar.TypeFifo: "a FIFO"}[hdr.Typeflag]
		if kind == "" {
			kind = fmt.Sprintf("of tar type %q", hdr.Typeflag)
		}
		return fmt.Errorf("entry %s is %s: a backup holds regular files only", hdr.Name, kind)
	}
	if hdr.Size != want.Size {
		return fmt.Errorf("entry %s has %d bytes, the manifest says %d", hdr.Name, hdr.Size, want.Size)
	}
	return nil
}

// writeEntry writes the current entry of tr to dir as want.Path (mode 0600, a new file), and checks its
// SHA-256.
func writeEntry(tr *tar.Reader, dir string, want backupFile) error {
	dst := filepath.Join(dir, filepath.FromSlash(want.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(out, h), tr, want.Size)
	if err != nil {
		out.Close()
		return damaged("in "+want.Path, err)
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return fmt.Errorf("%s has sha256 %s, the manifest says %s: the file is corrupt", want.Path, got, want.SHA256)
	}
	return nil
}

// checkRestored checks that the unpacked home in dir is what the manifest says and that CometBFT's
// handshake will accept it: genesis of the manifest's chain, the node key of its node, the application
// at its height and app hash, the block store at that height and CometBFT's state at it or one below
// with that block's results kept for replay.
func checkRestored(dir string, m *backupManifest) error {
	var g struct {
		ChainID string `json:"chain_id"`
	}
	gb, err := os.ReadFile(consensus.GenesisFile(dir))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(gb, &g); err != nil {
		return fmt.Errorf("config/genesis.json: %w", err)
	}
	if g.ChainID != m.ChainID {
		return fmt.Errorf("config/genesis.json is for chain %q, the manifest says %q", g.ChainID, m.ChainID)
	}
	if id, err := consensus.NodeID(dir); err != nil {
		return fmt.Errorf("config/node_key.json: %w", err)
	} else if id != m.NodeID {
		return fmt.Errorf("config/node_key.json is node %s, the manifest says %s", id, m.NodeID)
	}
	if _, err := consensus.LoadConfig(dir); err != nil {
		return err
	}
	nc, err := loadNodeConfig(dir)
	if err != nil {
		return err
	}
	if nc.FullNode != m.FullNode {
		return fmt.Errorf("config/siegel.toml says full_node = %v, the manifest %v", nc.FullNode, m.FullNode)
	}
	if gk := filepath.Join(dir, "config", gossipKeyName); fileExists(gk) {
		if _, err := loadKey(gk); err != nil {
			return fmt.Errorf("config/%s: %w", gossipKeyName, err)
		}
	}
	c, err := store.ReadCommit(filepath.Join(dir, "data", "siegel"))
	if err != nil {
		return err
	}
	if c.Height != uint64(m.Height) || hex.EncodeToString(c.AppHash) != m.AppHash {
		return fmt.Errorf("data/siegel is at height %d, app hash %x; the manifest says %d, %s", c.Height, c.AppHash, m.Height, m.AppHash)
	}
	h, err := consensus.ReadHeights(dir)
	if err != nil {
		return err
	}
	switch {
	case h.ChainID != m.ChainID:
		return fmt.Errorf("CometBFT's state is of chain %q, the manifest says %q", h.ChainID, m.ChainID)
	case h.Block != m.Height:
		return fmt.Errorf("the block store is at height %d, the manifest says %d", h.Block, m.Height)
	case h.State == m.Height:
	case h.State == m.Height-1 && h.LastResults == m.Height:
	default:
		return fmt.Errorf("CometBFT's state is at height %d (results kept for %d); with the block store at %d the node could not start",
			h.State, h.LastResults, m.Height)
	}
	return nil
}

// fileExists reports whether p names a file (of any kind).
func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func printRestored(w io.Writer, in, home string, r *restoreResult) {
	m := r.Manifest
	fmt.Fprintf(w, "restored %s into %s\n", in, home)
	fmt.Fprintf(w, "  chain %s, node %s, height %d, app hash %s\n", m.ChainID, m.NodeID, m.Height, m.AppHash)
	fmt.Fprintf(w, "  taken %s by siegel %s (this is siegel %s); %d files checked\n", m.Created.Format(time.RFC3339), m.Version, version, len(m.Files))
	if m.FullNode {
		fmt.Fprintf(w, "  a read replica (full node): no validator key, no sign state\n")
	} else {
		src := "the backup's"
		if r.FromOriginal {
			src = "the original's (--validator-state)"
		}
		fmt.Fprintf(w, "  validator %s: sign state from %s, height %d round %d step %d\n", m.ValidatorAddress, src, r.SignState.Height, r.SignState.Round, r.SignState.Step)
	}
	defaultGossipKey := filepath.Clean(r.GossipKeyFile) == filepath.Join("config", gossipKeyName)
	switch {
	case r.GossipID != "" && defaultGossipKey:
		fmt.Fprintf(w, "  gossip identity restored (config/%s): peer ID %s, as the other nodes know it\n", gossipKeyName, r.GossipID)
	case !defaultGossipKey:
		fmt.Fprintf(w, "  gossip_key_file = %s, which no backup holds: put the original node's key there before starting it,\n"+
			"  or it makes a new one, with a new peer ID for the other nodes' gossip_bootstrap and gossip_allowed_peers\n", r.GossipKeyFile)
	default:
		fmt.Fprintf(w, "  no gossip key in the backup: the node makes one at its first start; give its peer ID ('%s gossip-id --home %s')\n"+
			"  to the other nodes' gossip_bootstrap and gossip_allowed_peers\n", executable(), home)
	}
	if m.Version != version {
		fmt.Fprintf(w, "WARNING: the backup was taken by siegel %s; start it with that version if this one cannot read it.\n", m.Version)
	}
	fmt.Fprintln(w)
	switch {
	case m.FullNode:
		fmt.Fprint(w, `This node is a read replica (full node): it holds no validator key and signs nothing, so there is
nothing to double-sign and double_sign_check_height is left as it was. Before starting it, stop the
original replica if it still runs: the two would share a node key (and a gossip identity) and fight over
their connections. To add a replica rather than replace one, make a new home with 'siegel init --full-node'.
`)
	case m.soleValidator():
		fmt.Fprintf(w, `This node was the network's ONLY validator (restored with --sole-validator-rewind). Started, it goes on
from height %d: any block the original committed after that is lost for good, with the documents anchored
in it (anchor them again), and receipts issued for those blocks still verify offline although the new
chain holds other blocks at those heights. double_sign_check_height is left as it was: with one
validator, its own signatures are always in the last commits, and the check would never let it start.
Before starting it: stop the original node for good (systemctl disable --now siegel on its host).
`, m.Height)
	case m.InValidatorSet:
		fmt.Fprintf(w, `This node is a validator. Before starting it:
  1. Stop the original node FOR GOOD: disable its service and remove its config/priv_validator_key.json
     (or the machine). Two nodes signing with one key is double-signing; never run both.
  2. config.toml now has double_sign_check_height = %d: having caught up, the node looks for its own
     signature in the last %d commits and stops ("found signature from the same key") if one is there,
     i.e. if the original signed moments ago. Then check that the original is really stopped, wait %d
     blocks and start again. The check is for the first start only: once this validator has signed
     (siegel status), the node sets double_sign_check_height back to 0 at its next start and notes it in
     %s, so that later restarts (a halted chain, an upgrade) do not trip over its own signatures.
`, r.DoubleSignCheck, r.DoubleSignCheck, r.DoubleSignCheck, filepath.Join(home, restoredName))
	default:
		fmt.Fprintf(w, "This node was not in the validator set at the backup's height. double_sign_check_height = %d is set in\n"+
			"config.toml all the same, in case it has become a validator since (set back to 0 once it has signed).\n"+
			"Stop the original node for good first.\n", r.DoubleSignCheck)
	}
	check := "it has peers, is not catching up after a while, and (a validator) signs the last commits"
	switch {
	case m.FullNode:
		check = "it has peers and is not catching up after a while"
	case m.soleValidator():
		check = "it signs the last commits"
	}
	fmt.Fprintf(w, "\nThen start it (%s start --home %s), and check with '%s status --home %s' that its height\n"+
		"grows past %d, %s.\n", executable(), home, executable(), home, m.Height, check)
}
