package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSDocRecipe makes certificates with the OpenSSL commands of docs/OPERATORS.md and checks that the
// node loads them (siegel tls check) and that the CLI, with the files the document tells agencies to
// use, gets through a listener that requires client certificates.
func TestTLSDocRecipe(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", doctestScript(docBlock(t, "../../docs/OPERATORS.md", "operators-tls-openssl")))
	cmd.Env = append(os.Environ(), "DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the OpenSSL commands failed: %v\n%s", err, out)
	}

	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := defaultNodeConfig()
	c.AgencyTLSCertFile, c.AgencyTLSKeyFile, c.AgencyClientCAFile = filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key"), filepath.Join(dir, "agencies-ca.crt")
	if err := saveNodeConfig(home, c); err != nil {
		t.Fatal(err)
	}
	out, code := runCLI(t, "tls", "check", "--home", home)
	if code != 0 || !strings.Contains(out, "CN=siegel.dc-muenster.example") || !strings.Contains(out, "client certificates required from CA CN=Siegel agencies CA,O=Siegel DC Muenster") {
		t.Fatalf("siegel tls check: exit %d:\n%s", code, out)
	}

	nt, err := loadNodeTLS(home, c, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.TLS.PeerCertificates[0].Subject.CommonName
		w.Write([]byte("ok"))
	}))
	srv.TLS = nt.listener("agency").serverConfig()
	srv.Config.ErrorLog = newHTTPErrorLog(discardLogger(), "agency")
	srv.StartTLS()
	defer srv.Close()
	f := tlsFlags{caFile: filepath.Join(dir, "node-ca.crt"), certFile: filepath.Join(dir, "gym.crt"), keyFile: filepath.Join(dir, "gym.key")}
	cfg, err := f.config([]string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatalf("with the agency's files: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if cn := <-seen; cn != "gym-musterstadt sekretariat" {
		t.Errorf("the listener saw client %q", cn)
	}
	// Without the client certificate it is refused.
	f.certFile, f.keyFile = "", ""
	if cfg, err = f.config([]string{srv.URL}); err != nil {
		t.Fatal(err)
	}
	hc = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	if resp, err := hc.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Error("got through without a client certificate")
	}
}
