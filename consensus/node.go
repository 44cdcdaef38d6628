package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/blocksync"
	cfg "github.com/cometbft/cometbft/config"
	cs "github.com/cometbft/cometbft/consensus"
	mempl "github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/statesync"
	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"
)

// Errors from Submit.
var (
	// ErrCatchingUp means the node is still syncing and accepts no transactions yet; try another node
	// or try again shortly.
	ErrCatchingUp = errors.New("consensus: node is catching up")
	// ErrMempoolFull means the node is overloaded; try again later.
	ErrMempoolFull = errors.New("consensus: mempool is full")
	// ErrAlreadySubmitted means the node has seen these exact bytes recently (they are in its mempool or
	// were just committed); it is not an error for a client that resubmits.
	ErrAlreadySubmitted = errors.New("consensus: transaction already submitted")
)

// Options tune New.
type Options struct {
	Logger *slog.Logger
	// CometLogLevel filters CometBFT's own log records (it logs every block at info).
	CometLogLevel slog.Level
	// Registerer, when set, receives CometBFT's Prometheus metrics; nil turns them off.
	Registerer prometheus.Registerer
	// Namespace of CometBFT's metrics; default "cometbft".
	Namespace string
	// FullNode runs the node as a follower that never signs: it loads no validator key (and refuses
	// to start if its home holds one, ErrValidatorKeyOnFullNode); CometBFT gets a signer whose key is
	// made at start and kept in memory only, and that refuses to sign.
	FullNode bool
}

// ErrRemoteSigner is returned by New when config.toml sets priv_validator_laddr (a remote signer, such
// as tmkms or Horcrux). CometBFT would replace the node's signer with the remote one: on a full node a
// signer that could sign; on a validator one whose sign state Siegel's backups do not hold (they copy
// data/priv_validator_state.json, which then goes stale). Siegel does not support remote signers yet.
var ErrRemoteSigner = errors.New("consensus: priv_validator_laddr is set in config.toml, but Siegel does not support remote signers")

// Node is an in-process CometBFT node.
type Node struct {
	n        *nm.Node
	syncing  interface{ WaitSync() bool }
	fullNode bool
	hook     *commitHook // serves Backup (backup.go)
	dbs      *dbRecorder
}

// New builds a node from c around app. ABCI calls are serialised by one mutex (CometBFT's local
// client), so the application sees one call at a time.
func New(ctx context.Context, c *cfg.Config, app abci.Application, o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Namespace == "" {
		o.Namespace = "cometbft"
	}
	if c.PrivValidatorListenAddr != "" {
		if o.FullNode {
			return nil, fmt.Errorf("%w (%s): on a full node CometBFT would take the remote signer in place of the one that never signs; set priv_validator_laddr = \"\"", ErrRemoteSigner, c.PrivValidatorListenAddr)
		}
		return nil, fmt.Errorf("%w yet (%s): keep the validator key in %s and set priv_validator_laddr = \"\"", ErrRemoteSigner, c.PrivValidatorListenAddr, c.PrivValidatorKeyFile())
	}
	var pv types.PrivValidator
	_, err := os.Stat(c.PrivValidatorKeyFile())
	switch {
	case o.FullNode && err == nil:
		return nil, fmt.Errorf("%w: %s (if this node is a replica, remove the file; if it is a validator, do not run it as a full node)", ErrValidatorKeyOnFullNode, c.PrivValidatorKeyFile())
	case o.FullNode:
		pv = newFollowerPV()
		o.Logger.Info("full node: follows the chain without a validator key and never signs")
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrNoHome, err)
	default:
		pv = privval.LoadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("consensus: node key: %w", err)
	}
	metrics := nm.DefaultMetricsProvider(&cfg.InstrumentationConfig{Prometheus: false})
	if o.Registerer != nil {
		metrics = prometheusMetrics(o.Namespace, o.Registerer)
	}
	node := &Node{hook: &commitHook{Application: app}, dbs: &dbRecorder{}, fullNode: o.FullNode}
	node.hook.serve = node.takeBackup
	n, err := nm.NewNodeWithContext(ctx, c, pv, nodeKey,
		proxy.NewLocalClientCreator(node.hook),
		nm.DefaultGenesisDocProviderFunc(c),
		node.dbs.provider,
		metrics,
		NewLogger(o.Logger, o.CometLogLevel))
	if err != nil {
		return nil, fmt.Errorf("consensus: new node: %w", err)
	}
	node.n = n
	node.syncing, _ = n.MempoolReactor().(interface{ WaitSync() bool })
	return node, nil
}

