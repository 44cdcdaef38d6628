package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSConfigValidate checks the TLS options that are wrong without reading any file.
func TestTLSConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(c *nodeConfig)
		want string
	}{
		{"certificate without key", func(c *nodeConfig) { c.APITLSCertFile = "a.crt" }, "api_tls_cert_file and api_tls_key_file: set both"},
		{"key without certificate", func(c *nodeConfig) { c.AgencyTLSKeyFile = "a.key" }, "agency_tls_cert_file and agency_tls_key_file: set both"},
		{"client CA without TLS", func(c *nodeConfig) { c.AgencyClientCAFile = "ca.crt" }, "agency_client_ca_file needs agency_tls_cert_file and agency_tls_key_file"},
		{"metrics TLS with metrics off", func(c *nodeConfig) {
			c.MetricsAddr, c.MetricsTLSCertFile, c.MetricsTLSKeyFile = "", "m.crt", "m.key"
		}, "metrics_tls_cert_file is set but metrics_addr is empty"},
		{"old TLS version", func(c *nodeConfig) { c.TLSMinVersion = "1.1" }, `tls_min_version "1.1": want "1.2" or "1.3"`},
		{"empty TLS version", func(c *nodeConfig) { c.TLSMinVersion = "" }, `tls_min_version "": want`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultNodeConfig()
			tc.mod(&c)
			err := c.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// And the same from siegel.toml.
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nodeConfigPath(home), []byte("agency_client_ca_file = \"ca.crt\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadNodeConfig(home); err == nil || !strings.Contains(err.Error(), "agency_client_ca_file needs") {
		t.Errorf("loadNodeConfig = %v", err)
	}
	for _, v := range []string{"1.2", "1.3"} {
		c := defaultNodeConfig()
		c.TLSMinVersion = v
		if err := c.validate(); err != nil {
			t.Errorf("tls_min_version %s: %v", v, err)
		}
	}
}

// TestTLSConfigFiles checks that every problem with the certificate files fails the start with an error
// that names the option, the file and the problem; and that a certificate past its dates is served
// with an error in the log rather than refused.
func TestTLSConfigFiles(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "Files CA")
	srvCert, srvKey := ca.issue(t, serverSpec("files-server"))
	_, otherKey := ca.issue(t, serverSpec("files-other"))
	cliCert, cliKey := ca.issue(t, clientSpec("files-client"))
	expCert, expKey := ca.issue(t, certSpec{name: "files-expired", usage: x509.ExtKeyUsageServerAuth,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.pem", "this is not PEM\n")
	badDER := write("bad-der.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})))
	missing := filepath.Join(dir, "missing.crt")

	for _, tc := range []struct {
		name string
		o    tlsOptions
		want []string
	}{
		{"missing certificate", tlsOptions{AgencyTLSCertFile: missing, AgencyTLSKeyFile: srvKey}, []string{"agency_tls_cert_file", missing, "no such file"}},
		{"missing key", tlsOptions{APITLSCertFile: srvCert, APITLSKeyFile: missing}, []string{"api_tls_key_file", missing, "no such file"}},
		{"missing client CA", tlsOptions{AgencyTLSCertFile: srvCert, AgencyTLSKeyFile: srvKey, AgencyClientCAFile: missing}, []string{"agency_client_ca_file", "no such file"}},
		{"relative path", tlsOptions{MetricsTLSCertFile: "config/tls/m.crt", MetricsTLSKeyFile: srvKey}, []string{"metrics_tls_cert_file", "config/tls/m.crt", "no such file"}},
		{"files swapped", tlsOptions{APITLSCertFile: srvKey, APITLSKeyFile: srvCert}, []string{"api_tls_cert_file " + srvKey, "holds a private key, not a certificate", "swapped"}},
		{"certificate not PEM", tlsOptions{APITLSCertFile: garbage, APITLSKeyFile: srvKey}, []string{"api_tls_cert_file " + garbage, "no PEM certificate"}},
		{"certificate not DER", tlsOptions{APITLSCertFile: badDER, APITLSKeyFile: srvKey}, []string{"api_tls_cert_file " + badDER, "certificate 1", "x509"}},
		{"key not PEM", tlsOptions{APITLSCertFile: srvCert, APITLSKeyFile: garbage}, []string{"api_tls_key_file " + garbage, "no PEM private key"}},
		{"key of another certificate", tlsOptions{AgencyTLSCertFile: srvCert, AgencyTLSKeyFile: otherKey},
			[]string{"agency_tls_key_file " + otherKey + " does not hold the private key of the certificate in agency_tls_cert_file " + srvCert}},
		{"client certificate as server certificate", tlsOptions{APITLSCertFile: cliCert, APITLSKeyFile: cliKey}, []string{"api_tls_cert_file", "not for TLS servers", "serverAuth"}},
		{"client CA file without certificates", tlsOptions{AgencyTLSCertFile: srvCert, AgencyTLSKeyFile: srvKey, AgencyClientCAFile: garbage},
			[]string{"agency_client_ca_file " + garbage, "no PEM certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultNodeConfig()
			tc.o.TLSMinVersion = "1.2"
			c.tlsOptions = tc.o
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			_, err := loadNodeTLS(dir, c, discardLogger())
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}

	t.Run("the start fails before any listener opens", func(t *testing.T) {
		home, lf := newDevHome(t)
		nc, err := loadNodeConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		lf.apply(&nc)
		nc.AgencyTLSCertFile, nc.AgencyTLSKeyFile = srvCert, otherKey
		err = runNode(context.Background(), home, nc, lf.overrides(), io.Discard, func(running) { t.Error("the node started") })
		if err == nil || !strings.Contains(err.Error(), "does not hold the private key") {
			t.Fatalf("runNode = %v", err)
		}
		l, err := listen("api_addr", nc.APIAddr) // the port is free: nothing was opened
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	})

	t.Run("expired certificate", func(t *testing.T) {
		var logs logBuffer
		c := defaultNodeConfig()
		c.APITLSCertFile, c.APITLSKeyFile = expCert, expKey
		nt, err := loadNodeTLS(dir, c, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("an expired certificate was refused: %v", err)
		}
		if nt.scheme("public") != "https" {
			t.Error("the public listener has no TLS")
		}
		if got := find(logs.records(t), "TLS certificate has expired: clients refuse it; install a new one and send SIGHUP", func(r map[string]any) bool {
			return r["level"] == "ERROR" && r["listener"] == "public" && r["file"] == expCert
		}); len(got) != 1 {
			t.Errorf("no error line for the expired certificate:\n%s", logs.String())
		}
	})
}

// TestTLSExampleConfig puts certificates where deploy/siegel.example.toml names them and loads its TLS
// settings as the node does at start.
func TestTLSExampleConfig(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config", "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nodeConfigPath(home), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadNodeConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, t.TempDir(), "Example CA")
	cert, key := ca.issue(t, serverSpec("example-agency"))
	for from, to := range map[string]string{cert: c.AgencyTLSCertFile, key: c.AgencyTLSKeyFile, ca.File: c.AgencyClientCAFile} {
		if filepath.IsAbs(to) {
			t.Fatalf("the example names %s: show a path relative to the home", to)
		}
		copyFile(t, from, filepath.Join(home, to))
	}
	nt, err := loadNodeTLS(home, c, discardLogger())
	if err != nil {
		t.Fatalf("%s: %v", exampleConfig, err)
	}
	if l := nt.listener("agency"); l == nil || l.cur.Load().cas == nil {
		t.Error("the example's agency listener does not ask for client certificates")
	}
}

// TestCheckRPCAddr: CometBFT's RPC beyond loopback is warned about; on loopback, a Unix socket or off,
// it is not.
func TestCheckRPCAddr(t *testing.T) {
	for addr, warn := range map[string]bool{
		"tcp://127.0.0.1:26657": false, "tcp://[::1]:26657": false, "tcp://localhost:26657": false,
		"unix:///var/lib/siegel/rpc.sock": false, "": false,
		"tcp://0.0.0.0:26657": true, "tcp://10.0.1.10:26657": true, "tcp://:26657": true, "tcp://rpc.example.org:26657": true,
	} {
		var logs logBuffer
		checkRPCAddr(addr, slog.New(slog.NewJSONHandler(&logs, nil)))
		if got := len(find(logs.records(t), "CometBFT RPC listens beyond loopback: it has no authentication; keep it on 127.0.0.1", nil)) == 1; got != warn {
			t.Errorf("%q: warned %v, want %v", addr, got, warn)
		}
	}
}

// TestTLSCheckCommand runs 'siegel tls check' on good, expired and broken files.
func TestTLSCheckCommand(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := newTestCA(t, dir, "Check CA")
	cert, key := ca.issue(t, serverSpec("check-node"))
	_, otherKey := ca.issue(t, serverSpec("check-other"))
	expCert, expKey := ca.issue(t, certSpec{name: "check-expired", usage: x509.ExtKeyUsageServerAuth,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	save := func(mod func(c *nodeConfig)) {
		c := defaultNodeConfig()
		mod(&c)
		if err := saveNodeConfig(home, c); err != nil {
			t.Fatal(err)
		}
	}

	save(func(c *nodeConfig) {
		c.AgencyTLSCertFile, c.AgencyTLSKeyFile, c.AgencyClientCAFile = cert, key, ca.File
		c.MetricsAddr = ""
	})
	out, code := runCLI(t, "tls", "check", "--home", home)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, w := range []string{"public   127.0.0.1:8080: plain HTTP", "agency   127.0.0.1:8081: TLS 1.2+, certificate CN=check-node for localhost, 127.0.0.1, valid until",
		"client certificates required from CA CN=Check CA", "metrics  off"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	save(func(c *nodeConfig) { c.APITLSCertFile, c.APITLSKeyFile = expCert, expKey })
	if out, code := runCLI(t, "tls", "check", "--home", home); code != 1 || !strings.Contains(out, "EXPIRED on") {
		t.Errorf("expired: exit %d: %s", code, out)
	}

	save(func(c *nodeConfig) { c.APITLSCertFile, c.APITLSKeyFile = cert, otherKey })
	if out, code := runCLI(t, "tls", "check", "--home", home); code != 2 || !strings.Contains(out, "does not hold the private key") {
		t.Errorf("mismatched key: exit %d: %s", code, out)
	}
}
