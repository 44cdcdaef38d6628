package main

// The client side of TLS: the flags of every command that talks to a node (--node), and hints for the
// errors TLS gives.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/siegel-notary/siegel/api"
)

// The environment variables that stand in for the TLS flags.
const (
	envCAFile     = "SIEGEL_CA_FILE"
	envClientCert = "SIEGEL_CLIENT_CERT"
	envClientKey  = "SIEGEL_CLIENT_KEY"
)

// tlsFlags are the TLS flags of every command that talks to a node: the CA certificates that issued
// the node's certificate, and the client certificate for an agency listener that asks for one. Each
// falls back to its environment variable.
type tlsFlags struct {
	caFile, certFile, keyFile string
}

func (f *tlsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of the CA certificate(s) that issued the node's TLS certificate, trusted instead of the system's (env "+envCAFile+")")
	fs.StringVar(&f.certFile, "client-cert", "", "PEM client certificate, for a node that asks for one (env "+envClientCert+")")
	fs.StringVar(&f.keyFile, "client-key", "", "PEM private key of --client-cert (env "+envClientKey+")")
}

// tlsSetting is one TLS setting: its value, where it came from (for messages), and whether a flag gave
// it (rather than the environment).
type tlsSetting struct {
	value, name string
	flag        bool
}

func pick(flagValue, flagName, env string) tlsSetting {
	if flagValue != "" {
		return tlsSetting{value: flagValue, name: "--" + flagName, flag: true}
	}
	if v := os.Getenv(env); v != "" {
		return tlsSetting{value: v, name: env}
	}
	return tlsSetting{name: "--" + flagName + " (or " + env + ")"}
}

func (f *tlsFlags) settings() (ca, cert, key tlsSetting) {
	return pick(f.caFile, "ca-file", envCAFile), pick(f.certFile, "client-cert", envClientCert), pick(f.keyFile, "client-key", envClientKey)
}

// nodeURLs splits a --node value (comma-separated) and checks each URL.
func nodeURLs(nodes string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(nodes, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("--node %q: want http://HOST:PORT or https://HOST:PORT", s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("--node: no URL given")
	}
	return out, nil
}

// client returns an API client for the URLs in nodes (comma-separated), with the TLS settings.
func (f *tlsFlags) client(nodes string) (*api.Client, error) {
	urls, err := nodeURLs(nodes)
	if err != nil {
		return nil, err
	}
	cfg, err := f.config(urls)
	if err != nil {
		return nil, err
	}
	return api.NewClientWith(api.ClientOptions{TLS: cfg}, urls...), nil
}

// config builds the TLS configuration for urls from the flags and the environment; nil when nothing is
// set. A flag given for http:// URLs only is an error (the user meant TLS); an environment variable
// is then unused.
func (f *tlsFlags) config(urls []string) (*tls.Config, error) {
	ca, cert, key := f.settings()
	if ca.value == "" && cert.value == "" && key.value == "" {
		return nil, nil
	}
	if !slices.ContainsFunc(urls, func(u string) bool { return strings.HasPrefix(u, "https://") }) {
		for _, s := range []tlsSetting{ca, cert, key} {
			if s.flag {
				return nil, fmt.Errorf("%s is given, but no --node URL is https:// (%s)", s.name, strings.Join(urls, ","))
			}
		}
		return nil, nil
	}
	if cert.value != "" && key.value == "" {
		return nil, fmt.Errorf("%s is given without %s: give the client certificate's key too", cert.name, key.name)
	}
	if key.value != "" && cert.value == "" {
		return nil, fmt.Errorf("%s is given without %s: give the client certificate too", key.name, cert.name)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca.value != "" {
		b, err := os.ReadFile(ca.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ca.name, err)
		}
		certs, err := parseCertFile(ca.name+" "+ca.value, b)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			cfg.RootCAs.AddCert(c)
		}
	}
	if cert.value != "" {
		certPEM, err := os.ReadFile(cert.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cert.name, err)
		}
		keyPEM, err := os.ReadFile(key.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key.name, err)
		}
		certs, err := parseCertFile(cert.name+" "+cert.value, certPEM)
		if err != nil {
			return nil, err
		}
		pair, err := keyPair(certPEM, keyPEM, certs, cert.name+" "+cert.value, key.name+" "+key.value, x509.ExtKeyUsageClientAuth)
		if err != nil {
			return nil, err
		}
		// Sent whatever CAs the node names, so that a certificate it does not accept is refused with a
		// reason rather than silently left out.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cfg, nil
}

// hintError is an error with advice on what to do about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + "\nhint: " + e.hint }
func (e *hintError) Unwrap() error { return e.err }

// tlsHint explains an error from talking to a node whose cause is TLS (or its absence). cert and ca are
// the settings used.
func tlsHint(err error, ca, cert tlsSetting) error {
	var (
		ee      *exitError
		op      *net.OpError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		ae      *api.APIError
		hint    string
	)
	switch {
	case err == nil, errors.As(err, &ee):
		return err
	case errors.As(err, &op) && op.Op == "remote error": // a TLS alert: the node refused the handshake
		alert := op.Err.Error()
		switch {
		case strings.Contains(alert, "certificate required"), strings.Contains(alert, "certificate") && cert.value == "":
			hint = fmt.Sprintf("the node requires a client certificate: give --client-cert and --client-key (or set %s and %s)", envClientCert, envClientKey)
		case strings.Contains(alert, "certificate"):
			hint = fmt.Sprintf("the node refused the client certificate in %s %s: it must be issued by a CA that the node trusts (its agency_client_ca_file), be valid now, and be meant for clients", cert.name, cert.value)
		case strings.Contains(alert, "version"):
			hint = "the node and this client have no TLS version in common (the node may require TLS 1.3: tls_min_version)"
		}
	case errors.As(err, &unknown):
		if ca.value != "" {
			hint = fmt.Sprintf("the node's certificate is not issued by a CA in %s %s", ca.name, ca.value)
		} else {
			hint = fmt.Sprintf("the node's certificate is not issued by a CA this machine trusts: give the CA certificate with --ca-file (or set %s)", envCAFile)
		}
	case errors.As(err, &host):
		names := append(slices.Clone(host.Certificate.DNSNames), ipStrings(host.Certificate.IPAddresses)...)
		hint = fmt.Sprintf("connect to the node by a name its certificate holds (%s)", strings.Join(names, ", "))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		hint = "the node's certificate has expired or is not valid yet (or this machine's clock is wrong): tell the node's operator"
	case errors.Is(err, http.ErrSchemeMismatch):
		hint = "the node serves plain HTTP on that port: use an http:// URL"
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "HTTPS server"):
		hint = "the node serves TLS on that port: use an https:// URL"
	}
	if hint == "" {
		return err
	}
	return &hintError{err: err, hint: hint}
}

// addTLSHints wraps every command that has the TLS flags so that a TLS error it returns carries a hint.
func addTLSHints(c *cobra.Command) {
	for _, sub := range c.Commands() {
		addTLSHints(sub)
	}
	if c.RunE == nil || c.Flags().Lookup("client-cert") == nil {
		return
	}
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		fl := cmd.Flags()
		f := tlsFlags{caFile: fl.Lookup("ca-file").Value.String(), certFile: fl.Lookup("client-cert").Value.String()}
		ca, cert, _ := f.settings()
		return tlsHint(err, ca, cert)
	}
}
