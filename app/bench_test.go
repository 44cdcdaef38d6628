package app

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// BenchmarkFinalizeCommit measures one block of one anchor transaction, from FinalizeBlock through the
// synced Commit, on a Pebble store on disk. Signing happens before the timer starts; the signature
// check in FinalizeBlock is measured.
func BenchmarkFinalizeCommit(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			n := newNode(b, testGenesis(DefaultParams()))
			n.app.hooks = Hooks{} // keep nothing between blocks
			txs := make([][]byte, b.N)
			for i := range txs {
				h := uint64(i + 1)
				hashes := make([][32]byte, batch)
				for j := range hashes {
					hashes[j] = sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, h), uint64(j)))
				}
				txs[i] = anchorTx(keyA1, h, h+10, hashes...)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if res := n.block(txs[i]); res.TxResults[0].Code != uint32(tx.CodeOK) {
					b.Fatalf("block %d: code %v: %s", i+1, tx.Code(res.TxResults[0].Code), res.TxResults[0].Log)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "anchors/s")
		})
	}
}
