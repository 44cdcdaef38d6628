package receipt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// The JSON form of a receipt (the file a citizen keeps). Hashes and keys are lower-case hex,
// signatures and the map proof base64, times RFC 3339 in UTC with nanoseconds.
//
//	{
//	  "format": "siegel-receipt", "version": 1,
//	  "doc_hash": "<sha256 of the document>",
//	  "state": "anchored" | "unknown",
//	  "record": {                                  // anchored only: what the chain recorded
//	    "doc_hash", "agency", "signer", "height", "time", "tx_hash", "tx_index", "entry", "metadata_digest"?
//	  },
//	  "log": {"index": n, "proof": ["<hash>", ...]}, // anchored only: RFC 6962 inclusion in the event log
//	  "map_proof": "<base64>",                     // the document's state (or absence) in the map
//	  "checkpoint": {"chain_id", "height", "time", "log_size", "log_root", "map_root",
//	                 "validators", "next_validators"},
//	  "signatures": {"round": r, "sigs": [{"validator": i, "signature": "<base64>"}]},
//	  "transitions": [{"checkpoint": {...}, "signatures": {...}, "next": [{"pub_key", "power"}]}]
//	}
type jsonReceipt struct {
	Format      string           `json:"format"`
	Version     int              `json:"version"`
	DocHash     hexHash          `json:"doc_hash"`
	State       string           `json:"state"`
	Record      *jsonRecord      `json:"record,omitempty"`
	Revocation  *jsonRevocation  `json:"revocation,omitempty"`
	Log         *jsonLog         `json:"log,omitempty"`
	MapProof    []byte           `json:"map_proof"`
	Checkpoint  jsonCheckpoint   `json:"checkpoint"`
	Signatures  jsonSignatures   `json:"signatures"`
	Transitions []jsonTransition `json:"transitions,omitempty"`
}

const jsonFormat = "siegel-receipt"

type jsonRecord struct {
	DocHash    hexHash   `json:"doc_hash"`
	Agency     string    `json:"agency"`
	Signer     hexHash   `json:"signer"`
	Height     uint64    `json:"height"`
	Time       time.Time `json:"time"`
	TxHash     hexHash   `json:"tx_hash"`
	TxIndex    uint32    `json:"tx_index"`
	Entry      uint32    `json:"entry"`
	MetaDigest *hexHash  `json:"metadata_digest,omitempty"`
}

type jsonRevocation struct {
	Height    uint64    `json:"height"`
	Time      time.Time `json:"time"`
	Reason    uint8     `json:"reason"`
	Successor *hexHash  `json:"successor,omitempty"`
	Signer    hexHash   `json:"signer"`
	TxHash    hexHash   `json:"tx_hash"`
	LogIndex  uint64    `json:"log_index"`
}

type jsonLog struct {
	Index uint64    `json:"index"`
	Proof []hexHash `json:"proof"`
}

type jsonCheckpoint struct {
	ChainID        string    `json:"chain_id"`
	Height         uint64    `json:"height"`
	Time           time.Time `json:"time"`
	LogSize        uint64    `json:"log_size"`
	LogRoot        hexHash   `json:"log_root"`
	MapRoot        hexHash   `json:"map_root"`
	Validators     hexHash   `json:"validators"`
	NextValidators hexHash   `json:"next_validators"`
}

type jsonSignatures struct {
	Round int32     `json:"round"`
	Sigs  []jsonSig `json:"sigs"`
}

type jsonSig struct {
	Validator uint16 `json:"validator"`
	Signature []byte `json:"signature"`
}

type jsonTransition struct {
	Checkpoint jsonCheckpoint  `json:"checkpoint"`
	Signatures jsonSignatures  `json:"signatures"`
	Next       []jsonValidator `json:"next"`
}

type jsonValidator struct {
	PubKey hexHash `json:"pub_key"`
	Power  int64   `json:"power"`
}

// hexHash is 32 bytes as 64 lower-case hex digits.
type hexHash [32]byte

