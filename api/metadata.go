package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/siegel-notary/siegel/app/tx"
)

// MetadataView is the JSON form of a stored metadata message: the "metadata" of GET /v1/anchors/{hash}
// (public metadata only) and the body of GET /v1/metadata/{hash} on the agency listener (public or
// restricted).
//
// Message is the signed message itself (tx.Metadata's encoding, base64 in JSON), so that anyone can
// check it without trusting the node: its last 64 bytes are an ed25519 signature by Signer over
// tx.MetaSignDomain followed by the bytes before them, and SHA-256 of those same signed bytes is Digest,
// which equals the metadata_digest that the document's anchor committed to on chain. Check does both.
// The other members repeat what Message says, for convenience.
type MetadataView struct {
	Hash    string `json:"hash"`
	ChainID string `json:"chain_id"`
	// Agency is the ID of the agency the message names (the anchor's agency).
	Agency string `json:"agency"`
	// Signer is the ed25519 public key that signed the message, hex.
	Signer string `json:"signer"`
	// Visibility is "public" or "restricted".
	Visibility string `json:"visibility"`
	// Digest is the commitment the anchor carries (metadata_digest), hex.
	Digest string `json:"digest"`
	// Fields are the metadata, key → value. Keys are unique (1 to 32 characters of a-z, 0-9 and '_');
	// values are UTF-8 text without control characters that the agency wrote: show them as text only.
	Fields  map[string]string `json:"fields"`
	Message []byte            `json:"message"`
}

// MetadataPublished is the body of POST /v1/metadata when the node stored (or already held) the message.
type MetadataPublished struct {
	Hash       string `json:"hash"`
	Digest     string `json:"digest"`
	Visibility string `json:"visibility"`
}

// metadataRejections are the reasons a node gives for refusing a metadata message, the error codes of
// POST /v1/metadata's 422 answers, with what each means. A RejectedError with another reason is
// answered with the code "rejected" and the reason in the message.
var metadataRejections = map[string]string{
	"malformed":       "not a canonical metadata message",
	"oversized":       "the message is too large",
	"wrong_chain":     "the message is for another chain",
	"bad_signature":   "the signature does not verify",
	"not_anchored":    "the document is not anchored (its anchor was not committed in time)",
	"no_commitment":   "the document's anchor committed to no metadata",
	"wrong_agency":    "the message names another agency than the document's anchor",
	"key_not_valid":   "the signing key is not a valid key of the agency",
	"digest_mismatch": "the message's digest is not the one the document's anchor committed to",
	"doc_type":        "the agency may not issue documents of this type",
}

// metadataView is the view of m, whose digest (m.Digest()) the caller has at hand: it checked it.
func metadataView(m *tx.Metadata, digest [32]byte) *MetadataView {
	v := &MetadataView{
		Hash:       hex.EncodeToString(m.DocHash[:]),
		ChainID:    m.ChainID,
		Agency:     m.AgencyID,
		Signer:     hex.EncodeToString(m.Signer[:]),
		Visibility: m.Visibility.String(),
		Digest:     hex.EncodeToString(digest[:]),
		Fields:     make(map[string]string, len(m.Fields)),
		Message:    m.Encode(),
	}
	for _, f := range m.Fields {
		v.Fields[f.Key] = f.Value
	}
	return v
}

// Errors of MetadataView.Check.
var (
	ErrMetaDigest   = errors.New("api: metadata does not match the digest committed on chain")
	ErrMetaMismatch = errors.New("api: metadata view does not match its signed message")
)

