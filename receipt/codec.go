package receipt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed is returned by the decoders of this file for bytes their encoders did not write.
var ErrMalformed = errors.New("receipt: malformed encoding")

// DecodeCheckpoint parses what Checkpoint.Encode returns.
func DecodeCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(b) < len(checkpointDomain) || string(b[:len(checkpointDomain)]) != checkpointDomain {
		return c, fmt.Errorf("%w: checkpoint domain", ErrMalformed)
	}
	d := decoder{b: b[len(checkpointDomain):]}
	n := int(d.byte())
	c.ChainID = string(d.bytes(n))
	c.Height = d.uint64()
	c.Time = time.Unix(0, int64(d.uint64())).UTC()
	c.LogSize = d.uint64()
	copy(c.LogRoot[:], d.bytes(32))
	copy(c.MapRoot[:], d.bytes(32))
	copy(c.Validators[:], d.bytes(32))
	copy(c.NextValidators[:], d.bytes(32))
	if err := d.end(); err != nil {
		return c, fmt.Errorf("%w: checkpoint: %v", ErrMalformed, err)
	}
	return c, nil
}

// Encode returns round(4) | count(2) | (validator index(2) | signature(64))...
func (s Signatures) Encode() []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(s.Round))
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Sigs)))
	for _, x := range s.Sigs {
		b = binary.BigEndian.AppendUint16(b, x.Validator)
		b = append(b, x.Signature[:]...)
	}
	return b
}

// DecodeSignatures parses what Signatures.Encode returns.
func DecodeSignatures(b []byte) (Signatures, error) {
	var s Signatures
	d := decoder{b: b}
	s.Round = int32(d.uint32())
	n := int(d.uint16())
	if d.err == nil && (n > MaxValidators || len(d.b) < n*66) {
		return s, fmt.Errorf("%w: %d signatures announced", ErrMalformed, n)
	}
	for i := 0; i < n; i++ {
		var x Sig
		x.Validator = d.uint16()
		copy(x.Signature[:], d.bytes(64))
		s.Sigs = append(s.Sigs, x)
	}
	if err := d.end(); err != nil {
		return s, fmt.Errorf("%w: signatures: %v", ErrMalformed, err)
	}
	return s, nil
}

// Encode returns count(2) | (public key(32) | power(8))...
func (v ValidatorSet) Encode() []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(v)))
	for _, x := range v {
		b = append(b, x.PubKey[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(x.Power))
	}
	return b
}

// DecodeValidatorSet parses what ValidatorSet.Encode returns and validates the set.
func DecodeValidatorSet(b []byte) (ValidatorSet, error) {
	d := decoder{b: b}
	n := int(d.uint16())
	if d.err == nil && (n > MaxValidators || len(d.b) < n*40) {
		return nil, fmt.Errorf("%w: %d validators announced", ErrMalformed, n)
	}
	v := make(ValidatorSet, n)
	for i := range v {
		copy(v[i].PubKey[:], d.bytes(32))
		v[i].Power = int64(d.uint64())
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrMalformed, err)
	}
	return v, v.Validate()
}

func (d *decoder) uint16() uint16 {
	if b := d.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// end reports a short read or trailing bytes.
func (d *decoder) end() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return nil
}
