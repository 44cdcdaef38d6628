package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/store"
)

// appMetrics are Siegel's own metrics, on a dedicated registry. Names follow Prometheus's conventions
// (prefix siegel_, counters end in _total, units in the name: _seconds, _bytes, _blocks). Every metric
// that a dashboard panel or an alert rule of deploy/ queries must exist in a fresh scrape, so that
// TestDeployMetricsExist can check them: label values known in advance (result codes, receipt formats,
// registered agencies) are created at start.
//
// Most metrics are fed by the application hook (committed) and the ABCI wrapper (instrumented). Two
// hooks must be called by the node: watchStore (state size, the checkpoint already signed at start,
// the agencies) and instrument (the HTTP listeners; also feeds siegel_receipts_served_total).
type appMetrics struct {
	anchors    *prometheus.CounterVec
	revoked    *prometheus.CounterVec
	txs        prometheus.Counter
	rejected   *prometheus.CounterVec
	height     prometheus.Gauge
	lastCommit prometheus.Gauge
	checkTx    prometheus.Histogram
	finalize   prometheus.Histogram
	commit     prometheus.Histogram
	submit     prometheus.Histogram
	signed     prometheus.Gauge
	signLag    prometheus.Gauge
	requests   *prometheus.CounterVec
	receipts   *prometheus.CounterVec
	limited    prometheus.Counter // 429s of the public API's rate limit (api.RateLimit.OnLimited)

	st atomic.Pointer[store.Store] // set by watchStore; read at scrape time

	mu sync.Mutex // guards the fields below (ABCI calls are serialised, scrapes are not)
	// pending are the transactions this node admitted to its mempool, by hash, with the time CheckTx
	// began: the start of siegel_submit_to_commit_seconds.
	pending map[[32]byte]time.Time
	pruned  time.Time
	// carried is the checkpoint height whose signatures the block at height carriedIn carries, when
	// that block's FinalizeBlock accepted them.
	carried, carriedIn uint64
	// signedAt is the highest checkpoint height known to be quorum-signed; 0 none known. seeded tells
	// that watchStore read it from the store; otherwise base (the height before the first block this
	// process committed) bounds the lag from below until a block brings signatures.
	signedAt uint64
	seeded   bool
	base     uint64
}

// Bounds of the submit-to-commit bookkeeping: a transaction that has not committed after maxPendingAge
// (it expired, or was evicted) is forgotten; beyond maxPending transactions in flight new ones are not
// timed (a mempool holds 5,000 by default).
const (
	maxPending    = 100_000
	maxPendingAge = time.Hour
	// seedDepth is how far below the committed height watchStore looks for the latest signed checkpoint.
	seedDepth = 1000
)

// rejectStages are the values of siegel_txs_rejected_total's stage label.
var rejectStages = []string{"check", "block"}

// receiptFormats are the values of siegel_receipts_served_total's format label.
var receiptFormats = []string{"json", "compact"}

// receiptRoute is the public API's receipt route, whose successful GETs count as receipts served.
const receiptRoute = "/v1/anchors/{hash}/receipt"

func newAppMetrics(reg prometheus.Registerer) *appMetrics {
	m := &appMetrics{
		anchors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siegel_anchors_committed_total", Help: "Document hashes anchored in committed blocks, by agency.",
		}, []string{"agency"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siegel_revocations_committed_total", Help: "Documents revoked in committed blocks, by agency.",
		}, []string{"agency"}),
		txs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "siegel_txs_committed_total", Help: "Transactions applied in committed blocks.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siegel_txs_rejected_total", Help: "Transactions rejected, by result code and stage (check or block).",
		}, []string{"code", "stage"}),
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "siegel_committed_height", Help: "Height of the last block the application committed.",
		}),
		lastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "siegel_last_commit_timestamp_seconds",
			Help: "Unix time (this node's clock) at which the application last committed a block; the start of the process until the first.",
		}),
		checkTx: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siegel_checktx_duration_seconds", Help: "Time spent in CheckTx.",
			Buckets: prometheus.ExponentialBuckets(20e-6, 2, 14),
		}),
		finalize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siegel_finalize_block_duration_seconds", Help: "Time spent in FinalizeBlock.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 2, 16),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siegel_commit_duration_seconds", Help: "Time spent in Commit, including the synced write.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 2, 16),
		}),
		submit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "siegel_submit_to_commit_seconds",
			Help: "Time from a transaction's admission to this node's mempool (its submission, on the node an agency sent it to) to its commit.",
			// 25 ms to about 100 s.
			Buckets: prometheus.ExponentialBuckets(0.025, 2, 13),
		}),
		signed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "siegel_checkpoint_signed_height", Help: "Height of the latest checkpoint known to carry a quorum of validator signatures.",
		}),
		signLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "siegel_checkpoint_signing_lag_blocks",
			Help: "Committed height minus the height of the latest quorum-signed checkpoint (1 when healthy); receipts are served as of that checkpoint.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siegel_api_requests_total",
			Help: "HTTP requests answered, by listener (public, agency), route (the ServeMux pattern; none when no route was reached) and status code.",
		}, []string{"listener", "route", "status"}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siegel_receipts_served_total", Help: "Receipts served by the public API (200 answers to GET of the receipt route), by format.",
		}, []string{"format"}),
		pending: map[[32]byte]time.Time{},
	}
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "siegel_api_rate_limited_total", Help: "Requests to the public API answered 429 by the per-client rate limit.",
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "siegel_build_info", Help: "Always 1; the labels name the running build.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(m.anchors, m.revoked, m.txs, m.rejected, m.height, m.lastCommit, m.checkTx, m.finalize, m.commit,
		m.submit, m.signed, m.signLag, m.requests, m.receipts, m.limited, newStateCollector(m), build)

	// Series that would otherwise appear only after their first event.
	for c := tx.Code(1); !strings.HasPrefix(c.String(), "code_"); c++ {
		for _, s := range rejectStages {
			m.rejected.WithLabelValues(c.String(), s)
		}
	}
	for _, f := range receiptFormats {
		m.receipts.WithLabelValues(f)
	}
	m.lastCommit.SetToCurrentTime()
	return m
}

