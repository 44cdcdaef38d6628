package p2p

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/time/rate"
)

// Node is one Siegel node's metadata gossip: a libp2p host, gossipsub on the chain's metadata topic,
// and the catch-up protocol. It is safe for concurrent use.
type Node struct {
	cfg     Config
	chain   Chain
	store   MetaStore
	metrics Metrics
	log     *slog.Logger

	host      host.Host
	ps        *pubsub.PubSub
	topicName string
	topic     *pubsub.Topic
	relay     pubsub.RelayCancelFunc
	bootstrap []peer.AddrInfo
	pending   *pending
	recent    *recentSet
	replays   replayCounter
	penalties penalties

	// ctx ends when the node closes; wg waits for its goroutines.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connected    chan struct{} // a peer connected
	disconnected chan struct{} // a peer disconnected

	scoresMu sync.Mutex
	scores   map[peer.ID]float64

	sync syncState

	closeOnce sync.Once
	closeErr  error

	// inflight counts the calls that may still use the store (validations, Publish, catch-up serving),
	// so that Close returns only after the last; closing, under closeMu, turns new ones away.
	closeMu  sync.RWMutex
	closing  bool
	inflight sync.WaitGroup
}

// enter registers a call that may use the store; false once the node is closing.
func (n *Node) enter() bool {
	n.closeMu.RLock()
	defer n.closeMu.RUnlock()
	if n.closing {
		return false
	}
	n.inflight.Add(1)
	return true
}

func (n *Node) leave() { n.inflight.Done() }

// New starts a node: it listens, joins the topic, and starts connecting to the bootstrap peers and
// catching up in the background; it does not wait for the network. ctx is for the start only (New fails
// if it has ended); Close stops the node. metrics may be nil.
func New(ctx context.Context, cfg Config, chain Chain, store MetaStore, metrics Metrics) (*Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: start: %w", err)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if chain == nil || store == nil {
		return nil, fmt.Errorf("%w: chain and store are required", ErrConfig)
	}
	if metrics == nil {
		metrics = NopMetrics{}
	}
	bootstrap, _ := cfg.bootstrapPeers()
	allowed, _ := cfg.allowedPeers()
	key, err := crypto.UnmarshalEd25519PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %v", ErrConfig, err)
	}

	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(), // no global Prometheus registration
		libp2p.WithDialTimeout(cfg.DialTimeout),
	}
	if allowed != nil {
		opts = append(opts, libp2p.ConnectionGater(allowGater(allowed)))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: start host: %w", err)
	}

	nctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg: cfg, chain: chain, store: store, metrics: metrics,
		log:          cfg.Logger.With("component", "p2p"),
		host:         h,
		topicName:    Topic(cfg.ChainID),
		bootstrap:    bootstrap,
		pending:      newPending(cfg.MaxPending, metrics.Pending),
		recent:       newRecentSet(cfg.ReplayWindow),
		ctx:          nctx,
		cancel:       cancel,
		connected:    make(chan struct{}, 1),
		disconnected: make(chan struct{}, 1),
		scores:       map[peer.ID]float64{},
	}
	n.sync.init(cfg)
	h.SetStreamHandler(protocol.ID(SyncProtocol(cfg.ChainID)), n.serveSync)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF:    func(network.Network, network.Conn) { poke(n.connected) },
		DisconnectedF: func(network.Network, network.Conn) { poke(n.disconnected) },
	})
	if err := n.startPubSub(); err != nil {
		n.cancel()
		_ = h.Close()
		return nil, err
	}
	for _, ai := range bootstrap {
		h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
		h.ConnManager().Protect(ai.ID, "siegel-bootstrap")
	}
	n.goLoop(n.peerLoop)
	n.goLoop(n.pollLoop)
	n.goLoop(n.syncLoop)
	n.log.Info("p2p node started", "id", h.ID(), "addrs", n.Addrs(), "bootstrap", len(bootstrap))
	return n, nil
}

