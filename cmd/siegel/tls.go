package main

// TLS on the node's HTTP listeners (public API, agency API, metrics): the siegel.toml options, and
// loading and checking the certificate, key and client CA files (tls_node.go serves and reloads them).

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tlsOptions are the TLS settings of siegel.toml (embedded in nodeConfig). A listener serves HTTPS when
// its certificate and key files are set, plain HTTP when neither is. Paths are relative to the home, or
// absolute.
type tlsOptions struct {
	// APITLSCertFile and APITLSKeyFile: the public listener's certificate (PEM, the leaf first, then
	// any intermediates) and its private key (PEM).
	APITLSCertFile string `toml:"api_tls_cert_file"`
	APITLSKeyFile  string `toml:"api_tls_key_file"`
	// AgencyTLSCertFile and AgencyTLSKeyFile: the agency listener's.
	AgencyTLSCertFile string `toml:"agency_tls_cert_file"`
	AgencyTLSKeyFile  string `toml:"agency_tls_key_file"`
	// AgencyClientCAFile, if set, makes the agency listener require a client certificate issued by one
	// of the CA certificates in this PEM file (tls.RequireAndVerifyClientCert). Needs the agency TLS
	// files.
	AgencyClientCAFile string `toml:"agency_client_ca_file"`
	// MetricsTLSCertFile and MetricsTLSKeyFile: the metrics listener's.
	MetricsTLSCertFile string `toml:"metrics_tls_cert_file"`
	MetricsTLSKeyFile  string `toml:"metrics_tls_key_file"`
	// TLSMinVersion is the oldest TLS version the listeners accept: "1.2" (default) or "1.3".
	TLSMinVersion string `toml:"tls_min_version"`
}

// tlsPollInterval is how often a node checks whether its certificate files changed.
const tlsPollInterval = 30 * time.Second

// tlsExpiryWarning is how long before its expiry a certificate is warned about at every load.
const tlsExpiryWarning = 21 * 24 * time.Hour

// tlsSpec is one listener's TLS settings, with the option names for messages.
type tlsSpec struct {
	listener                  string // public, agency or metrics: as in siegel_api_requests_total
	certKey, keyKey, caKey    string // the siegel.toml options
	certFile, keyFile, caFile string
}

func (o tlsOptions) specs() []tlsSpec {
	return []tlsSpec{
		{listener: "public", certKey: "api_tls_cert_file", keyKey: "api_tls_key_file",
			certFile: o.APITLSCertFile, keyFile: o.APITLSKeyFile},
		{listener: "agency", certKey: "agency_tls_cert_file", keyKey: "agency_tls_key_file", caKey: "agency_client_ca_file",
			certFile: o.AgencyTLSCertFile, keyFile: o.AgencyTLSKeyFile, caFile: o.AgencyClientCAFile},
		{listener: "metrics", certKey: "metrics_tls_cert_file", keyKey: "metrics_tls_key_file",
			certFile: o.MetricsTLSCertFile, keyFile: o.MetricsTLSKeyFile},
	}
}

