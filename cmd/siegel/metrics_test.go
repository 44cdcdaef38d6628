package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// scrape is one parsed answer of a /metrics endpoint.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape of %s: %v", url, err)
	}
	return fams
}

func gatherRegistry(t *testing.T, reg *prometheus.Registry) scrape {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	s := scrape{}
	for _, f := range fams {
		s[f.GetName()] = f
	}
	return s
}

// series returns the series of family name whose labels include want ("k", "v", ...).
func (s scrape) series(name string, want ...string) []*dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value is the value of the one series of name with the given labels: a counter's or gauge's value, a
// histogram's count. It fails the test if there is no such series.
func (s scrape) value(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	ms := s.series(name, want...)
	if len(ms) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, want, len(ms))
	}
	m := ms[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s: unexpected type", name)
	return 0
}

// sum adds the values of every series of name with the given labels.
func (s scrape) sum(name string, want ...string) float64 {
	var v float64
	for _, m := range s.series(name, want...) {
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return v
}

func expectValue(t *testing.T, s scrape, want float64, name string, labels ...string) {
	t.Helper()
	if got := s.value(t, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// TestMetricsScrape runs a dev node, anchors four documents in two transactions, revokes one, has a
// duplicate rejected, fetches receipts, trips the public API's rate limit, and then checks the values
// of Siegel's metrics in a scrape of the node's metrics listener, and that CometBFT's are there too.
func TestMetricsScrape(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	if n.r.MetricsURL == "" {
		t.Fatal("the dev node serves no metrics")
	}
	keyFile := filepath.Join(home, devKeyFile)
	dir := t.TempDir()
	var files []string
	for i := range 4 {
		f := filepath.Join(dir, fmt.Sprintf("bescheid-%d.pdf", i))
		if err := os.WriteFile(f, []byte(fmt.Sprintf("Bescheid %d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		out, code := runCLI(t, args...)
		if code != want {
			t.Fatalf("siegel %s: exit %d, want %d: %s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	// Two anchor transactions (3 + 1 documents), one revocation, one duplicate rejected in CheckTx.
	cli(0, append([]string{"anchor", "--node", n.r.AgencyURL, "--key", keyFile}, files[:3]...)...)
	cli(0, "anchor", "--node", n.r.AgencyURL, "--key", keyFile, files[3])
	h0 := sha256.Sum256([]byte("Bescheid 0"))
	cli(0, "revoke", "--node", n.r.AgencyURL, "--key", keyFile, "--hash", hex.EncodeToString(h0[:]), "--reason", "superseded")
	if out := cli(1, "anchor", "--node", n.r.AgencyURL, "--key", keyFile, files[1]); !strings.Contains(out, "duplicate_hash") {
		t.Fatalf("re-anchoring: %s", out)
	}

	// Receipts: JSON until one is served (503 until a checkpoint is signed), then one compact.
	h1 := sha256.Sum256([]byte("Bescheid 1"))
	receiptURL := n.r.APIURL + "/v1/anchors/" + hex.EncodeToString(h1[:]) + "/receipt"
	get := func(url string, header ...string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	jsonOK, jsonOther := 0, 0
	for deadline := time.Now().Add(30 * time.Second); jsonOK == 0; {
		if get(receiptURL) == http.StatusOK {
			jsonOK++
			break
		}
		jsonOther++
		if time.Now().After(deadline) {
			t.Fatal("no receipt served within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c := get(receiptURL + "?format=compact"); c != http.StatusOK {
		t.Fatalf("compact receipt: %d", c)
	}
	// The rate limit (60 at once, then 20 a second by default): loopback is exempt, but a client that
	// the reverse proxy on loopback names in X-Forwarded-For is not. 150 requests at once see 429s.
	statusOK, limited := 0, 0
	for range 150 {
		switch c := get(n.r.APIURL+"/v1/status", "X-Forwarded-For", "203.0.113.7"); c {
		case http.StatusOK:
			statusOK++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("GET /v1/status: %d", c)
		}
	}
	if limited == 0 {
		t.Fatal("150 requests at once were not rate-limited")
	}

	// Wait for a signed checkpoint at or above the last committed transaction, then scrape.
	var s scrape
	for deadline := time.Now().Add(30 * time.Second); ; {
		s = scrapeMetrics(t, n.r.MetricsURL)
		if lag := s.value(t, "siegel_checkpoint_signing_lag_blocks"); lag >= 1 && lag <= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint lag still %v blocks", s.value(t, "siegel_checkpoint_signing_lag_blocks"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Fed by the application hook and the ABCI wrapper.
	expectValue(t, s, 4, "siegel_anchors_committed_total", "agency", devAgencyID)
	expectValue(t, s, 1, "siegel_revocations_committed_total", "agency", devAgencyID)
	expectValue(t, s, 1, "siegel_txs_rejected_total", "code", "duplicate_hash", "stage", "check")
	if v := s.sum("siegel_txs_rejected_total"); v != 1 {
		t.Errorf("rejections in all = %v, want 1", v)
	}
	// Every code and stage is there from the start, so that dashboards and alerts see them.
	expectValue(t, s, 0, "siegel_txs_rejected_total", "code", "bad_signature", "stage", "block")
	expectValue(t, s, 3, "siegel_submit_to_commit_seconds")
	if v := s.value(t, "siegel_txs_committed_total"); v < 3 {
		t.Errorf("siegel_txs_committed_total = %v, want at least 3", v)
	}
	for _, h := range []string{"siegel_checktx_duration_seconds", "siegel_finalize_block_duration_seconds", "siegel_commit_duration_seconds"} {
		if v := s.value(t, h); v == 0 {
			t.Errorf("%s has no observations", h)
		}
	}
	if v := s.value(t, "siegel_checktx_duration_seconds"); v < 4 {
		t.Errorf("siegel_checktx_duration_seconds counts %v calls, want at least 4", v)
	}
	height := s.value(t, "siegel_committed_height")
	signed := s.value(t, "siegel_checkpoint_signed_height")
	if lag := s.value(t, "siegel_checkpoint_signing_lag_blocks"); signed < 1 || math.Abs(height-signed-lag) > 1 {
		t.Errorf("committed height %v, signed checkpoint %v, lag %v", height, signed, lag)
	}
	if ts := s.value(t, "siegel_last_commit_timestamp_seconds"); math.Abs(float64(time.Now().Unix())-ts) > 10 {
		t.Errorf("siegel_last_commit_timestamp_seconds = %v, now %d", ts, time.Now().Unix())
	}
	expectValue(t, s, 1, "siegel_build_info", "version", version)
	expectValue(t, s, float64(limited), "siegel_api_rate_limited_total")

	// CometBFT's metrics, beside Siegel's.
	if v := s.value(t, "cometbft_consensus_height", "chain_id", n.r.ChainID); v < height {
		t.Errorf("cometbft_consensus_height = %v, below the committed height %v", v, height)
	}
	if v := s.value(t, "cometbft_consensus_latest_block_height"); v < height {
		t.Errorf("cometbft_consensus_latest_block_height = %v, below the committed height %v", v, height)
	}
	expectValue(t, s, 1, "cometbft_consensus_validators")
	if len(s.series("cometbft_consensus_validator_last_signed_height")) != 1 {
		t.Error("no cometbft_consensus_validator_last_signed_height")
	}

	t.Run("state_size", func(t *testing.T) {
		if v := s.value(t, "siegel_state_size_bytes"); v <= 0 {
			t.Errorf("siegel_state_size_bytes = %v", v)
		}
		// A short test writes too little for Pebble to flush or compact: the series are there, and not
		// negative (value fails the test for a missing series).
		for _, name := range []string{"siegel_state_compactions_total", "siegel_state_flushes_total", "siegel_state_compaction_debt_bytes", "siegel_state_l0_sublevels"} {
			if v := s.value(t, name); v < 0 {
				t.Errorf("%s = %v", name, v)
			}
		}
	})
	t.Run("api_requests", func(t *testing.T) {
		expectValue(t, s, float64(jsonOK), "siegel_receipts_served_total", "format", "json")
		expectValue(t, s, 1, "siegel_receipts_served_total", "format", "compact")
		expectValue(t, s, float64(jsonOK+1), "siegel_api_requests_total", "listener", "public", "route", receiptRoute, "status", "200")
		if got := s.sum("siegel_api_requests_total", "listener", "public", "route", receiptRoute); got != float64(jsonOK+jsonOther+1) {
			t.Errorf("receipt requests counted %v, made %d", got, jsonOK+jsonOther+1)
		}
		expectValue(t, s, float64(statusOK), "siegel_api_requests_total", "listener", "public", "route", "/v1/status", "status", "200")
		expectValue(t, s, float64(limited), "siegel_api_requests_total", "listener", "public", "route", "none", "status", "429")
		expectValue(t, s, 3, "siegel_api_requests_total", "listener", "agency", "route", "/v1/anchors", "status", "200")
		expectValue(t, s, 1, "siegel_api_requests_total", "listener", "agency", "route", "/v1/anchors", "status", "422")
	})
}

// TestMetricsInstrument checks the HTTP middleware on its own: routes are ServeMux patterns (never
// paths), requests answered before routing count as route "none", and only 200 answers to GETs of the
// receipt route count as receipts served.
func TestMetricsInstrument(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newAppMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc(receiptRoute, func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("hash") == "bad" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	// A middleware in front of the mux, like the rate limit, that answers some requests itself.
	limit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Limit") != "" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(m.instrument("public", limit))
	defer srv.Close()
	do := func(method, path string, limited bool) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if limited {
			req.Header.Set("X-Limit", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	do("GET", "/v1/anchors/aa/receipt", false)
	do("GET", "/v1/anchors/bb/receipt?format=compact", false)
	do("GET", "/v1/anchors/cc/receipt?format=json", false)
	do("HEAD", "/v1/anchors/dd/receipt", false)
	do("GET", "/v1/anchors/bad/receipt", false)
	do("GET", "/v1/status", false)
	do("GET", "/no/such/thing", false)
	do("GET", "/v1/status", true)

	s := gatherRegistry(t, reg)
	expectValue(t, s, 4, "siegel_api_requests_total", "listener", "public", "route", receiptRoute, "status", "200") // HEAD too
	expectValue(t, s, 1, "siegel_api_requests_total", "listener", "public", "route", receiptRoute, "status", "400")
	expectValue(t, s, 1, "siegel_api_requests_total", "listener", "public", "route", "/v1/status", "status", "204")
	expectValue(t, s, 1, "siegel_api_requests_total", "listener", "public", "route", "/", "status", "404")
	expectValue(t, s, 1, "siegel_api_requests_total", "listener", "public", "route", "none", "status", "429")
	expectValue(t, s, 2, "siegel_receipts_served_total", "format", "json")
	expectValue(t, s, 1, "siegel_receipts_served_total", "format", "compact")
	if n := len(s.series("siegel_api_requests_total")); n != 5 {
		t.Errorf("%d series of siegel_api_requests_total, want 5", n)
	}
}

// TestMetricsCheckpointLag feeds the checkpoint bookkeeping block by block: the lag is the committed
// height minus the latest signed checkpoint, bounded from below by the first block this process saw
// until signatures arrive, and exact from the start when watchStore read the store.
func TestMetricsCheckpointLag(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newAppMetrics(reg)
	lag := func() float64 { return gatherRegistry(t, reg).value(t, "siegel_checkpoint_signing_lag_blocks") }
	signedH := func() float64 { return gatherRegistry(t, reg).value(t, "siegel_checkpoint_signed_height") }

	m.committed(app.Committed{Height: 50}) // first block after a restart, no signatures
	if l := lag(); l != 1 {
		t.Errorf("lag after the first block = %v, want 1 (lower bound)", l)
	}
	m.committed(app.Committed{Height: 51})
	m.committed(app.Committed{Height: 52})
	if l := lag(); l != 3 {
		t.Errorf("lag after three blocks without signatures = %v, want 3", l)
	}
	m.carries(53, 52)
	m.committed(app.Committed{Height: 53})
	if l, s := lag(), signedH(); l != 1 || s != 52 {
		t.Errorf("after block 53 with signatures on 52: lag %v, signed %v; want 1, 52", l, s)
	}
	m.carries(54, 53)
	// Block 55 commits without the signatures that were carried into block 54 counting for it.
	m.committed(app.Committed{Height: 54})
	m.committed(app.Committed{Height: 55})
	m.committed(app.Committed{Height: 56})
	if l, s := lag(), signedH(); l != 3 || s != 53 {
		t.Errorf("three blocks on: lag %v, signed %v; want 3, 53", l, s)
	}

	// With the store: a node restarted after its signatures stopped at height 3 of 8 blocks.
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for h := uint64(1); h <= 8; h++ {
		b := &store.Block{Commit: store.Commit{Height: h, AppHash: []byte{byte(h)}}}
		if h >= 2 && h <= 4 {
			b.Signed = &store.SignedCheckpoint{Height: h - 1, Signatures: receipt.Signatures{}}
		}
		if err := st.Save(b); err != nil {
			t.Fatalf("save block %d: %v", h, err)
		}
	}
	reg = prometheus.NewRegistry()
	m = newAppMetrics(reg)
	m.watchStore(st)
	if l, s := lag(), signedH(); l != 5 || s != 3 {
		t.Errorf("from the store: lag %v, signed %v; want 5, 3", l, s)
	}
	m.committed(app.Committed{Height: 9})
	if l := lag(); l != 6 {
		t.Errorf("one block later without signatures: lag %v, want 6 (no lower bound once the store was read)", l)
	}
	if v := gatherRegistry(t, reg).value(t, "siegel_state_size_bytes"); v <= 0 {
		t.Errorf("siegel_state_size_bytes = %v", v)
	}
}

// TestMetricsSubmitToCommit times transactions from CheckTx to their commit, and only those this node
// admitted.
func TestMetricsSubmitToCommit(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newAppMetrics(reg)
	a, b, c := []byte("tx a"), []byte("tx b"), []byte("tx c")
	m.admitted(a, time.Now().Add(-2*time.Second))
	m.admitted(b, time.Now())
	m.committed(app.Committed{Height: 1, Txs: []store.TxResult{
		{Hash: sha256.Sum256(a), Code: 0},
		{Hash: sha256.Sum256(b), Code: 7}, // rejected in the block: not a commit
		{Hash: sha256.Sum256(c), Code: 0}, // admitted by another node
	}})
	s := gatherRegistry(t, reg)
	h := s.series("siegel_submit_to_commit_seconds")[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() < 2 || h.GetSampleSum() > 5 {
		t.Errorf("submit to commit: %d samples summing to %v s, want 1 of about 2 s", h.GetSampleCount(), h.GetSampleSum())
	}
	if len(m.pending) != 0 {
		t.Errorf("%d transactions still pending", len(m.pending))
	}
	expectValue(t, s, 1, "siegel_txs_rejected_total", "code", "duplicate_hash", "stage", "block")
}
