package app

import "sync"

// sigCache remembers transactions, by the SHA-256 of their bytes, whose signature verified. A
// transaction is checked up to three times on each node (CheckTx when it arrives, PrepareProposal on the
// proposer, ProcessProposal or FinalizeBlock), and ed25519 verification of its bytes is the largest part
// of a small transaction's check. Verification is a pure function of the bytes, so remembering a "valid"
// changes no verdict. The cache holds at most sigCacheSize entries and forgets the oldest first.
type sigCache struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte
	next int
}

const sigCacheSize = 1 << 16

func (c *sigCache) has(h [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[h]
	return ok
}

func (c *sigCache) add(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set == nil {
		c.set = make(map[[32]byte]struct{}, sigCacheSize)
		c.ring = make([][32]byte, 0, sigCacheSize)
	}
	if _, ok := c.set[h]; ok {
		return
	}
	if len(c.ring) < sigCacheSize {
		c.ring = append(c.ring, h)
	} else {
		delete(c.set, c.ring[c.next])
		c.ring[c.next] = h
		c.next = (c.next + 1) % sigCacheSize
	}
	c.set[h] = struct{}{}
}
