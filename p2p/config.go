package p2p

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Config configures a Node. Zero fields take the defaults documented with them.
type Config struct {
	// ChainID names the chain; it is part of the topic and protocol names, and metadata for any other
	// chain is rejected. Required.
	ChainID string
	// Key is the node's libp2p identity (not a validator or agency key). Required.
	Key ed25519.PrivateKey
	// ListenAddrs are multiaddrs to listen on. Default: /ip4/0.0.0.0/tcp/26680.
	ListenAddrs []string
	// Bootstrap are peers to connect to at start and to reconnect to whenever the connection drops,
	// as multiaddrs ending in /p2p/<peer ID>. In a consortium: the other nodes.
	Bootstrap []string
	// AllowedPeers, if not empty, are the only peer IDs that may connect, besides the bootstrap peers.
	// Set it where restricted metadata must not leave the consortium.
	AllowedPeers []string
	// MaxPending bounds the messages waiting for their anchor; when full, the oldest is dropped.
	// Default 1024.
	MaxPending int
	// PendingTTL is how long a message waits for its anchor before it is rejected. Default 30s.
	PendingTTL time.Duration
	// PendingPoll is how often waiting messages look at the chain again, besides when NotifyCommitted
	// wakes them. Default 1s.
	PendingPoll time.Duration
	// SyncInterval is how often the node asks peers for the metadata of anchors committed since its
	// last catch-up round. Default 1m.
	SyncInterval time.Duration
	// ResyncInterval is the least time between full catch-up rounds (from the first anchor), which run
	// at start and when a peer connects. Default 30s.
	ResyncInterval time.Duration
	// CommitSyncDelay is how long after a block committed anchors with metadata digests the node looks
	// for metadata that gossip did not bring (it was published while this node was down or still
	// catching up with the chain) and fetches it from peers. Default 2s.
	CommitSyncDelay time.Duration
	// SyncTimeout bounds one catch-up request, answer included. Default 10s.
	SyncTimeout time.Duration
	// SyncServeRate bounds the catch-up requests served per peer and second (burst: twice as many).
	// Default 5.
	SyncServeRate float64
	// DialTimeout bounds one connection attempt to a bootstrap peer. Default 5s.
	DialTimeout time.Duration
	// RedialMax is the longest wait between attempts to reach a bootstrap peer; the wait starts at 1s
	// and doubles. Default 1m.
	RedialMax time.Duration
	// Logger receives the node's log. Default: discard.
	Logger *slog.Logger

	// Knobs for tests: the gossipsub heartbeat (default 1s) and how often peer scores are copied for
	// Scores (default 1s).
	heartbeat    time.Duration
	scoreInspect time.Duration
}

// ErrConfig is returned by New for an invalid configuration.
var ErrConfig = errors.New("p2p: invalid config")

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/26680"}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxPending == 0 {
		c.MaxPending = 1024
	}
	def(&c.PendingTTL, 30*time.Second)
	def(&c.PendingPoll, time.Second)
	def(&c.SyncInterval, time.Minute)
	def(&c.ResyncInterval, 30*time.Second)
	def(&c.SyncTimeout, 10*time.Second)
	def(&c.CommitSyncDelay, 2*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.RedialMax, time.Minute)
	def(&c.heartbeat, time.Second)
	def(&c.scoreInspect, time.Second)
	if c.SyncServeRate == 0 {
		c.SyncServeRate = 5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks a configuration that has its defaults.
func (c Config) validate() error {
	switch {
	case c.ChainID == "" || len(c.ChainID) > 50:
		return fmt.Errorf("%w: chain ID %q", ErrConfig, c.ChainID)
	case len(c.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("%w: key of %d bytes, want an ed25519 private key", ErrConfig, len(c.Key))
	case c.MaxPending < 0 || c.MaxPending > 1<<16:
		return fmt.Errorf("%w: max pending %d, want 0 to 65536", ErrConfig, c.MaxPending)
	case c.PendingTTL < 0 || c.PendingPoll < 0 || c.SyncInterval < 0 || c.ResyncInterval < 0 ||
		c.SyncTimeout < 0 || c.CommitSyncDelay < 0 || c.DialTimeout < 0 || c.RedialMax < time.Second:
		return fmt.Errorf("%w: negative duration, or redial max under 1s", ErrConfig)
	case c.SyncServeRate < 0:
		return fmt.Errorf("%w: sync serve rate %v", ErrConfig, c.SyncServeRate)
	}
	return CheckAddrs(c.ListenAddrs, c.Bootstrap, c.AllowedPeers)
}

// bootstrapPeers parses Bootstrap, merging addresses of the same peer.
func (c Config) bootstrapPeers() ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, s := range c.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap peer %q: %v", ErrConfig, s, err)
		}
		if i, ok := index[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(out)
		out = append(out, *ai)
	}
	return out, nil
}

// allowedPeers returns the set of peers that may connect, nil for anyone.
func (c Config) allowedPeers() (map[peer.ID]bool, error) {
	if len(c.AllowedPeers) == 0 {
		return nil, nil
	}
	set := map[peer.ID]bool{}
	for _, s := range c.AllowedPeers {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("%w: allowed peer %q: %v", ErrConfig, s, err)
		}
		set[id] = true
	}
	bs, err := c.bootstrapPeers()
	if err != nil {
		return nil, err
	}
	for _, ai := range bs {
		set[ai.ID] = true
	}
	return set, nil
}

// PeerID returns the libp2p peer ID of a node whose Config.Key has the public key pub, as it appears
// in bootstrap addresses (…/p2p/<peer ID>).
func PeerID(pub ed25519.PublicKey) (string, error) {
	k, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("p2p: peer ID: %w", err)
	}
	id, err := peer.IDFromPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("p2p: peer ID: %w", err)
	}
	return id.String(), nil
}

// Topic returns the gossipsub topic of a chain's metadata.
func Topic(chainID string) string { return "/siegel/" + chainID + "/meta/1" }

// SyncProtocol returns the protocol ID of a chain's catch-up protocol.
func SyncProtocol(chainID string) string { return "/siegel/" + chainID + "/meta-sync/1" }

// CheckAddrs checks listen multiaddrs, bootstrap peers and allowed peer IDs as New does, so that a
// node's configuration can be checked before anything starts.
func CheckAddrs(listen, bootstrap, allowed []string) error {
	for _, a := range listen {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("%w: listen address %q: %v", ErrConfig, a, err)
		}
	}
	c := Config{Bootstrap: bootstrap, AllowedPeers: allowed}
	if _, err := c.bootstrapPeers(); err != nil {
		return err
	}
	_, err := c.allowedPeers()
	return err
}
