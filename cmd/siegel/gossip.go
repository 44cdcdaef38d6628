package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
	"github.com/siegel-notary/siegel/store"
)

// The metadata gossip's wiring: package p2p sees the committed chain through chainView, keeps what it
// accepts in the store through metaStore, and reports to Prometheus through gossipMetrics.

// chainView is p2p.Chain over the store and the consensus node.
type chainView struct {
	st   *store.Store
	node *consensus.Node
}

var _ p2p.Chain = chainView{}

func (c chainView) Anchor(doc [32]byte) (p2p.Anchor, bool, error) {
	a, err := c.st.Anchor(doc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p2p.Anchor{}, false, nil
	case err != nil:
		return p2p.Anchor{}, false, err
	}
	return p2p.Anchor{Agency: a.Agency, Signer: a.Signer, MetaDigest: a.MetaDigest}, true, nil
}

// agency returns the registered agency id; ok is false if there is none.
func (c chainView) agency(id string) (store.Agency, bool, error) {
	a, err := c.st.Agency(id)
	if errors.Is(err, store.ErrNotFound) {
		return a, false, nil
	}
	return a, err == nil, err
}

// KeyStatus: a current key of an agency that is not suspended; a retired one, or any of a suspended
// agency, could sign once.
func (c chainView) KeyStatus(agency string, key [32]byte) (p2p.KeyStatus, error) {
	a, ok, err := c.agency(agency)
	if !ok {
		return p2p.KeyUnknown, err
	}
	k := store.Key(key)
	switch {
	case slices.Contains(a.Keys, k) && !a.Suspended:
		return p2p.KeyCurrent, nil
	case slices.Contains(a.Keys, k), slices.Contains(a.Retired, k):
		return p2p.KeyPast, nil
	}
	return p2p.KeyUnknown, nil
}

// DocTypeAllowed: the types governance set for the agency, or any when it set none.
func (c chainView) DocTypeAllowed(agency, docType string) (bool, error) {
	a, ok, err := c.agency(agency)
	if !ok {
		return false, err
	}
	return len(a.DocTypes) == 0 || slices.Contains(a.DocTypes, docType), nil
}

func (c chainView) MetaAnchors(from uint64, limit int) ([][32]byte, uint64, error) {
	return c.st.MetaAnchors(from, limit)
}

func (c chainView) CaughtUp() bool { return !c.node.Status().CatchingUp }

// metaStore is p2p.MetaStore in the node's Pebble store.
type metaStore struct{ st *store.Store }

var _ p2p.MetaStore = metaStore{}

func (m metaStore) Get(doc [32]byte) ([]byte, bool, error) { return m.st.Metadata(doc) }
func (m metaStore) Has(doc [32]byte) (bool, error)         { return m.st.HasMetadata(doc) }
func (m metaStore) Put(doc [32]byte, raw []byte) error     { return m.st.PutMetadata(doc, raw) }

// gossipMetrics are the gossip's figures: siegel_p2p_peers, siegel_metadata_messages_total by result
// (accepted, rejected, ignored) and reason (how it came for accepted ones, why otherwise),
// siegel_metadata_pending, and the catch-up progress. What catch-up fetched is
// siegel_metadata_messages_total{result="accepted",reason="sync"}: p2p accepts with ViaSync only there.
type gossipMetrics struct {
	peers    prometheus.Gauge
	messages *prometheus.CounterVec
	pending  prometheus.Gauge
	missing  prometheus.Gauge
	rounds   *prometheus.CounterVec
}

func newGossipMetrics(reg prometheus.Registerer) *gossipMetrics {
	g := &gossipMetrics{
		peers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "siegel_p2p_peers",
			Help: "Peers connected to this node's metadata gossip."}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siegel_metadata_messages_total",
			Help: "Metadata messages handled, by result (accepted, rejected: the sender was penalised, ignored: dropped without penalty) and reason (for accepted: gossip, sync or publish)."},
			[]string{"result", "reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "siegel_metadata_pending",
			Help: "Metadata messages waiting for their anchor to be committed."}),
		missing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "siegel_metadata_catchup_missing",
			Help: "Anchors with a metadata digest whose metadata this node lacked in the last full catch-up round (every anchor; at start, when a peer connects, every 10 minutes), less those that round fetched."}),
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "siegel_metadata_catchup_rounds_total",
			Help: "Catch-up rounds finished, by kind (full: from the first anchor; incremental)."}, []string{"kind"}),
	}
	reg.MustRegister(g.peers, g.messages, g.pending, g.missing, g.rounds)
	for _, v := range []p2p.Via{p2p.ViaGossip, p2p.ViaSync, p2p.ViaPublish} {
		g.messages.WithLabelValues("accepted", string(v))
	}
	for _, r := range p2p.RejectReasons {
		g.messages.WithLabelValues("rejected", string(r))
	}
	for _, r := range p2p.IgnoreReasons {
		g.messages.WithLabelValues("ignored", string(r))
	}
	g.rounds.WithLabelValues("full")
	g.rounds.WithLabelValues("incremental")
	return g
}

