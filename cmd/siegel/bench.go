package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
)

// benchReport is what `siegel bench --json` prints.
type benchReport struct {
	Nodes      []string         `json:"nodes"`
	Rate       float64          `json:"rate_tx_per_s"`
	Batch      int              `json:"batch"`
	Duration   float64          `json:"duration_s"`
	Sent       int64            `json:"sent"`
	Committed  int64            `json:"committed_txs"`
	Anchors    int64            `json:"committed_anchors"`
	Window     float64          `json:"window_s"`
	AnchorsPS  float64          `json:"anchors_per_s"`
	TxsPS      float64          `json:"txs_per_s"`
	LatencyMS  latencySummary   `json:"latency_ms"`
	Rejected   map[string]int64 `json:"rejected"`
	Errors     int64            `json:"errors"`
	FirstError string           `json:"first_error,omitempty"`
}

type latencySummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type benchOptions struct {
	nodes    []string
	key      ed25519.PrivateKey
	duration time.Duration
	rate     float64
	batch    int
	inflight int
	progress io.Writer
	tls      *tls.Config // for https:// nodes; nil: Go's defaults
}

func newBenchCmd() *cobra.Command {
	var nodes, keyPath string
	var o benchOptions
	var asJSON bool
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "bench --key FILE --node URL[,URL...] [--duration D] [--rate R] [--batch B] [--json]",
		Short: "Load a network with signed anchor transactions and measure commits and latency",
		Long: "Submits signed anchor transactions of B fresh hashes each at R transactions per second (open loop:\n" +
			"a slow network shows up as latency, not as a lower offered load), spread over the given agency API\n" +
			"URLs, for duration D, then waits for the answers. Reports committed anchors and transactions per\n" +
			"second (over the window from the first submission to the last commit), submission-to-commit latency\n" +
			"and rejections by code. Progress goes to stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyPath == "" {
				return errors.New("--key FILE is required")
			}
			key, err := loadKey(keyPath)
			if err != nil {
				return err
			}
			o.key, o.progress = key, cmd.ErrOrStderr()
			if o.nodes, err = nodeURLs(nodes); err != nil {
				return err
			}
			if o.tls, err = tf.config(o.nodes); err != nil {
				return err
			}
			if o.rate <= 0 || o.batch < 1 || o.duration <= 0 || o.inflight < 1 {
				return errors.New("need --node, and positive --rate, --batch, --duration and --max-inflight")
			}
			rep, err := runBench(cmd.Context(), o)
			if err != nil {
				return err
			}
			return printBench(cmd.OutOrStdout(), rep, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated; submissions go round-robin")
	f.StringVar(&keyPath, "key", "", "agency private key file")
	tf.register(f)
	f.DurationVar(&o.duration, "duration", 20*time.Second, "how long to offer load")
	f.Float64Var(&o.rate, "rate", 100, "transactions per second to offer")
	f.IntVar(&o.batch, "batch", 1, "document hashes per transaction")
	f.IntVar(&o.inflight, "max-inflight", 20000, "most submissions waiting for their commit at once; beyond it a send is counted as an error")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// runBench offers the load and collects the answers.
func runBench(ctx context.Context, o benchOptions) (*benchReport, error) {
	tr := &http.Transport{MaxIdleConns: o.inflight, MaxIdleConnsPerHost: o.inflight, IdleConnTimeout: 30 * time.Second, TLSClientConfig: o.tls}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	probe := api.NewClient(o.nodes...)
	probe.HTTP = hc
	st, err := probe.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	ttl := st.MaxTTL
	if ttl == 0 {
		ttl = 100
	}
	if st.MaxBatch > 0 && o.batch > st.MaxBatch {
		return nil, fmt.Errorf("--batch %d exceeds the chain's maximum of %d", o.batch, st.MaxBatch)
	}
	var run [16]byte
	if _, err := rand.Read(run[:]); err != nil {
		return nil, err
	}
	// Submission i goes first to node i mod N, then to the others in turn: the load is spread, and a
	// node that is down, catching up or not an agency API is failed over.
	clients := make([]*api.Client, len(o.nodes))
	for i := range o.nodes {
		urls := append(slices.Clone(o.nodes[i:]), o.nodes[:i]...)
		clients[i] = &api.Client{URLs: urls, HTTP: hc, Retry: 5 * time.Second}
	}

	var (
		mu        sync.Mutex
		latencies []float64
		rep       = &benchReport{Nodes: o.nodes, Rate: o.rate, Batch: o.batch, Duration: o.duration.Seconds(), Rejected: map[string]int64{}}
		lastDone  time.Time
		inflight  atomic.Int64
		committed atomic.Int64
		sent      atomic.Int64
		wg        sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		rep.Errors++
		if rep.FirstError == "" {
			rep.FirstError = err.Error()
		}
		mu.Unlock()
	}
	submit := func(seq int64) {
		defer wg.Done()
		defer inflight.Add(-1)
		hashes := make([][32]byte, o.batch)
		var buf [24]byte
		copy(buf[:16], run[:])
		for i := range hashes {
			binary.BigEndian.PutUint64(buf[16:], uint64(seq)*uint64(o.batch)+uint64(i))
			hashes[i] = sha256.Sum256(buf[:])
		}
		raw := signAnchor(o.key, st.ChainID, st.Height, ttl, hashes)
		t0 := time.Now()
		r, err := clients[seq%int64(len(clients))].Submit(ctx, raw)
		if err != nil {
			fail(err)
			return
		}
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if r.Status != api.SubmitCommitted {
			rep.Rejected[r.CodeName]++
			return
		}
		committed.Add(1)
		latencies = append(latencies, float64(d.Microseconds())/1000)
		if now := time.Now(); now.After(lastDone) {
			lastDone = now
		}
	}

	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.rate)
	stopProgress := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-tick.C:
				fmt.Fprintf(o.progress, "bench: %4.0fs sent %d, committed %d, waiting %d\n",
					time.Since(start).Seconds(), sent.Load(), committed.Load(), inflight.Load())
			}
		}
	}()
	// Open loop: the schedule is fixed by the clock, never by the answers.
	for seq := int64(0); ; seq++ {
		next := start.Add(time.Duration(seq) * interval)
		if next.Sub(start) >= o.duration {
			break
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				close(stopProgress)
				return nil, ctx.Err()
			}
		}
		sent.Add(1)
		if inflight.Load() >= int64(o.inflight) {
			fail(fmt.Errorf("more than %d submissions waiting", o.inflight))
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go submit(seq)
	}
	wg.Wait()
	close(stopProgress)

	rep.Sent, rep.Committed = sent.Load(), committed.Load()
	rep.Anchors = rep.Committed * int64(o.batch)
	if rep.Committed > 0 {
		rep.Window = lastDone.Sub(start).Seconds()
		rep.AnchorsPS = float64(rep.Anchors) / rep.Window
		rep.TxsPS = float64(rep.Committed) / rep.Window
		slices.Sort(latencies)
		q := func(p float64) float64 { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
		rep.LatencyMS = latencySummary{P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: latencies[len(latencies)-1]}
	}
	return rep, nil
}

func printBench(w io.Writer, r *benchReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	fmt.Fprintf(w, "offered %.0f tx/s x %d hashes for %.0f s to %d node(s): sent %d, committed %d, rejected %v, errors %d\n",
		r.Rate, r.Batch, r.Duration, len(r.Nodes), r.Sent, r.Committed, r.Rejected, r.Errors)
	fmt.Fprintf(w, "committed: %.0f anchors/s, %.1f tx/s over %.1f s\n", r.AnchorsPS, r.TxsPS, r.Window)
	fmt.Fprintf(w, "latency submit->commit: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		r.LatencyMS.P50, r.LatencyMS.P95, r.LatencyMS.P99, r.LatencyMS.Max)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	return nil
}
