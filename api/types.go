package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

// Errors a Backend returns, wrapped or not; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("api: not found")
	// ErrUnavailable means the node cannot take a submission now (catching up, mempool full); the
	// client should retry later or elsewhere.
	ErrUnavailable = errors.New("api: temporarily unavailable")
	// ErrAlreadySubmitted means the node already holds these exact bytes; wait for the commit.
	ErrAlreadySubmitted = errors.New("api: already submitted")
)

// Backend is what the handlers need from a node.
type Backend interface {
	// Anchor returns the committed record of a document hash and its revocation (nil if it is not
	// revoked), or ErrNotFound.
	Anchor(doc [32]byte) (receipt.Record, *receipt.Revocation, error)
	// AgencyName returns a registered agency's display name, or ErrNotFound.
	AgencyName(id string) (string, error)
	// AgencyOf returns the ID of the agency that a signing key belongs to (also a retired key), or
	// ErrNotFound. The agency API logs it with each submission.
	AgencyOf(key [32]byte) (string, error)
	// Agencies lists the registered agencies; Agency returns one, or ErrNotFound.
	Agencies() ([]AgencyView, error)
	Agency(id string) (AgencyView, error)
	// Proposals lists the consortium's governance proposals.
	Proposals() ([]ProposalView, error)
	// TxResult returns where a committed transaction landed, or ErrNotFound.
	TxResult(hash [32]byte) (TxOutcome, error)
	// Status describes the node and the chain.
	Status() Status
	// Submit offers a transaction to the mempool and returns CheckTx's verdict.
	Submit(ctx context.Context, tx []byte) (code uint32, log string, err error)
	// Receipt proves the state of doc (anchored, or absent) as of the latest signed checkpoint;
	// ErrUnavailable when no signed checkpoint is held yet (right after a start).
	Receipt(doc [32]byte) (*receipt.Receipt, error)
	// LatestCheckpoint returns the latest signed checkpoint.
	LatestCheckpoint() (CheckpointView, error)
	// Consistency proves that the log at checkpoint to extends the log at checkpoint from.
	Consistency(from, to uint64) (ConsistencyView, error)
	// Genesis returns the chain's genesis document (CometBFT's JSON): the trust root of receipts.
	Genesis() ([]byte, error)
	// Metadata returns the metadata message stored for doc, public or restricted: it was checked against
	// the digest its anchor committed to when it was stored. ErrNotFound if none is stored (yet).
	Metadata(doc [32]byte) (*tx.Metadata, error)
	// PublishMetadata checks raw, an encoded and signed metadata message, against the chain, stores it
	// and gossips it to the other nodes. If the document's anchor is not committed yet it waits for it
	// (a bounded time, or until ctx ends). A message the chain does not back is a *RejectedError.
	PublishMetadata(ctx context.Context, raw []byte) error
}

// RejectedError is a metadata message that the node refused. Reason is a stable machine-readable word
// (malformed, bad_signature, not_anchored, no_commitment, wrong_agency, key_not_valid, digest_mismatch,
// doc_type, ...).
type RejectedError struct {
	Reason string
	Err    error
}

func (e *RejectedError) Error() string {
	if e.Err == nil {
		return "metadata rejected: " + e.Reason
	}
	return "metadata rejected: " + e.Reason + ": " + e.Err.Error()
}

func (e *RejectedError) Unwrap() error { return e.Err }

// CheckpointView is the body of GET /v1/checkpoints/latest.
type CheckpointView struct {
	Checkpoint receipt.Checkpoint `json:"checkpoint"`
	// AppHash is the checkpoint's hash: the app hash in the header of block Height+1.
	AppHash    HexBytes           `json:"app_hash"`
	Signatures receipt.Signatures `json:"signatures"`
}

// ConsistencyView is the body of GET /v1/checkpoints/consistency: an RFC 6962 consistency proof from
// the log of From to the log of To.
type ConsistencyView struct {
	From  receipt.Checkpoint `json:"from"`
	To    receipt.Checkpoint `json:"to"`
	Proof []HexBytes         `json:"proof"`
}

// Status is the body of GET /v1/status.
type Status struct {
	ChainID    string    `json:"chain_id"`
	Height     uint64    `json:"height"`
	AppHash    HexBytes  `json:"app_hash"`
	BlockTime  time.Time `json:"block_time"`
	CatchingUp bool      `json:"catching_up"`
	Peers      int       `json:"peers"`
	NodeID     string    `json:"node_id"`
	Version    string    `json:"version"`
	MaxBatch   int       `json:"max_batch"`
	MaxTTL     uint64    `json:"max_ttl"`
}

// TxOutcome is where a committed transaction landed and its result code.
type TxOutcome struct {
	Hash   [32]byte
	Height uint64
	Index  uint32
	Code   uint32
	Log    string
}

