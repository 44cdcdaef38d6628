package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/p2p"
)

// nodeConfig is Siegel's own part of a node's configuration, in HOME/config/siegel.toml. CometBFT's
// part stays in HOME/config/config.toml.
type nodeConfig struct {
	// APIAddr is the public, read-only API and web page. Default 127.0.0.1:8080.
	APIAddr string `toml:"api_addr"`
	// AgencyAddr is the agency submission API. Keep it on an internal network. Default 127.0.0.1:8081.
	AgencyAddr string `toml:"agency_addr"`
	// MetricsAddr serves /metrics (Siegel's and CometBFT's); empty disables it. Default 127.0.0.1:26660.
	MetricsAddr string `toml:"metrics_addr"`
	// LogFormat is "text" or "json". LogLevel is Siegel's level, CometLogLevel CometBFT's
	// ("debug", "info", "warn", "error").
	LogFormat     string `toml:"log_format"`
	LogLevel      string `toml:"log_level"`
	CometLogLevel string `toml:"comet_log_level"`
	// CommitWait is how long a submission waits for its commit before answering "pending". Default 20s.
	CommitWait duration `toml:"commit_wait"`
	// APIRatePerSecond and APIRateBurst limit each client of the public API (an IP address; an IPv6
	// /64): requests per second, sustained, and at once after a pause. Defaults 20 and 60.
	APIRatePerSecond float64 `toml:"api_rate_per_second"`
	APIRateBurst     int     `toml:"api_rate_burst"`
	// APIRateLimitDisabled turns the limit off (when the reverse proxy in front limits already).
	APIRateLimitDisabled bool `toml:"api_rate_limit_disabled"`
	// APITrustedProxies are the reverse proxies (CIDRs or addresses) whose X-Forwarded-For names the
	// client of the public API. Default loopback: a proxy on the same host.
	APITrustedProxies []string `toml:"api_trusted_proxies"`
	// APIRateLimitExempt are clients (CIDRs or addresses) the limit never applies to (the operator's own
	// tools and monitoring). Default none; a testnet's nodes exempt loopback, for load tests. A client
	// named by a trusted proxy is judged by that address.
	APIRateLimitExempt []string `toml:"api_rate_limit_exempt"`

	// GossipListen are the libp2p multiaddrs of the metadata gossip. Default /ip4/127.0.0.1/tcp/26680;
	// a node of a real network listens on the address its peers reach.
	GossipListen []string `toml:"gossip_listen"`
	// GossipBootstrap are the other nodes of the network, as multiaddrs ending in /p2p/<peer ID> (siegel
	// gossip-id prints a node's). The node connects to them and reconnects whenever a connection drops.
	GossipBootstrap []string `toml:"gossip_bootstrap"`
	// GossipAllowedPeers, if set, are the only peer IDs (besides the bootstrap peers) that may connect:
	// restricted metadata then stays within the consortium.
	GossipAllowedPeers []string `toml:"gossip_allowed_peers"`
	// GossipKeyFile is the node's libp2p identity key, relative to the home. Default config/gossip.key.
	GossipKeyFile string `toml:"gossip_key_file"`
	// MetadataWait is how long metadata whose anchor is not committed yet waits for it. Default 30s.
	MetadataWait duration `toml:"metadata_wait"`
	// MetadataMaxPending bounds the metadata messages waiting for their anchor. Default 1024.
	MetadataMaxPending int `toml:"metadata_max_pending"`

	// FullNode makes the node a follower that never signs: a read replica (siegel init --full-node).
	// It has no validator key, and will not start if its home holds one. Default false.
	FullNode bool `toml:"full_node"`
	// TLS of the listeners: api_tls_*, agency_tls_*, agency_client_ca_file, metrics_tls_*,
	// tls_min_version (tls.go).
	tlsOptions
}

// loopback are the loopback networks: the default of api_trusted_proxies, and what a testnet exempts.
var loopback = []string{"127.0.0.0/8", "::1/128"}

type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func defaultNodeConfig() nodeConfig {
	return nodeConfig{
		APIAddr:       "127.0.0.1:8080",
		AgencyAddr:    "127.0.0.1:8081",
		MetricsAddr:   "127.0.0.1:26660",
		LogFormat:     "text",
		LogLevel:      "info",
		CometLogLevel: "warn",
		CommitWait:    duration{20 * time.Second},

		APIRatePerSecond:  api.DefaultRatePerSecond,
		APIRateBurst:      api.DefaultBurst,
		APITrustedProxies: append([]string(nil), loopback...),

		GossipListen:       []string{"/ip4/127.0.0.1/tcp/26680"},
		GossipKeyFile:      filepath.Join("config", "gossip.key"),
		MetadataWait:       duration{30 * time.Second},
		MetadataMaxPending: 1024,

		tlsOptions: tlsOptions{TLSMinVersion: "1.2"},
	}
}

