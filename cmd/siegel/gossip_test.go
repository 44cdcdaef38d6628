package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/p2p"
)

// metaTestnet is a 4-validator testnet whose nodes run in this process and can be stopped and
// started again.
type metaTestnet struct {
	dir   string
	spec  *testnetSpec
	nodes []*testNode
	key   string // the test agency's key file
}

func newMetaTestnet(t testing.TB) *metaTestnet {
	t.Helper()
	dir := t.TempDir()
	spec, err := initTestnet(dir, freeLayout(t, dir, 4), 4, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	n := &metaTestnet{dir: dir, spec: spec, key: filepath.Join(dir, testnetKeyFile)}
	for _, nd := range spec.Nodes {
		n.nodes = append(n.nodes, startNode(t, nd.Home, listenFlags{}))
	}
	return n
}

func (n *metaTestnet) agency(i int) *api.Client {
	return api.NewClient("http://" + n.spec.Nodes[i].Agency)
}
func (n *metaTestnet) public(i int) *api.Client {
	return api.NewClient("http://" + n.spec.Nodes[i].API)
}

// writeMetaFile writes a metadata file for `siegel anchor --meta`.
func writeMetaFile(t testing.TB, visibility, title string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "meta.json")
	body := fmt.Sprintf(`{"visibility": %q, "fields": {"doc_type": "diploma", "issuer_office": "Gymnasium am Markt", "title": %q, "valid_from": "2026-07-01"}}`, visibility, title)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// anchorMeta anchors docs with the metadata of file through node i's agency API, as `siegel anchor
// --meta` does, and checks that every document was committed and its metadata published.
func (n *metaTestnet) anchorMeta(t *testing.T, i int, file string, docs []document) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, err := loadKey(n.key)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := loadMetaFile(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := anchorWithMeta(ctx, n.agency(i), key, docs, meta, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != api.SubmitCommitted || r.Metadata != metaPublished {
			t.Fatalf("anchor with metadata: %+v", r)
		}
	}
}

// waitMetadata waits until node i's agency API serves the metadata of every document in docs.
func (n *metaTestnet) waitMetadata(t *testing.T, i int, docs []document, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	c := n.agency(i)
	for _, d := range docs {
		for {
			_, err := c.Metadata(ctx, d.Hash)
			if err == nil {
				break
			}
			if !errors.Is(err, api.ErrNotFound) || ctx.Err() != nil {
				t.Fatalf("node%d: metadata of %s: %v", i, d.Name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func metaDocuments(prefix string, n int) []document {
	docs := make([]document, n)
	for i := range docs {
		name := fmt.Sprintf("%s-%d", prefix, i)
		docs[i] = document{Name: name, Hash: sha256.Sum256([]byte(name))}
	}
	return docs
}

// scrape parses node i's /metrics.
func (n *metaTestnet) scrape(t *testing.T, i int) scrape {
	return scrapeMetrics(t, n.nodes[i].r.MetricsURL)
}

// TestMetadataGossip runs 4 validators. Metadata published at one node reaches every other node: public
// metadata is shown by their public APIs, restricted metadata only by their agency APIs. A node that
// was stopped while metadata was published catches up after its restart, and a node whose metadata was
// wiped rebuilds it from its peers.
func TestMetadataGossip(t *testing.T) {
	n := newMetaTestnet(t)
	public := metaDocuments("public", 12)
	restricted := metaDocuments("restricted", 3)
	n.anchorMeta(t, 0, writeMetaFile(t, "public", "Zeugnis"), public)
	n.anchorMeta(t, 0, writeMetaFile(t, "restricted", "Vermerk"), restricted)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 1; i < 4; i++ {
		n.waitMetadata(t, i, slices.Concat(public, restricted), 30*time.Second)
		for _, d := range public {
			v, found, err := n.public(i).Anchor(ctx, d.Hash)
			if err != nil || !found || v.Metadata == nil || v.Metadata.Fields["title"] != "Zeugnis" {
				t.Fatalf("node%d public API, %s: found %v, metadata %+v, %v", i, d.Name, found, v.Metadata, err)
			}
		}
		for _, d := range restricted {
			v, found, err := n.public(i).Anchor(ctx, d.Hash)
			if err != nil || !found || v.Metadata != nil || v.MetaDigest == "" {
				t.Fatalf("node%d public API shows restricted metadata of %s: %+v, %v", i, d.Name, v.Metadata, err)
			}
			m, err := n.agency(i).Metadata(ctx, d.Hash)
			if err != nil || m.Visibility != "restricted" || m.Fields["title"] != "Vermerk" {
				t.Fatalf("node%d agency API, %s: %+v, %v", i, d.Name, m, err)
			}
		}
	}
	// The figures: node 1 accepted messages from gossip, and saw its peers.
	m1 := n.scrape(t, 1)
	if v := m1.value(t, "siegel_metadata_messages_total", "result", "accepted", "reason", "gossip"); v < 1 {
		t.Errorf("node1 accepted %v messages by gossip", v)
	}
	if v := m1.value(t, "siegel_p2p_peers"); v != 3 {
		t.Errorf("node1 has %v gossip peers, want 3", v)
	}

	// Publishing again what is stored already succeeds and is not gossiped again (the others would take
	// it for a replay).
	out, code := runCLI(t, "metadata", "publish", "--node", "http://"+n.spec.Nodes[0].Agency, "--key", n.key,
		"--meta", writeMetaFile(t, "public", "Zeugnis"), "--hash", fmt.Sprintf("%x", public[0].Hash))
	if code != 0 || !strings.Contains(out, "metadata published") {
		t.Fatalf("metadata publish again: exit %d: %s", code, out)
	}

	// Node 3 is down while more metadata is published; after its restart it fetches what it missed.
	n.nodes[3].stop(t)
	missed := metaDocuments("while-down", 6)
	n.anchorMeta(t, 1, writeMetaFile(t, "public", "Nachtrag"), missed)
	n.waitMetadata(t, 2, missed, 30*time.Second)
	n.nodes[3] = startNode(t, n.spec.Nodes[3].Home, listenFlags{})
	n.waitMetadata(t, 3, missed, time.Minute)
	if v := n.scrape(t, 3).value(t, "siegel_metadata_messages_total", "result", "accepted", "reason", "sync"); v < 1 {
		t.Errorf("node3 fetched %v messages by catch-up, want them all", v)
	}

	// Node 2's metadata is wiped; after its restart it rebuilds all of it from its peers.
	n.nodes[2].stop(t)
	out, code = runCLI(t, "metadata", "wipe", "--home", n.spec.Nodes[2].Home)
	if code != 0 || !strings.Contains(out, "deleted 21 metadata messages") {
		t.Fatalf("metadata wipe: exit %d: %s", code, out)
	}
	n.nodes[2] = startNode(t, n.spec.Nodes[2].Home, listenFlags{})
	n.waitMetadata(t, 2, slices.Concat(public, restricted, missed), time.Minute)
	if v := n.scrape(t, 2).value(t, "siegel_metadata_catchup_missing"); v != 0 {
		t.Errorf("node2 still misses %v after rebuilding", v)
	}
	// Honest nodes never had a reason to reject anything.
	for i := range 4 {
		if v := n.scrape(t, i).sum("siegel_metadata_messages_total", "result", "rejected"); v != 0 {
			t.Errorf("node%d rejected %v metadata messages", i, v)
		}
	}
}

// TestMetadataRejectReasonsKnown: every reason the node gives for refusing a published message is a
// documented error code of the agency API (the reasons that only catch-up or gossip give aside).
func TestMetadataRejectReasonsKnown(t *testing.T) {
	for _, r := range p2p.RejectReasons {
		if r != p2p.ReasonUnrequested && r != p2p.ReasonReplayed && !api.KnownRejection(string(r)) {
			t.Errorf("reason %q is not a documented code of POST /v1/metadata", r)
		}
	}
}

// BenchmarkMetadataDelivery measures how long metadata published at one node of a 4-validator testnet
// (in this process, on loopback) takes until each of the three other nodes serves it. Each iteration
// publishes one message at node 0, its anchor committed beforehand, and polls the other nodes' agency
// APIs every 2 ms; the latencies are from the start of the publish call.
//
//	go test -tags pebbledb -run '^$' -bench BenchmarkMetadataDelivery -benchtime 200x ./cmd/siegel
func BenchmarkMetadataDelivery(b *testing.B) {
	n := newMetaTestnet(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	key, err := loadKey(n.key)
	if err != nil {
		b.Fatal(err)
	}
	meta, err := loadMetaFile(writeMetaFile(b, "public", "Zeugnis"))
	if err != nil {
		b.Fatal(err)
	}
	docs := metaDocuments(fmt.Sprint("delivery-", b.N), b.N)
	c := n.agency(0)
	st, err := c.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	metas, err := signMetadata(ctx, c, st.ChainID, key, meta, docs)
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < len(docs); start += st.MaxBatch {
		end := min(start+st.MaxBatch, len(docs))
		var entries []tx.Entry
		for i := start; i < end; i++ {
			dg := metas[i].msg.Digest()
			entries = append(entries, tx.Entry{Hash: docs[i].Hash, MetaDigest: &dg})
		}
		r, err := c.Submit(ctx, signTx(key, st.ChainID, st.Height+100, &tx.Anchor{Entries: entries}))
		if err != nil || r.Status != api.SubmitCommitted {
			b.Fatalf("anchor: %+v %v", r, err)
		}
	}
	last := docs[len(docs)-1].Hash
	for i := 1; i < 4; i++ { // every node has committed the anchors
		for {
			if _, found, err := n.public(i).Anchor(ctx, last); err != nil {
				b.Fatal(err)
			} else if found {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for i, d := range docs {
		t0 := time.Now()
		if _, err := c.PublishMetadata(ctx, metas[i].raw); err != nil {
			b.Fatalf("publish: %v", err)
		}
		for j := 1; j < 4; j++ {
			for {
				_, err := n.agency(j).Metadata(ctx, d.Hash)
				if err == nil {
					break
				}
				if !errors.Is(err, api.ErrNotFound) {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50_ms")
	b.ReportMetric(q(0.95), "p95_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
	b.ReportMetric(0, "ns/op")
}
