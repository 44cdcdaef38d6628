package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTLSNode runs a node with TLS on all three listeners and client certificates on the agency
// listener (a throwaway CA made here), and talks to it the way agencies, citizens and Prometheus do.
func TestTLSNode(t *testing.T) {
	home, lf := newDevHome(t)
	dir := t.TempDir()
	ca := newTestCA(t, dir, "Siegel Test CA")
	other := newTestCA(t, dir, "Other CA")
	srvCert, srvKey := ca.issue(t, serverSpec("node"))
	cliCert, cliKey := ca.issue(t, clientSpec("gym-musterstadt"))
	strangerCert, strangerKey := other.issue(t, clientSpec("stranger"))
	// The agency listener's files live in the home and are named relative to it.
	if err := os.MkdirAll(filepath.Join(home, "config", "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{srvCert: "agency.crt", srvKey: "agency.key", ca.File: "agencies-ca.crt"} {
		copyFile(t, from, filepath.Join(home, "config", "tls", to))
	}
	var logs logBuffer
	n := startNodeWith(t, home, lf, &logs, func(c *nodeConfig) {
		c.tlsOptions = tlsOptions{
			APITLSCertFile: srvCert, APITLSKeyFile: srvKey,
			AgencyTLSCertFile: "config/tls/agency.crt", AgencyTLSKeyFile: "config/tls/agency.key", AgencyClientCAFile: "config/tls/agencies-ca.crt",
			MetricsTLSCertFile: srvCert, MetricsTLSKeyFile: srvKey,
			TLSMinVersion: "1.2",
		}
	})
	for _, u := range []string{n.r.APIURL, n.r.AgencyURL, n.r.MetricsURL} {
		if !strings.HasPrefix(u, "https://") {
			t.Fatalf("listener URL %s is not https", u)
		}
	}
	key := filepath.Join(home, devKeyFile)
	doc := filepath.Join(t.TempDir(), "zeugnis.pdf")
	if err := os.WriteFile(doc, []byte("Zeugnis über TLS"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("Zeugnis über TLS"))
	hash := hex.EncodeToString(sum[:])
	tlsArgs := []string{"--ca-file", ca.File, "--client-cert", cliCert, "--client-key", cliKey}

	t.Run("anchor with a client certificate", func(t *testing.T) {
		out, code := runCLI(t, append([]string{"anchor", "--node", n.r.AgencyURL, "--key", key, doc}, tlsArgs...)...)
		if code != 0 || !strings.Contains(out, "committed at height") {
			t.Fatalf("anchor: exit %d: %s", code, out)
		}
	})
	t.Run("settings from the environment", func(t *testing.T) {
		t.Setenv(envCAFile, ca.File)
		t.Setenv(envClientCert, cliCert)
		t.Setenv(envClientKey, cliKey)
		out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", key, "--hash", strings.Repeat("ab", 32))
		if code != 0 || !strings.Contains(out, "committed at height") {
			t.Fatalf("anchor with SIEGEL_* settings: exit %d: %s", code, out)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no client certificate", []string{"--ca-file", ca.File}, []string{"certificate required", "requires a client certificate", "--client-cert"}},
		{"a client certificate from another CA", []string{"--ca-file", ca.File, "--client-cert", strangerCert, "--client-key", strangerKey},
			[]string{"unknown certificate authority", "refused the client certificate", strangerCert}},
		{"the node's CA not trusted", []string{"--client-cert", cliCert, "--client-key", cliKey}, []string{"certificate signed by unknown authority", "--ca-file"}},
		{"a server certificate as client certificate", []string{"--ca-file", ca.File, "--client-cert", srvCert, "--client-key", srvKey}, []string{"not for TLS clients", "clientAuth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, code := runCLI(t, append([]string{"anchor", "--node", n.r.AgencyURL, "--key", key, "--hash", strings.Repeat("cd", 32)}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, out)
			}
			t.Logf("siegel anchor %s:\n%s", strings.Join(tc.args, " "), out)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("failed after %v: a TLS failure must not be retried", d)
			}
		})
	}
	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		plain := "http://" + strings.TrimPrefix(n.r.AgencyURL, "https://")
		out, code := runCLI(t, "anchor", "--node", plain, "--key", key, "--hash", strings.Repeat("ef", 32))
		if code != 2 || !strings.Contains(out, "use an https:// URL") {
			t.Fatalf("exit %d: %s", code, out)
		}
		t.Logf("siegel anchor --node %s:\n%s", plain, out)
		resp, err := http.Get("http://" + strings.TrimPrefix(n.r.APIURL, "https://") + "/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the public TLS port: %d, want 400", resp.StatusCode)
		}
	})

	t.Run("verify over TLS", func(t *testing.T) {
		out, code := runCLI(t, "verify", "--node", n.r.APIURL, "--ca-file", ca.File, doc)
		if code != 0 || !strings.Contains(out, "GENUINE") {
			t.Fatalf("verify: exit %d: %s", code, out)
		}
		if out, code := runCLI(t, "receipt", "get", "--node", n.r.APIURL, "--ca-file", ca.File, "--hash", hash); code != 0 || !strings.Contains(out, hash) {
			t.Fatalf("receipt get: exit %d: %s", code, out)
		}
		if out, code := runCLI(t, "agency", "list", "--node", n.r.APIURL, "--ca-file", ca.File); code != 0 || !strings.Contains(out, devAgencyID) {
			t.Fatalf("agency list: exit %d: %s", code, out)
		}
	})
	t.Run("verify with the system's roots", func(t *testing.T) {
		// A separate process, whose system roots are the test CA alone.
		cmd := exec.Command(os.Args[0], "verify", "--node", n.r.APIURL, "--hash", hash)
		cmd.Env = append(os.Environ(), "SIEGEL_TEST_EXEC=1", "SSL_CERT_FILE="+ca.File, "SSL_CERT_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "GENUINE") {
			t.Fatalf("verify: %v: %s", err, out)
		}
		cmd = exec.Command(os.Args[0], "verify", "--node", n.r.APIURL, "--hash", hash)
		cmd.Env = append(os.Environ(), "SIEGEL_TEST_EXEC=1", "SSL_CERT_FILE="+other.File, "SSL_CERT_DIR="+t.TempDir())
		out, err = cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "not issued by a CA this machine trusts") {
			t.Fatalf("verify against other roots: %v: %s", err, out)
		}
	})

	t.Run("metrics over TLS", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}, ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}
		resp, err := hc.Get(n.r.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range []string{"public", "agency", "metrics"} {
			if !strings.Contains(string(b), `siegel_tls_certificate_expiry_timestamp_seconds{listener="`+l+`"}`) {
				t.Errorf("the scrape has no certificate expiry for the %s listener", l)
			}
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2 over TLS", resp.Proto)
		}
	})

	t.Run("TLS versions", func(t *testing.T) {
		addr := strings.TrimPrefix(n.r.APIURL, "https://")
		if _, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
			t.Error("a TLS 1.1 handshake succeeded")
		}
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool(), MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS 1.2: %v", err)
		}
		c.Close()
	})

	t.Run("the log", func(t *testing.T) {
		recs := logs.records(t)
		if got := find(recs, "submission", func(r map[string]any) bool {
			return r["agency"] == devAgencyID && r["status"] == "committed" && strings.Contains(r["client_cert"].(string), "gym-musterstadt")
		}); len(got) == 0 {
			t.Errorf("no submission line with the agency and the client certificate:\n%s", logs.String())
		}
		if got := find(recs, "TLS handshake failed", func(r map[string]any) bool {
			return r["listener"] == "agency" && r["level"] == "INFO" && strings.Contains(r["err"].(string), "certificate")
		}); len(got) == 0 {
			t.Errorf("no line for the refused client certificates:\n%s", logs.String())
		}
		if got := find(recs, "TLS certificate loaded", func(r map[string]any) bool { return r["listener"] == "agency" && r["client_cas"] == 1.0 }); len(got) != 1 {
			t.Errorf("%d lines for the agency certificate loaded, want 1", len(got))
		}
	})

	t.Run("rotation on SIGHUP", func(t *testing.T) {
		agencyAddr := strings.TrimPrefix(n.r.AgencyURL, "https://")
		pair, err := tls.LoadX509KeyPair(cliCert, cliKey)
		if err != nil {
			t.Fatal(err)
		}
		before := peerSerial(t, agencyAddr, ca, &pair)
		newCert, newKey := ca.issue(t, serverSpec("node-2027"))
		copyFile(t, newCert, filepath.Join(home, "config", "tls", "agency.crt"))
		copyFile(t, newKey, filepath.Join(home, "config", "tls", "agency.key"))
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for peerSerial(t, agencyAddr, ca, &pair).Cmp(before) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the agency listener still serves the old certificate 10 s after SIGHUP")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := peerSerial(t, strings.TrimPrefix(n.r.APIURL, "https://"), ca, nil); got.Cmp(before) != 0 {
			t.Error("the public listener's certificate changed, but its files did not")
		}
		// The listener works on with the new certificate.
		out, code := runCLI(t, append([]string{"anchor", "--node", n.r.AgencyURL, "--key", key, "--hash", strings.Repeat("12", 32)}, tlsArgs...)...)
		if code != 0 {
			t.Fatalf("anchor after the rotation: exit %d: %s", code, out)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write and rename, as a careful operator (or cert-manager) does.
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}