func (h hexHash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

func (h *hexHash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("want 64 hex digits, got %d characters", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// MarshalJSON implements json.Marshaler with the documented form.
func (r *Receipt) MarshalJSON() ([]byte, error) {
	j := jsonReceipt{Format: jsonFormat, Version: r.Version, DocHash: r.DocHash, State: r.State.String(),
		MapProof: r.MapProof.Encode(), Checkpoint: checkpointJSON(r.Checkpoint), Signatures: sigsJSON(r.Signatures)}
	if rec := r.Record; rec != nil {
		j.Record = &jsonRecord{DocHash: rec.DocHash, Agency: rec.Agency, Signer: rec.Signer, Height: rec.Height,
			Time: rec.Time.UTC(), TxHash: rec.TxHash, TxIndex: rec.TxIndex, Entry: rec.Entry}
		if rec.MetaDigest != nil {
			m := hexHash(*rec.MetaDigest)
			j.Record.MetaDigest = &m
		}
		if v := r.Revocation; v != nil {
			j.Revocation = &jsonRevocation{Height: v.Height, Time: v.Time.UTC(), Reason: v.Reason, Signer: v.Signer, TxHash: v.TxHash, LogIndex: v.LogIndex}
			if v.Successor != nil {
				s := hexHash(*v.Successor)
				j.Revocation.Successor = &s
			}
		}
		j.Log = &jsonLog{Index: r.LogIndex, Proof: make([]hexHash, len(r.LogProof))}
		for i, h := range r.LogProof {
			j.Log.Proof[i] = h
		}
	}
	for _, t := range r.Transitions {
		jt := jsonTransition{Checkpoint: checkpointJSON(t.Checkpoint), Signatures: sigsJSON(t.Signatures)}
		for _, v := range t.Next {
			jt.Next = append(jt.Next, jsonValidator{PubKey: v.PubKey, Power: v.Power})
		}
		j.Transitions = append(j.Transitions, jt)
	}
	return json.Marshal(j)
}

// ErrJSON is returned by DecodeJSON for input that is not a receipt in the documented form.
var ErrJSON = errors.New("receipt: not a valid receipt file")

// MaxJSONBytes bounds the size of a receipt file DecodeJSON reads.
const MaxJSONBytes = 4 << 20

// DecodeJSON parses a receipt file strictly: unknown fields, trailing data, bad hex or base64 and
// impossible lengths are errors. It checks form only; Verify checks the proofs.
func DecodeJSON(b []byte) (*Receipt, error) {
	if len(b) > MaxJSONBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrJSON, len(b), MaxJSONBytes)
	}
	var j jsonReceipt
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data", ErrJSON)
	}
	if j.Format != jsonFormat {
		return nil, fmt.Errorf("%w: format %q", ErrJSON, j.Format)
	}
	r := &Receipt{Version: j.Version, DocHash: j.DocHash}
	switch j.State {
	case "anchored":
		r.State = StateAnchored
	case "revoked":
		r.State = StateRevoked
	case "unknown":
		r.State = StateUnknown
	default:
		return nil, fmt.Errorf("%w: state %q", ErrJSON, j.State)
	}
	mp, err := DecodeMapProof(j.MapProof)
	if err != nil {
		return nil, fmt.Errorf("%w: map_proof: %v", ErrJSON, err)
	}
	r.MapProof = mp
	if (j.Record == nil) != (j.Log == nil) {
		return nil, fmt.Errorf("%w: record and log go together", ErrJSON)
	}
	if jr := j.Record; jr != nil {
		if len(jr.Agency) == 0 || len(jr.Agency) > MaxAgencyIDLen {
			return nil, fmt.Errorf("%w: agency ID length %d", ErrJSON, len(jr.Agency))
		}
		tm, err := encodableTime("record", jr.Time)
		if err != nil {
			return nil, err
		}
		r.Record = &Record{DocHash: jr.DocHash, Agency: jr.Agency, Signer: jr.Signer, Height: jr.Height,
			Time: tm, TxHash: jr.TxHash, TxIndex: jr.TxIndex, Entry: jr.Entry}
		if jr.MetaDigest != nil {
			m := [32]byte(*jr.MetaDigest)
			r.Record.MetaDigest = &m
		}
		if len(j.Log.Proof) > 64 {
			return nil, fmt.Errorf("%w: log proof of %d hashes", ErrJSON, len(j.Log.Proof))
		}
		r.LogIndex = j.Log.Index
		for _, h := range j.Log.Proof {
			r.LogProof = append(r.LogProof, h)
		}
	}
	if jv := j.Revocation; jv != nil {
		if j.Record == nil {
			return nil, fmt.Errorf("%w: a revocation without a record", ErrJSON)
		}
		t, err := encodableTime("revocation", jv.Time)
		if err != nil {
			return nil, err
		}
		r.Revocation = &Revocation{Height: jv.Height, Time: t, Reason: jv.Reason, Signer: jv.Signer, TxHash: jv.TxHash, LogIndex: jv.LogIndex}
		if jv.Successor != nil {
			s := [32]byte(*jv.Successor)
			r.Revocation.Successor = &s
		}
	}
	if r.Checkpoint, err = checkpointFrom(j.Checkpoint); err != nil {
		return nil, err
	}
	if r.Signatures, err = sigsFrom(j.Signatures); err != nil {
		return nil, err
	}
	if len(j.Transitions) > MaxTransitions {
		return nil, fmt.Errorf("%w: %d transitions", ErrJSON, len(j.Transitions))
	}
	for _, jt := range j.Transitions {
		var t Transition
		if t.Checkpoint, err = checkpointFrom(jt.Checkpoint); err != nil {
			return nil, err
		}
		if t.Signatures, err = sigsFrom(jt.Signatures); err != nil {
			return nil, err
		}
		if len(jt.Next) > MaxValidators {
			return nil, fmt.Errorf("%w: %d validators", ErrJSON, len(jt.Next))
		}
		for _, v := range jt.Next {
			t.Next = append(t.Next, Validator{PubKey: v.PubKey, Power: v.Power})
		}
		r.Transitions = append(r.Transitions, t)
	}
	return r, nil
}