var _ p2p.Metrics = (*gossipMetrics)(nil)

func (g *gossipMetrics) Peers(n int)   { g.peers.Set(float64(n)) }
func (g *gossipMetrics) Pending(n int) { g.pending.Set(float64(n)) }
func (g *gossipMetrics) Accepted(v p2p.Via) {
	g.messages.WithLabelValues("accepted", string(v)).Inc()
}
func (g *gossipMetrics) Rejected(r p2p.Reason) {
	g.messages.WithLabelValues("rejected", string(r)).Inc()
}
func (g *gossipMetrics) Ignored(r p2p.Reason) { g.messages.WithLabelValues("ignored", string(r)).Inc() }

func (g *gossipMetrics) CatchUp(p p2p.Progress) {
	// Only a full round sees every anchor; an incremental one sees those since the last round and would
	// hide what is still missing from before.
	if p.Full {
		g.missing.Set(float64(p.Missing - p.Fetched))
	}
	if p.Done {
		kind := "incremental"
		if p.Full {
			kind = "full"
		}
		g.rounds.WithLabelValues(kind).Inc()
	}
}

// gossipKeyPath is the gossip key file of home as configured.
func gossipKeyPath(home string, nc nodeConfig) string {
	if filepath.IsAbs(nc.GossipKeyFile) {
		return nc.GossipKeyFile
	}
	return filepath.Join(home, nc.GossipKeyFile)
}

// loadOrCreateGossipKey reads the node's gossip identity, creating it on first use (homes made before
// the gossip existed have none).
func loadOrCreateGossipKey(path string, logger *slog.Logger) (ed25519.PrivateKey, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := generateKey(path, false); err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
		logger.Info("created the gossip identity key", "file", path)
	}
	k, err := loadKey(path)
	if err != nil {
		return nil, fmt.Errorf("gossip key: %w", err)
	}
	return k, nil
}

// gossipPeerID returns the peer ID of the gossip key in path.
func gossipPeerID(path string) (string, error) {
	k, err := loadKey(path)
	if err != nil {
		return "", err
	}
	return p2p.PeerID(k.Public().(ed25519.PublicKey))
}

// startGossip starts the node's metadata gossip.
func startGossip(ctx context.Context, home string, nc nodeConfig, chainID string, st *store.Store, node *consensus.Node,
	reg prometheus.Registerer, logger *slog.Logger) (*p2p.Node, error) {
	key, err := loadOrCreateGossipKey(gossipKeyPath(home, nc), logger)
	if err != nil {
		return nil, err
	}
	cfg := p2p.Config{
		ChainID: chainID, Key: key, ListenAddrs: nc.GossipListen, Bootstrap: nc.GossipBootstrap,
		AllowedPeers: nc.GossipAllowedPeers, MaxPending: nc.MetadataMaxPending, PendingTTL: nc.MetadataWait.Duration,
		Logger: logger,
	}
	n, err := p2p.New(ctx, cfg, chainView{st: st, node: node}, metaStore{st: st}, newGossipMetrics(reg))
	if err != nil {
		return nil, fmt.Errorf("metadata gossip: %w", err)
	}
	return n, nil
}

// metaDocs are the documents of a committed block that committed to metadata.
func metaDocs(c app.Committed) [][32]byte {
	var docs [][32]byte
	for i := range c.Anchors {
		if c.Anchors[i].MetaDigest != nil {
			docs = append(docs, c.Anchors[i].DocHash)
		}
	}
	return docs
}

// Metadata implements api.Backend.
func (b *backend) Metadata(doc [32]byte) (*tx.Metadata, error) {
	raw, found, err := b.st.Metadata(doc)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, api.ErrNotFound
	}
	m, err := tx.DecodeMeta(raw)
	if err != nil {
		return nil, fmt.Errorf("stored metadata of %x: %w", doc[:8], err)
	}
	return m, nil
}

// PublishMetadata implements api.Backend.
func (b *backend) PublishMetadata(ctx context.Context, raw []byte) error {
	if b.gossip == nil {
		return errors.Join(api.ErrUnavailable, errors.New("the metadata gossip is not running"))
	}
	err := b.gossip.Publish(ctx, raw)
	var rej *p2p.RejectError
	switch {
	case errors.As(err, &rej):
		return &api.RejectedError{Reason: string(rej.Reason), Err: rej.Err}
	case errors.Is(err, p2p.ErrNotPublished):
		return errors.Join(api.ErrUnavailable, err)
	}
	return err
}
