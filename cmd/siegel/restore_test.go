package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// archiveEntry is one tar entry of a hand-made backup file.
type archiveEntry struct {
	hdr  tar.Header
	body []byte
}

// buildArchive writes a gzipped tar of entries, then trailing bytes.
func buildArchive(t *testing.T, entries []archiveEntry, trailing []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.body))
		}
		h.Mode = 0o600
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.body[:min(int64(len(e.body)), h.Size)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), trailing...)
}

// syntheticBackup is a backup file whose manifest and files agree, but whose files are no node's.
type syntheticBackup struct {
	m     backupManifest
	files map[string][]byte
}

func newSyntheticBackup() *syntheticBackup {
	s := &syntheticBackup{files: map[string][]byte{}}
	for _, name := range backupConfigFiles {
		s.files["config/"+name] = []byte("# " + name + "\n")
	}
	s.files["data/priv_validator_state.json"] = []byte(`{"height":"0","round":0,"step":0}`)
	s.files["data/siegel/000001.log"] = []byte("siegel")
	s.files["data/blockstore.db/000001.log"] = []byte("blocks")
	s.files["data/state.db/000001.log"] = []byte("state")
	s.m = backupManifest{Format: backupFormat,
		backupNode: backupNode{Version: "test", ChainID: "siegel-test", NodeID: "abc", Height: 5, AppHash: strings.Repeat("ab", 32)},
		Created:    time.Unix(1e9, 0).UTC()}
	s.relist()
	return s
}

// newSyntheticReplicaBackup is a synthetic read replica's backup: no validator key nor sign state, and
// a gossip key.
func newSyntheticReplicaBackup() *syntheticBackup {
	s := newSyntheticBackup()
	s.m.FullNode = true
	delete(s.files, "config/priv_validator_key.json")
	delete(s.files, "data/priv_validator_state.json")
	s.files["config/gossip.key"] = []byte("# gossip.key\n")
	s.relist()
	return s
}

