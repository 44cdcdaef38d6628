package receipt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Record is what the chain says about one anchored document hash.
type Record struct {
	// DocHash is the SHA-256 of the document.
	DocHash [32]byte
	// Agency is the ID of the registered agency that anchored it.
	Agency string
	// Signer is the ed25519 public key that signed the anchoring transaction.
	Signer [32]byte
	// Height is the block height at which the anchor was committed.
	Height uint64
	// Time is the block's consensus time (BFT time, not a wall clock of any one node).
	Time time.Time
	// TxHash is the SHA-256 of the transaction bytes, as CometBFT computes it.
	TxHash [32]byte
	// TxIndex is the transaction's position in its block; Entry the document's position in the batch.
	TxIndex uint32
	Entry   uint32
	// MetaDigest is the optional SHA-256 commitment to the document's metadata.
	MetaDigest *[32]byte
}

// recordVersion is the first byte of every encoded Record.
const recordVersion = 1

// MaxAgencyIDLen bounds agency IDs everywhere they are encoded.
const MaxAgencyIDLen = 64

// ErrMalformedRecord is returned by DecodeRecord for bytes that are not a canonical Record encoding.
var ErrMalformedRecord = errors.New("receipt: malformed record")

// Encode returns the canonical binary encoding of r:
//
//	version(1)=1 | doc hash(32) | agency len(1) | agency | signer(32) | height(8) | time unix ns(8) |
//	tx hash(32) | tx index(4) | entry(4) | flags(1) | [meta digest(32) if flags&1]
//
// All integers are big-endian. The encoding is what the Merkle log will commit to, so it never changes
// for version 1.
func (r *Record) Encode() []byte {
	n := 1 + 32 + 1 + len(r.Agency) + 32 + 8 + 8 + 32 + 4 + 4 + 1
	if r.MetaDigest != nil {
		n += 32
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = append(b, r.DocHash[:]...)
	b = append(b, byte(len(r.Agency)))
	b = append(b, r.Agency...)
	b = append(b, r.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Height)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = append(b, r.TxHash[:]...)
	b = binary.BigEndian.AppendUint32(b, r.TxIndex)
	b = binary.BigEndian.AppendUint32(b, r.Entry)
	if r.MetaDigest != nil {
		b = append(b, 1)
		b = append(b, r.MetaDigest[:]...)
	} else {
		b = append(b, 0)
	}
	return b
}

// DecodeRecord parses the canonical encoding written by Encode. It rejects unknown versions, bad
// lengths and trailing bytes, so that every Record has exactly one encoding.
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion && d.err == nil {
		return r, fmt.Errorf("%w: version %d", ErrMalformedRecord, v)
	}
	copy(r.DocHash[:], d.bytes(32))
	alen := int(d.byte())
	if d.err == nil && (alen == 0 || alen > MaxAgencyIDLen) {
		return r, fmt.Errorf("%w: agency ID length %d", ErrMalformedRecord, alen)
	}
	r.Agency = string(d.bytes(alen))
	copy(r.Signer[:], d.bytes(32))
	r.Height = d.uint64()
	r.Time = time.Unix(0, int64(d.uint64())).UTC()
	copy(r.TxHash[:], d.bytes(32))
	r.TxIndex = d.uint32()
	r.Entry = d.uint32()
	switch f := d.byte(); {
	case d.err != nil:
	case f == 1:
		var m [32]byte
		copy(m[:], d.bytes(32))
		r.MetaDigest = &m
	case f != 0:
		return r, fmt.Errorf("%w: flags %#x", ErrMalformedRecord, f)
	}
	if d.err != nil {
		return r, fmt.Errorf("%w: %v", ErrMalformedRecord, d.err)
	}
	if len(d.b) != 0 {
		return r, fmt.Errorf("%w: %d trailing bytes", ErrMalformedRecord, len(d.b))
	}
	return r, nil
}

// decoder reads big-endian fields and remembers the first short read.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errShort
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}
