package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// TestReplicaHealthCheckDoc checks the load balancer's health checks of docs/OPERATORS.md ("Read
// replicas behind a load balancer") against /v1/status bodies: HAProxy's expression (matched here with
// Go's regexp, which reads it the same) passes a replica in sync with peers only, and the curl | jq
// check (when jq is installed) also fails one whose last block is old. HAProxy itself is not run.
func TestReplicaHealthCheckDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/OPERATORS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	m := regexp.MustCompile(`http-check expect rstring (\S+)`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("no 'http-check expect rstring' in OPERATORS.md")
	}
	re := regexp.MustCompile(m[1])
	now := time.Now().UTC()
	cases := []struct {
		name string
		st   api.Status
		ok   bool
	}{
		{"in sync, 3 peers", api.Status{CatchingUp: false, Peers: 3, BlockTime: now.Add(-time.Second)}, true},
		{"in sync, 12 peers", api.Status{CatchingUp: false, Peers: 12, BlockTime: now.Add(-time.Second)}, true},
		{"no peers", api.Status{CatchingUp: false, Peers: 0, BlockTime: now.Add(-time.Second)}, false},
		{"catching up", api.Status{CatchingUp: true, Peers: 3, BlockTime: now.Add(-time.Hour)}, false},
		{"stuck with peers", api.Status{CatchingUp: false, Peers: 3, BlockTime: now.Add(-2 * time.Minute)}, false},
	}
	body := func(st api.Status) string {
		st.ChainID, st.Height, st.NodeID, st.Version = "siegel-prod", 1234, strings.Repeat("ab", 20), "v1.0.0"
		// As the API writes it (api.writeJSON: json.Encoder).
		var sb strings.Builder
		if err := json.NewEncoder(&sb).Encode(st); err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	for _, c := range cases {
		// HAProxy's check cannot see the block's age: a stuck replica with peers passes it.
		want := c.ok || c.name == "stuck with peers"
		if got := re.MatchString(body(c.st)); got != want {
			t.Errorf("HAProxy check %q on %s: %v, want %v", m[1], c.name, got, want)
		}
	}

	jq := regexp.MustCompile(`(?s)(curl -fsS --max-time 2 http://10\.0\.1\.21:8080/v1/status \| jq -e '[^']*')`).FindStringSubmatch(doc)
	if jq == nil {
		t.Fatal("no curl | jq check in OPERATORS.md")
	}
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed: the curl | jq check is not run")
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(body(c.st)))
		}))
		script := strings.Replace(jq[1], "http://10.0.1.21:8080", srv.URL, 1)
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		srv.Close()
		if got := err == nil; got != c.ok {
			t.Errorf("curl | jq check on %s: passed %v, want %v (%v: %s)", c.name, got, c.ok, err, out)
		}
	}
}
