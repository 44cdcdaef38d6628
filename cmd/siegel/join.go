package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
	"github.com/siegel-notary/siegel/receipt"
)

// maxGenesisBytes bounds a genesis fetched from a URL.
const maxGenesisBytes = 16 << 20

// joinFlags are the flags of `siegel init` that join an existing network instead of starting one.
type joinFlags struct {
	genesis, genesisSHA256, peers, gossipPeers string
	fullNode, keepValidatorKey                 bool
}

func (j *joinFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&j.genesis, "genesis", "", "join an existing network: its genesis.json, a file or a URL of a node's public API\n"+
		"(http://HOST:8080/v1/genesis; a URL needs --genesis-sha256)")
	fs.StringVar(&j.genesisSHA256, "genesis-sha256", "", "the SHA-256 (hex) of the network's genesis.json, as the consortium publishes it\n"+
		"(sha256sum genesis.json); required for a URL, checked for a file when given")
	fs.StringVar(&j.peers, "peers", "", "nodes of the network to connect to, comma-separated NODE_ID@HOST:PORT\n"+
		"(each node prints its own with 'siegel node-id'); required with --genesis")
	fs.StringVar(&j.gossipPeers, "gossip-peers", "", "nodes of the network's metadata gossip, comma-separated\n"+
		"/ip4/HOST/tcp/PORT/p2p/PEER_ID (each node prints its own with 'siegel gossip-id'); required with --genesis")
	fs.BoolVar(&j.fullNode, "full-node", false, "with --genesis: a read replica, which follows the chain and serves the public API\n"+
		"but holds no validator key and never signs")
	fs.BoolVar(&j.keepValidatorKey, "keep-validator-key", false, "when joining as a validator: sign with the validator key (and sign state) already in\n"+
		"DIR's config/priv_validator_key.json and data/priv_validator_state.json instead of refusing; only for a key\n"+
		"made for this node that no other node uses")
}

// joining tells whether the flags ask to join a network.
func (j *joinFlags) joining() bool {
	return j.genesis != "" || j.genesisSHA256 != "" || j.fullNode || j.peers != "" || j.gossipPeers != "" || j.keepValidatorKey
}

// peerAddr is one entry of --peers.
type peerAddr struct{ id, host, port string }

func (p peerAddr) String() string { return p.id + "@" + net.JoinHostPort(p.host, p.port) }

// parsePeers reads a comma-separated list of NODE_ID@HOST:PORT.
func parsePeers(s string) ([]peerAddr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--peers is required: the nodes to connect to, NODE_ID@HOST:PORT,... ('siegel node-id' on a node prints its own)")
	}
	var out []peerAddr
	seen := map[string]bool{}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("--peers %q: an empty entry; want NODE_ID@HOST:PORT,NODE_ID@HOST:PORT,...", s)
		}
		id, addr, ok := strings.Cut(e, "@")
		if !ok {
			return nil, fmt.Errorf("--peers: %q: want NODE_ID@HOST:PORT ('siegel node-id' on that node prints it)", e)
		}
		id = strings.ToLower(id)
		if b, err := hex.DecodeString(id); err != nil || len(b) != 20 {
			return nil, fmt.Errorf("--peers: %q: the node ID %q is not 40 hexadecimal digits", e, id)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("--peers: %q: %q is not HOST:PORT", e, addr)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("--peers: %q: port %q is not a number from 1 to 65535", e, port)
		}
		if seen[id] {
			return nil, fmt.Errorf("--peers: node %s is listed twice", id)
		}
		seen[id] = true
		out = append(out, peerAddr{id: id, host: host, port: port})
	}
	return out, nil
}

// parseGossipPeers reads a comma-separated list of libp2p multiaddrs ending in /p2p/PEER_ID.
func parseGossipPeers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--gossip-peers is required: the nodes of the metadata gossip, /ip4/HOST/tcp/PORT/p2p/PEER_ID,... " +
			"('siegel gossip-id' on a node prints its own); without them the node never receives documents' metadata")
	}
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			return nil, fmt.Errorf("--gossip-peers %q: an empty entry; want /ip4/HOST/tcp/PORT/p2p/PEER_ID,...", s)
		}
		out = append(out, e)
	}
	if err := p2p.CheckAddrs(nil, out, nil); err != nil {
		return nil, fmt.Errorf("--gossip-peers: %w", err)
	}
	return out, nil
}