// relist makes the manifest's file list that of s.files.
func (s *syntheticBackup) relist() {
	s.m.Files = nil
	for _, p := range sortedKeys(s.files) {
		sum := sha256.Sum256(s.files[p])
		s.m.Files = append(s.m.Files, backupFile{Path: p, Size: int64(len(s.files[p])), SHA256: hex.EncodeToString(sum[:])})
	}
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks { // insertion sort: a handful of keys
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

func (s *syntheticBackup) manifestJSON(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(s.m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entries are the manifest, then every file it lists, in its order.
func (s *syntheticBackup) entries(t *testing.T) []archiveEntry {
	es := []archiveEntry{{hdr: tar.Header{Name: manifestName}, body: s.manifestJSON(t)}}
	for _, f := range s.m.Files {
		es = append(es, archiveEntry{hdr: tar.Header{Name: f.Path}, body: s.files[f.Path]})
	}
	return es
}

// TestRestoreRejects feeds restore broken and hostile backup files: each is refused with an error
// that says what is wrong, and the target home is left as it was (absent, or empty).
func TestRestoreRejects(t *testing.T) {
	// withManifest is a synthetic validator's backup with its manifest changed by mutate.
	withManifest := func(mutate func(m *backupManifest)) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			s := newSyntheticBackup()
			mutate(&s.m)
			return buildArchive(t, s.entries(t), nil)
		}
	}
	cases := []struct {
		name string
		file func(t *testing.T) []byte
		want string
	}{
		{"not gzip", func(*testing.T) []byte { return []byte("hello, this is not a backup\n") }, "not a gzip file"},
		{"empty", func(*testing.T) []byte { return nil }, "not a gzip file"},
		{"no manifest first", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			return buildArchive(t, s.entries(t)[1:], nil)
		}, `the first entry is "config/config.toml", not manifest.json`},
		{"manifest not json", func(t *testing.T) []byte {
			return buildArchive(t, []archiveEntry{{hdr: tar.Header{Name: manifestName}, body: []byte("{nope")}}, nil)
		}, "manifest.json: invalid character"},
		{"manifest too large", func(t *testing.T) []byte {
			return buildArchive(t, []archiveEntry{{hdr: tar.Header{Name: manifestName}, body: bytes.Repeat([]byte(" "), maxManifestBytes+1)}}, nil)
		}, "at most 16777216 bytes"},
		{"manifest unknown field", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[0].body = append(bytes.TrimSuffix(es[0].body, []byte("}")), []byte(`,"extra":1}`)...)
			return buildArchive(t, es, nil)
		}, `unknown field "extra"`},
		{"other format", withManifest(func(m *backupManifest) {
			m.Format = "siegel-backup/99"
		}), `format "siegel-backup/99"`},
		{"bad app hash", withManifest(func(m *backupManifest) {
			m.AppHash = "xyz"
		}), "app hash"},
		{"traversal in manifest", withManifest(func(m *backupManifest) {
			m.Files[0].Path = "config/../../evil"
		}), "not a clean relative path"},
		{"absolute path in manifest", withManifest(func(m *backupManifest) {
			m.Files[0].Path = "/etc/cron.d/evil"
		}), "not a clean relative path"},
		{"hidden path in manifest", withManifest(func(m *backupManifest) {
			m.Files[len(m.Files)-1].Path = "data/state.db/.hidden"
		}), "not a clean relative path"},
		{"path outside the layout", withManifest(func(m *backupManifest) {
			m.Files[0].Path = "config/evil.sh"
		}), "not where a backup keeps files"},
		{"nested path", withManifest(func(m *backupManifest) {
			m.Files[len(m.Files)-1].Path = "data/state.db/sub/x"
		}), "not where a backup keeps files"},
		{"duplicate path", withManifest(func(m *backupManifest) {
			m.Files = append(m.Files, m.Files[0])
		}), "listed twice"},
		{"missing validator key", withManifest(func(m *backupManifest) {
			for i, f := range m.Files {
				if f.Path == "config/priv_validator_key.json" {
					m.Files = append(m.Files[:i], m.Files[i+1:]...)
					break
				}
			}
		}), "a home needs config/priv_validator_key.json"},
		{"validator without sign state", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			delete(s.files, "data/priv_validator_state.json")
			s.relist()
			return buildArchive(t, s.entries(t), nil)
		}, "a home needs data/priv_validator_state.json"},
		{"validator marked a full node, with its key", withManifest(func(m *backupManifest) {
			m.FullNode = true
		}), "yet lists config/priv_validator_key.json"},
		{"replica without its node key", func(t *testing.T) []byte {
			s := newSyntheticReplicaBackup()
			delete(s.files, "config/node_key.json")
			s.relist()
			return buildArchive(t, s.entries(t), nil)
		}, "a home needs config/node_key.json,"},
		{"gossip key in another place", func(t *testing.T) []byte {
			s := newSyntheticReplicaBackup()
			s.files["data/gossip.key"] = s.files["config/gossip.key"]
			delete(s.files, "config/gossip.key")
			s.relist()
			return buildArchive(t, s.entries(t), nil)
		}, `path "data/gossip.key" is not where a backup keeps files`},
		{"huge declared size", withManifest(func(m *backupManifest) {
			m.Files[0].Size = maxBackupFile
		}), "free"},
		{"size beyond the limit", withManifest(func(m *backupManifest) {
			m.Files[0].Size = maxBackupFile + 1
		}), "size 1099511627777"},
		{"wrong hash", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[3].body = bytes.ToUpper(es[3].body) // same size, other bytes
			return buildArchive(t, es, nil)
		}, "the file is corrupt"},
		{"size differs from the manifest", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[2].body = append(es[2].body, "more"...)
			return buildArchive(t, es, nil)
		}, "the manifest says"},
		{"symlink entry", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[1] = archiveEntry{hdr: tar.Header{Name: es[1].hdr.Name, Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}}
			return buildArchive(t, es, nil)
		}, "is a symbolic link"},
		{"hard link entry", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[1] = archiveEntry{hdr: tar.Header{Name: es[1].hdr.Name, Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}}
			return buildArchive(t, es, nil)
		}, "is a hard link"},
		{"traversal in an entry", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[1].hdr.Name = "../../../tmp/evil"
			return buildArchive(t, es, nil)
		}, `entry "../../../tmp/evil": path`},
		{"entry in another order", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			es[1], es[2] = es[2], es[1]
			return buildArchive(t, es, nil)
		}, "where the manifest lists"},
		{"entry not in the manifest", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := append(s.entries(t), archiveEntry{hdr: tar.Header{Name: "data/siegel/extra"}, body: []byte("x")})
			return buildArchive(t, es, nil)
		}, `entry "data/siegel/extra" is not in the manifest`},
		{"missing entries", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			es := s.entries(t)
			return buildArchive(t, es[:len(es)-2], nil)
		}, "truncated: it ends after"},
		{"truncated", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			b := buildArchive(t, s.entries(t), nil)
			return b[:len(b)-30]
		}, "truncated"},
		{"gzip checksum", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			b := buildArchive(t, s.entries(t), nil)
			return flipByte(b, len(b)-8) // the CRC-32 of the gzip trailer
		}, "corrupt (at its end): gzip: invalid checksum"},
		{"garbage after the gzip stream", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			return buildArchive(t, s.entries(t), []byte("garbage"))
		}, "data after the end of the gzip stream"},
		{"second gzip member", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			b := buildArchive(t, s.entries(t), nil)
			return append(b, b...)
		}, "data after the end of the gzip stream"},
		{"consistent, but no node's files", func(t *testing.T) []byte {
			s := newSyntheticBackup()
			return buildArchive(t, s.entries(t), nil)
		}, "is inconsistent"},
		// A replica's layout (no validator key nor state, a gossip key) passes the manifest's checks.
		{"replica: consistent, but no node's files", func(t *testing.T) []byte {
			s := newSyntheticReplicaBackup()
			return buildArchive(t, s.entries(t), nil)
		}, "is inconsistent"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".tar.gz")
			if err := os.WriteFile(in, c.file(t), 0o600); err != nil {
				t.Fatal(err)
			}
			// Into a new directory: removed again.
			target := filepath.Join(t.TempDir(), "new")
			_, err := runRestore(in, target, "", false)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			t.Log(err)
			if _, serr := os.Stat(target); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("%s left behind (%v)", target, serr)
			}
			// Into an empty directory: left empty.
			empty := t.TempDir()
			if _, err := runRestore(in, empty, "", false); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("into an empty directory: error %v, want %q", err, c.want)
			}
			if left, _ := os.ReadDir(empty); len(left) > 0 {
				t.Fatalf("%s holds %s after a failed restore", empty, left[0].Name())
			}
			if _, err := os.Stat(filepath.Join(dir, "..", "..", "..", "tmp", "evil")); err == nil {
				t.Fatal("an entry escaped the home")
			}
		})
	}
}