// HexBytes reads and writes as lower-case hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// AnchorView is the JSON form of an anchor record: GET /v1/anchors/{hash}.
type AnchorView struct {
	Hash       string    `json:"hash"`
	Status     string    `json:"status"`
	Agency     AgencyRef `json:"agency"`
	Signer     string    `json:"signer"`
	Height     uint64    `json:"height"`
	Time       time.Time `json:"time"`
	TxHash     string    `json:"tx_hash"`
	TxIndex    uint32    `json:"tx_index"`
	Entry      uint32    `json:"entry"`
	MetaDigest string    `json:"metadata_digest,omitempty"`
	// Metadata is the document's metadata when the anchor committed to some (MetaDigest) and the node
	// holds it and it is public. MetaDigest without Metadata: the node has not received the metadata
	// yet, or it is restricted; the public API does not say which.
	Metadata *MetadataView `json:"metadata,omitempty"`
	// Revocation is set when Status is "revoked".
	Revocation *RevocationView `json:"revocation,omitempty"`
}

// RevocationView is the JSON form of a revocation.
type RevocationView struct {
	Height    uint64    `json:"height"`
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason"`
	Code      uint8     `json:"reason_code"`
	Successor string    `json:"successor,omitempty"`
}

// ProposalView is the JSON form of a governance proposal: GET /v1/governance/proposals.
type ProposalView struct {
	ID        string     `json:"id"`
	Proposer  string     `json:"proposer"`
	Action    ActionView `json:"action"`
	Height    uint64     `json:"height"`
	Deadline  uint64     `json:"deadline"`
	Approvals []string   `json:"approvals"`
	Executed  uint64     `json:"executed,omitempty"`
}

// ActionView is the JSON form of a governance action.
type ActionView struct {
	Kind     string   `json:"kind"`
	Agency   string   `json:"agency,omitempty"`
	Name     string   `json:"name,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Power    *int64   `json:"power,omitempty"` // set-validator: the power; set-param: the value
	Param    string   `json:"param,omitempty"`
	DocTypes []string `json:"doc_types,omitempty"`
}

// AgencyView is the JSON form of a registered agency: GET /v1/agencies and /v1/agencies/{id}.
type AgencyView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Keys      []string `json:"keys"`
	Retired   []string `json:"retired_keys,omitempty"`
	Suspended bool     `json:"suspended,omitempty"`
	DocTypes  []string `json:"doc_types,omitempty"`
}

// AgencyRef names an agency.
type AgencyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Anchor statuses.
const (
	StatusAnchored = "anchored"
	StatusRevoked  = "revoked"
)

func viewOf(r receipt.Record, agencyName string) AnchorView {
	v := AnchorView{
		Hash:    hex.EncodeToString(r.DocHash[:]),
		Status:  StatusAnchored,
		Agency:  AgencyRef{ID: r.Agency, Name: agencyName},
		Signer:  hex.EncodeToString(r.Signer[:]),
		Height:  r.Height,
		Time:    r.Time.UTC(),
		TxHash:  hex.EncodeToString(r.TxHash[:]),
		TxIndex: r.TxIndex,
		Entry:   r.Entry,
	}
	if r.MetaDigest != nil {
		v.MetaDigest = hex.EncodeToString(r.MetaDigest[:])
	}
	return v
}

func revocationView(rv *receipt.Revocation) *RevocationView {
	v := &RevocationView{Height: rv.Height, Time: rv.Time.UTC(), Reason: tx.Reason(rv.Reason).String(), Code: rv.Reason}
	if rv.Successor != nil {
		v.Successor = hex.EncodeToString(rv.Successor[:])
	}
	return v
}

// SubmitResult is the body of POST /v1/anchors and GET /v1/txs/{hash}.
type SubmitResult struct {
	// Status is "committed", "rejected" or "pending" (not committed yet: ask again with GET /v1/txs).
	Status   string `json:"status"`
	TxHash   string `json:"tx_hash"`
	Height   uint64 `json:"height,omitempty"`
	Code     uint32 `json:"code"`
	CodeName string `json:"code_name"`
	Message  string `json:"message,omitempty"`
}

// Submission statuses.
const (
	SubmitCommitted = "committed"
	SubmitRejected  = "rejected"
	SubmitPending   = "pending"
)

func resultOf(o TxOutcome) SubmitResult {
	r := SubmitResult{Status: SubmitCommitted, TxHash: hex.EncodeToString(o.Hash[:]), Height: o.Height, Code: o.Code, CodeName: tx.Code(o.Code).String(), Message: o.Log}
	if o.Code != 0 {
		r.Status = SubmitRejected
	}
	return r
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ParseHash parses a SHA-256 given as 64 hex digits (either case).
func ParseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("a SHA-256 hash is 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, errors.New("a SHA-256 hash is 64 hex digits (0-9, a-f)")
	}
	return h, nil
}