// sharedHost tells whether two peers are at the same host, and which: CometBFT then needs
// allow_duplicate_ip, or it keeps a connection to only one of them.
func sharedHost(peers []peerAddr) (string, bool) {
	seen := map[string]bool{}
	for _, p := range peers {
		if seen[p.host] {
			return p.host, true
		}
		seen[p.host] = true
	}
	return "", false
}

// privateHost tells whether a peer is at a private or loopback IP address, and which: CometBFT's
// strict address book refuses such addresses (and logs an error for each at every start).
func privateHost(peers []peerAddr) (string, bool) {
	for _, p := range peers {
		if ip := net.ParseIP(p.host); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()) {
			return p.host, true
		}
	}
	return "", false
}

// parseSHA256 reads a SHA-256 in hex.
func parseSHA256(s string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("--genesis-sha256 %q: want 64 hexadecimal digits (sha256sum genesis.json)", s)
	}
	copy(h[:], b)
	return h, nil
}

// genesisURL returns the URL to fetch when src is an http(s) URL; a URL without a path means the
// node's GET /v1/genesis.
func genesisURL(src string) (string, bool, error) {
	if !strings.Contains(src, "://") {
		return "", false, nil
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false, fmt.Errorf("--genesis %q: want a file, or an http:// or https:// URL of a node's public API", src)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/genesis"
	}
	return u.String(), true, nil
}

// loadGenesis reads the genesis from a file or fetches it from a URL, and checks its SHA-256 against
// wantHex: required for a URL (anyone on the way could alter what arrives), optional for a file.
func loadGenesis(ctx context.Context, src, wantHex string) ([]byte, error) {
	var want *[32]byte
	if wantHex != "" {
		h, err := parseSHA256(wantHex)
		if err != nil {
			return nil, err
		}
		want = &h
	}
	u, isURL, err := genesisURL(src)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if isURL {
		if want == nil {
			return nil, fmt.Errorf("--genesis %s is a URL: give --genesis-sha256 too, the hash the consortium published "+
				"(sha256sum genesis.json on a node of the network), so that an altered genesis cannot pass", src)
		}
		if raw, err = fetchGenesis(ctx, u); err != nil {
			return nil, err
		}
	} else if raw, err = os.ReadFile(src); err != nil {
		return nil, fmt.Errorf("--genesis: %w", err)
	}
	if got := sha256.Sum256(raw); want != nil && got != *want {
		return nil, fmt.Errorf("--genesis %s has SHA-256 %x, but --genesis-sha256 is %x: this is not the network's genesis; do not join with it",
			src, got, *want)
	}
	return raw, nil
}

func fetchGenesis(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("--genesis %s: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--genesis: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("--genesis: GET %s: HTTP %s", u, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGenesisBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--genesis: GET %s: %w", u, err)
	}
	if len(raw) > maxGenesisBytes {
		return nil, fmt.Errorf("--genesis: GET %s: more than %d bytes: not a genesis", u, maxGenesisBytes)
	}
	return raw, nil
}

// genesisSummary is what a joining operator is told about the network.
type genesisSummary struct {
	chainID    string
	validators int
	agencies   int
	members    int
}

// checkGenesis checks that raw is a genesis a Siegel node can start from and verify receipts with.
func checkGenesis(raw []byte) (genesisSummary, error) {
	info, err := consensus.ParseGenesis(raw)
	if err != nil {
		return genesisSummary{}, fmt.Errorf("--genesis: %w", err)
	}
	g, err := app.ParseGenesis(info.AppState)
	if err != nil {
		return genesisSummary{}, fmt.Errorf("--genesis: not a Siegel genesis: %w", err)
	}
	if _, err := receipt.TrustRootFromGenesis(raw); err != nil {
		return genesisSummary{}, fmt.Errorf("--genesis: receipts could not be verified from it: %w", err)
	}
	return genesisSummary{chainID: info.ChainID, validators: info.Validators, agencies: len(g.Agencies), members: len(g.Consortium.Members)}, nil
}