// TestRestoreRefusesTarget checks the target home and the flags before reading the backup.
func TestRestoreRefusesTarget(t *testing.T) {
	dir := t.TempDir()
	s := newSyntheticBackup()
	in := filepath.Join(dir, "b.tar.gz")
	if err := os.WriteFile(in, buildArchive(t, s.entries(t), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "state.json")
	if err := os.WriteFile(garbage, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	replica := filepath.Join(dir, "replica.tar.gz")
	if err := os.WriteFile(replica, buildArchive(t, newSyntheticReplicaBackup().entries(t), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "priv_validator_state.json")
	if err := os.WriteFile(state, []byte(`{"height":"7","round":0,"step":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in, home, valState, want string
	}{
		{"non-empty home", in, full, "", "is not empty (it holds keep.txt)"},
		{"home is a file", in, file, "", "is not a directory"},
		{"missing backup", filepath.Join(dir, "missing.tar.gz"), filepath.Join(dir, "h1"), "", "no such file"},
		{"backup is a directory", dir, filepath.Join(dir, "h2"), "", "is not a regular file"},
		{"bad validator state", in, filepath.Join(dir, "h3"), garbage, "--validator-state"},
		{"validator state for a replica", replica, filepath.Join(dir, "h4"), state, "the backup of a read replica"},
	} {
		_, err := runRestore(c.in, c.home, c.valState, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the non-empty home was touched: %q %v", b, err)
	}
	if out, code := runCLI(t, "restore", "--in", in); code != 2 || !strings.Contains(out, "--home NEWDIR is required") {
		t.Fatalf("restore without --home: %d %s", code, out)
	}
}
