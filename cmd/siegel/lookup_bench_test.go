package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
)

// BenchmarkPublicLookups measures citizens' lookups on one dev node from loopback, over HTTP with
// keep-alive, 16 clients at once: the anchor lookup the page makes, and the receipt (proofs generated
// per request against the latest signed checkpoint). The node holds 10,000 anchors.
//
//	go test -tags pebbledb -run '^$' -bench BenchmarkPublicLookups -benchtime 10s ./cmd/siegel
func BenchmarkPublicLookups(b *testing.B) {
	home, lf := newDevHome(b)
	n := startNode(b, home, lf)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(home, devKeyFile))
	if err != nil {
		b.Fatal(err)
	}
	const total = 10000
	docs := make([]document, total)
	for i := range docs {
		docs[i] = document{Name: fmt.Sprint(i), Hash: sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))}
	}
	res, err := anchorDocuments(ctx, api.NewClient(n.r.AgencyURL), key, docs, 100)
	if err != nil {
		b.Fatal(err)
	}
	waitReceipt(b, ctx, api.NewClient(n.r.APIURL), docs[total-1].Hash, res[len(res)-1].Height)
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, kind := range []string{"anchor", "receipt"} {
		b.Run(kind, func(b *testing.B) {
			var next atomic.Uint64
			b.SetParallelism(8) // 8 x GOMAXPROCS clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d := docs[next.Add(7919)%total]
					url := n.r.APIURL + "/v1/anchors/" + hex.EncodeToString(d.Hash[:])
					if kind == "receipt" {
						url += "/receipt"
					}
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("%s: %d", url, resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