// joinSpec is everything joinHome writes.
type joinSpec struct {
	home     string
	genesis  []byte // the network's genesis.json, byte for byte
	peers    []peerAddr
	fullNode bool
	keepKey  bool // --keep-validator-key
	moniker  string
	p2p, rpc string
	node     nodeConfig
}

// joinHome writes a home that joins an existing network: CometBFT config with the peers, a node key,
// a validator key unless it is a full node, the genesis as given, and siegel.toml. A validator key or
// sign state already in the home is refused unless s.keepKey; kept tells whether one was kept.
func joinHome(s joinSpec) (kept bool, err error) {
	if _, err := os.Stat(consensus.GenesisFile(s.home)); err == nil {
		return false, fmt.Errorf("%s is already initialised (it has config/genesis.json)", s.home)
	}
	if !s.fullNode {
		key, state, haveKey, haveState := consensus.ValidatorKeyFiles(s.home)
		switch {
		case haveKey && !s.keepKey:
			return false, fmt.Errorf("%s holds a validator key already (%s): this node would sign with it. "+
				"If that key was made for this node and no other node signs with it, now or later, give --keep-validator-key; "+
				"otherwise move it (and %s) out of the home, or use an empty home", s.home, key, state)
		case haveKey:
			if err := consensus.CheckValidatorKey(s.home); err != nil {
				return false, fmt.Errorf("--keep-validator-key: %w (a key is kept together with its sign state)", err)
			}
			kept = true
		case haveState:
			return false, fmt.Errorf("%s holds a validator sign state (%s) but no validator key: init would make a new key and "+
				"overwrite that state; move it out of the home, or put its key back and give --keep-validator-key", s.home, state)
		}
	}
	s.node.FullNode = s.fullNode
	if err := s.node.validate(); err != nil {
		return false, err
	}
	peers := make([]string, len(s.peers))
	for i, p := range s.peers {
		peers[i] = p.String()
	}
	_, dup := sharedHost(s.peers)
	_, private := privateHost(s.peers)
	if _, err := consensus.InitHome(s.home, consensus.InitOptions{Moniker: s.moniker, P2PAddr: s.p2p, RPCAddr: s.rpc,
		PersistentPeers: strings.Join(peers, ","), AllowDuplicateIP: dup, PrivatePeers: private, FullNode: s.fullNode}); err != nil {
		return false, err
	}
	// The bytes as published, not re-encoded: the hash stays the one the consortium announced.
	if err := os.WriteFile(consensus.GenesisFile(s.home), s.genesis, 0o644); err != nil {
		return false, fmt.Errorf("write genesis: %w", err)
	}
	return kept, saveNodeConfig(s.home, s.node)
}

