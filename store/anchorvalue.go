package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// An anchor is stored in two parts. What is the document's own (its log index, its place in the
// block and the batch, its metadata commitment) goes under its hash, pAnchor; what every document of
// one transaction shares (the transaction's hash, its signer and agency, the block's time) goes once
// per transaction, pTxRec. A transaction of 1,000 hashes then stores 59 bytes per anchor (the 34-byte
// key and a 25-byte value) instead of 176 (the key and receipt.Record's encoding, which repeats the
// shared part in every anchor; with an 11-character agency ID), and Pebble's log,
// flushes and compactions, a third of a validator's CPU under batched load, write a quarter fewer bytes
// (BenchmarkValidatorPipeline: 1,280 per anchor instead of 1,670; docs/PERFORMANCE.md). readAnchor puts the receipt.Record back together; neither the app hash nor a
// receipt depends on how it is stored.

// The anchor's value also holds its value in the map while it is anchored (receipt.MapValue with
// receipt.StateAnchored): the map's top, which lives in memory, is rebuilt from the anchors when the
// store opens (loadTop), so that no block writes the top's leaves to Pebble (storage layout 2, see
// layout.go).

// maxAnchorValueLen is the longest value anchorValueLen gives. Values written before the two parts
// (log index(8) | receipt.Record encoding, at least 132 bytes) are longer; readAnchor still reads them.
const maxAnchorValueLen = 25 + 32 + 32

// Flags of an anchor value.
const (
	anchorHasMeta     = 1 // a metadata digest follows the flags
	anchorHasMapValue = 2 // the map value follows (and the metadata digest, if any)
)

// anchorValueLen is the length of a's value under pAnchor:
//
//	log index(8) | height(8) | tx index(4) | entry(4) | flags(1) | [meta digest(32) if flags&1] |
//	map value(32)
//
// Values written before layout 2 have no map value (flags&2 clear).
func anchorValueLen(a *Anchor) int {
	if a.MetaDigest != nil {
		return 25 + 32 + 32
	}
	return 25 + 32
}

func appendAnchorValue(b []byte, a *Anchor) []byte {
	b = binary.BigEndian.AppendUint64(b, a.LogIndex)
	b = binary.BigEndian.AppendUint64(b, a.Height)
	b = binary.BigEndian.AppendUint32(b, a.TxIndex)
	b = binary.BigEndian.AppendUint32(b, a.Entry)
	if a.MetaDigest == nil {
		return append(append(b, anchorHasMapValue), a.MapValue[:]...)
	}
	b = append(append(b, anchorHasMeta|anchorHasMapValue), a.MetaDigest[:]...)
	return append(b, a.MapValue[:]...)
}

// decodeAnchorValue parses what appendAnchorValue wrote for the document doc (or a value written before
// layout 2, without the map value: hasMap is then false). The transaction's part of the record is left
// for decodeTxRecord.
func decodeAnchorValue(doc [32]byte, v []byte) (a Anchor, hasMap bool, err error) {
	if len(v) < 25 {
		return a, false, fmt.Errorf("store: anchor %x: corrupt value of %d bytes", doc, len(v))
	}
	f := v[24]
	want := 25
	if f&anchorHasMeta != 0 {
		want += 32
	}
	if f&anchorHasMapValue != 0 {
		want += 32
	}
	if f&^(anchorHasMeta|anchorHasMapValue) != 0 || len(v) != want {
		return a, false, fmt.Errorf("store: anchor %x: corrupt value: flags %#x with %d bytes", doc, f, len(v))
	}
	a.DocHash = doc
	a.LogIndex = binary.BigEndian.Uint64(v)
	a.Height = binary.BigEndian.Uint64(v[8:])
	a.TxIndex = binary.BigEndian.Uint32(v[16:])
	a.Entry = binary.BigEndian.Uint32(v[20:])
	rest := v[25:]
	if f&anchorHasMeta != 0 {
		var m [32]byte
		copy(m[:], rest)
		a.MetaDigest = &m
		rest = rest[32:]
	}
	if f&anchorHasMapValue != 0 {
		copy(a.MapValue[:], rest)
	}
	return a, f&anchorHasMapValue != 0, nil
}

// txRecKey is the key of the record shared by the anchors of the transaction at index in the block
// at height.
func txRecKey(height uint64, index uint32) []byte {
	return key(pTxRec, u64(height), binary.BigEndian.AppendUint32(nil, index))
}

// txRecordLen is the length of a transaction's shared record:
//
//	tx hash(32) | signer(32) | block time, unix ns(8) | agency ID
func txRecordLen(agency string) int { return 72 + len(agency) }

func appendTxRecord(b []byte, r *receipt.Record) []byte {
	b = append(b, r.TxHash[:]...)
	b = append(b, r.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	return append(b, r.Agency...)
}

// decodeTxRecord fills r's shared part from what appendTxRecord wrote, with the time in UTC as
// receipt.DecodeRecord gives it.
func decodeTxRecord(v []byte, r *receipt.Record) error {
	if n := len(v) - 72; n < 1 || n > receipt.MaxAgencyIDLen {
		return fmt.Errorf("corrupt transaction record of %d bytes", len(v))
	}
	copy(r.TxHash[:], v)
	copy(r.Signer[:], v[32:])
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v[64:]))).UTC()
	r.Agency = string(v[72:])
	return nil
}
