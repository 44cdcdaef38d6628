package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestClientFlagErrors checks the TLS flags' mistakes, which are refused before anything is sent.
func TestClientFlagErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "Flags CA")
	cliCert, cliKey := ca.issue(t, clientSpec("flags-client"))
	_, otherKey := ca.issue(t, clientSpec("flags-other"))
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("no PEM here"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	hash := strings.Repeat("ab", 32)
	const node = "https://127.0.0.1:1" // nothing is sent: the flags fail first
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"certificate without key", []string{"--node", node, "--client-cert", cliCert}, nil, []string{"--client-cert is given without --client-key (or SIEGEL_CLIENT_KEY)"}},
		{"key without certificate (env)", []string{"--node", node}, map[string]string{envClientKey: cliKey}, []string{envClientKey + " is given without --client-cert (or SIEGEL_CLIENT_CERT)"}},
		{"TLS flag with http://", []string{"--node", "http://127.0.0.1:1", "--ca-file", ca.File}, nil, []string{"--ca-file is given, but no --node URL is https://"}},
		{"missing CA file", []string{"--node", node, "--ca-file", missing}, nil, []string{"--ca-file: open " + missing, "no such file"}},
		{"CA file from the environment, not PEM", []string{"--node", node}, map[string]string{envCAFile: garbage}, []string{envCAFile + " " + garbage + ": no PEM certificate"}},
		{"key of another certificate", []string{"--node", node, "--client-cert", cliCert, "--client-key", otherKey}, nil,
			[]string{"--client-key " + otherKey + " does not hold the private key of the certificate in --client-cert " + cliCert}},
		{"missing key file", []string{"--node", node, "--client-cert", cliCert, "--client-key", missing}, nil, []string{"--client-key: open " + missing}},
		{"not a URL", []string{"--node", "127.0.0.1:8080"}, nil, []string{`--node "127.0.0.1:8080": want http://HOST:PORT or https://HOST:PORT`}},
		{"another scheme", []string{"--node", "ftp://127.0.0.1:8080"}, nil, []string{`--node "ftp://127.0.0.1:8080": want`}},
		{"no URL", []string{"--node", " , "}, nil, []string{"--node: no URL given"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out, code := runCLI(t, append([]string{"verify", "--hash", hash}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q: %s", w, out)
				}
			}
		})
	}

	// Settings from the environment are left unused, not refused, for http:// nodes: an agency that sets
	// them for its https node may still ask a plain one.
	t.Setenv(envCAFile, ca.File)
	var f tlsFlags
	if cfg, err := f.config([]string{"http://127.0.0.1:8080"}); err != nil || cfg != nil {
		t.Errorf("SIEGEL_CA_FILE with an http:// node: %v, %v", cfg, err)
	}
	if cfg, err := f.config([]string{"https://127.0.0.1:8080"}); err != nil || cfg == nil || cfg.RootCAs == nil {
		t.Errorf("SIEGEL_CA_FILE with an https:// node: %v, %v", cfg, err)
	}
}

// TestClientFlagsEverywhere: every command that talks to a node (has --node) takes the TLS flags.
func TestClientFlagsEverywhere(t *testing.T) {
	var all func(c *cobra.Command) []*cobra.Command
	all = func(c *cobra.Command) []*cobra.Command {
		out := []*cobra.Command{c}
		for _, s := range c.Commands() {
			out = append(out, all(s)...)
		}
		return out
	}
	n := 0
	for _, c := range all(newRootCmd()) {
		if c.Flags().Lookup("node") == nil {
			continue
		}
		n++
		for _, f := range []string{"ca-file", "client-cert", "client-key"} {
			if c.Flags().Lookup(f) == nil {
				t.Errorf("%s has --node but not --%s", c.CommandPath(), f)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d commands with --node found", n)
	}
}

// TestTLSHints checks the hints for a node whose certificate does not name the host in --node, and for
// https:// to a port that speaks plain HTTP.
func TestTLSHints(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) }))
	srv.Config.ErrorLog = newHTTPErrorLog(discardLogger(), "test")
	srv.StartTLS() // its certificate names example.com, 127.0.0.1 and ::1
	defer srv.Close()
	caFile := writePEM(t, t.TempDir(), "httptest.crt", "CERTIFICATE", srv.Certificate().Raw)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) }))
	defer plain.Close()
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		node string
		want []string
	}{
		{"host not in the certificate", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), []string{"x509: certificate is valid for", "connect to the node by a name its certificate holds (example.com, *.example.com, 127.0.0.1, ::1)"}},
		{"https to a plain port", strings.Replace(plain.URL, "http://", "https://", 1), []string{"server gave HTTP response to HTTPS client", "use an http:// URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runCLI(t, "verify", "--node", tc.node, "--ca-file", caFile, "--hash", hash)
			if code != 2 {
				t.Fatalf("exit %d: %s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q: %s", w, out)
				}
			}
		})
	}
}