func (o tlsOptions) minVersion() uint16 {
	if o.TLSMinVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// validate checks the options without reading the files (loadNodeTLS reads them, at start).
func (o tlsOptions) validate(metricsAddr string) error {
	for _, s := range o.specs() {
		if (s.certFile == "") != (s.keyFile == "") {
			return fmt.Errorf("config: %s and %s: set both (TLS on the %s listener) or neither (plain HTTP)", s.certKey, s.keyKey, s.listener)
		}
		if s.caFile != "" && s.certFile == "" {
			return fmt.Errorf("config: %s needs %s and %s: the %s listener asks for client certificates only over TLS", s.caKey, s.certKey, s.keyKey, s.listener)
		}
	}
	if o.MetricsTLSCertFile != "" && metricsAddr == "" {
		return errors.New("config: metrics_tls_cert_file is set but metrics_addr is empty (the metrics listener is off)")
	}
	if o.TLSMinVersion != "1.2" && o.TLSMinVersion != "1.3" {
		return fmt.Errorf("config: tls_min_version %q: want \"1.2\" or \"1.3\"", o.TLSMinVersion)
	}
	return nil
}

// homePath resolves a path of siegel.toml: relative to the home, or absolute.
func homePath(home, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(home, p)
}

// listenerTLS serves one listener's certificate (and client CAs) and reloads them.
type listenerTLS struct {
	spec tlsSpec // paths resolved
	min  uint16
	log  *slog.Logger
	cur  atomic.Pointer[tlsMaterial]

	mu     sync.Mutex // serialises reloads; guards failed and seen
	failed [32]byte   // what the last failed reload read (or the error it got): not reported again
	seen   [32]byte   // what the last check read: a change is loaded once the next check reads it again
}

// tlsMaterial is what one load of the files gave.
type tlsMaterial struct {
	cert   tls.Certificate // Leaf set
	cas    *x509.CertPool  // nil: no client certificate asked for
	caList []*x509.Certificate
	digest [32]byte // of the files' contents
}

// read reads the listener's files and returns their contents and a digest of them.
func (l *listenerTLS) read() (cert, key, ca []byte, digest [32]byte, err error) {
	h := sha256.New()
	readOne := func(option, path string) ([]byte, error) {
		if path == "" {
			return nil, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", option, err)
		}
		fmt.Fprintf(h, "%s %d\n", option, len(b))
		h.Write(b)
		return b, nil
	}
	if cert, err = readOne(l.spec.certKey, l.spec.certFile); err != nil {
		return
	}
	if key, err = readOne(l.spec.keyKey, l.spec.keyFile); err != nil {
		return
	}
	if ca, err = readOne(l.spec.caKey, l.spec.caFile); err != nil {
		return
	}
	copy(digest[:], h.Sum(nil))
	return
}

// pemTypes lists the PEM block types in b.
func pemTypes(b []byte) []string {
	var types []string
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return types
		}
		types = append(types, blk.Type)
	}
}

// parseCerts parses every CERTIFICATE block of a PEM file.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
}

// keyPair checks a certificate (certs, parsed from certPEM; at least one) and its private key, and
// pairs them. certName and keyName say where they come from ("--client-cert FILE"); usage is what the
// certificate must be for: a certificate with extended key usages must list it.
func keyPair(certPEM, keyPEM []byte, certs []*x509.Certificate, certName, keyName string, usage x509.ExtKeyUsage) (tls.Certificate, error) {
	leaf := certs[0]
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, usage) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		what := map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "servers: its extended key usage lacks serverAuth",
			x509.ExtKeyUsageClientAuth: "clients: its extended key usage lacks clientAuth"}[usage]
		return tls.Certificate{}, fmt.Errorf("%s: the certificate (%s) is not for TLS %s", certName, leaf.Subject, what)
	}
	if !slices.ContainsFunc(pemTypes(keyPEM), func(t string) bool { return strings.Contains(t, "PRIVATE KEY") }) {
		return tls.Certificate{}, fmt.Errorf("%s: no PEM private key in it (want -----BEGIN PRIVATE KEY----- or an RSA or EC private key)", keyName)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return tls.Certificate{}, fmt.Errorf("%s does not hold the private key of the certificate in %s", keyName, certName)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("%s and %s: %w", certName, keyName, err)
	}
	pair.Leaf = leaf
	return pair, nil
}

