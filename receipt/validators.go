package receipt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Validator is a consensus validator: its ed25519 key and voting power.
type Validator struct {
	PubKey [32]byte
	Power  int64
}

// ValidatorSet is a validator set in canonical order (ascending public key).
type ValidatorSet []Validator

// Errors about validator sets and signatures.
var (
	ErrValidatorSet = errors.New("receipt: invalid validator set")
	ErrSignature    = errors.New("receipt: invalid signature")
	ErrNoQuorum     = errors.New("receipt: signatures do not reach more than 2/3 of the voting power")
)

// MaxValidators bounds the size of a validator set a receipt may carry.
const MaxValidators = 512

// Canonical returns a copy sorted by public key.
func (v ValidatorSet) Canonical() ValidatorSet {
	out := slices.Clone(v)
	slices.SortFunc(out, func(a, b Validator) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	return out
}

// Validate checks that v is canonical, non-empty, without repeats, with positive powers whose total
// cannot overflow.
func (v ValidatorSet) Validate() error {
	if len(v) == 0 || len(v) > MaxValidators {
		return fmt.Errorf("%w: %d validators", ErrValidatorSet, len(v))
	}
	var total int64
	for i, x := range v {
		if x.Power <= 0 || x.Power > 1<<50 {
			return fmt.Errorf("%w: validator %d has power %d", ErrValidatorSet, i, x.Power)
		}
		total += x.Power
		if i > 0 && bytes.Compare(v[i-1].PubKey[:], x.PubKey[:]) >= 0 {
			return fmt.Errorf("%w: not in ascending key order at %d", ErrValidatorSet, i)
		}
	}
	return nil
}

// TotalPower sums the voting power.
func (v ValidatorSet) TotalPower() int64 {
	var t int64
	for _, x := range v {
		t += x.Power
	}
	return t
}

// Hash commits to the set: SHA-256 of "siegel/validators/v1\n" || count(2) || (key | power(8))...
func (v ValidatorSet) Hash() [32]byte {
	h := sha256.New()
	h.Write([]byte("siegel/validators/v1\n"))
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(len(v))))
	for _, x := range v {
		h.Write(x.PubKey[:])
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(x.Power)))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Sig is one validator's signature; Validator indexes the canonical set.
type Sig struct {
	Validator uint16
	Signature [64]byte
}

// Signatures are validators' signatures on a checkpoint, made by CometBFT as vote extensions of the
// precommits for that height in the given round.
type Signatures struct {
	Round int32
	Sigs  []Sig
}

// ExtensionSignBytes re-implements CometBFT's VoteExtensionSignBytes: the length-delimited protobuf
// encoding of CanonicalVoteExtension{extension = 1, height = 2 (sfixed64), round = 3 (sfixed64),
// chain_id = 4}. Fields with zero values are omitted, as proto3 does.
func ExtensionSignBytes(chainID string, height int64, round int64, extension []byte) []byte {
	var m []byte
	if len(extension) > 0 {
		m = append(m, 0x0a)
		m = binary.AppendUvarint(m, uint64(len(extension)))
		m = append(m, extension...)
	}
	if height != 0 {
		m = append(m, 0x11)
		m = binary.LittleEndian.AppendUint64(m, uint64(height))
	}
	if round != 0 {
		m = append(m, 0x19)
		m = binary.LittleEndian.AppendUint64(m, uint64(round))
	}
	if chainID != "" {
		m = append(m, 0x22)
		m = binary.AppendUvarint(m, uint64(len(chainID)))
		m = append(m, chainID...)
	}
	return append(binary.AppendUvarint(nil, uint64(len(m))), m...)
}

// VerifyQuorum checks that sigs are valid signatures of distinct members of set over checkpoint c and
// that their power exceeds 2/3 of the set's total.
func VerifyQuorum(set ValidatorSet, c *Checkpoint, sigs Signatures) error {
	if err := set.Validate(); err != nil {
		return err
	}
	if set.Hash() != c.Validators {
		return fmt.Errorf("%w: the checkpoint names validator set %x, the trusted set is %x", ErrValidatorSet, c.Validators[:8], set.Hash())
	}
	if len(sigs.Sigs) > len(set) {
		return fmt.Errorf("%w: %d signatures for %d validators", ErrSignature, len(sigs.Sigs), len(set))
	}
	h := c.Hash()
	msg := ExtensionSignBytes(c.ChainID, int64(c.Height), int64(sigs.Round), h[:])
	seen := make([]bool, len(set))
	var power int64
	for _, s := range sigs.Sigs {
		if int(s.Validator) >= len(set) {
			return fmt.Errorf("%w: validator index %d out of range", ErrSignature, s.Validator)
		}
		if seen[s.Validator] {
			return fmt.Errorf("%w: validator %d signed twice", ErrSignature, s.Validator)
		}
		seen[s.Validator] = true
		v := set[s.Validator]
		if !ed25519.Verify(v.PubKey[:], msg, s.Signature[:]) {
			return fmt.Errorf("%w: by validator %d (%x)", ErrSignature, s.Validator, v.PubKey[:8])
		}
		power += v.Power
	}
	if total := set.TotalPower(); power*3 <= total*2 {
		return fmt.Errorf("%w: %d of %d", ErrNoQuorum, power, total)
	}
	return nil
}
