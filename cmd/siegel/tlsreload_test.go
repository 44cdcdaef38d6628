package main

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTLSReload changes a listener's files, first check by check, then under a running watch: a new
// certificate and key are served once both are in place and unchanged over one check, a key that does not fit is reported once and changes nothing, and a new client
// CA decides from the next handshake on whom the listener lets in.
func TestTLSReload(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	ca1 := newTestCA(t, dir, "Agencies CA 2026")
	ca2 := newTestCA(t, dir, "Agencies CA 2027")
	cert1, key1 := ca1.issue(t, serverSpec("reload-1"))
	cert2, key2 := ca1.issue(t, serverSpec("reload-2"))
	client1, clientKey1 := ca1.issue(t, clientSpec("agency-1"))
	client2, clientKey2 := ca2.issue(t, clientSpec("agency-2"))
	certFile, keyFile, caFile := filepath.Join(home, "agency.crt"), filepath.Join(home, "agency.key"), filepath.Join(home, "ca.crt")
	copyFile(t, cert1, certFile)
	copyFile(t, key1, keyFile)
	copyFile(t, ca1.File, caFile)

	var logs logBuffer
	c := defaultNodeConfig()
	c.AgencyTLSCertFile, c.AgencyTLSKeyFile, c.AgencyClientCAFile = "agency.crt", "agency.key", "ca.crt"
	nt, err := loadNodeTLS(home, c, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l := nt.listener("agency")
	serving := func() string { return l.cur.Load().cert.Leaf.Subject.CommonName }
	failed := func() int {
		return len(find(logs.records(t), "TLS reload failed: the listener keeps serving the certificate it had", func(r map[string]any) bool {
			return strings.Contains(r["err"].(string), "does not hold the private key")
		}))
	}
	loaded := func() int { return len(find(logs.records(t), "TLS certificate loaded", nil)) }

	// Written one after the other, a certificate and key are never loaded half-way: a check loads only
	// files that were the same at the check before. The checks are called here one by one (no watch
	// runs yet), as the ticker would call them.
	check := func(step string, wantServing string, wantLoaded int) {
		t.Helper()
		nt.reloadAll(false)
		if serving() != wantServing || loaded() != wantLoaded || failed() != 0 {
			t.Fatalf("%s: serving %s, %d loads logged, %d failed reloads; want %s, %d, 0\n%s",
				step, serving(), loaded(), failed(), wantServing, wantLoaded, logs.String())
		}
	}
	check("files unchanged since the start", "reload-1", 1)
	copyFile(t, cert2, certFile)
	check("new certificate written, old key still there", "reload-1", 1)
	copyFile(t, key2, keyFile)
	check("new key written: the files changed since the last check", "reload-1", 1)
	check("the new pair unchanged over one check", "reload-2", 2)
	check("nothing changed since", "reload-2", 2)
	// Back to the first pair, for the rest of the test.
	copyFile(t, cert1, certFile)
	copyFile(t, key1, keyFile)
	check("first pair written", "reload-2", 2)
	check("first pair unchanged over one check", "reload-1", 3)

	hup := make(chan os.Signal, 1) // what the node's SIGHUP handler feeds
	stop := nt.watch(20*time.Millisecond, hup)
	defer stop()

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = l.serverConfig()
	srv.Config.ErrorLog = newHTTPErrorLog(discardLogger(), "agency")
	srv.StartTLS()
	defer srv.Close()
	get := func(cert, key string) error {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca1.pool(), Certificates: []tls.Certificate{pair}}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s (serving %s)\n%s", what, serving(), logs.String())
			}
		}
	}
	if err := get(client1, clientKey1); err != nil {
		t.Fatalf("client of CA 1: %v", err)
	}
	if err := get(client2, clientKey2); err == nil {
		t.Fatal("a client of CA 2 got in before CA 2 was added")
	}

	// A new certificate and key, under the watch.
	copyFile(t, cert2, certFile)
	copyFile(t, key2, keyFile)
	waitFor("the new certificate served", func() bool { return serving() == "reload-2" })

	// The key of another certificate: reported once, the current pair stays.
	copyFile(t, key1, keyFile)
	waitFor("the failed reload reported", func() bool { return failed() == 1 })
	time.Sleep(200 * time.Millisecond) // ten more checks
	if n := failed(); n != 1 || serving() != "reload-2" {
		t.Fatalf("after a bad key: %d failure lines (want 1), serving %s (want reload-2)", n, serving())
	}
	if err := get(client1, clientKey1); err != nil {
		t.Fatalf("the listener stopped working after a failed reload: %v", err)
	}
	copyFile(t, key2, keyFile)
	// Same files as served: nothing to do, nothing logged.
	time.Sleep(100 * time.Millisecond)
	if n := loaded(); n != 4 {
		t.Errorf("%d loads logged, want 4 (start, reload-2, reload-1 by the checks above, reload-2 by the watch)", n)
	}

	// A bundle of both CAs, then CA 2 alone.
	copyFile(t, ca1.File, caFile)
	appendFile(t, caFile, ca2.File)
	waitFor("two client CAs", func() bool { return len(l.cur.Load().caList) == 2 })
	for _, cl := range [][2]string{{client1, clientKey1}, {client2, clientKey2}} {
		if err := get(cl[0], cl[1]); err != nil {
			t.Errorf("with both CAs, %s: %v", cl[0], err)
		}
	}
	copyFile(t, ca2.File, caFile)
	waitFor("CA 2 alone", func() bool { return len(l.cur.Load().caList) == 1 })
	if err := get(client1, clientKey1); err == nil {
		t.Error("a client of the removed CA 1 still got in")
	}
	if err := get(client2, clientKey2); err != nil {
		t.Errorf("client of CA 2: %v", err)
	}

	// A forced reload (SIGHUP, through the watcher) of unchanged files says so.
	hup <- syscall.SIGHUP
	waitFor("the SIGHUP reload", func() bool { return len(find(logs.records(t), "SIGHUP: TLS files unchanged", nil)) > 0 })
	if got := find(logs.records(t), "SIGHUP: TLS files unchanged", nil); len(got) != 1 {
		t.Errorf("%d lines for an unchanged SIGHUP reload, want 1", len(got))
	}
}

// appendFile appends the contents of from to the file to (replacing it, as copyFile does).
func appendFile(t *testing.T, to, from string) {
	t.Helper()
	a, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, append(a, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}
