package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
	"github.com/siegel-notary/siegel/store"
)

// Names used by local testnets.
const (
	testnetChainID    = "siegel-testnet"
	testnetAgencyID   = "test-agency"
	testnetAgencyName = "Test Agency"
	testnetKeyFile    = "agency.key"
	testnetPortStride = 10
)

// testnetNode is one node of a local testnet: its home and listen addresses.
type testnetNode struct {
	Name    string `json:"name"`
	Home    string `json:"home"`
	P2P     string `json:"p2p"`
	RPC     string `json:"rpc"`
	API     string `json:"api"`
	Agency  string `json:"agency"`
	Metrics string `json:"metrics"`
	// Gossip is the metadata gossip's multiaddr, GossipID the node's peer ID there.
	Gossip   string `json:"gossip"`
	GossipID string `json:"gossip_id"`
}

// testnetSpec is what `testnet init` writes to DIR/testnet.json for start, stop and status.
type testnetSpec struct {
	ChainID string        `json:"chain_id"`
	Nodes   []testnetNode `json:"nodes"`
}

// testnetLayout assigns node i the ports base+10i .. base+10i+5 on 127.0.0.1 (the last for the gossip).
func testnetLayout(dir string, n, base int) []testnetNode {
	nodes := make([]testnetNode, n)
	for i := range nodes {
		p := base + testnetPortStride*i
		addr := func(off int) string { return fmt.Sprintf("127.0.0.1:%d", p+off) }
		nodes[i] = testnetNode{
			Name: fmt.Sprintf("node%d", i), Home: filepath.Join(dir, fmt.Sprintf("node%d", i)),
			P2P: addr(0), RPC: addr(1), API: addr(2), Agency: addr(3), Metrics: addr(4),
			Gossip: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p+5),
		}
	}
	return nodes
}

// testnetTiming is what a testnet's config.toml files change in CometBFT's pace; a zero field keeps
// CometBFT's default.
type testnetTiming struct {
	TimeoutCommit time.Duration // timeout_commit (1 s): the pause after each block
	GossipSleep   time.Duration // peer_gossip_sleep_duration (100 ms)
}

// initTestnet writes the homes of a local network with one shared genesis, which registers a test
// agency whose key is DIR/agency.key and a consortium with one member per validator (operator key
// DIR/operator-I.key, threshold more than 2/3). The first `validators` nodes are genesis validators,
// the others full nodes that governance can make validators. Every node lists the others as peers.
// The zero timing keeps CometBFT's defaults.
func initTestnet(dir string, nodes []testnetNode, validators int, timing testnetTiming) (*testnetSpec, error) {
	if _, err := os.Stat(filepath.Join(dir, "testnet.json")); err == nil {
		return nil, fmt.Errorf("%s already holds a testnet (testnet.json); remove it first", dir)
	}
	if len(nodes) < 1 || len(nodes) > 64 || validators < 1 || validators > len(nodes) {
		return nil, fmt.Errorf("a testnet has 1 to 64 nodes of which at least one is a validator, not %d of %d", validators, len(nodes))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pub, err := generateKey(filepath.Join(dir, testnetKeyFile), true)
	if err != nil {
		return nil, err
	}
	var k store.Key
	copy(k[:], pub)
	g := app.Genesis{Params: app.DefaultParams(), Agencies: []store.Agency{{ID: testnetAgencyID, Name: testnetAgencyName, Keys: []store.Key{k}}}}
	for i := range validators {
		opub, err := generateKey(filepath.Join(dir, fmt.Sprintf("operator-%d.key", i)), true)
		if err != nil {
			return nil, err
		}
		var ok store.Key
		copy(ok[:], opub)
		g.Consortium.Members = append(g.Consortium.Members, app.Member{ID: fmt.Sprintf("dc%d", i), Name: fmt.Sprintf("Data centre %d", i), OperatorKey: ok})
	}
	g.Consortium.Threshold = validators*2/3 + 1
	appState, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	// First pass: keys. Second pass: config with the peers' IDs.
	var vals []consensus.Validator
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		pk, err := consensus.InitHome(n.Home, consensus.InitOptions{Moniker: n.Name, P2PAddr: "tcp://" + n.P2P, RPCAddr: "tcp://" + n.RPC})
		if err != nil {
			return nil, err
		}
		if i < validators {
			vals = append(vals, consensus.Validator{Name: n.Name, PubKey: pk, Power: 10})
		}
		if ids[i], err = consensus.NodeID(n.Home); err != nil {
			return nil, err
		}
		gpub, err := generateKey(gossipKeyPath(n.Home, defaultNodeConfig()), true)
		if err != nil {
			return nil, err
		}
		if nodes[i].GossipID, err = p2p.PeerID(gpub); err != nil {
			return nil, err
		}
	}
	genesisTime := time.Now()
	for i, n := range nodes {
		var peers []string
		for j, m := range nodes {
			if j != i {
				peers = append(peers, ids[j]+"@"+m.P2P)
			}
		}
		if _, err := consensus.InitHome(n.Home, consensus.InitOptions{Moniker: n.Name, P2PAddr: "tcp://" + n.P2P,
			RPCAddr: "tcp://" + n.RPC, PersistentPeers: strings.Join(peers, ","), Loopback: true,
			TimeoutCommit: timing.TimeoutCommit, GossipSleep: timing.GossipSleep}); err != nil {
			return nil, err
		}
		if err := consensus.WriteGenesis(n.Home, testnetChainID, genesisTime, vals, appState); err != nil {
			return nil, err
		}
		nc := defaultNodeConfig()
		nc.APIAddr, nc.AgencyAddr, nc.MetricsAddr = n.API, n.Agency, n.Metrics
		nc.GossipListen = []string{n.Gossip}
		for j, m := range nodes {
			if j != i {
				nc.GossipBootstrap = append(nc.GossipBootstrap, m.Gossip+"/p2p/"+nodes[j].GossipID)
			}
		}
		// A testnet is for development and load tests from this machine: loopback is not rate limited.
		nc.APIRateLimitExempt = append([]string(nil), loopback...)
		if err := saveNodeConfig(n.Home, nc); err != nil {
			return nil, err
		}
	}
	spec := &testnetSpec{ChainID: testnetChainID, Nodes: nodes}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, err
	}
	return spec, os.WriteFile(filepath.Join(dir, "testnet.json"), b, 0o600)
}

func loadTestnet(dir string) (*testnetSpec, error) {
	b, err := os.ReadFile(filepath.Join(dir, "testnet.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no testnet: run 'siegel testnet init --dir %s' first", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var s testnetSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s/testnet.json: %w", dir, err)
	}
	return &s, nil
}
