package main

// The TLS of a running node: each listener's tls.Config, serving, reloading on SIGHUP and when the files
// change, the expiry metric, and the HTTP servers' error logs.

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serverConfig is the listener's tls.Config: each handshake takes the certificate and client CAs
// loaded last. TLS 1.2 at least (1.3 with tls_min_version = "1.3"), Go's default cipher suites.
func (l *listenerTLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: l.min,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := l.cur.Load()
			c := &tls.Config{
				MinVersion:   l.min,
				Certificates: []tls.Certificate{m.cert},
				NextProtos:   []string{"h2", "http/1.1"}, // what http.Server.ServeTLS offers by default
			}
			if m.cas != nil {
				c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, m.cas
				// Every connection shows its certificate to the CAs loaded now: no resumption of a
				// session that a CA since removed let in.
				c.SessionTicketsDisabled = true
			}
			return c, nil
		},
	}
}

// nodeTLS is the TLS of a node's listeners.
type nodeTLS struct {
	log       *slog.Logger
	listeners []*listenerTLS // the listeners with TLS, in the order public, agency, metrics
}

// loadNodeTLS reads and checks the certificate files of every listener with TLS. c is validated.
func loadNodeTLS(home string, c nodeConfig, logger *slog.Logger) (*nodeTLS, error) {
	n := &nodeTLS{log: logger}
	for _, s := range c.tlsOptions.specs() {
		if s.certFile == "" {
			continue
		}
		s.certFile, s.keyFile, s.caFile = homePath(home, s.certFile), homePath(home, s.keyFile), homePath(home, s.caFile)
		l := &listenerTLS{spec: s, min: c.tlsOptions.minVersion(), log: logger}
		if _, err := l.reload(true); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		n.listeners = append(n.listeners, l)
	}
	return n, nil
}

func (n *nodeTLS) listener(name string) *listenerTLS {
	for _, l := range n.listeners {
		if l.spec.listener == name {
			return l
		}
	}
	return nil
}

// scheme is the URL scheme of a listener: https or http.
func (n *nodeTLS) scheme(listener string) string {
	if n.listener(listener) != nil {
		return "https"
	}
	return "http"
}

// configure sets up s, the server of the named listener: TLS if it has any, and an error log that
// tells the listener and turns failed TLS handshakes into structured lines.
func (n *nodeTLS) configure(s *http.Server, listener string) {
	if l := n.listener(listener); l != nil {
		s.TLSConfig = l.serverConfig()
	}
	s.ErrorLog = newHTTPErrorLog(n.log, listener)
}

// serveHTTP serves s on l, over TLS if s has a TLS configuration.
func serveHTTP(s *http.Server, l net.Listener) error {
	if s.TLSConfig != nil {
		return s.ServeTLS(l, "", "")
	}
	return s.Serve(l)
}

// reloadAll reloads every listener's files. force (SIGHUP) reads them even if they were tried before.
func (n *nodeTLS) reloadAll(force bool) {
	if force && len(n.listeners) == 0 {
		n.log.Info("SIGHUP: no listener has TLS, nothing to reload")
		return
	}
	for _, l := range n.listeners {
		changed, err := l.reload(force)
		switch {
		case err != nil:
			n.log.Error("TLS reload failed: the listener keeps serving the certificate it had", "listener", l.spec.listener, "err", err)
		case force && !changed:
			n.log.Info("SIGHUP: TLS files unchanged", "listener", l.spec.listener)
		}
	}
}

// earlySIGHUP holds a SIGHUP that reached a node command before its node could reload anything
// (catchSIGHUP, called by main). Nil when main did not catch SIGHUP (tests that call runNode).
var earlySIGHUP chan os.Signal

// catchSIGHUP takes SIGHUP from now until the process ends and queues it for the node's TLS reload.
// main calls it first thing for the node commands (start, dev): Go's default for SIGHUP is to exit,
// and systemd counts a death by SIGHUP as a clean exit and would not restart the node, so a
// `systemctl reload siegel` during start-up (store open, handshake, block replay) must not kill it.
func catchSIGHUP() {
	earlySIGHUP = make(chan os.Signal, 1)
	signal.Notify(earlySIGHUP, syscall.SIGHUP)
}

// notifySIGHUP returns a channel that receives the SIGHUPs from now on, one already in it if the
// process got one since catchSIGHUP; stop ends the delivery to this channel. Several reloads asked
// before they can be done are done once.
func notifySIGHUP() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	if earlySIGHUP != nil {
		select {
		case s := <-earlySIGHUP:
			select {
			case c <- s:
			default: // one arrived since Notify: it is queued already
			}
		default:
		}
	}
	return c, func() { signal.Stop(c) }
}

// watch reloads the certificate files on each SIGHUP received on hup (nil: none) and when they change
// (checked every interval), until the returned function is called. A SIGHUP queued in hup before watch
// is called (during start-up) is applied at once. The node takes SIGHUP even without TLS, so that a
// reload never stops it.
func (n *nodeTLS) watch(interval time.Duration, hup <-chan os.Signal) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if len(n.listeners) > 0 {
			t := time.NewTicker(interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-quit:
				return
			case <-hup:
				n.reloadAll(true)
			case <-tick:
				n.reloadAll(false)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// register exports each TLS listener's certificate expiry.
func (n *nodeTLS) register(reg prometheus.Registerer) {
	for _, l := range n.listeners {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "siegel_tls_certificate_expiry_timestamp_seconds",
			Help:        "Unix time at which the TLS certificate a listener serves expires (after reloads: the one served now).",
			ConstLabels: prometheus.Labels{"listener": l.spec.listener},
		}, func() float64 { return float64(l.cur.Load().cert.Leaf.NotAfter.Unix()) }))
	}
}

// httpErrorLog is an http.Server's error log that writes structured lines: failed TLS handshakes as
// "TLS handshake failed" with the remote address and the reason (at info when it concerns certificates,
// versions or plain HTTP, so that an agency that cannot connect shows; at debug for connections that
// closed or sent garbage: probes and scanners), anything else at warn.
type httpErrorLog struct {
	log      *slog.Logger
	listener string
}

func newHTTPErrorLog(l *slog.Logger, listener string) *log.Logger {
	return log.New(httpErrorLog{log: l, listener: listener}, "", 0)
}

func (h httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	rest, ok := strings.CutPrefix(msg, "http: TLS handshake error from ")
	if !ok {
		h.log.Warn(msg, "listener", h.listener)
		return len(p), nil
	}
	remote, reason, _ := strings.Cut(rest, ": ")
	level := slog.LevelDebug
	for _, s := range []string{"certificate", "version", "HTTP request"} {
		if strings.Contains(reason, s) {
			level = slog.LevelInfo
		}
	}
	h.log.Log(context.Background(), level, "TLS handshake failed", "listener", h.listener, "remote", remote, "err", reason)
	return len(p), nil
}

// checkRPCAddr warns when CometBFT's RPC listens beyond loopback: Siegel puts no TLS or authentication
// in front of it (config.toml's rpc.tls_cert_file and rpc.tls_key_file give it TLS).
func checkRPCAddr(laddr string, logger *slog.Logger) {
	u, err := url.Parse(laddr)
	if laddr == "" || err != nil || u.Scheme == "unix" { // "": the RPC is off
		return
	}
	host := u.Hostname()
	if host == "localhost" {
		return
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return
	}
	logger.Warn("CometBFT RPC listens beyond loopback: it has no authentication; keep it on 127.0.0.1", "rpc", laddr)
}
