package store

import (
	"encoding/binary"
	"sync"
)

// docFilter answers "is this document hash certainly not anchored?" from memory. Every write checks
// each new hash against the store (CheckTx, PrepareProposal, ProcessProposal), and nearly every such
// hash is new: a point lookup in Pebble that finds nothing still walks the memtables and a bloom filter
// per level. The filter holds every committed anchor; a "no" is final, a "maybe" falls through to Pebble,
// so verdicts are exactly those of the store and no node's determinism depends on it.
//
// It is a scalable Bloom filter: parts of doubling capacity, each ~0.8% false positives at its capacity
// (10 bits per hash, 7 probes), so n hashes cost about 1.25 bytes each in memory. Anchors are never
// deleted, so a hash once added stays true. The probes use the document hash's own bits: an agency that
// anchors chosen values instead of digests can only raise the false-positive rate, which costs lookups,
// never a wrong answer. BenchmarkDocFilter compares it with a library filter that cannot grow.
type docFilter struct {
	mu    sync.RWMutex
	parts []*bloomPart
}

type bloomPart struct {
	bits     []uint64
	mask     uint64 // number of bits - 1 (a power of two)
	n, limit int
}

const (
	filterFirst  = 1 << 16 // hashes the first part holds
	filterProbes = 7
)

func newBloomPart(limit int) *bloomPart {
	m := uint64(64)
	for m < uint64(limit)*10 {
		m <<= 1
	}
	return &bloomPart{bits: make([]uint64, m/64), mask: m - 1, limit: limit}
}

func probes(doc *[32]byte) (h1, h2 uint64) {
	return binary.LittleEndian.Uint64(doc[0:8]), binary.LittleEndian.Uint64(doc[8:16]) | 1
}

func (p *bloomPart) add(doc *[32]byte) {
	h1, h2 := probes(doc)
	for i := range uint64(filterProbes) {
		b := (h1 + i*h2) & p.mask
		p.bits[b>>6] |= 1 << (b & 63)
	}
	p.n++
}

func (p *bloomPart) has(doc *[32]byte) bool {
	h1, h2 := probes(doc)
	for i := range uint64(filterProbes) {
		b := (h1 + i*h2) & p.mask
		if p.bits[b>>6]&(1<<(b&63)) == 0 {
			return false
		}
	}
	return true
}

func (f *docFilter) add(docs ...[32]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range docs {
		last := len(f.parts) - 1
		if last < 0 || f.parts[last].n >= f.parts[last].limit {
			limit := filterFirst
			if last >= 0 {
				limit = 2 * f.parts[last].limit
			}
			f.parts = append(f.parts, newBloomPart(limit))
			last++
		}
		f.parts[last].add(&docs[i])
	}
}

// mayContain reports false only for a hash that is certainly not anchored.
func (f *docFilter) mayContain(doc [32]byte) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.parts {
		if p.has(&doc) {
			return true
		}
	}
	return false
}
