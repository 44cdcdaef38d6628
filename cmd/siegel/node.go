package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
	"github.com/siegel-notary/siegel/store"
)

// consensusOverrides replace listen addresses of config.toml for one run (flags of start and dev).
type consensusOverrides struct {
	P2PAddr string
	RPCAddr string
}

// running describes a started node, for callers that print or test it.
type running struct {
	ChainID    string
	APIURL     string
	AgencyURL  string
	MetricsURL string
	// GossipID is the node's peer ID in the metadata gossip, GossipAddrs its multiaddrs (with /p2p/ID).
	GossipID    string
	GossipAddrs []string
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c nodeConfig, w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(c.LogLevel) // validated
	opts := &slog.HandlerOptions{Level: min(lvl, mustLevel(c.CometLogLevel))}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func mustLevel(s string) slog.Level {
	l, _ := parseLevel(s)
	return l
}

// listen opens a TCP listener, with a message that names the setting.
func listen(name, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, addr, err)
	}
	return l, nil
}

// runNode runs a node from home until ctx ends, then shuts it down cleanly. ready is called once all
// listeners are up. SIGHUP reloads the TLS files; one received during start-up is applied once the
// listeners are set up.
func runNode(ctx context.Context, home string, nc nodeConfig, ov consensusOverrides, logw io.Writer, ready func(running)) (err error) {
	// SIGHUP from now on is queued and applied once the listeners are set up (nt.watch): start-up can
	// take long (block replay), and a reload meanwhile must neither kill the node nor be lost.
	hup, stopHUP := notifySIGHUP()
	defer stopHUP()
	logger := newLogger(nc, logw)
	finishRestoreCheck(home, logger) // restorecheck.go: before CometBFT reads config.toml
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		return err
	}
	if ov.P2PAddr != "" {
		cc.P2P.ListenAddress = ov.P2PAddr
	}
	if ov.RPCAddr != "" {
		cc.RPC.ListenAddress = ov.RPCAddr
	}
	checkRPCAddr(cc.RPC.ListenAddress, logger)
	nt, err := loadNodeTLS(home, nc, logger) // bad certificate files fail the start before anything else
	if err != nil {
		return err
	}

	// Listeners first: a port in use fails the start before anything touches the databases.
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
		}
	}()
	apiL, err := listen("api_addr", nc.APIAddr)
	if err != nil {
		return err
	}
	lns = append(lns, apiL)
	agencyL, err := listen("agency_addr", nc.AgencyAddr)
	if err != nil {
		return err
	}
	lns = append(lns, agencyL)
	var metricsL net.Listener
	if nc.MetricsAddr != "" {
		if metricsL, err = listen("metrics_addr", nc.MetricsAddr); err != nil {
			return err
		}
		lns = append(lns, metricsL)
	}
	adminL, err := listenAdmin(home) // backup.go, status.go: the operator's socket
	if err != nil {
		return err
	}
	lns = append(lns, adminL)
	removeStaleBackups(home, logger) // admin.go: no other node runs on this home

	st, err := store.Open(filepath.Join(home, "data", "siegel"), store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	appReg := prometheus.NewRegistry()
	appReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cometReg := prometheus.NewRegistry()
	m := newAppMetrics(appReg)
	nt.register(appReg)
	m.watchStore(st)
	tracker := api.NewTracker()
	var gossip atomic.Pointer[p2p.Node] // set once the gossip runs; blocks commit before that
	a, err := app.New(st, app.Hooks{Committed: func(c app.Committed) {
		m.committed(c)
		tracker.Notify(outcomes(c))
		if g := gossip.Load(); g != nil {
			if docs := metaDocs(c); len(docs) > 0 {
				g.NotifyCommitted(docs)
			}
		}
		logCommitted(logger, c)
	}})
	if err != nil {
		return err
	}
	crash, err := crashSwitchFromEnv()
	if err != nil {
		return err
	}
	node, err := consensus.New(ctx, cc, &instrumented{App: a, m: m, crash: crash}, consensus.Options{
		Logger: logger, CometLogLevel: mustLevel(nc.CometLogLevel), Registerer: cometReg, FullNode: nc.FullNode,
	})
	if err != nil {
		return err
	}
	if err := node.Start(); err != nil {
		return err
	}
	defer func() {
		if serr := node.Stop(); serr != nil && err == nil {
			err = serr
		}
		logger.Info("node stopped")
	}()

	genesis, err := os.ReadFile(consensus.GenesisFile(home))
	if err != nil {
		return fmt.Errorf("read genesis: %w", err)
	}
	g, err := startGossip(ctx, home, nc, node.Status().ChainID, st, node, appReg, logger)
	if err != nil {
		return err
	}
	gossip.Store(g)
	defer func() {
		if cerr := g.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	b := &backend{st: st, app: a, node: node, genesis: genesis, gossip: g}
	rl := nc.rateLimit()
	rl.OnLimited = m.limited.Inc
	servers := []*http.Server{
		api.NewServer(nc.APIAddr, m.instrument("public", api.PublicHandler(b, api.PublicOptions{RateLimit: rl}, logger)), 15*time.Second, logger),
		// A publish waits up to metadata_wait for its anchor and then answers not_anchored: give it a
		// little longer than that, and the server's write timeout room for either wait.
		api.NewServer(nc.AgencyAddr, m.instrument("agency", api.AgencyHandler(b, tracker, api.AgencyOptions{
			CommitWait: nc.CommitWait.Duration, PublishWait: nc.MetadataWait.Duration + 5*time.Second}, logger)),
			max(nc.CommitWait.Duration, nc.MetadataWait.Duration+5*time.Second)+15*time.Second, logger),
	}
	if metricsL != nil {
		h := promhttp.HandlerFor(prometheus.Gatherers{appReg, cometReg}, promhttp.HandlerOpts{})
		mux := http.NewServeMux()
		mux.Handle("/metrics", h)
		servers = append(servers, api.NewServer(nc.MetricsAddr, mux, 15*time.Second, logger))
	}
	listenerNames := []string{"public", "agency", "metrics"}
	for i, s := range servers {
		nt.configure(s, listenerNames[i])
	}
	servers = append(servers, newAdminServer(home, node, st, logger)) // last, as its listener
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if err := serveHTTP(s, lns[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", s.Addr, err)
			}
		}()
	}
	defer nt.watch(tlsPollInterval, hup)()
	r := running{ChainID: node.Status().ChainID, APIURL: nt.scheme("public") + "://" + apiL.Addr().String(),
		AgencyURL: nt.scheme("agency") + "://" + agencyL.Addr().String()}
	if metricsL != nil {
		r.MetricsURL = nt.scheme("metrics") + "://" + metricsL.Addr().String() + "/metrics"
	}
	r.GossipAddrs, r.GossipID = g.Addrs(), g.ID().String()
	logger.Info("node started", "chain_id", r.ChainID, "gossip_id", r.GossipID, "api", r.APIURL, "agency_api", r.AgencyURL, "metrics", r.MetricsURL, "version", version)
	if ready != nil {
		ready(r)
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-errc:
		logger.Error("listener failed, shutting down", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	return err
}

// executable is how the user invoked siegel, for commands we print.
func executable() string {
	if p := os.Args[0]; strings.ContainsRune(p, filepath.Separator) {
		return p
	}
	return "siegel"
}
