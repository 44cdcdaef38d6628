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

// maxAnchorValueLen is the longest value anchorValueLen gives. Values written before the two parts
// (log index(8) | receipt.Record encoding, at least 132 bytes) are longer; readAnchor still reads them.
const maxAnchorValueLen = 25 + 32

// anchorValueLen is the length of a's value under pAnchor:
//
//	log index(8) | height(8) | tx index(4) | entry(4) | flags(1) | [meta digest(32) if flags&1]
func anchorValueLen(a *Anchor) int {
	if a.MetaDigest != nil {
		return 25 + 32
	}
	return 25
}

func appendAnchorValue(b []byte, a *Anchor) []byte {
	b = binary.BigEndian.AppendUint64(b, a.LogIndex)
	b = binary.BigEndian.AppendUint64(b, a.Height)
	b = binary.BigEndian.AppendUint32(b, a.TxIndex)
	b = binary.BigEndian.AppendUint32(b, a.Entry)
	if a.MetaDigest == nil {
		return append(b, 0)
	}
	return append(append(b, 1), a.MetaDigest[:]...)
}

// decodeAnchorValue parses what appendAnchorValue wrote for the document doc. The transaction's part
// of the record is left for decodeTxRecord.
func decodeAnchorValue(doc [32]byte, v []byte) (Anchor, error) {
	var a Anchor
	if len(v) != 25 && len(v) != 25+32 {
		return a, fmt.Errorf("store: anchor %x: corrupt value of %d bytes", doc, len(v))
	}
	a.DocHash = doc
	a.LogIndex = binary.BigEndian.Uint64(v)
	a.Height = binary.BigEndian.Uint64(v[8:])
	a.TxIndex = binary.BigEndian.Uint32(v[16:])
	a.Entry = binary.BigEndian.Uint32(v[20:])
	switch f := v[24]; {
	case f == 0 && len(v) == 25:
	case f == 1 && len(v) == 25+32:
		var m [32]byte
		copy(m[:], v[25:])
		a.MetaDigest = &m
	default:
		return a, fmt.Errorf("store: anchor %x: corrupt value: flags %#x with %d bytes", doc, f, len(v))
	}
	return a, nil
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