// committed updates the counters from a committed block; it is called from the app's hook.
func (m *appMetrics) committed(c app.Committed) {
	now := time.Now()
	m.height.Set(float64(c.Height))
	m.lastCommit.Set(float64(now.UnixNano()) / 1e9)
	for _, t := range c.Txs {
		if t.Code == 0 {
			m.txs.Inc()
		} else {
			m.rejected.WithLabelValues(tx.Code(t.Code).String(), "block").Inc()
		}
	}
	for i := range c.Anchors {
		m.anchors.WithLabelValues(c.Anchors[i].Agency).Inc()
	}
	for _, r := range c.Revoked {
		m.revoked.WithLabelValues(r.Agency).Inc()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range c.Txs {
		if t0, ok := m.pending[t.Hash]; ok {
			delete(m.pending, t.Hash)
			if t.Code == 0 {
				m.submit.Observe(now.Sub(t0).Seconds())
			}
		}
	}
	if now.Sub(m.pruned) > time.Minute {
		m.pruned = now
		for h, t0 := range m.pending {
			if now.Sub(t0) > maxPendingAge {
				delete(m.pending, h)
			}
		}
	}
	if m.carriedIn == c.Height {
		m.signedAt = max(m.signedAt, m.carried)
	}
	if m.signedAt == 0 && !m.seeded && m.base == 0 {
		m.base = c.Height - 1
	}
	m.setLag(c.Height)
}

// setLag sets the checkpoint gauges for committed height h; m.mu is held.
func (m *appMetrics) setLag(h uint64) {
	m.signed.Set(float64(m.signedAt))
	signed := m.signedAt
	if !m.seeded {
		signed = max(signed, m.base)
	}
	if h >= signed {
		m.signLag.Set(float64(h - signed))
	}
}

// admitted notes that CheckTx admitted raw to the mempool at t0.
func (m *appMetrics) admitted(raw []byte, t0 time.Time) {
	h := sha256.Sum256(raw)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pending[h]; !ok && len(m.pending) < maxPending {
		m.pending[h] = t0
	}
}

// carries notes that the block at height, being finalized, carries accepted signatures on the
// checkpoint of signedHeight; they count once the block commits.
func (m *appMetrics) carries(height, signedHeight uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.carried, m.carriedIn = signedHeight, height
}

// watchStore is the node's hook for what only the store knows: it serves siegel_state_size_bytes
// from st, reads the latest signed checkpoint and the committed height (so that the checkpoint lag is
// exact from the start, not only once a new block brings signatures), and creates the per-agency
// series of the registered agencies. The node calls it once, after opening the store and before
// starting consensus.
func (m *appMetrics) watchStore(st *store.Store) {
	m.st.Store(st)
	if as, err := st.Agencies(); err == nil {
		for _, a := range as {
			m.anchors.WithLabelValues(a.ID)
			m.revoked.WithLabelValues(a.ID)
		}
	}
	c, err := st.LastCommit()
	if err != nil || c.Height == 0 {
		return
	}
	signed := uint64(0)
	if c.Height > seedDepth {
		signed = c.Height - seedDepth // none found below: at least seedDepth behind
	}
	for h := c.Height; h > 0 && c.Height-h < seedDepth; h-- {
		if _, err := st.Signatures(h); err == nil {
			signed = h
			break
		} else if !errors.Is(err, store.ErrNotFound) {
			return
		}
	}
	m.height.Set(float64(c.Height))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.signedAt, m.seeded = max(m.signedAt, signed), true
	m.setLag(c.Height)
}

// stateCollector exports the figures of the application's Pebble database, read with one
// DB.Metrics() per scrape so that they describe one moment; all zero before watchStore.
type stateCollector struct {
	m                                           *appMetrics
	size, compactions, flushes, debt, sublevels *prometheus.Desc
}

func newStateCollector(m *appMetrics) *stateCollector {
	return &stateCollector{
		m: m,
		size: prometheus.NewDesc("siegel_state_size_bytes",
			"Disk space used by the application's Pebble database (live and obsolete files, WAL included).", nil, nil),
		// Pebble's background work, which competes with block execution for the CPU (docs/PERFORMANCE.md).
		compactions: prometheus.NewDesc("siegel_state_compactions_total",
			"Compactions the application's Pebble database has completed since the node started.", nil, nil),
		flushes: prometheus.NewDesc("siegel_state_flushes_total",
			"Memtable flushes of the application's Pebble database since the node started.", nil, nil),
		debt: prometheus.NewDesc("siegel_state_compaction_debt_bytes",
			"Bytes Pebble estimates it must compact to bring its levels into shape.", nil, nil),
		sublevels: prometheus.NewDesc("siegel_state_l0_sublevels",
			"Sublevels in level 0 of the application's Pebble database: compaction starts at 16, writes stop at 48.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.compactions
	ch <- c.flushes
	ch <- c.debt
	ch <- c.sublevels
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	var size, compactions, flushes, debt, sublevels float64
	if st := c.m.st.Load(); st != nil {
		func() {
			defer func() { _ = recover() }() // a scrape racing the store's Close at shutdown: zeros
			pm := st.DB().Metrics()
			size, compactions, flushes = float64(pm.DiskSpaceUsage()), float64(pm.Compact.Count), float64(pm.Flush.Count)
			debt, sublevels = float64(pm.Compact.EstimatedDebt), float64(pm.Levels[0].Sublevels)
		}()
	}
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, size)
	ch <- prometheus.MustNewConstMetric(c.compactions, prometheus.CounterValue, compactions)
	ch <- prometheus.MustNewConstMetric(c.flushes, prometheus.CounterValue, flushes)
	ch <- prometheus.MustNewConstMetric(c.debt, prometheus.GaugeValue, debt)
	ch <- prometheus.MustNewConstMetric(c.sublevels, prometheus.GaugeValue, sublevels)
}

// instrument counts the requests h answers in siegel_api_requests_total{listener,route,status}, and the
// receipts it serves in siegel_receipts_served_total. A request's route is the ServeMux pattern that
// matched (r.Pattern, which stays bounded, unlike the path), or "none" when the request was answered
// before routing (rate limit, oversized URL). Wrap the
// outermost handler of a listener, so that every answer counts.
func (m *appMetrics) instrument(listener string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := patternRoute(r)
		m.requests.WithLabelValues(listener, route, strconv.Itoa(status)).Inc()
		if status == http.StatusOK && r.Method == http.MethodGet && route == receiptRoute {
			format := "json"
			if r.URL.Query().Get("format") == "compact" {
				format = "compact"
			}
			m.receipts.WithLabelValues(format).Inc()
		}
	})
}