// registerMu serialises the swap of prometheus.DefaultRegisterer below.
var registerMu sync.Mutex

// prometheusMetrics builds CometBFT's metrics on reg. CometBFT registers them on the global
// prometheus.DefaultRegisterer; swapping it for the duration lets several nodes live in one process
// (tests) and keeps Siegel's metrics on registries it owns.
func prometheusMetrics(ns string, reg prometheus.Registerer) nm.MetricsProvider {
	return func(chainID string) (*cs.Metrics, *p2p.Metrics, *mempl.Metrics, *sm.Metrics, *proxy.Metrics, *blocksync.Metrics, *statesync.Metrics) {
		registerMu.Lock()
		defer registerMu.Unlock()
		saved := prometheus.DefaultRegisterer
		prometheus.DefaultRegisterer = reg
		defer func() { prometheus.DefaultRegisterer = saved }()
		return cs.PrometheusMetrics(ns, "chain_id", chainID),
			p2p.PrometheusMetrics(ns, "chain_id", chainID),
			mempl.PrometheusMetrics(ns, "chain_id", chainID),
			sm.PrometheusMetrics(ns, "chain_id", chainID),
			proxy.PrometheusMetrics(ns, "chain_id", chainID),
			blocksync.PrometheusMetrics(ns, "chain_id", chainID),
			statesync.PrometheusMetrics(ns, "chain_id", chainID)
	}
}

// Start starts the node: handshake with the application (replaying blocks it lacks), then P2P,
// consensus and, if configured, the RPC.
func (n *Node) Start() error {
	if err := n.n.Start(); err != nil {
		return fmt.Errorf("consensus: start: %w", err)
	}
	return nil
}

// Stop stops the node and waits until it has stopped.
func (n *Node) Stop() error {
	n.hook.stop()
	if !n.n.IsRunning() {
		return nil
	}
	err := n.n.Stop()
	n.n.Wait()
	return err
}

// Submit offers tx to the mempool and returns CheckTx's verdict.
func (n *Node) Submit(ctx context.Context, tx []byte) (*abci.ResponseCheckTx, error) {
	if n.syncing != nil && n.syncing.WaitSync() {
		return nil, ErrCatchingUp
	}
	ch := make(chan *abci.ResponseCheckTx, 1)
	err := n.n.Mempool().CheckTx(tx, func(r *abci.ResponseCheckTx) { ch <- r }, mempl.TxInfo{})
	var full mempl.ErrMempoolIsFull
	switch {
	case errors.Is(err, mempl.ErrTxInCache):
		return nil, ErrAlreadySubmitted
	case errors.As(err, &full):
		return nil, fmt.Errorf("%w: %v", ErrMempoolFull, err)
	case err != nil:
		return nil, fmt.Errorf("consensus: submit: %w", err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Status is what an operator or client wants to know about the node itself.
type Status struct {
	ChainID          string
	NodeID           string
	Height           int64
	LatestBlockTime  time.Time
	CatchingUp       bool
	Peers            int
	ValidatorAddress string // empty on a full node
}

// Status reports the node's view of the chain.
func (n *Node) Status() Status {
	st := Status{
		ChainID:    n.n.GenesisDoc().ChainID,
		NodeID:     string(n.n.NodeInfo().ID()),
		Height:     n.n.BlockStore().Height(),
		CatchingUp: n.n.ConsensusReactor().WaitSync(),
		Peers:      n.n.Switch().Peers().Size(),
	}
	if meta := n.n.BlockStore().LoadBlockMeta(st.Height); meta != nil {
		st.LatestBlockTime = meta.Header.Time
	}
	if pk, err := n.n.PrivValidator().GetPubKey(); err == nil && !n.fullNode {
		st.ValidatorAddress = pk.Address().String()
	}
	return st
}

// FullNode reports whether the node runs as a full node (Options.FullNode), without a validator.
func (n *Node) FullNode() bool { return n.fullNode }
