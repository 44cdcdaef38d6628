package receipt

import (
	"encoding/hex"
	"errors"
	"time"
)

// Summary is the outcome of Check in a form that any program (or a web page, through the WebAssembly
// build in receipt/wasm) can show without knowing this package's types. Its JSON field names are stable.
type Summary struct {
	// Valid is true when every part of the receipt verified against the trust root.
	Valid bool `json:"valid"`
	// Error says why the receipt did not verify; ErrorKind names the failed check, one of
	// "decode", "genesis", "version", "chain", "signatures", "transitions", "map_proof", "log_proof",
	// "record" or "other".
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
	// The rest is set when Valid.
	State      string          `json:"state,omitempty"` // "anchored", "revoked" or "unknown"
	DocHash    string          `json:"doc_hash,omitempty"`
	ChainID    string          `json:"chain_id,omitempty"`
	AsOfHeight uint64          `json:"as_of_height,omitempty"`
	AsOfTime   *time.Time      `json:"as_of_time,omitempty"`
	Agency     string          `json:"agency,omitempty"`
	Signer     string          `json:"signer,omitempty"`
	Height     uint64          `json:"height,omitempty"`
	Time       *time.Time      `json:"time,omitempty"`
	Revocation *RevocationInfo `json:"revocation,omitempty"`
}

// RevocationInfo is the revocation part of a Summary.
type RevocationInfo struct {
	Height     uint64    `json:"height"`
	Time       time.Time `json:"time"`
	ReasonCode uint8     `json:"reason_code"`
	Successor  string    `json:"successor,omitempty"`
}

// Check decodes a JSON receipt and a CometBFT genesis document, verifies the receipt against the
// genesis validator set (Verify) and summarises the outcome. It never panics on any input.
func Check(receiptJSON, genesisJSON []byte) Summary {
	r, err := DecodeJSON(receiptJSON)
	if err != nil {
		return Summary{Error: err.Error(), ErrorKind: "decode"}
	}
	trust, err := TrustRootFromGenesis(genesisJSON)
	if err != nil {
		return Summary{Error: err.Error(), ErrorKind: "genesis"}
	}
	res, err := Verify(r, trust)
	if err != nil {
		return Summary{Error: err.Error(), ErrorKind: errorKind(err)}
	}
	asOf := res.AsOf.Time.UTC()
	s := Summary{Valid: true, State: stateName(res.State), DocHash: hex.EncodeToString(res.DocHash[:]),
		ChainID: res.AsOf.ChainID, AsOfHeight: res.AsOf.Height, AsOfTime: &asOf}
	if rec := res.Record; rec != nil {
		t := rec.Time.UTC()
		s.Agency, s.Signer, s.Height, s.Time = rec.Agency, hex.EncodeToString(rec.Signer[:]), rec.Height, &t
	}
	if rv := res.Revocation; rv != nil {
		s.Revocation = &RevocationInfo{Height: rv.Height, Time: rv.Time.UTC(), ReasonCode: rv.Reason}
		if rv.Successor != nil {
			s.Revocation.Successor = hex.EncodeToString(rv.Successor[:])
		}
	}
	return s
}

func stateName(s State) string {
	switch s {
	case StateAnchored:
		return "anchored"
	case StateRevoked:
		return "revoked"
	default:
		return "unknown"
	}
}

func errorKind(err error) string {
	for _, k := range []struct {
		err  error
		kind string
	}{
		{ErrVersion, "version"}, {ErrChain, "chain"}, {ErrTransitions, "transitions"},
		{ErrLogProof, "log_proof"}, {ErrRecord, "record"}, {ErrMalformedRecord, "record"},
		{ErrMalformedMapProof, "map_proof"}, {ErrProofShape, "map_proof"}, {ErrRootMismatch, "map_proof"},
		{ErrNoQuorum, "signatures"}, {ErrSignature, "signatures"}, {ErrValidatorSet, "signatures"},
	} {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}
