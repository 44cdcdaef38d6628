package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for tests: its certificate is in File.
type testCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string
}

var serial struct {
	sync.Mutex
	n int64
}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(time.Now().UnixNano() + serial.n)
}

func newTestKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePEM writes one PEM block to dir/name and returns the path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key := newTestKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name, Organization: []string{"Siegel tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := strings.ReplaceAll(strings.ToLower(name), " ", "-") + ".crt"
	return &testCA{dir: dir, cert: cert, key: key, File: writePEM(t, dir, file, "CERTIFICATE", der)}
}

// certSpec describes a certificate to issue.
type certSpec struct {
	name                string           // CommonName, and the files' base name
	usage               x509.ExtKeyUsage // serverAuth or clientAuth
	notBefore, notAfter time.Time        // zero: an hour ago, a day from now
}

// issue makes a key and a certificate for it and returns the two files. A server certificate is valid
// for 127.0.0.1 and localhost.
func (ca *testCA) issue(t *testing.T, s certSpec) (certFile, keyFile string) {
	t.Helper()
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(24 * time.Hour)
	}
	key := newTestKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: s.name},
		NotBefore: s.notBefore, NotAfter: s.notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{s.usage},
	}
	if s.usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses, tmpl.DNSNames = []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, ca.dir, s.name+".crt", "CERTIFICATE", der), writePEM(t, ca.dir, s.name+".key", "PRIVATE KEY", kder)
}

func serverSpec(name string) certSpec { return certSpec{name: name, usage: x509.ExtKeyUsageServerAuth} }
func clientSpec(name string) certSpec { return certSpec{name: name, usage: x509.ExtKeyUsageClientAuth} }

// pool returns a CertPool that trusts the CA.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// logBuffer collects a node's log lines; safe for the node and the test at once.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records parses the log as JSON lines, failing the test on a line that is not JSON.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// find returns the records with message msg for which ok holds.
func find(recs []map[string]any, msg string, ok func(map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg && (ok == nil || ok(r)) {
			out = append(out, r)
		}
	}
	return out
}

// startNodeWith runs the dev node of home with its siegel.toml changed by mod, logging to logw (JSON at
// info unless mod says otherwise), and waits until its listeners are up.
func startNodeWith(t *testing.T, home string, lf listenFlags, logw io.Writer, mod func(*nodeConfig)) *testNode {
	t.Helper()
	nc, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	lf.apply(&nc)
	nc.LogFormat, nc.LogLevel = "json", "info"
	nc.APIRateLimitExempt = append([]string(nil), loopback...)
	if mod != nil {
		mod(&nc)
	}
	if err := nc.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{home: home, lf: lf, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan running, 1)
	go func() { n.done <- runNode(ctx, home, nc, lf.overrides(), logw, func(r running) { ready <- r }) }()
	select {
	case n.r = <-ready:
	case err := <-n.done:
		t.Fatalf("node did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("node did not start within 60 s")
	}
	t.Cleanup(func() { n.stop(t) })
	return n
}

// peerSerial connects to addr over TLS (trusting ca) and returns the serial number of the certificate
// the server shows.
func peerSerial(t *testing.T, addr string, ca *testCA, client *tls.Certificate) *big.Int {
	t.Helper()
	cfg := &tls.Config{RootCAs: ca.pool()}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}