// startPubSub starts gossipsub with peer scoring, joins the topic and registers the validator.
func (n *Node) startPubSub() error {
	params, thresholds := scoreParams(n.topicName, n.penalties.score)
	gs := pubsub.DefaultGossipSubParams()
	gs.HeartbeatInterval = n.cfg.heartbeat
	// Validation waits for anchors: leave room for MaxPending waiting validations besides the others.
	concurrency := n.cfg.MaxPending + 256
	ps, err := pubsub.NewGossipSub(n.ctx, n.host,
		pubsub.WithGossipSubParams(gs),
		pubsub.WithPeerScore(params, thresholds),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.inspectScores), n.cfg.scoreInspect),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			// Content addressed: the same metadata from two peers is one message.
			h := sha256.Sum256(m.Data)
			return string(h[:])
		}),
		pubsub.WithSeenMessagesTTL(n.cfg.seenTTL),
		pubsub.WithMaxMessageSize(64<<10),
		pubsub.WithValidateQueueSize(256),
		pubsub.WithValidateThrottle(max(8192, concurrency)),
		pubsub.WithPeerExchange(false),
		// A node sends what it publishes to every peer in the topic, not only to its mesh: metadata is
		// sparse, the consortium small, and a mesh forms only at heartbeats after a peer connects.
		pubsub.WithFloodPublish(true),
	)
	if err != nil {
		return fmt.Errorf("p2p: start gossipsub: %w", err)
	}
	err = ps.RegisterTopicValidator(n.topicName, pubsub.ValidatorEx(n.validate),
		pubsub.WithValidatorConcurrency(concurrency),
		pubsub.WithValidatorTimeout(n.cfg.PendingTTL+n.cfg.SyncTimeout))
	if err != nil {
		return fmt.Errorf("p2p: register validator: %w", err)
	}
	t, err := ps.Join(n.topicName)
	if err != nil {
		return fmt.Errorf("p2p: join %s: %w", n.topicName, err)
	}
	// Relay, not Subscribe: the node is in the mesh and forwards, and the validator has done with each
	// message what there is to do.
	relay, err := t.Relay()
	if err != nil {
		return fmt.Errorf("p2p: relay %s: %w", n.topicName, err)
	}
	n.ps, n.topic, n.relay = ps, t, relay
	return nil
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Close stops the node and waits for its goroutines and for every call that may still use the store
// (validations, Publish, catch-up answers), so that the store can be closed after it. Messages waiting
// for their anchor are dropped.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.closeMu.Lock()
		n.closing = true
		n.closeMu.Unlock()
		n.cancel()
		if n.relay != nil {
			n.relay()
		}
		n.closeErr = n.host.Close()
		n.wg.Wait()
		n.inflight.Wait() // waiting validations end with n.ctx
	})
	return n.closeErr
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs returns the addresses other nodes can use as bootstrap peers: the listen addresses followed by
// /p2p/<peer ID>.
func (n *Node) Addrs() []string {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// Peers returns the number of connected peers.
func (n *Node) Peers() int { return len(n.host.Network().Peers()) }

// Scores returns the peer scores as gossipsub last computed them (refreshed every second).
func (n *Node) Scores() map[peer.ID]float64 {
	n.scoresMu.Lock()
	defer n.scoresMu.Unlock()
	return maps.Clone(n.scores)
}

func (n *Node) inspectScores(s map[peer.ID]float64) {
	n.scoresMu.Lock()
	defer n.scoresMu.Unlock()
	n.scores = s
}

// peerLoop keeps the bootstrap peers connected, redialling with exponential backoff, reports the
// number of peers and starts a full catch-up round when a peer connects.
func (n *Node) peerLoop() {
	type state struct {
		backoff time.Duration
		next    time.Time
	}
	states := make([]state, len(n.bootstrap))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		var wg sync.WaitGroup
		for i, ai := range n.bootstrap {
			st := &states[i]
			if n.host.Network().Connectedness(ai.ID) == network.Connected {
				st.backoff = 0
				continue
			}
			if now.Before(st.next) {
				continue
			}
			if st.backoff == 0 {
				st.backoff = time.Second
			} else {
				st.backoff = min(2*st.backoff, n.cfg.RedialMax)
			}
			// Jitter of ±25% keeps restarted nodes from dialling in step.
			st.next = now.Add(st.backoff*3/4 + rand.N(st.backoff/2+1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
				defer cancel()
				// This loop has its own backoff; the swarm's would add to it.
				if sw, ok := n.host.Network().(*swarm.Swarm); ok {
					sw.Backoff().Clear(ai.ID)
				}
				if err := n.host.Connect(ctx, ai); err != nil && n.ctx.Err() == nil {
					n.log.Debug("bootstrap peer unreachable", "peer", ai.ID, "err", err)
				}
			}()
		}
		wg.Wait()
		n.metrics.Peers(n.Peers())

		wait := n.cfg.RedialMax
		for i, ai := range n.bootstrap {
			if n.host.Network().Connectedness(ai.ID) != network.Connected {
				wait = min(wait, max(time.Until(states[i].next), 10*time.Millisecond))
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-n.ctx.Done():
			return
		case <-n.connected:
			n.metrics.Peers(n.Peers())
			n.sync.requestFull()
		case <-n.disconnected:
		case <-timer.C:
		}
	}
}

// pollLoop wakes the messages waiting for their anchor every PendingPoll, in case a commit was not
// notified.
func (n *Node) pollLoop() {
	t := time.NewTicker(n.cfg.PendingPoll)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			n.pending.wakeAll()
		}
	}
}

// allowGater admits connections from the listed peers only.
type allowGater map[peer.ID]bool

func (g allowGater) InterceptPeerDial(p peer.ID) bool                 { return g[p] }
func (g allowGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g[p] }
func (g allowGater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g allowGater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g[p]
}
func (g allowGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// errClosed is returned by operations on a closed node.
var errClosed = errors.New("p2p: node closed")

// rateLimiter returns a limiter for serving one peer's catch-up requests.
func (c Config) rateLimiter() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(c.SyncServeRate), max(1, int(2*c.SyncServeRate)))
}
