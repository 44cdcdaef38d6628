package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServer is an httptest TLS server (its own CA) that answers status requests and counts them; a
// client certificate is required when requireClient is set.
func tlsServer(t *testing.T, requireClient bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		statusOK("tls")(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	s.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if requireClient {
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = x509.NewCertPool() // trusts no client
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, &calls
}

func trusting(s *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &tls.Config{RootCAs: pool}
}

// TestClientTLS checks NewClientWith's TLS settings, and that failures that would recur (an untrusted
// node certificate, a node that wants a client certificate, https to a plain HTTP port) end the call at
// once instead of being retried until Retry runs out, while another node is still tried.
func TestClientTLS(t *testing.T) {
	srv, calls := tlsServer(t, false)
	c := NewClientWith(ClientOptions{TLS: trusting(srv)}, srv.URL)
	if s, err := c.Status(testContext(t)); err != nil || s.ChainID != "tls" {
		t.Fatalf("Status over TLS = %+v, %v", s, err)
	}

	mtls, _ := tlsServer(t, true)
	plain := newCountingServer(t, statusOK("plain"))
	for _, tc := range []struct {
		name    string
		c       *Client
		mention string
	}{
		{"untrusted node certificate", NewClient(srv.URL), "certificate signed by unknown authority"},
		{"client certificate required", NewClientWith(ClientOptions{TLS: trusting(mtls)}, mtls.URL), "certificate required"},
		{"https to plain HTTP", NewClient(strings.Replace(plain.URL, "http://", "https://", 1)), "HTTP response to HTTPS client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Retry = time.Minute
			start := time.Now()
			_, err := tc.c.Status(testContext(t))
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want one that mentions %q", err, tc.mention)
			}
			if !permanent(err) {
				t.Errorf("%v is not classed as permanent", err)
			}
			if d := time.Since(start); d > waitLimit/2 {
				t.Errorf("gave up after %v: the failure was retried", d)
			}
		})
	}

	// A node that fails for good is skipped for the next one.
	before := calls.Load()
	c = NewClientWith(ClientOptions{TLS: trusting(srv)}, mtls.URL, srv.URL)
	if s, err := c.Status(testContext(t)); err != nil || s.ChainID != "tls" || calls.Load() != before+1 {
		t.Errorf("Status with a refusing node first = %+v, %v (calls %d -> %d)", s, err, before, calls.Load())
	}

	// Plain HTTP to the TLS port: the node's 400 answer, not retried.
	_, err := NewClient(strings.Replace(srv.URL, "https://", "http://", 1)).Status(testContext(t))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "HTTPS server") {
		t.Errorf("plain HTTP to a TLS port: %v", err)
	}
}