func (c nodeConfig) validate() error {
	for name, a := range map[string]string{"api_addr": c.APIAddr, "agency_addr": c.AgencyAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("config: %s %q: want HOST:PORT", name, a)
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("config: metrics_addr %q: want HOST:PORT or empty", c.MetricsAddr)
		}
	}
	if c.APIAddr == c.AgencyAddr {
		return fmt.Errorf("config: api_addr and agency_addr must differ (both %s)", c.APIAddr)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("config: log_format %q: want text or json", c.LogFormat)
	}
	for name, l := range map[string]string{"log_level": c.LogLevel, "comet_log_level": c.CometLogLevel} {
		if _, err := parseLevel(l); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
	}
	if c.CommitWait.Duration < time.Second || c.CommitWait.Duration > 5*time.Minute {
		return fmt.Errorf("config: commit_wait %s: want 1s to 5m", c.CommitWait.Duration)
	}
	if !(c.APIRatePerSecond > 0 && c.APIRatePerSecond <= 1e6) {
		return fmt.Errorf("config: api_rate_per_second %v: want more than 0, at most 1000000", c.APIRatePerSecond)
	}
	if c.APIRateBurst < 1 || c.APIRateBurst > 1e6 {
		return fmt.Errorf("config: api_rate_burst %d: want 1 to 1000000", c.APIRateBurst)
	}
	if err := p2p.CheckAddrs(c.GossipListen, c.GossipBootstrap, c.GossipAllowedPeers); err != nil {
		return fmt.Errorf("config: gossip_listen, gossip_bootstrap or gossip_allowed_peers: %w", err)
	}
	if len(c.GossipListen) == 0 {
		return fmt.Errorf("config: gossip_listen: want at least one multiaddr, e.g. /ip4/0.0.0.0/tcp/26680")
	}
	if c.GossipKeyFile == "" {
		return fmt.Errorf("config: gossip_key_file: want a path (relative to the home)")
	}
	if c.MetadataWait.Duration < time.Second || c.MetadataWait.Duration > 10*time.Minute {
		return fmt.Errorf("config: metadata_wait %s: want 1s to 10m", c.MetadataWait.Duration)
	}
	if c.MetadataMaxPending < 1 || c.MetadataMaxPending > 1<<16 {
		return fmt.Errorf("config: metadata_max_pending %d: want 1 to 65536", c.MetadataMaxPending)
	}
	if err := c.tlsOptions.validate(c.MetricsAddr); err != nil {
		return err
	}
	for name, l := range map[string][]string{"api_trusted_proxies": c.APITrustedProxies, "api_rate_limit_exempt": c.APIRateLimitExempt} {
		if _, err := parsePrefixes(l); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
	}
	return nil
}

// rateLimit is the public API's rate limit as configured; c is validated.
func (c nodeConfig) rateLimit() api.RateLimit {
	trusted, _ := parsePrefixes(c.APITrustedProxies)
	exempt, _ := parsePrefixes(c.APIRateLimitExempt)
	return api.RateLimit{RatePerSecond: c.APIRatePerSecond, Burst: c.APIRateBurst, Disabled: c.APIRateLimitDisabled,
		TrustedProxies: trusted, Exempt: exempt}
}

// parsePrefixes parses CIDRs (10.0.0.0/8, fd00::/8) and single addresses (192.0.2.7).
func parsePrefixes(l []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range l {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q: want a CIDR (10.0.0.0/8) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func nodeConfigPath(home string) string { return filepath.Join(home, "config", "siegel.toml") }

// loadNodeConfig reads siegel.toml; keys it does not know are an error, missing keys keep defaults.
func loadNodeConfig(home string) (nodeConfig, error) {
	c := defaultNodeConfig()
	md, err := toml.DecodeFile(nodeConfigPath(home), &c)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("config: %s: unknown key %q", nodeConfigPath(home), und[0].String())
	}
	return c, c.validate()
}

const nodeConfigHeader = `# Siegel node settings. CometBFT's settings are in config.toml beside this file.
# api_addr:        public, read-only API and web page (put it behind your reverse proxy)
# agency_addr:     agency submission API (keep it on an internal network)
# metrics_addr:    Prometheus /metrics for Siegel and CometBFT ("" disables)
# log_format:      text or json; log_level / comet_log_level: debug, info, warn, error
# commit_wait:     how long a submission waits for its commit before answering "pending"
# api_rate_per_second, api_rate_burst: per-client limit of the public API (requests per second,
#                  sustained and at once); over it, 429 with Retry-After
# api_rate_limit_disabled: true turns that limit off (if your reverse proxy limits already)
# api_trusted_proxies: CIDRs of reverse proxies whose X-Forwarded-For names the client (the
#                  right-most address that is not one of them); from anyone else it is ignored
# api_rate_limit_exempt: CIDRs of clients never limited (your own tools and monitoring)
# gossip_listen:   libp2p multiaddrs for the metadata gossip between the nodes
# gossip_bootstrap: the other nodes, /ip4/HOST/tcp/PORT/p2p/PEER_ID ('siegel gossip-id' prints one)
# gossip_allowed_peers: if set, only these peer IDs (and the bootstrap peers) may connect
# gossip_key_file: this node's gossip identity key, relative to the home
# metadata_wait, metadata_max_pending: how long and how many metadata messages wait for their anchor
# full_node:       true for a read replica: follows the chain, never signs, holds no validator key
# api_tls_cert_file, api_tls_key_file, agency_tls_cert_file, agency_tls_key_file, metrics_tls_cert_file,
#                  metrics_tls_key_file: PEM certificate and key of a listener ("": plain HTTP); paths
#                  relative to the home or absolute; reloaded on SIGHUP and when they change
# agency_client_ca_file: PEM CA certificates; if set, the agency listener requires a client
#                  certificate that one of them issued
# tls_min_version: "1.2" or "1.3"

`

func saveNodeConfig(home string, c nodeConfig) error {
	f, err := os.OpenFile(nodeConfigPath(home), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(nodeConfigHeader); err != nil {
		return err
	}
	return toml.NewEncoder(f).Encode(c)
}
