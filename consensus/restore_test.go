package consensus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetDoubleSignCheckHeight sets the value in a config.toml as InitHome writes it (the line is
// there), in one without the line, and in one without a [consensus] table, keeping the rest, and
// reads each back through LoadConfig.
func TestSetDoubleSignCheckHeight(t *testing.T) {
	home := t.TempDir()
	if _, err := InitHome(home, InitOptions{Moniker: "m", P2PAddr: "tcp://127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "config", "config.toml")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetDoubleSignCheckHeight(home, 10); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if doubleSignLine.FindAllString(string(got), -1)[0] != "double_sign_check_height = 10" || len(doubleSignLine.FindAllString(string(got), -1)) != 1 {
		t.Fatalf("config.toml after setting:\n%s", got)
	}
	if len(got) != len(orig)+1 { // "0" became "10"; nothing else changed
		t.Fatalf("config.toml grew from %d to %d bytes", len(orig), len(got))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want the file's own 0600", fi.Mode().Perm())
	}

	// Without the line: inserted under [consensus].
	without := strings.Replace(string(orig), "double_sign_check_height = 0\n", "", 1)
	if without == string(orig) {
		t.Fatal("InitHome's config.toml has no double_sign_check_height = 0 line")
	}
	if err := os.WriteFile(path, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetDoubleSignCheckHeight(home, 7); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(home); err != nil || c.Consensus.DoubleSignCheckHeight != 7 || c.Moniker != "m" {
		t.Fatalf("after inserting: %v, %v", c.Consensus.DoubleSignCheckHeight, err)
	}

	// Without a [consensus] table: one is appended.
	if err := os.WriteFile(path, []byte("moniker = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetDoubleSignCheckHeight(home, 3); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(home); err != nil || c.Consensus.DoubleSignCheckHeight != 3 || c.Moniker != "x" {
		t.Fatalf("after appending: %v, %v", c.Consensus.DoubleSignCheckHeight, err)
	}
}

func TestReadSignState(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, json string
		want       SignState
		err        string
	}{
		{"fresh", `{"height":"0","round":0,"step":0}`, SignState{}, ""},
		{"signed", `{"height":"1234","round":2,"step":3,"signature":"AAAA","signbytes":"00"}`, SignState{1234, 2, 3}, ""},
		{"negative", `{"height":"-5","round":0,"step":0}`, SignState{}, "impossible"},
		{"bad step", `{"height":"5","round":0,"step":9}`, SignState{}, "impossible"},
		{"not json", `height: 5`, SignState{}, "not a validator sign state"},
	} {
		p := filepath.Join(dir, c.name+".json")
		if err := os.WriteFile(p, []byte(c.json), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadSignState(p)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
	order := []SignState{{1, 0, 3}, {2, 0, 1}, {2, 0, 2}, {2, 1, 1}, {3, 0, 0}}
	for i := range order {
		for j := range order {
			if got := order[i].Before(order[j]); got != (i < j) {
				t.Errorf("%+v.Before(%+v) = %v", order[i], order[j], got)
			}
		}
	}
}
