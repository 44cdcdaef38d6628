package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestConfigErrors(t *testing.T) {
	good := testConfig("config")
	for _, tc := range []struct {
		name   string
		mutate func(c *Config)
	}{
		{"no chain ID", func(c *Config) { c.ChainID = "" }},
		{"no key", func(c *Config) { c.Key = nil }},
		{"bad listen address", func(c *Config) { c.ListenAddrs = []string{"127.0.0.1:26680"} }},
		{"bootstrap without peer ID", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1"} }},
		{"bad allowed peer", func(c *Config) { c.AllowedPeers = []string{"nobody"} }},
		{"negative pending", func(c *Config) { c.MaxPending = -1 }},
		{"negative TTL", func(c *Config) { c.PendingTTL = -time.Second }},
		{"short redial max", func(c *Config) { c.RedialMax = time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			n, err := New(context.Background(), c, newChain(), NewMemStore(), nil)
			if !errors.Is(err, ErrConfig) {
				if n != nil {
					_ = n.Close()
				}
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(context.Background(), good, nil, NewMemStore(), nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("New without a chain = %v, want ErrConfig", err)
	}
}

func TestIdentity(t *testing.T) {
	cfg := testConfig("identity")
	n := startNode(t, cfg, nil, nil)
	id, err := PeerID(cfg.Key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if id != n.ID().String() {
		t.Fatalf("PeerID = %s, node ID %s", id, n.ID())
	}
	addrs := n.Addrs()
	if len(addrs) == 0 || !strings.HasPrefix(addrs[0], "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(addrs[0], "/p2p/"+id) {
		t.Fatalf("Addrs = %v", addrs)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := n.CatchUp(context.Background()); err == nil {
		t.Fatalf("CatchUp on a closed node succeeded")
	}
}

// TestBootstrapReconnect drops the connection to a bootstrap peer: the node dials it again.
func TestBootstrapReconnect(t *testing.T) {
	a := startNode(t, testConfig("boot-a"), nil, nil)
	b := startNode(t, testConfig("boot-b", a), nil, nil)
	waitFor(t, 10*time.Second, "the first connection", func() bool { return b.Peers() == 1 })
	waitFor(t, 5*time.Second, "the peers gauge", func() bool { return b.metrics.get(func() int { return b.metrics.peers }) == 1 })
	for i := 0; i < 2; i++ {
		if err := a.host.Network().ClosePeer(b.ID()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the node to reconnect", func() bool { return b.Peers() == 1 })
	}
}

// TestBootstrapPeerLater starts a node whose bootstrap peer is not up yet: it connects once the peer
// comes up.
func TestBootstrapPeerLater(t *testing.T) {
	cfgA := testConfig("later-a")
	cfgA.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	a := startNode(t, cfgA, nil, nil)
	addr := a.Addrs()[0]
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	cfgB := testConfig("later-b")
	cfgB.Bootstrap = []string{addr}
	b := startNode(t, cfgB, nil, nil)
	time.Sleep(300 * time.Millisecond) // a first attempt fails
	cfgA.ListenAddrs = []string{strings.Split(addr, "/p2p/")[0]}
	startNode(t, cfgA, nil, nil)
	waitFor(t, 10*time.Second, "the node to reach its bootstrap peer", func() bool { return b.Peers() == 1 })
}

// TestAllowedPeers checks that only listed peers may connect.
func TestAllowedPeers(t *testing.T) {
	friendCfg := testConfig("friend")
	friendID, _ := PeerID(friendCfg.Key.Public().(ed25519.PublicKey))
	cfg := testConfig("gated")
	cfg.AllowedPeers = []string{friendID}
	gated := startNode(t, cfg, nil, nil)

	stranger, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stranger.Connect(ctx, peer.AddrInfo{ID: gated.ID(), Addrs: gated.host.Addrs()}); err == nil {
		waitFor(t, 5*time.Second, "the stranger to be cut off", func() bool { return gated.Peers() == 0 })
	}
	friend := startNode(t, testConfig("friend", gated), nil, nil)
	waitFor(t, 10*time.Second, "the friend to connect", func() bool { return friend.Peers() == 1 && gated.Peers() == 1 })
}