// patternRoute is the ServeMux pattern a request matched, without a method ("GET /x" is "/x"), or
// "none".
func patternRoute(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return "none"
	}
	return p
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (Flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrumented times the ABCI calls of the application (which itself never reads a clock), feeds the
// metrics that need the raw transactions, and holds the tests' kill switch.
type instrumented struct {
	*app.App
	m     *appMetrics
	crash crashSwitch
	// block is the height and transaction count of the last finalized block (ABCI calls are serialised).
	block struct {
		height int64
		txs    int
	}
}

func (i *instrumented) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	t0 := time.Now()
	r, err := i.App.CheckTx(ctx, req)
	i.m.checkTx.Observe(time.Since(t0).Seconds())
	if err == nil && r.Code != 0 {
		i.m.rejected.WithLabelValues(tx.Code(r.Code).String(), "check").Inc()
	}
	if err == nil && r.Code == 0 && req.Type == abci.CheckTxType_New {
		i.m.admitted(req.Tx, t0)
	}
	return r, err
}

func (i *instrumented) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	t0 := time.Now()
	r, err := i.App.FinalizeBlock(ctx, req)
	i.m.finalize.Observe(time.Since(t0).Seconds())
	if err == nil && len(req.Txs) > 0 && tx.PeekKind(req.Txs[0]) == tx.KindCheckpointSigs &&
		len(r.TxResults) > 0 && r.TxResults[0].Code == 0 {
		if cs, derr := tx.DecodeCheckpointSigs(req.Txs[0]); derr == nil {
			i.m.carries(uint64(req.Height), cs.Height)
		}
	}
	i.block.height, i.block.txs = req.Height, agencyTxs(req.Txs)
	i.crash.at(crashFinalize, req.Height, i.block.txs)
	return r, err
}

func (i *instrumented) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	i.crash.at(crashCommit, i.block.height, i.block.txs)
	t0 := time.Now()
	r, err := i.App.Commit(ctx, req)
	i.m.commit.Observe(time.Since(t0).Seconds())
	i.crash.at(crashSaved, i.block.height, i.block.txs)
	return r, err
}

// agencyTxs counts a block's transactions other than the checkpoint signatures its proposer adds.
func agencyTxs(txs [][]byte) int {
	if len(txs) > 0 && tx.PeekKind(txs[0]) == tx.KindCheckpointSigs {
		return len(txs) - 1
	}
	return len(txs)
}
