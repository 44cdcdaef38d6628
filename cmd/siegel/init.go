package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/store"
)

// listenFlags are the listen addresses every node command takes.
type listenFlags struct {
	api, agency, metrics, p2p, rpc, gossip string
}

func (l *listenFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.api, "api-addr", "", "public read-only API, HOST:PORT (default from siegel.toml, 127.0.0.1:8080)")
	fs.StringVar(&l.agency, "agency-addr", "", "agency submission API, HOST:PORT (default from siegel.toml, 127.0.0.1:8081)")
	fs.StringVar(&l.metrics, "metrics-addr", "", "Prometheus /metrics, HOST:PORT (default from siegel.toml, 127.0.0.1:26660)")
	fs.StringVar(&l.p2p, "p2p-addr", "", "CometBFT peer address, tcp://HOST:PORT (default from config.toml)")
	fs.StringVar(&l.gossip, "gossip-addr", "", "metadata gossip, a libp2p multiaddr or HOST:PORT (default from siegel.toml, /ip4/127.0.0.1/tcp/26680)")
	fs.StringVar(&l.rpc, "rpc-addr", "", "CometBFT RPC address, tcp://HOST:PORT; keep it on loopback (default from config.toml)")
}

// apply overrides the node config with the flags that were given.
func (l *listenFlags) apply(c *nodeConfig) {
	if l.api != "" {
		c.APIAddr = l.api
	}
	if l.agency != "" {
		c.AgencyAddr = l.agency
	}
	if l.metrics != "" {
		c.MetricsAddr = l.metrics
	}
	if l.gossip != "" {
		c.GossipListen = []string{gossipMultiaddr(l.gossip)}
	}
}

// gossipMultiaddr accepts a multiaddr, or HOST:PORT (an IP address), which it turns into one.
func gossipMultiaddr(a string) string {
	if strings.HasPrefix(a, "/") {
		return a
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a // config validation says what is wrong
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return a
	}
	if ip.Is4() {
		return "/ip4/" + host + "/tcp/" + port
	}
	return "/ip6/" + host + "/tcp/" + port
}

func (l *listenFlags) overrides() consensusOverrides {
	return consensusOverrides{P2PAddr: tcpURL(l.p2p), RPCAddr: tcpURL(l.rpc)}
}

// tcpURL accepts HOST:PORT or tcp://HOST:PORT.
func tcpURL(a string) string {
	if a == "" || strings.Contains(a, "://") {
		return a
	}
	return "tcp://" + a
}

// parseAgency reads ID:PUBKEY_HEX:DISPLAY NAME.
func parseAgency(s string) (store.Agency, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return store.Agency{}, fmt.Errorf("--agency %q: want ID:PUBLIC_KEY_HEX:DISPLAY NAME", s)
	}
	var k store.Key
	if err := k.UnmarshalText([]byte(parts[1])); err != nil {
		return store.Agency{}, fmt.Errorf("--agency %q: %w", s, err)
	}
	return store.Agency{ID: parts[0], Name: parts[2], Keys: []store.Key{k}}, nil
}

// homeSpec is everything initHome writes.
type homeSpec struct {
	home       string
	chainID    string
	moniker    string
	p2p, rpc   string
	timeout    time.Duration
	node       nodeConfig
	agencies   []store.Agency
	consortium app.Consortium
}

// initHome writes a one-validator home: CometBFT config and keys, genesis with the agencies, siegel.toml.
func initHome(s homeSpec) error {
	if _, err := os.Stat(consensus.GenesisFile(s.home)); err == nil {
		return fmt.Errorf("%s is already initialised (it has config/genesis.json)", s.home)
	}
	if err := s.node.validate(); err != nil {
		return err
	}
	// A new network's validator is the one key in its genesis: a key left in the home (from an earlier
	// init, a copied home) could be signing for another node as well. joinHome asks for
	// --keep-validator-key; a new network starts from a home without one.
	if key, state, haveKey, haveState := consensus.ValidatorKeyFiles(s.home); haveKey || haveState {
		return fmt.Errorf("%s holds a validator key or sign state already (%s, %s): a new network gets a new key. "+
			"Move them out of the home, or use an empty home", s.home, key, state)
	}
	g := app.Genesis{Params: app.DefaultParams(), Agencies: s.agencies, Consortium: s.consortium}
	if err := g.Validate(); err != nil {
		return err
	}
	appState, err := json.Marshal(g)
	if err != nil {
		return err
	}
	pub, err := consensus.InitHome(s.home, consensus.InitOptions{Moniker: s.moniker, P2PAddr: s.p2p, RPCAddr: s.rpc, TimeoutCommit: s.timeout})
	if err != nil {
		return err
	}
	vals := []consensus.Validator{{Name: s.moniker, PubKey: pub, Power: 10}}
	if err := consensus.WriteGenesis(s.home, s.chainID, time.Now(), vals, appState); err != nil {
		return err
	}
	return saveNodeConfig(s.home, s.node)
}

