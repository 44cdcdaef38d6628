package main

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchAgainstNode runs `siegel bench`'s load generator against a real node process, given (as
// the acceptance script does) every URL the testnet prints: the public API and the metrics
// listener as well as the agency API. Submissions fail over to the agency API; every one commits, and
// the report's figures are consistent.
func TestBenchAgainstNode(t *testing.T) {
	pn := newProcNet(t, 1)
	nd := pn.spec.Nodes[0]
	key, err := loadKey(filepath.Join(pn.dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := benchOptions{
		nodes:    []string{"http://" + nd.API, "http://" + nd.Metrics, "http://" + nd.Agency},
		key:      key,
		duration: 3 * time.Second,
		rate:     20,
		batch:    10,
		inflight: 1000,
		progress: io.Discard,
	}
	rep, err := runBench(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || len(rep.Rejected) != 0 {
		t.Fatalf("errors %d (first: %s), rejected %v", rep.Errors, rep.FirstError, rep.Rejected)
	}
	if rep.Sent != 60 || rep.Committed != rep.Sent || rep.Anchors != rep.Committed*int64(o.batch) {
		t.Fatalf("sent %d, committed %d transactions and %d anchors; want 60, 60 and 600", rep.Sent, rep.Committed, rep.Anchors)
	}
	l := rep.LatencyMS
	if !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latencies not ordered: %+v", l)
	}
	if rep.Window <= 0 || rep.AnchorsPS <= 0 || math.Abs(rep.TxsPS*float64(o.batch)-rep.AnchorsPS) > 1e-9*rep.AnchorsPS {
		t.Errorf("window %.2f s, %.1f anchors/s, %.1f tx/s", rep.Window, rep.AnchorsPS, rep.TxsPS)
	}
}
