package receipt

import (
	"encoding/binary"
	"fmt"
	"time"
)

// StateRevoked is the state of a document its agency revoked. It is declared beside StateAnchored.
const StateRevoked State = 2

// Revocation is what the chain recorded when an agency revoked a document it had anchored.
type Revocation struct {
	Height uint64
	Time   time.Time
	// Reason is the protocol's reason code (1 superseded, 2 issued in error, 3 withdrawn,
	// 4 key compromised).
	Reason    uint8
	Successor *[32]byte
	Signer    [32]byte
	TxHash    [32]byte
	// LogIndex is the position of the revocation event in the log.
	LogIndex uint64
}

// Encode returns height(8) | time unix ns(8) | reason(1) | flags(1) | [successor(32)] | signer(32) |
// tx hash(32) | log index(8).
func (v *Revocation) Encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, v.Height)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Time.UnixNano()))
	b = append(b, v.Reason)
	if v.Successor != nil {
		b = append(b, 1)
		b = append(b, v.Successor[:]...)
	} else {
		b = append(b, 0)
	}
	b = append(b, v.Signer[:]...)
	b = append(b, v.TxHash[:]...)
	return binary.BigEndian.AppendUint64(b, v.LogIndex)
}

// DecodeRevocation parses what Revocation.Encode returns.
func DecodeRevocation(b []byte) (Revocation, error) {
	var v Revocation
	d := decoder{b: b}
	v.Height = d.uint64()
	v.Time = time.Unix(0, int64(d.uint64())).UTC()
	v.Reason = d.byte()
	switch f := d.byte(); {
	case d.err != nil:
	case f == 1:
		var s [32]byte
		copy(s[:], d.bytes(32))
		v.Successor = &s
	case f != 0:
		return v, fmt.Errorf("%w: revocation flags %#x", ErrMalformed, f)
	}
	copy(v.Signer[:], d.bytes(32))
	copy(v.TxHash[:], d.bytes(32))
	v.LogIndex = d.uint64()
	if err := d.end(); err != nil {
		return v, fmt.Errorf("%w: revocation: %v", ErrMalformed, err)
	}
	return v, nil
}

const eventRevocation = 2

// RevocationEvent is the log entry of a revocation: kind(1) = 2 | document hash | revocation encoding.
func RevocationEvent(doc [32]byte, v *Revocation) []byte {
	b := append([]byte{eventRevocation}, doc[:]...)
	return append(b, v.Encode()...)
}