// Check decodes v's signed message and checks it without trusting the node that sent v: that its
// digest is committed (the metadata_digest of the document's anchor, which a receipt proves), that its
// signature verifies, and that every other member of v says what the message says. It returns the
// decoded message.
func (v *MetadataView) Check(committed [32]byte) (*tx.Metadata, error) {
	m, err := tx.DecodeMeta(v.Message)
	if err != nil {
		return nil, fmt.Errorf("metadata message: %w", err)
	}
	if m.Digest() != committed {
		return nil, ErrMetaDigest
	}
	if err := m.Verify(); err != nil {
		return nil, fmt.Errorf("metadata message: %w", err)
	}
	want := metadataView(m, committed)
	switch {
	case v.Hash != want.Hash:
		return nil, fmt.Errorf("%w: hash", ErrMetaMismatch)
	case v.ChainID != want.ChainID:
		return nil, fmt.Errorf("%w: chain_id", ErrMetaMismatch)
	case v.Agency != want.Agency:
		return nil, fmt.Errorf("%w: agency", ErrMetaMismatch)
	case v.Signer != want.Signer:
		return nil, fmt.Errorf("%w: signer", ErrMetaMismatch)
	case v.Visibility != want.Visibility:
		return nil, fmt.Errorf("%w: visibility", ErrMetaMismatch)
	case v.Digest != want.Digest:
		return nil, fmt.Errorf("%w: digest", ErrMetaMismatch)
	case len(v.Fields) != len(want.Fields):
		return nil, fmt.Errorf("%w: fields", ErrMetaMismatch)
	}
	for k, val := range want.Fields {
		if got, ok := v.Fields[k]; !ok || got != val {
			return nil, fmt.Errorf("%w: field %q", ErrMetaMismatch, k)
		}
	}
	return m, nil
}

// publicMetadata returns the public metadata of an anchor that committed to digest, or nil when the
// node holds none, or holds metadata that is restricted: the public API answers the same for both.
func (p *public) publicMetadata(doc, digest [32]byte) (*MetadataView, error) {
	m, err := p.b.Metadata(doc)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case m.Visibility != tx.Public:
		return nil, nil
	case m.DocHash != doc || m.Digest() != digest:
		// The backend stores only what matches; should it not, show nothing rather than something wrong.
		p.log.Error("stored metadata does not match its anchor", "doc", hex.EncodeToString(doc[:8]))
		return nil, nil
	}
	return metadataView(m, digest), nil
}

// publishMetadata takes a signed metadata message (the raw bytes, application/octet-stream, at most
// tx.MaxMetaBytes) and answers 200 once the node has checked it against the chain and stored it (or
// held it already), 422 if the chain does not back it, 503 if the node could not take it now (its
// anchor is not committed within PublishWait, the queue of messages waiting for their anchor is full,
// the node is stopping).
func (a *agency) publishMetadata(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tx.MaxMetaBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "oversized", fmt.Sprintf("a metadata message is at most %d bytes", tx.MaxMetaBytes))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_body", "could not read the request body")
		return
	}
	m, err := tx.DecodeMeta(body)
	switch {
	case errors.Is(err, tx.ErrOversized):
		writeError(w, http.StatusRequestEntityTooLarge, "oversized", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "malformed", "not a metadata message: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.o.PublishWait)
	defer cancel()
	err = a.b.PublishMetadata(ctx, body)
	var rej *RejectedError
	switch {
	case errors.As(err, &rej):
		code, msg := rej.Reason, metadataRejections[rej.Reason]
		if msg == "" {
			code, msg = "rejected", "rejected: "+rej.Reason
		}
		if rej.Err != nil {
			msg += ": " + oneLine(rej.Err)
		}
		writeError(w, http.StatusUnprocessableEntity, code, msg)
		return
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "unavailable",
			"the node did not store the metadata now (its anchor may not be committed yet); try again: "+oneLine(err))
		return
	case err != nil:
		a.log.Error("publish metadata failed", "doc", hex.EncodeToString(m.DocHash[:8]), "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "publishing the metadata failed")
		return
	}
	d := m.Digest()
	writeJSON(w, http.StatusOK, MetadataPublished{
		Hash: hex.EncodeToString(m.DocHash[:]), Digest: hex.EncodeToString(d[:]), Visibility: m.Visibility.String(),
	})
}

// oneLine is err's message with line breaks (errors.Join puts them) turned into "; ".
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// metadata answers the metadata stored for a document, public or restricted: 200, or 404 if none is
// stored.
func (a *agency) metadata(w http.ResponseWriter, r *http.Request) {
	h, err := ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_hash", err.Error())
		return
	}
	// Restricted metadata: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	m, err := a.b.Metadata(h)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown", "no metadata is stored for this document")
	case err != nil:
		a.log.Error("metadata lookup failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
	case m.DocHash != h:
		a.log.Error("stored metadata names another document", "doc", hex.EncodeToString(h[:8]))
		writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
	default:
		writeJSON(w, http.StatusOK, metadataView(m, m.Digest()))
	}
}

// KnownRejection reports whether reason is one of the documented codes of POST /v1/metadata's 422
// answers (the others are answered as "rejected").
func KnownRejection(reason string) bool {
	_, ok := metadataRejections[reason]
	return ok
}