// runJoin is `siegel init --genesis ... --peers ... [--full-node]`.
func runJoin(cmd *cobra.Command, home, moniker string, j joinFlags, lf listenFlags) error {
	for _, f := range []string{"agency", "member", "threshold"} {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--%s applies to a new network only: the genesis of the network you join defines it", f)
		}
	}
	if j.genesis == "" {
		return errors.New("--genesis FILE|URL is required to join a network (--full-node, --peers, --gossip-peers, --genesis-sha256 and --keep-validator-key join one)")
	}
	if j.fullNode && j.keepValidatorKey {
		return errors.New("--keep-validator-key and --full-node: a full node holds no validator key")
	}
	peers, err := parsePeers(j.peers)
	if err != nil {
		return err
	}
	gossipPeers, err := parseGossipPeers(j.gossipPeers)
	if err != nil {
		return err
	}
	raw, err := loadGenesis(cmd.Context(), j.genesis, j.genesisSHA256)
	if err != nil {
		return err
	}
	sum, err := checkGenesis(raw)
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("chain-id") {
		if want, _ := cmd.Flags().GetString("chain-id"); want != sum.chainID {
			return fmt.Errorf("--genesis is for chain %q, not --chain-id %q", sum.chainID, want)
		}
	}
	nc := defaultNodeConfig()
	lf.apply(&nc)
	nc.GossipBootstrap = gossipPeers
	spec := joinSpec{home: home, genesis: raw, peers: peers, fullNode: j.fullNode, keepKey: j.keepValidatorKey, moniker: moniker, node: nc,
		p2p: tcpURL(lf.p2p), rpc: tcpURL(lf.rpc)}
	if spec.p2p == "" {
		spec.p2p = "tcp://127.0.0.1:26656"
	}
	if spec.rpc == "" {
		spec.rpc = "tcp://127.0.0.1:26657"
	}
	kept, err := joinHome(spec)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	gh := sha256.Sum256(raw)
	role := "as a full node (read replica): it follows the chain and serves the public API; it never signs"
	if !j.fullNode {
		role = "as a validator-to-be: it follows the chain until the consortium adds its validator key"
	}
	fmt.Fprintf(out, "initialised %s to join chain %s %s\n", home, sum.chainID, role)
	fmt.Fprintf(out, "  genesis      sha256 %x: validators %d, agencies %d, consortium members %d\n", gh, sum.validators, sum.agencies, sum.members)
	if id, err := consensus.NodeID(home); err == nil {
		fmt.Fprintf(out, "  node ID      %s (its peer address: '%s node-id --home %s')\n", id, executable(), home)
	}
	fmt.Fprintf(out, "  peers        %d, and %d in the metadata gossip\n", len(peers), len(gossipPeers))
	if h, dup := sharedHost(peers); dup {
		fmt.Fprintf(out, "               config.toml: allow_duplicate_ip = true, as several peers share %s\n", h)
	}
	if h, private := privateHost(peers); private {
		fmt.Fprintf(out, "               config.toml: addr_book_strict = false, as peers are on a private network (%s)\n", h)
	}
	if !j.fullNode {
		k, err := consensus.ValidatorKey(home)
		if err != nil {
			return err
		}
		if kept {
			keyFile, stateFile, _, _ := consensus.ValidatorKeyFiles(home)
			fmt.Fprintf(out, "  validator    KEPT the validator key already in the home (--keep-validator-key): %s, with its sign state %s\n", keyFile, stateFile)
		}
		fmt.Fprintf(out, "  validator    public key %s; the consortium adds it with\n", hexKey(k))
		fmt.Fprintf(out, "               %s gov propose set-validator --validator-key %s --power 10 --node AGENCY_API --key OPERATOR_KEY\n", executable(), hexKey(k))
		fmt.Fprintf(out, "               keep config/priv_validator_key.json and data/priv_validator_state.json safe and never copy them\n")
	}
	fmt.Fprintf(out, "  start it     %s start --home %s\n", executable(), home)
	return nil
}

// peerAddress is NODE_ID@HOST:PORT of a home, from p2p.external_address or else p2p.laddr, with host
// in place of the host when given.
func peerAddress(home, host string) (string, error) {
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		return "", err
	}
	id, err := consensus.NodeID(home)
	if err != nil {
		return "", err
	}
	key, addr := "p2p.external_address", cc.P2P.ExternalAddress
	if addr == "" {
		key, addr = "p2p.laddr", cc.P2P.ListenAddress
	}
	_, hp, ok := strings.Cut(addr, "://")
	if !ok {
		hp = addr
	}
	h, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", fmt.Errorf("%s %q in config.toml: want [tcp://]HOST:PORT", key, addr)
	}
	if host != "" {
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return "", fmt.Errorf("--host %q: want a host name or an address, without a port", host)
		}
		h = host
	} else if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
		return "", fmt.Errorf("%s is %s, every interface: give the address other nodes reach this one at with --host HOST", key, addr)
	}
	return id + "@" + net.JoinHostPort(h, port), nil
}

func newNodeIDCmd() *cobra.Command {
	var home, host string
	cmd := &cobra.Command{
		Use:   "node-id --home DIR [--host HOST]",
		Short: "Print the node's peer address, NODE_ID@HOST:PORT, for other nodes' --peers",
		Long: "Reads the node key (config/node_key.json) and the P2P address from config/config.toml:\n" +
			"p2p.external_address when set, otherwise p2p.laddr. --host replaces the host, for a node that\n" +
			"listens on every interface (0.0.0.0) or that others reach under another name. The node ID alone\n" +
			"is the part before '@'.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			a, err := peerAddress(home, host)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), a)
			return err
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory")
	cmd.Flags().StringVar(&host, "host", "", "host name or address other nodes reach this node at")
	return cmd
}