func checkpointJSON(c Checkpoint) jsonCheckpoint {
	return jsonCheckpoint{ChainID: c.ChainID, Height: c.Height, Time: c.Time.UTC(), LogSize: c.LogSize,
		LogRoot: c.LogRoot, MapRoot: c.MapRoot, Validators: c.Validators, NextValidators: c.NextValidators}
}

func checkpointFrom(j jsonCheckpoint) (Checkpoint, error) {
	if j.ChainID == "" || len(j.ChainID) > 255 {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint chain_id length %d", ErrJSON, len(j.ChainID))
	}
	tm, err := encodableTime("checkpoint", j.Time)
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{ChainID: j.ChainID, Height: j.Height, Time: tm, LogSize: j.LogSize,
		LogRoot: j.LogRoot, MapRoot: j.MapRoot, Validators: j.Validators, NextValidators: j.NextValidators}, nil
}

// encodableTime returns t in UTC, or an error if the binary encodings cannot carry it: they hold int64
// nanoseconds since the Unix epoch (years 1678 to 2262), and outside that range UnixNano wraps around,
// so that a time 2^64 ns (about 584 years) away would encode, hash and verify like the signed one while
// the receipt showed another date.
func encodableTime(what string, t time.Time) (time.Time, error) {
	u := t.UTC()
	if !time.Unix(0, u.UnixNano()).Equal(u) {
		return u, fmt.Errorf("%w: %s time %s is outside the range of the encoding", ErrJSON, what, t.Format(time.RFC3339Nano))
	}
	return u, nil
}

func sigsJSON(s Signatures) jsonSignatures {
	j := jsonSignatures{Round: s.Round, Sigs: []jsonSig{}}
	for _, x := range s.Sigs {
		j.Sigs = append(j.Sigs, jsonSig{Validator: x.Validator, Signature: x.Signature[:]})
	}
	return j
}

func sigsFrom(j jsonSignatures) (Signatures, error) {
	s := Signatures{Round: j.Round}
	if len(j.Sigs) > MaxValidators {
		return s, fmt.Errorf("%w: %d signatures", ErrJSON, len(j.Sigs))
	}
	for _, x := range j.Sigs {
		if len(x.Signature) != 64 {
			return s, fmt.Errorf("%w: signature of %d bytes", ErrJSON, len(x.Signature))
		}
		var sig Sig
		sig.Validator = x.Validator
		copy(sig.Signature[:], x.Signature)
		s.Sigs = append(s.Sigs, sig)
	}
	return s, nil
}

// Base64 is the encoding used for signatures and the map proof in JSON.
var Base64 = base64.StdEncoding

// MarshalJSON writes a checkpoint in the receipt file's form.
func (c Checkpoint) MarshalJSON() ([]byte, error) { return json.Marshal(checkpointJSON(c)) }

// UnmarshalJSON reads a checkpoint in the receipt file's form.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j jsonCheckpoint
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := checkpointFrom(j)
	*c = v
	return err
}

// MarshalJSON writes signatures in the receipt file's form.
func (s Signatures) MarshalJSON() ([]byte, error) { return json.Marshal(sigsJSON(s)) }

// UnmarshalJSON reads signatures in the receipt file's form.
func (s *Signatures) UnmarshalJSON(b []byte) error {
	var j jsonSignatures
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := sigsFrom(j)
	*s = v
	return err
}
