package receipt_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// Receipts at scale: a map of 10^6 anchored documents (random hashes) and a log of their 10^6 anchor
// events, built in memory with store/tree, under checkpoints signed by the smallest quorum of 4, 7 and
// 16 validators. BenchmarkVerify reports the time to verify one receipt and the sizes of the receipts
// (averaged over 1000 documents):
//
//	go test -tags pebbledb -run='^$' -bench=BenchmarkVerify -benchmem ./receipt
//
// Building the state takes about 30 s and 2 GB; it is left out under -short.

const benchDocs = 1_000_000

type benchState struct {
	chain *goldenChain // holds the map, the log, the anchors; its checkpoints are replaced
	docs  [][32]byte
}

var benchOnce = sync.OnceValue(func() *benchState {
	r := rand.New(rand.NewPCG(10, 6))
	c := newGoldenChain("siegel-bench", nil)
	s := &benchState{chain: c}
	const perBlock = 10_000
	for c.docs < benchDocs {
		c.height++
		now := goldenBlockTime(c.height)
		var leaves [][32]byte
		var kvs []tree.KV
		for j := range perBlock {
			var doc [32]byte
			for k := 0; k < 32; k += 8 {
				v := r.Uint64()
				for b := range 8 {
					doc[k+b] = byte(v >> (8 * b))
				}
			}
			rec := receipt.Record{DocHash: doc, Agency: goldenAgencies[j%3], Signer: goldenPub(goldenKey(goldenAgencies[j%3])),
				Height: c.height, Time: now, TxHash: doc, TxIndex: uint32(j / 10), Entry: uint32(j % 10)}
			if j%4 == 1 {
				m := doc
				m[0] ^= 0xff
				rec.MetaDigest = &m
			}
			index := c.log.Size + uint64(len(leaves))
			c.anchors[doc] = goldenAnchor{rec: rec, index: index}
			s.docs = append(s.docs, doc)
			leaves = append(leaves, receipt.LogLeafHash(receipt.AnchorEvent(&rec)))
			kvs = append(kvs, tree.KV{Key: doc, Value: receipt.MapValue(&rec, receipt.StateAnchored, index, nil)})
		}
		c.docs += perBlock
		st, _, nodes, err := tree.AppendLog(c.log, leaves)
		if err != nil {
			panic(err)
		}
		c.log = st
		for _, x := range nodes {
			c.logNodes[goldenLogNode{x.Level, x.Index}] = x.Hash
		}
		_, writes, err := tree.Update(c.state.read, kvs)
		if err != nil {
			panic(err)
		}
		for _, w := range writes {
			c.state[w.Path] = w.Node
		}
	}
	c.maps[c.height] = c.state // the last height only: no copies of a map this size
	return s
})

// benchReceipts returns a receipt for doc against a checkpoint of the bench state signed by the smallest
// quorum of n validators, with the trust root.
func (s *benchState) receipt(n int, doc [32]byte) (*receipt.Receipt, receipt.TrustRoot) {
	c := s.chain
	v := newGoldenValidators(validatorNames(seq(0, n)...)...)
	logRoot, err := tree.LogRoot(c.log)
	if err != nil {
		panic(err)
	}
	mapRoot, err := tree.Root(c.state.read)
	if err != nil {
		panic(err)
	}
	cp := receipt.Checkpoint{ChainID: fmt.Sprintf("siegel-bench-%d", n), Height: c.height, Time: goldenBlockTime(c.height),
		LogSize: c.log.Size, LogRoot: logRoot, MapRoot: mapRoot, Validators: v.set.Hash(), NextValidators: v.set.Hash()}
	c.cps[c.height], c.sigs[c.height] = cp, v.sign(&cp, 0, v.signers(c.height))
	return c.receipt(doc, c.height), receipt.TrustRoot{ChainID: cp.ChainID, Validators: v.set}
}

func BenchmarkVerify(b *testing.B) {
	if testing.Short() {
		b.Skip("the state of 10^6 documents is left out under -short")
	}
	start := time.Now()
	s := benchOnce()
	b.Logf("built a map and a log of %d documents in %v", len(s.docs), time.Since(start).Round(time.Second))
	r := rand.New(rand.NewPCG(11, 7))
	for _, n := range []int{4, 7, 16} {
		for _, state := range []string{"anchored", "absent"} {
			b.Run(fmt.Sprintf("docs=%d/validators=%d/%s", benchDocs, n, state), func(b *testing.B) {
				doc := func() [32]byte {
					if state == "anchored" {
						return s.docs[r.IntN(len(s.docs))]
					}
					return goldenAbsent(r.IntN(1 << 30))
				}
				// Sizes, averaged over 1000 documents.
				var compact, js, minC, maxC int
				const samples = 1000
				for i := range samples {
					rc, _ := s.receipt(n, doc())
					c := len(rc.EncodeCompact())
					j, err := json.Marshal(rc)
					if err != nil {
						b.Fatal(err)
					}
					compact, js = compact+c, js+len(j)
					if i == 0 || c < minC {
						minC = c
					}
					maxC = max(maxC, c)
				}
				rc, trust := s.receipt(n, doc())
				if _, err := receipt.Verify(rc, trust); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := receipt.Verify(rc, trust); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(compact)/samples, "compact-B")
				b.ReportMetric(float64(minC), "min-compact-B")
				b.ReportMetric(float64(maxC), "max-compact-B")
				b.ReportMetric(float64(js)/samples, "json-B")
				b.ReportMetric(float64(len(rc.Signatures.Sigs)), "sigs")
			})
		}
	}
}
