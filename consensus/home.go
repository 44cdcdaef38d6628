package consensus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"
)

// ErrNoHome is returned when a directory holds no initialised node home.
var ErrNoHome = errors.New("consensus: not an initialised node home")

// Defaults applies Siegel's required settings to a CometBFT configuration. They are enforced again at
// load time, so a hand-edited config.toml cannot turn them off by accident.
func Defaults(c *cfg.Config) {
	c.DBBackend = "pebbledb"
	c.TxIndex.Indexer = "null"
	c.Storage.DiscardABCIResponses = true
	c.BlockSync.AdaptiveSync = false
	c.Instrumentation.Prometheus = false // Siegel serves CometBFT's metrics on its own listener
}

// PeerRate is the rate, in bytes per second, that a new home's config.toml allows CometBFT on each peer
// connection, both ways (p2p.send_rate, p2p.recv_rate; CometBFT's default is 5,120,000). Blocks of
// batched anchors and the transactions before them cross every connection: on the 4-validator testnet
// at 40 transactions of 1,000 anchors a second, CometBFT's default committed 12,633 anchors/s and 20 MiB/s
// 22,861 (docs/PERFORMANCE.md). 20 MiB/s is 168 Mbit/s per peer, within a data centre's links; an
// operator may lower it in config.toml.
const PeerRate = 20 << 20

// InitOptions are the per-node settings written into a new home.
type InitOptions struct {
	Moniker string
	// P2PAddr is CometBFT's peer listen address, e.g. tcp://127.0.0.1:26656.
	P2PAddr string
	// RPCAddr is CometBFT's RPC listen address; empty disables the RPC. Keep it on loopback.
	RPCAddr string
	// PersistentPeers is a comma-separated list of ID@host:port.
	PersistentPeers string
	// TimeoutCommit overrides CometBFT's default of 1 s when non-zero.
	TimeoutCommit time.Duration
	// GossipSleep overrides CometBFT's peer_gossip_sleep_duration (100 ms) when non-zero: how long each
	// peer's gossip routines sleep when they find nothing to send. Proposals, block parts and votes wait
	// for the next wake-up, so every step of a height can lose up to this much.
	GossipSleep time.Duration
	// Loopback lets several nodes share 127.0.0.1 (a local testnet): peers on the same IP and
	// non-routable addresses are allowed.
	Loopback bool
	// AllowDuplicateIP lets the node keep connections to several peers at one IP address.
	AllowDuplicateIP bool
	// PrivatePeers lets the address book keep private and loopback addresses (addr_book_strict off),
	// for peers on a data centre's internal network.
	PrivatePeers bool
	// FullNode makes a home without a validator key: the node follows the chain and never signs
	// (see Options.FullNode).
	FullNode bool
}

// InitHome creates the directories, config.toml, node key and validator key of a node home, keeping
// any key that already exists. It returns the validator's public key for the genesis; a full node's
// home (o.FullNode) gets no validator key, and InitHome returns nil for it, or an error if the home
// holds one already.
func InitHome(home string, o InitOptions) (crypto.PubKey, error) {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	Defaults(c)
	c.P2P.SendRate, c.P2P.RecvRate = PeerRate, PeerRate
	if o.Moniker != "" {
		c.Moniker = o.Moniker
	}
	if o.P2PAddr != "" {
		c.P2P.ListenAddress = o.P2PAddr
	}
	c.RPC.ListenAddress = o.RPCAddr
	c.P2P.PersistentPeers = o.PersistentPeers
	if o.TimeoutCommit != 0 {
		c.Consensus.TimeoutCommit = o.TimeoutCommit
	}
	if o.GossipSleep != 0 {
		c.Consensus.PeerGossipSleepDuration = o.GossipSleep
	}
	if o.Loopback {
		c.P2P.AllowDuplicateIP = true
		c.P2P.AddrBookStrict = false
	}
	if o.AllowDuplicateIP {
		c.P2P.AllowDuplicateIP = true
	}
	if o.PrivatePeers {
		c.P2P.AddrBookStrict = false
	}
	if o.FullNode {
		if _, err := os.Stat(c.PrivValidatorKeyFile()); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrValidatorKeyOnFullNode, c.PrivValidatorKeyFile())
		}
	}
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("consensus: config: %w", err)
	}
	for _, d := range []string{filepath.Join(home, "config"), filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("consensus: %w", err)
		}
	}
	cfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), c)
	if _, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile()); err != nil {
		return nil, fmt.Errorf("consensus: node key: %w", err)
	}
	if o.FullNode {
		return nil, nil
	}
	pv := privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	return pv.GetPubKey()
}

