package app

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestSigCacheBound: the cache never holds more than sigCacheSize entries and forgets the oldest first.
func TestSigCacheBound(t *testing.T) {
	var c sigCache
	h := func(i int) [32]byte { return sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))) }
	for i := range sigCacheSize + 10 {
		c.add(h(i))
		c.add(h(i)) // a second add of the same hash takes no second slot
	}
	if len(c.set) != sigCacheSize {
		t.Fatalf("%d entries, want %d", len(c.set), sigCacheSize)
	}
	for i := range 10 {
		if c.has(h(i)) {
			t.Fatalf("entry %d should have been forgotten", i)
		}
	}
	for i := 10; i < sigCacheSize+10; i++ {
		if !c.has(h(i)) {
			t.Fatalf("entry %d was forgotten too early", i)
		}
	}
}