func newInitCmd() *cobra.Command {
	var home, chainID, moniker string
	var agencies, members []string
	var threshold int
	var lf listenFlags
	var jf joinFlags
	cmd := &cobra.Command{
		Use:   "init --home DIR [--genesis FILE|URL --peers ID@HOST:PORT,... --gossip-peers MULTIADDR,... [--full-node]]",
		Short: "Create a node home: a new one-validator network, or a node that joins an existing one",
		Long: "Creates DIR/config (config.toml for CometBFT, siegel.toml for Siegel, genesis.json, node and validator\n" +
			"keys) and DIR/data.\n\n" +
			"A new network (without --genesis): a one-validator genesis for --chain-id. Agencies that may write are\n" +
			"listed in genesis with --agency ID:PUBLIC_KEY_HEX:NAME, the consortium with --member and --threshold.\n\n" +
			"Joining an existing network (--genesis): the network's genesis.json, from a file or from a running\n" +
			"node's public API (http://HOST:8080/v1/genesis, checked against --genesis-sha256, the hash the\n" +
			"consortium publishes), and the nodes to connect to: --peers for CometBFT, --gossip-peers for the\n" +
			"metadata gossip ('siegel node-id' and 'siegel gossip-id' print a node's).\n\n" +
			"With --full-node the node is a read replica: it catches up by block sync, follows the chain, serves\n" +
			"the public API and page, holds no validator key and never signs. Without --full-node it gets a\n" +
			"validator key that is not in the validator set: it follows the chain the same way until the\n" +
			"consortium adds the key (init prints the 'siegel gov propose set-validator' command).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			if jf.joining() {
				return runJoin(cmd, home, moniker, jf, lf)
			}
			nc := defaultNodeConfig()
			lf.apply(&nc)
			spec := homeSpec{home: home, chainID: chainID, moniker: moniker, node: nc,
				p2p: tcpURL(lf.p2p), rpc: tcpURL(lf.rpc)}
			if spec.p2p == "" {
				spec.p2p = "tcp://127.0.0.1:26656"
			}
			if spec.rpc == "" {
				spec.rpc = "tcp://127.0.0.1:26657"
			}
			for _, s := range agencies {
				a, err := parseAgency(s)
				if err != nil {
					return err
				}
				spec.agencies = append(spec.agencies, a)
			}
			for _, s := range members {
				a, err := parseAgency(s) // same form: ID:KEY:NAME
				if err != nil {
					return fmt.Errorf("--member: %w", err)
				}
				spec.consortium.Members = append(spec.consortium.Members, app.Member{ID: a.ID, Name: a.Name, OperatorKey: a.Keys[0]})
			}
			spec.consortium.Threshold = threshold
			if threshold == 0 && len(members) > 0 {
				spec.consortium.Threshold = len(members)*2/3 + 1
			}
			if err := initHome(spec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s for chain %s; start it with: %s start --home %s\n", home, chainID, executable(), home)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "node home directory")
	f.StringVar(&chainID, "chain-id", "siegel-local", "chain ID (shared by every node of the network); when joining, checked against the genesis")
	f.StringVar(&moniker, "moniker", "siegel-node", "node name shown to peers")
	f.StringArrayVar(&agencies, "agency", nil, "register an agency in genesis: ID:PUBLIC_KEY_HEX:DISPLAY NAME (repeatable)")
	f.StringArrayVar(&members, "member", nil, "a consortium member: ID:OPERATOR_PUBLIC_KEY_HEX:DISPLAY NAME (repeatable)")
	f.IntVar(&threshold, "threshold", 0, "approvals a proposal needs (default: more than 2/3 of the members)")
	lf.register(f)
	jf.register(f)
	return cmd
}

func newStartCmd() *cobra.Command {
	var home string
	var lf listenFlags
	cmd := &cobra.Command{
		Use:         "start --home DIR",
		Annotations: map[string]string{nodeCommand: "yes"},
		Short:       "Run a node: CometBFT, the application and the HTTP APIs, until SIGINT or SIGTERM",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			nc, err := loadNodeConfig(home)
			if err != nil {
				return err
			}
			lf.apply(&nc)
			if err := nc.validate(); err != nil {
				return err
			}
			return runNode(cmd.Context(), home, nc, lf.overrides(), cmd.ErrOrStderr(), nil)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory (made by 'siegel init')")
	lf.register(cmd.Flags())
	return cmd
}

// hexKey formats a public key for people.
func hexKey(k []byte) string { return hex.EncodeToString(k) }
