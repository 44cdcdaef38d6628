package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/consensus"
)

// joinFixture is a written (not started) 2-validator testnet whose genesis a joining node uses.
type joinFixture struct {
	genesis []byte
	file    string // the genesis file
	peers   string // both validators' peer addresses
	gossip  string // both validators' metadata gossip addresses
}

func newJoinFixture(t *testing.T) joinFixture {
	t.Helper()
	dir := t.TempDir()
	spec, err := initTestnet(dir, testnetLayout(dir, 2, 27000), 2, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	f := joinFixture{file: consensus.GenesisFile(spec.Nodes[0].Home)}
	if f.genesis, err = os.ReadFile(f.file); err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, nd := range spec.Nodes {
		out, code := runCLI(t, "node-id", "--home", nd.Home)
		if code != 0 {
			t.Fatalf("node-id: exit %d: %s", code, out)
		}
		id, err := consensus.NodeID(nd.Home)
		if err != nil {
			t.Fatal(err)
		}
		if want := id + "@" + nd.P2P + "\n"; out != want {
			t.Fatalf("node-id printed %q, want %q", out, want)
		}
		peers = append(peers, strings.TrimSpace(out))
	}
	f.peers = strings.Join(peers, ",")
	var gossip []string
	for _, nd := range spec.Nodes {
		gossip = append(gossip, nd.Gossip+"/p2p/"+nd.GossipID)
	}
	f.gossip = strings.Join(gossip, ",")
	return f
}

// mutateGenesis returns the fixture's genesis with change applied to its JSON.
func (f joinFixture) mutateGenesis(t *testing.T, change func(map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.genesis, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveGenesis serves the fixture's genesis at /v1/genesis, as a node does, until the test ends.
func (f joinFixture) serveGenesis(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/genesis" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(f.genesis)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestInitJoinErrors: every wrong input to `siegel init --genesis/--peers/--full-node` fails with an
// error that names it, and leaves nothing behind.
func TestInitJoinErrors(t *testing.T) {
	f := newJoinFixture(t)
	srv := f.serveGenesis(t)
	good := sha256Hex(f.genesis)
	notJSON := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(notJSON, []byte("chain_id = siegel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oneID, _, _ := strings.Cut(f.peers, "@")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"full node without genesis", []string{"--full-node", "--peers", f.peers}, "--genesis FILE|URL is required"},
		{"peers without genesis", []string{"--peers", f.peers}, "--genesis FILE|URL is required"},
		{"hash without genesis", []string{"--genesis-sha256", good}, "--genesis FILE|URL is required"},
		{"keep key without genesis", []string{"--keep-validator-key"}, "--genesis FILE|URL is required"},
		{"keep key of a full node", []string{"--genesis", f.file, "--peers", f.peers, "--full-node", "--keep-validator-key"}, "a full node holds no validator key"},
		{"no peers", []string{"--genesis", f.file}, "--peers is required"},
		{"missing genesis file", []string{"--genesis", "/nonexistent/genesis.json", "--peers", f.peers}, "no such file"},
		{"genesis not JSON", []string{"--genesis", notJSON, "--peers", f.peers}, "not a valid CometBFT genesis"},
		{"genesis without app_state", []string{"--genesis", f.mutateGenesis(t, func(m map[string]any) { delete(m, "app_state") }), "--peers", f.peers}, "not a Siegel genesis"},
		{"genesis of another application", []string{"--genesis", f.mutateGenesis(t, func(m map[string]any) {
			m["app_state"] = map[string]any{"accounts": []any{}}
		}), "--peers", f.peers}, "not a Siegel genesis"},
		{"genesis without vote extensions", []string{"--genesis", f.mutateGenesis(t, func(m map[string]any) {
			m["consensus_params"].(map[string]any)["abci"] = map[string]any{"vote_extensions_enable_height": "0"}
		}), "--peers", f.peers}, "vote extensions are enabled from height 0"},
		{"genesis without validators", []string{"--genesis", f.mutateGenesis(t, func(m map[string]any) { m["validators"] = []any{} }), "--peers", f.peers}, "names no validators"},
		{"wrong chain ID", []string{"--genesis", f.file, "--peers", f.peers, "--chain-id", "siegel-prod"}, `for chain "siegel-testnet", not --chain-id "siegel-prod"`},
		{"file of another hash", []string{"--genesis", f.file, "--genesis-sha256", strings.Repeat("ab", 32), "--peers", f.peers}, "this is not the network's genesis"},
		{"malformed hash", []string{"--genesis", f.file, "--genesis-sha256", good[:60], "--peers", f.peers}, "want 64 hexadecimal digits"},
		{"URL without hash", []string{"--genesis", srv.URL, "--peers", f.peers}, "give --genesis-sha256"},
		{"URL of another hash", []string{"--genesis", srv.URL, "--genesis-sha256", strings.Repeat("00", 32), "--peers", f.peers}, "this is not the network's genesis"},
		{"URL not found", []string{"--genesis", srv.URL + "/genesis.json", "--genesis-sha256", good, "--peers", f.peers}, "HTTP 404"},
		{"URL nobody answers", []string{"--genesis", "http://" + freeAddr(t), "--genesis-sha256", good, "--peers", f.peers}, "connection refused"},
		{"other scheme", []string{"--genesis", "ftp://example.org/genesis.json", "--genesis-sha256", good, "--peers", f.peers}, "want a file, or an http:// or https:// URL"},
		{"peer without ID", []string{"--genesis", f.file, "--peers", "127.0.0.1:26656"}, "want NODE_ID@HOST:PORT"},
		{"peer ID not hex", []string{"--genesis", f.file, "--peers", strings.Repeat("z", 40) + "@127.0.0.1:26656"}, "is not 40 hexadecimal digits"},
		{"peer ID too short", []string{"--genesis", f.file, "--peers", "abcd@127.0.0.1:26656"}, "is not 40 hexadecimal digits"},
		{"peer with a scheme", []string{"--genesis", f.file, "--peers", "tcp://" + oneID + "@127.0.0.1:26656"}, "is not 40 hexadecimal digits"},
		{"peer without port", []string{"--genesis", f.file, "--peers", oneID + "@127.0.0.1"}, "is not HOST:PORT"},
		{"peer with port 0", []string{"--genesis", f.file, "--peers", oneID + "@127.0.0.1:0"}, "port \"0\" is not a number from 1 to 65535"},
		{"peer twice", []string{"--genesis", f.file, "--peers", f.peers + "," + oneID + "@10.0.0.9:26656"}, "is listed twice"},
		{"empty peer entry", []string{"--genesis", f.file, "--peers", oneID + "@127.0.0.1:26656,,"}, "an empty entry"},
		{"no gossip peers", []string{"--genesis", f.file, "--peers", f.peers, "--gossip-peers", " "}, "--gossip-peers is required"},
		{"gossip peer without ID", []string{"--genesis", f.file, "--peers", f.peers, "--gossip-peers", "/ip4/127.0.0.1/tcp/26680"}, "--gossip-peers: p2p"},
		{"gossip peer not a multiaddr", []string{"--genesis", f.file, "--peers", f.peers, "--gossip-peers", "127.0.0.1:26680"}, `bootstrap peer "127.0.0.1:26680"`},
		{"empty gossip entry", []string{"--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip + ",,"}, "--gossip-peers"},
		{"agency when joining", []string{"--genesis", f.file, "--peers", f.peers, "--agency", "a:" + strings.Repeat("00", 32) + ":A"}, "--agency applies to a new network only"},
		{"member when joining", []string{"--genesis", f.file, "--peers", f.peers, "--member", "m:" + strings.Repeat("00", 32) + ":M"}, "--member applies to a new network only"},
		{"bad listen address", []string{"--genesis", f.file, "--peers", f.peers, "--api-addr", "8080"}, "api_addr \"8080\": want HOST:PORT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			args := append([]string{"init", "--home", home}, c.args...)
			if !slices.Contains(args, "--gossip-peers") {
				args = append(args, "--gossip-peers", f.gossip)
			}
			out, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, output %q; want exit 2 and %q", code, out, c.want)
			}
			if _, err := os.Stat(home); !os.IsNotExist(err) {
				t.Fatalf("a failed init left %s behind (%v)", home, err)
			}
		})
	}

	t.Run("already initialised", func(t *testing.T) {
		home := t.TempDir()
		if out, code := runCLI(t, "init", "--home", home, "--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip, "--full-node"); code != 0 {
			t.Fatalf("first init: exit %d: %s", code, out)
		}
		for _, extra := range [][]string{{"--full-node"}, {}} {
			args := append([]string{"init", "--home", home, "--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip}, extra...)
			if out, code := runCLI(t, args...); code != 2 || !strings.Contains(out, "is already initialised") {
				t.Fatalf("second init %v: exit %d: %s", extra, code, out)
			}
		}
		// A home of a new network cannot join another one either.
		other := t.TempDir()
		if out, code := runCLI(t, "init", "--home", other); code != 0 {
			t.Fatalf("init of a new network: exit %d: %s", code, out)
		}
		if out, code := runCLI(t, "init", "--home", other, "--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip); code != 2 || !strings.Contains(out, "is already initialised") {
			t.Fatalf("joining with an initialised home: exit %d: %s", code, out)
		}
	})

	t.Run("validator key in a full node's home", func(t *testing.T) {
		home := t.TempDir()
		if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "config", "priv_validator_key.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := runCLI(t, "init", "--home", home, "--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip, "--full-node")
		if code != 2 || !strings.Contains(out, "a full node's home must not hold a validator key") {
			t.Fatalf("exit %d: %s", code, out)
		}
		if _, err := os.Stat(consensus.GenesisFile(home)); !os.IsNotExist(err) {
			t.Fatalf("genesis written anyway (%v)", err)
		}
	})
}

// TestInitJoin checks the homes that join makes: a full node from a URL (the node's base URL is enough)
// and a validator-to-be from a file; and siegel node-id's answers.
func TestInitJoin(t *testing.T) {
	f := newJoinFixture(t)
	srv := f.serveGenesis(t)

	full := t.TempDir()
	upper := strings.ToUpper(f.peers[:40]) + f.peers[40:] // IDs are compared lower-case by CometBFT
	out, code := runCLI(t, "init", "--home", full, "--full-node", "--genesis", srv.URL, "--genesis-sha256", strings.ToUpper(sha256Hex(f.genesis)),
		"--peers", upper, "--gossip-peers", f.gossip, "--p2p-addr", "0.0.0.0:26700")
	if code != 0 {
		t.Fatalf("init --full-node: exit %d: %s", code, out)
	}
	for _, want := range []string{"to join chain siegel-testnet as a full node", "sha256 " + sha256Hex(f.genesis),
		"validators 2, agencies 1, consortium members 2", "peers        2, and 2 in the metadata gossip\n", "allow_duplicate_ip = true, as several peers share 127.0.0.1",
		"addr_book_strict = false, as peers are on a private network (127.0.0.1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(consensus.GenesisFile(full)); err != nil || string(b) != string(f.genesis) {
		t.Fatalf("the full node's genesis is not the network's, byte for byte (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(full, "config", "priv_validator_key.json")); !os.IsNotExist(err) {
		t.Fatalf("a full node's home holds a validator key (%v)", err)
	}
	nc, err := loadNodeConfig(full)
	if err != nil || !nc.FullNode || strings.Join(nc.GossipBootstrap, ",") != f.gossip {
		t.Fatalf("siegel.toml: full_node %v, gossip_bootstrap %q (%v); want true, %q", nc.FullNode, nc.GossipBootstrap, err, f.gossip)
	}
	cc, err := consensus.LoadConfig(full)
	if err != nil {
		t.Fatal(err)
	}
	if cc.P2P.PersistentPeers != f.peers || !cc.P2P.AllowDuplicateIP || cc.P2P.AddrBookStrict {
		t.Fatalf("config.toml: persistent_peers %q, allow_duplicate_ip %v, addr_book_strict %v; want %q, true, false",
			cc.P2P.PersistentPeers, cc.P2P.AllowDuplicateIP, cc.P2P.AddrBookStrict, f.peers)
	}
	// It listens on every interface: node-id needs to be told the host others use.
	if out, code := runCLI(t, "node-id", "--home", full); code != 2 || !strings.Contains(out, "give the address other nodes reach this one at with --host") {
		t.Fatalf("node-id of a node on 0.0.0.0: exit %d: %s", code, out)
	}
	id, err := consensus.NodeID(full)
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, "node-id", "--home", full, "--host", "replica-1.dc.example"); code != 0 || out != id+"@replica-1.dc.example:26700\n" {
		t.Fatalf("node-id --host: exit %d: %q", code, out)
	}
	if out, code := runCLI(t, "node-id", "--home", full, "--host", "10.0.0.1:26656"); code != 2 || !strings.Contains(out, "without a port") {
		t.Fatalf("node-id --host with a port: exit %d: %q", code, out)
	}
	if out, code := runCLI(t, "node-id", "--home", t.TempDir()); code != 2 || !strings.Contains(out, "not an initialised node home") {
		t.Fatalf("node-id of an empty directory: exit %d: %q", code, out)
	}

	// Without --full-node: a validator key that is not in the set, and the command that adds it.
	val := t.TempDir()
	firstID, _, _ := strings.Cut(f.peers, "@")
	out, code = runCLI(t, "init", "--home", val, "--genesis", f.file, "--genesis-sha256", sha256Hex(f.genesis),
		"--peers", firstID+"@dc1.example.org:26656,"+strings.Repeat("1", 40)+"@192.0.2.7:26656", "--gossip-peers", f.gossip, "--chain-id", "siegel-testnet")
	if code != 0 {
		t.Fatalf("init --genesis: exit %d: %s", code, out)
	}
	k, err := consensus.ValidatorKey(val)
	if err != nil {
		t.Fatal(err)
	}
	if want := "gov propose set-validator --validator-key " + hex.EncodeToString(k) + " --power 10"; !strings.Contains(out, want) || strings.Contains(out, "config.toml:") {
		t.Fatalf("init output lacks %q (or changes config.toml for peers on public addresses of their own):\n%s", want, out)
	}
	if cc, err := consensus.LoadConfig(val); err != nil || cc.P2P.AllowDuplicateIP || !cc.P2P.AddrBookStrict {
		t.Fatalf("config.toml of a node with peers on public addresses: %+v %v", cc.P2P, err)
	}
	var g struct {
		Validators []struct {
			PubKey struct {
				Value []byte `json:"value"`
			} `json:"pub_key"`
		} `json:"validators"`
	}
	if err := json.Unmarshal(f.genesis, &g); err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Validators {
		if string(v.PubKey.Value) == string(k) {
			t.Fatal("the new validator key is one of the genesis validators'")
		}
	}
	if nc, err := loadNodeConfig(val); err != nil || nc.FullNode {
		t.Fatalf("siegel.toml of a validator-to-be: full_node %v (%v)", nc.FullNode, err)
	}
}

// TestInitJoinValidatorKeyInHome: joining as a validator-to-be refuses a home that holds a validator
// key or sign state already, unless --keep-validator-key, and then says it kept them.
func TestInitJoinValidatorKeyInHome(t *testing.T) {
	f := newJoinFixture(t)
	join := func(home string, extra ...string) (string, int) {
		return runCLI(t, append([]string{"init", "--home", home, "--genesis", f.file, "--peers", f.peers, "--gossip-peers", f.gossip}, extra...)...)
	}
	// A validator key and sign state made by another join, copied into fresh homes.
	src := t.TempDir()
	if out, code := join(src); code != 0 {
		t.Fatalf("first join: exit %d: %s", code, out)
	}
	srcKey, srcState, _, _ := consensus.ValidatorKeyFiles(src)
	keyBytes, err := os.ReadFile(srcKey)
	if err != nil {
		t.Fatal(err)
	}
	stateBytes, err := os.ReadFile(srcState)
	if err != nil {
		t.Fatal(err)
	}
	placed := map[string][]string{} // the files withFiles put into each home
	withFiles := func(t *testing.T, key, state bool) string {
		home := t.TempDir()
		k, st, _, _ := consensus.ValidatorKeyFiles(home)
		for _, w := range []struct {
			on   bool
			path string
			b    []byte
		}{{key, k, keyBytes}, {state, st, stateBytes}} {
			if !w.on {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(w.path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(w.path, w.b, 0o600); err != nil {
				t.Fatal(err)
			}
			placed[home] = append(placed[home], w.path)
		}
		return home
	}
	refused := func(t *testing.T, home string, out string, code int, want string) {
		t.Helper()
		if code != 2 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, output %q; want exit 2 and %q", code, out, want)
		}
		if _, err := os.Stat(consensus.GenesisFile(home)); !os.IsNotExist(err) {
			t.Fatalf("genesis written anyway (%v)", err)
		}
		if _, err := os.Stat(filepath.Join(home, "config", "config.toml")); !os.IsNotExist(err) {
			t.Fatalf("config.toml written anyway (%v)", err)
		}
		k, st, _, _ := consensus.ValidatorKeyFiles(home)
		for _, c := range []struct {
			path string
			want []byte
		}{{k, keyBytes}, {st, stateBytes}} {
			b, err := os.ReadFile(c.path)
			if err == nil && string(b) != string(c.want) {
				t.Fatalf("%s changed", c.path)
			}
			if err != nil && slices.Contains(placed[home], c.path) {
				t.Fatalf("%s was there before the refused join and is gone (%v)", c.path, err)
			}
		}
	}

	t.Run("key and state, no flag", func(t *testing.T) {
		home := withFiles(t, true, true)
		out, code := join(home)
		refused(t, home, out, code, "holds a validator key already")
		if !strings.Contains(out, "give --keep-validator-key") {
			t.Errorf("the refusal does not name the flag: %s", out)
		}
	})
	t.Run("state only", func(t *testing.T) {
		home := withFiles(t, false, true)
		out, code := join(home)
		refused(t, home, out, code, "holds a validator sign state")
		out, code = join(home, "--keep-validator-key")
		refused(t, home, out, code, "holds a validator sign state")
	})
	t.Run("key without its state, kept", func(t *testing.T) {
		home := withFiles(t, true, false)
		out, code := join(home, "--keep-validator-key")
		refused(t, home, out, code, "validator sign state")
	})
	t.Run("key and state, kept", func(t *testing.T) {
		home := withFiles(t, true, true)
		out, code := join(home, "--keep-validator-key")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		k, st, _, _ := consensus.ValidatorKeyFiles(home)
		if want := "KEPT the validator key already in the home (--keep-validator-key): " + k + ", with its sign state " + st; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
		a, err := consensus.ValidatorKey(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := consensus.ValidatorKey(home)
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) || !strings.Contains(out, "--validator-key "+hex.EncodeToString(a)) {
			t.Fatalf("the kept key is not the one in the home: %x, want %x\n%s", b, a, out)
		}
		if got, _ := os.ReadFile(st); string(got) != string(stateBytes) {
			t.Fatal("the sign state was rewritten")
		}
	})
	t.Run("empty home with the flag", func(t *testing.T) {
		home := t.TempDir()
		out, code := join(home, "--keep-validator-key")
		if code != 0 || strings.Contains(out, "KEPT") {
			t.Fatalf("exit %d (want 0, and no KEPT line for a new key): %s", code, out)
		}
	})
	// A new network (no --genesis) never adopts a key or state left in the home.
	for _, c := range []struct {
		name       string
		key, state bool
	}{{"new network, key and state", true, true}, {"new network, key only", true, false}, {"new network, state only", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			home := withFiles(t, c.key, c.state)
			out, code := runCLI(t, "init", "--home", home)
			refused(t, home, out, code, "holds a validator key or sign state already")
		})
	}
	t.Run("new network, empty home", func(t *testing.T) {
		if out, code := runCLI(t, "init", "--home", t.TempDir()); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
}
