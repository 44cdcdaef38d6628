package receipt

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Checkpoint is the state of the chain after a block: the roots of the event log and of the document
// map, and the validator sets that sign it and the next block. Its hash is the block's app hash, so
// CometBFT's own headers (and its light client) commit to it too.
type Checkpoint struct {
	ChainID string
	Height  uint64
	// Time is the block's consensus time.
	Time    time.Time
	LogSize uint64
	LogRoot [32]byte
	MapRoot [32]byte
	// Validators is the hash of the set that signs this checkpoint (ValidatorSet.Hash);
	// NextValidators that of the set for the next height.
	Validators     [32]byte
	NextValidators [32]byte
}

const checkpointDomain = "siegel/checkpoint/v1\n"

// Encode returns the canonical bytes of c: the domain string, then
// chain ID length(1) | chain ID | height(8) | time unix ns(8) | log size(8) | log root | map root |
// validators hash | next validators hash, integers big-endian.
func (c *Checkpoint) Encode() []byte {
	b := make([]byte, 0, len(checkpointDomain)+1+len(c.ChainID)+24+4*32)
	b = append(b, checkpointDomain...)
	b = append(b, byte(len(c.ChainID)))
	b = append(b, c.ChainID...)
	b = binary.BigEndian.AppendUint64(b, c.Height)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, c.LogSize)
	b = append(b, c.LogRoot[:]...)
	b = append(b, c.MapRoot[:]...)
	b = append(b, c.Validators[:]...)
	b = append(b, c.NextValidators[:]...)
	return b
}

// Hash is SHA-256 of Encode: the app hash of block Height, and what validators sign.
func (c *Checkpoint) Hash() [32]byte { return sha256.Sum256(c.Encode()) }
