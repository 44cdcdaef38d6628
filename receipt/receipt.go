package receipt

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Version is the receipt format version.
const Version = 1

// State is a document's state in the map.
type State uint8

// Document states. Unknown is never stored: it is what an absence proof shows.
const (
	StateUnknown  State = 0
	StateAnchored State = 1
)

func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateAnchored:
		return "anchored"
	case StateRevoked:
		return "revoked"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Event kinds in the log.
const eventAnchor = 1

// AnchorEvent is the log entry of an anchor: kind(1) = 1 | record encoding.
func AnchorEvent(r *Record) []byte { return append([]byte{eventAnchor}, r.Encode()...) }

// LogLeafHash is the RFC 6962 leaf hash of a log entry.
func LogLeafHash(event []byte) [32]byte {
	var h [32]byte
	copy(h[:], rfc6962.DefaultHasher.HashLeaf(event))
	return h
}

// MapValue is the value the document map holds for a document: SHA-256 of
// "siegel/doc/v1\n" | state(1) | log index(8) | record encoding | [revocation encoding, if revoked].
func MapValue(r *Record, s State, logIndex uint64, rev *Revocation) [32]byte {
	h := sha256.New()
	h.Write([]byte("siegel/doc/v1\n"))
	h.Write([]byte{byte(s)})
	var b [8]byte
	for i := range b {
		b[i] = byte(logIndex >> (56 - 8*i))
	}
	h.Write(b[:])
	h.Write(r.Encode())
	if s == StateRevoked && rev != nil {
		h.Write(rev.Encode())
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Receipt proves, against a checkpoint signed by a validator quorum, what the chain says about one
// document hash: anchored in this record at this height (with the record's place in the append-only
// log), or never anchored.
type Receipt struct {
	Version int
	// DocHash is the document hash the receipt is about.
	DocHash [32]byte
	// State is StateAnchored (Record, LogIndex, LogProof set), StateRevoked (also Revocation) or
	// StateUnknown (absence).
	State      State
	Record     *Record
	Revocation *Revocation
	LogIndex   uint64
	// LogProof is the RFC 6962 inclusion proof of the record's log entry in the log of Checkpoint.LogSize.
	LogProof [][32]byte
	// MapProof proves the document's state (or absence) under Checkpoint.MapRoot.
	MapProof   MapProof
	Checkpoint Checkpoint
	Signatures Signatures
	// Transitions lead from the trust root's validator set to the set that signed Checkpoint.
	Transitions []Transition
}

// Transition hands trust from one validator set to the next: Checkpoint, signed by the set trusted so
// far, names Next's hash as its NextValidators.
type Transition struct {
	Checkpoint Checkpoint
	Signatures Signatures
	Next       ValidatorSet
}

// TrustRoot is what a verifier trusts: the chain and its validator set at some height (genesis).
type TrustRoot struct {
	ChainID    string
	Validators ValidatorSet
}

// Result is what a valid receipt establishes.
type Result struct {
	DocHash [32]byte
	State   State
	// Record is set when State is StateAnchored or StateRevoked; Revocation when StateRevoked.
	Record     *Record
	Revocation *Revocation
	// AsOf is the checkpoint the state holds at.
	AsOf Checkpoint
}

// Errors of Verify beyond those of the proofs and signatures.
var (
	ErrVersion     = errors.New("receipt: unsupported version")
	ErrChain       = errors.New("receipt: checkpoint is for another chain")
	ErrRecord      = errors.New("receipt: record does not match the receipt")
	ErrLogProof    = errors.New("receipt: log inclusion proof does not verify")
	ErrTransitions = errors.New("receipt: validator transitions do not lead to the signing set")
)

// MaxTransitions bounds the validator-set transitions a receipt may carry.
const MaxTransitions = 10000

// Verify checks r offline against trust and returns what it proves. Every check that fails returns an
// error wrapping one of the package's sentinel errors; a nil error means every part verified:
// the validator-set transitions from the trust root, the quorum signatures on the checkpoint, the map
// proof of the document's state and, for an anchored document, the log inclusion of its record.
func Verify(r *Receipt, trust TrustRoot) (Result, error) {
	var res Result
	if r.Version != Version {
		return res, fmt.Errorf("%w: %d", ErrVersion, r.Version)
	}
	c := &r.Checkpoint
	if c.ChainID != trust.ChainID {
		return res, fmt.Errorf("%w: %q, trusted %q", ErrChain, c.ChainID, trust.ChainID)
	}
	set, err := followTransitions(trust, r.Transitions, c.Height)
	if err != nil {
		return res, err
	}
	if err := VerifyQuorum(set, c, r.Signatures); err != nil {
		return res, fmt.Errorf("checkpoint %d: %w", c.Height, err)
	}
	return VerifyProofs(r)
}

// VerifyProofs checks the proofs of r against its checkpoint only: the document's state in the map
// and, for an anchored document, the record's inclusion in the log. It does NOT check who signed the
// checkpoint, so on its own it establishes no trust; Verify does both.
func VerifyProofs(r *Receipt) (Result, error) {
	var res Result
	if r.Version != Version {
		return res, fmt.Errorf("%w: %d", ErrVersion, r.Version)
	}
	c := &r.Checkpoint
	switch r.State {
	case StateUnknown:
		if r.Record != nil || r.Revocation != nil || len(r.LogProof) != 0 {
			return res, fmt.Errorf("%w: an absence receipt carries a record", ErrRecord)
		}
		if err := VerifyMapAbsence(c.MapRoot, r.DocHash, r.MapProof); err != nil {
			return res, err
		}
	case StateAnchored, StateRevoked:
		if (r.State == StateRevoked) != (r.Revocation != nil) {
			return res, fmt.Errorf("%w: state %v with revocation %v", ErrRecord, r.State, r.Revocation != nil)
		}
		if rv := r.Revocation; rv != nil && (rv.Height > c.Height || rv.LogIndex >= c.LogSize || rv.LogIndex <= r.LogIndex) {
			return res, fmt.Errorf("%w: revocation at height %d, log index %d does not fit checkpoint %d", ErrRecord, rv.Height, rv.LogIndex, c.Height)
		}
		rec := r.Record
		if rec == nil || rec.DocHash != r.DocHash {
			return res, fmt.Errorf("%w: no record for this document hash", ErrRecord)
		}
		if rec.Height > c.Height || r.LogIndex >= c.LogSize {
			return res, fmt.Errorf("%w: record at height %d, log index %d is beyond checkpoint %d (log size %d)",
				ErrRecord, rec.Height, r.LogIndex, c.Height, c.LogSize)
		}
		if err := VerifyMapInclusion(c.MapRoot, r.DocHash, MapValue(rec, r.State, r.LogIndex, r.Revocation), r.MapProof); err != nil {
			return res, err
		}
		leaf := LogLeafHash(AnchorEvent(rec))
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.LogIndex, c.LogSize, leaf[:], hashSlices(r.LogProof), c.LogRoot[:]); err != nil {
			return res, fmt.Errorf("%w: %v", ErrLogProof, err)
		}
	default:
		return res, fmt.Errorf("%w: unknown state %d", ErrRecord, r.State)
	}
	return Result{DocHash: r.DocHash, State: r.State, Record: r.Record, Revocation: r.Revocation, AsOf: *c}, nil
}

// followTransitions returns the validator set trusted at height, starting from trust.
func followTransitions(trust TrustRoot, ts []Transition, height uint64) (ValidatorSet, error) {
	if len(ts) > MaxTransitions {
		return nil, fmt.Errorf("%w: %d transitions", ErrTransitions, len(ts))
	}
	set := trust.Validators
	var last uint64
	for i := range ts {
		t := &ts[i]
		if t.Checkpoint.ChainID != trust.ChainID {
			return nil, fmt.Errorf("%w: transition %d: %w", ErrTransitions, i, ErrChain)
		}
		if t.Checkpoint.Height <= last && i > 0 || t.Checkpoint.Height >= height {
			return nil, fmt.Errorf("%w: transition %d at height %d is out of order", ErrTransitions, i, t.Checkpoint.Height)
		}
		if err := VerifyQuorum(set, &t.Checkpoint, t.Signatures); err != nil {
			return nil, fmt.Errorf("%w: transition %d: %w", ErrTransitions, i, err)
		}
		if t.Next.Hash() != t.Checkpoint.NextValidators {
			return nil, fmt.Errorf("%w: transition %d: next set does not match the signed hash", ErrTransitions, i)
		}
		set, last = t.Next, t.Checkpoint.Height
	}
	return set, nil
}

func hashSlices(hs [][32]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
