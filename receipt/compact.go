package receipt

import (
	"encoding/binary"
	"fmt"
)

// The compact form of a receipt, small enough for a QR code (binary, integers big-endian):
//
//	"SR" | version(1) | state(1) | doc hash(32)
//	anchored or revoked: record length(2) | record | log index(8) | log proof count(1) | hashes(32 each)
//	revoked only: revocation length(2) | revocation (Revocation.Encode)
//	map proof length(2) | map proof
//	checkpoint length(2) | checkpoint (Checkpoint.Encode without its domain string)
//	signatures length(2) | signatures (Signatures.Encode)
//	transitions(2) | per transition: checkpoint length(2) | checkpoint | signatures length(2) |
//	                 signatures | validator set length(2) | validator set (ValidatorSet.Encode)
const compactMagic = "SR"

// EncodeCompact returns the compact form of r.
func (r *Receipt) EncodeCompact() []byte {
	b := append([]byte(compactMagic), byte(r.Version), byte(r.State))
	b = append(b, r.DocHash[:]...)
	if (r.State == StateAnchored || r.State == StateRevoked) && r.Record != nil {
		b = appendField(b, r.Record.Encode())
		b = binary.BigEndian.AppendUint64(b, r.LogIndex)
		b = append(b, byte(len(r.LogProof)))
		for _, h := range r.LogProof {
			b = append(b, h[:]...)
		}
	}
	if r.State == StateRevoked && r.Revocation != nil {
		b = appendField(b, r.Revocation.Encode())
	}
	b = appendField(b, r.MapProof.Encode())
	b = appendField(b, r.Checkpoint.Encode()[len(checkpointDomain):])
	b = appendField(b, r.Signatures.Encode())
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Transitions)))
	for _, t := range r.Transitions {
		b = appendField(b, t.Checkpoint.Encode()[len(checkpointDomain):])
		b = appendField(b, t.Signatures.Encode())
		b = appendField(b, t.Next.Encode())
	}
	return b
}

func appendField(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
	return append(b, f...)
}

func (d *decoder) field() []byte { return d.bytes(int(d.uint16())) }

// DecodeCompact parses the compact form strictly.
func DecodeCompact(b []byte) (*Receipt, error) {
	if len(b) < 2 || string(b[:2]) != compactMagic {
		return nil, fmt.Errorf("%w: not a compact receipt", ErrMalformed)
	}
	d := decoder{b: b[2:]}
	r := &Receipt{Version: int(d.byte()), State: State(d.byte())}
	copy(r.DocHash[:], d.bytes(32))
	var err error
	switch {
	case d.err != nil:
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, d.err)
	case r.State == StateAnchored || r.State == StateRevoked:
		rec, err := DecodeRecord(d.field())
		if err != nil {
			return nil, err
		}
		r.Record = &rec
		r.LogIndex = d.uint64()
		n := int(d.byte())
		for i := 0; i < n && d.err == nil; i++ {
			var h [32]byte
			copy(h[:], d.bytes(32))
			r.LogProof = append(r.LogProof, h)
		}
		if r.State == StateRevoked {
			rv, err := DecodeRevocation(d.field())
			if err != nil {
				return nil, err
			}
			r.Revocation = &rv
		}
	case r.State != StateUnknown:
		return nil, fmt.Errorf("%w: state %d", ErrMalformed, r.State)
	}
	if r.MapProof, err = DecodeMapProof(d.field()); err != nil {
		return nil, err
	}
	if r.Checkpoint, err = DecodeCheckpoint(append([]byte(checkpointDomain), d.field()...)); err != nil {
		return nil, err
	}
	if r.Signatures, err = DecodeSignatures(d.field()); err != nil {
		return nil, err
	}
	n := int(d.uint16())
	if n > MaxTransitions {
		return nil, fmt.Errorf("%w: %d transitions", ErrMalformed, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		var t Transition
		if t.Checkpoint, err = DecodeCheckpoint(append([]byte(checkpointDomain), d.field()...)); err != nil {
			return nil, err
		}
		if t.Signatures, err = DecodeSignatures(d.field()); err != nil {
			return nil, err
		}
		if t.Next, err = DecodeValidatorSet(d.field()); err != nil {
			return nil, err
		}
		r.Transitions = append(r.Transitions, t)
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return r, nil
}