// parseCertFile parses the certificates of a PEM file, with messages that name it.
func parseCertFile(name string, b []byte) ([]*x509.Certificate, error) {
	certs, err := parseCerts(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(certs) == 0 {
		if slices.ContainsFunc(pemTypes(b), func(t string) bool { return strings.Contains(t, "PRIVATE KEY") }) {
			return nil, fmt.Errorf("%s holds a private key, not a certificate (are the certificate and key swapped?)", name)
		}
		return nil, fmt.Errorf("%s: no PEM certificate in it (want -----BEGIN CERTIFICATE-----)", name)
	}
	return certs, nil
}

// parse checks the files' contents and builds what the listener serves.
func (l *listenerTLS) parse(certPEM, keyPEM, caPEM []byte, digest [32]byte) (*tlsMaterial, error) {
	s := l.spec
	certs, err := parseCertFile(s.certKey+" "+s.certFile, certPEM)
	if err != nil {
		return nil, err
	}
	pair, err := keyPair(certPEM, keyPEM, certs, s.certKey+" "+s.certFile, s.keyKey+" "+s.keyFile, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	m := &tlsMaterial{cert: pair, digest: digest}
	if s.caFile != "" {
		cas, err := parseCertFile(s.caKey+" "+s.caFile, caPEM)
		if err != nil {
			return nil, err
		}
		m.cas, m.caList = x509.NewCertPool(), cas
		for _, c := range cas {
			m.cas.AddCert(c)
		}
	}
	return m, nil
}

// reload reads the files and, if they differ from what the listener serves and hold a valid certificate
// and key, serves them from the next handshake on (connections already open keep theirs). Unless force
// is set (at start and on SIGHUP), files that changed are loaded only when the next check finds them
// unchanged, so that a certificate and key written one after the other are not taken half-way. A
// reload that fails keeps what is served; unless force is set, it is not tried (nor reported) again
// until the files change once more. It returns whether the listener now serves something new.
func (l *listenerTLS) reload(force bool) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	certPEM, keyPEM, caPEM, digest, err := l.read()
	if err != nil {
		digest = sha256.Sum256([]byte(err.Error()))
	}
	seen := l.seen
	l.seen = digest
	if cur := l.cur.Load(); cur != nil && cur.digest == digest {
		return false, nil
	}
	if !force && (digest == l.failed || digest != seen) {
		return false, nil
	}
	var m *tlsMaterial
	if err == nil {
		m, err = l.parse(certPEM, keyPEM, caPEM, digest)
	}
	if err != nil {
		l.failed = digest
		return false, err
	}
	l.failed = [32]byte{}
	l.cur.Store(m)
	l.report(m)
	return true, nil
}

// report logs what the listener serves now, and warns about certificates that are not valid now or
// soon. A certificate is never refused for its dates: the node starts (and keeps its validator voting)
// and says so at error level; siegel_tls_certificate_expiry_timestamp_seconds tells monitoring.
func (l *listenerTLS) report(m *tlsMaterial) {
	leaf, now := m.cert.Leaf, time.Now()
	attrs := []any{"listener", l.spec.listener, "file", l.spec.certFile, "subject", leaf.Subject.String(),
		"dns", leaf.DNSNames, "ips", ipStrings(leaf.IPAddresses), "not_after", leaf.NotAfter.UTC()}
	if m.cas != nil {
		attrs = append(attrs, "client_cas", len(m.caList))
	}
	l.log.Info("TLS certificate loaded", attrs...)
	switch {
	case now.After(leaf.NotAfter):
		l.log.Error("TLS certificate has expired: clients refuse it; install a new one and send SIGHUP", "listener", l.spec.listener, "file", l.spec.certFile, "not_after", leaf.NotAfter.UTC())
	case now.Before(leaf.NotBefore):
		l.log.Error("TLS certificate is not valid yet: clients refuse it", "listener", l.spec.listener, "file", l.spec.certFile, "not_before", leaf.NotBefore.UTC())
	case leaf.NotAfter.Sub(now) < tlsExpiryWarning:
		l.log.Warn("TLS certificate expires soon", "listener", l.spec.listener, "file", l.spec.certFile, "not_after", leaf.NotAfter.UTC())
	}
	for _, ca := range m.caList {
		if now.After(ca.NotAfter) {
			l.log.Error("client CA certificate has expired: the client certificates it issued are refused", "listener", l.spec.listener, "file", l.spec.caFile, "subject", ca.Subject.String(), "not_after", ca.NotAfter.UTC())
		}
	}
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
