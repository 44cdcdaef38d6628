package main

import (
	"context"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/app/tx"
)

// appMetrics are Siegel's own metrics, on a dedicated registry.
type appMetrics struct {
	anchors  *prometheus.CounterVec
	revoked  *prometheus.CounterVec
	txs      prometheus.Counter
	rejected *prometheus.CounterVec
	height   prometheus.Gauge
	checkTx  prometheus.Histogram
	finalize prometheus.Histogram
	commit   prometheus.Histogram
}

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
	}
	reg.MustRegister(m.anchors, m.revoked, m.txs, m.rejected, m.height, m.checkTx, m.finalize, m.commit)
	return m
}

// committed updates the counters from a committed block; it is called from the app's hook.
func (m *appMetrics) committed(c app.Committed) {
	m.height.Set(float64(c.Height))
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
}

// instrumented times the ABCI calls of the application (which itself never reads a clock), and holds
// the tests' kill switch.
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
	return r, err
}

func (i *instrumented) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	t0 := time.Now()
	r, err := i.App.FinalizeBlock(ctx, req)
	i.m.finalize.Observe(time.Since(t0).Seconds())
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