// Validator is a genesis validator.
type Validator struct {
	Name   string
	PubKey crypto.PubKey
	Power  int64
}

// MaxBlockBytes bounds a block (CometBFT v0.40's default is about 53 MiB). 1.5 MiB holds about 46
// transactions of 1,000 hashes (and any one transaction, whose limit is 1 MiB). Without a bound an
// overloaded network proposes everything its mempools hold in one block (639 transactions, 639,000
// anchors, took 102 s) and throughput collapses: at 40,000 anchors/s offered it committed 7,172
// anchors/s, with 4 MiB 12,248 (docs/PERFORMANCE.md).
// 1.5 MiB rather than 4 MiB: a network that falls behind its load (after a stall, a burst) no longer
// makes blocks of 100-127 transactions whose larger per-anchor cost (memory, a commit longer than the
// pause after it) keeps it behind. At 22 transactions of 1,000 a second, p99 latency was lower in 11
// of 13 alternating pairs, and after a 4 s stall 7.1-7.7 s against 8.5-17.7 s; what it costs is about
// 10% of the overload throughput (26,920 against 29,769 anchors/s at 40 a second). Networks keep the
// bound of their genesis.
const MaxBlockBytes = 3 << 19

// WriteGenesis writes genesis.json into home with the given validators and application state.
func WriteGenesis(home, chainID string, genesisTime time.Time, vals []Validator, appState json.RawMessage) error {
	params := types.DefaultConsensusParams()
	// Validators sign each checkpoint through vote extensions, from the first block on.
	params.ABCI.VoteExtensionsEnableHeight = 1
	params.Block.MaxBytes = MaxBlockBytes
	doc := &types.GenesisDoc{
		GenesisTime:     genesisTime.UTC(),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: params,
		AppState:        appState,
	}
	for _, v := range vals {
		doc.Validators = append(doc.Validators, types.GenesisValidator{
			Address: v.PubKey.Address(), PubKey: v.PubKey, Power: v.Power, Name: v.Name,
		})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("consensus: genesis: %w", err)
	}
	if err := doc.SaveAs(GenesisFile(home)); err != nil {
		return fmt.Errorf("consensus: write genesis: %w", err)
	}
	return nil
}

// GenesisFile is where a home keeps its genesis.
func GenesisFile(home string) string { return filepath.Join(home, "config", "genesis.json") }

// LoadConfig reads home's config.toml and enforces Siegel's defaults.
func LoadConfig(home string) (*cfg.Config, error) {
	path := filepath.Join(home, "config", "config.toml")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoHome, home, err)
	}
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("consensus: read %s: %w", path, err)
	}
	c := cfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("consensus: decode %s: %w", path, err)
	}
	c.SetRoot(home)
	Defaults(c)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("consensus: %s: %w", path, err)
	}
	return c, nil
}

// NodeID returns the CometBFT node ID of a home (for persistent_peers).
func NodeID(home string) (string, error) {
	k, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil {
		return "", fmt.Errorf("consensus: %w", err)
	}
	return string(k.ID()), nil
}

// ValidatorKeyFiles are the validator key and sign state files of a home (CometBFT's defaults, as
// InitHome writes config.toml), and whether each exists.
func ValidatorKeyFiles(home string) (key, state string, haveKey, haveState bool) {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	key, state = c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	_, kerr := os.Stat(key)
	_, serr := os.Stat(state)
	return key, state, kerr == nil, serr == nil
}

// CheckValidatorKey reads a home's validator key and sign state and returns an error if either is
// missing or unreadable. (CometBFT's own loader ends the process instead.)
func CheckValidatorKey(home string) error {
	key, state, _, _ := ValidatorKeyFiles(home)
	var k privval.FilePVKey
	if b, err := os.ReadFile(key); err != nil {
		return fmt.Errorf("consensus: validator key: %w", err)
	} else if err := cmtjson.Unmarshal(b, &k); err != nil || k.PrivKey == nil {
		return fmt.Errorf("consensus: validator key %s: not a CometBFT validator key (%v)", key, err)
	}
	var st privval.FilePVLastSignState
	if b, err := os.ReadFile(state); err != nil {
		return fmt.Errorf("consensus: validator sign state: %w", err)
	} else if err := cmtjson.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("consensus: validator sign state %s: not a CometBFT sign state (%v)", state, err)
	}
	return nil
}

// ValidatorKey returns the ed25519 public key of a home's validator (priv_validator_key.json).
func ValidatorKey(home string) ([]byte, error) {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	if _, err := os.Stat(c.PrivValidatorKeyFile()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoHome, err)
	}
	pk, err := privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()).GetPubKey()
	if err != nil {
		return nil, err
	}
	return pk.Bytes(), nil
}
