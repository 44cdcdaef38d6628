package app

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

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

// BenchmarkValidatorPipeline measures what one validator does for each block of a loaded network: CheckTx
// on every transaction as it arrives, PrepareProposal (as the proposer), ProcessProposal, FinalizeBlock
// and the synced Commit, on a Pebble store on disk that grows by a block of transactions of 1,000 hashes
// each: 10 (the figures of 2026-11-22 and before) or 40 (a loaded 4-validator testnet's blocks hold
// 20,000-80,000 anchors). Signing happens before the timer starts. Run it with -benchtime=Nx: N blocks.
func BenchmarkValidatorPipeline(b *testing.B) {
	for _, perBlock := range []int{10, 40} {
		b.Run(fmt.Sprintf("block=%d", perBlock*1000), func(b *testing.B) { benchmarkPipeline(b, perBlock) })
	}
}

func benchmarkPipeline(b *testing.B, perBlock int) {
	const batch = 1000
	n := newNode(b, testGenesis(DefaultParams()))
	n.app.hooks = Hooks{}
	blocks := make([][][]byte, b.N)
	for i := range blocks {
		for k := range perBlock {
			nonce := uint64(i*perBlock + k + 1)
			hashes := make([][32]byte, batch)
			for j := range hashes {
				hashes[j] = sha256.Sum256(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, nonce), uint64(j)))
			}
			blocks[i] = append(blocks[i], anchorTx(keyA1, nonce, uint64(i+2+5), hashes...))
		}
	}
	b.ReportAllocs()
	cpu0, faults0 := usage(b)
	b.ResetTimer()
	for i := range b.N {
		for _, raw := range blocks[i] {
			if c := n.checkTx(raw); c != tx.CodeOK {
				b.Fatalf("block %d: CheckTx: %v", i+1, c)
			}
		}
		txs := n.prepare(blocks[i]...)
		hash := blockHash(int64(i+2), "bench")
		if s := n.processBlock(hash, txs); s != abci.ResponseProcessProposal_ACCEPT {
			b.Fatalf("block %d: %v", i+1, s)
		}
		n.finalizeBlock(hash, txs)
		n.commit()
	}
	b.StopTimer()
	anchors := float64(b.N * perBlock * batch)
	b.ReportMetric(anchors/b.Elapsed().Seconds(), "anchors/s")
	// On a testnet, several validators share the cores: CPU time per anchor (all goroutines, Pebble's
	// compactions included) is what bounds the network's throughput.
	cpu1, faults1 := usage(b)
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/anchors, "cpu-us/anchor")
	// Each first touch of a fresh page costs a fault and the kernel's clearing of the page: in a loaded
	// testnet they were 9-17% of the machine's CPU (perf record -a, docs/PERFORMANCE.md).
	b.ReportMetric(float64(faults1-faults0)/anchors, "faults/anchor")
	// What Pebble wrote for it, in its log, flushes and compactions: it varies less than the CPU figures
	// (within 1% between runs of one binary at 1.2 million anchors), more once compactions come due
	// (1,777 and 1,929 bytes in two runs to 4 million).
	m := n.app.store.DB().Metrics()
	written := m.WAL.BytesWritten
	for _, l := range m.Levels {
		written += l.BytesFlushed + l.BytesCompacted
	}
	b.ReportMetric(float64(written)/anchors, "pebble-B/anchor")
}

// usage is the process's user and system CPU time so far, and the page faults it took that needed no
// I/O.
func usage(b *testing.B) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt
}
