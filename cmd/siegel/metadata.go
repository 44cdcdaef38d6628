package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
)

// metaFile is the metadata an agency writes for `siegel anchor --meta FILE.json`:
//
//	{
//	  "visibility": "public",
//	  "fields": {"doc_type": "abitur", "issuer_office": "Gymnasium am Markt", "valid_from": "2026-07-01"}
//	}
//
// visibility is "public" (shown to everyone beside the result) or "restricted" (kept by every node,
// shown on the agency API only). Every document of one command gets the same fields, each in its own
// message signed for its own hash.
type metaFile struct {
	Visibility string            `json:"visibility"`
	Fields     map[string]string `json:"fields"`
}

// maxMetaFile bounds a metadata file; its encoding must fit tx.MaxMetaBytes anyway.
const maxMetaFile = 64 << 10

// loadMetaFile reads and checks a metadata file: strict JSON, known visibility, and fields that make a
// valid message (checked by encoding one for a dummy document).
func loadMetaFile(path string) (*metaFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--meta: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetaFile+1))
	if err != nil {
		return nil, fmt.Errorf("--meta %s: %w", path, err)
	}
	if len(b) > maxMetaFile {
		return nil, fmt.Errorf("--meta %s: over %d KiB; metadata is at most %d bytes encoded", path, maxMetaFile>>10, tx.MaxMetaBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m metaFile
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("--meta %s: %w (want {\"visibility\": \"public\", \"fields\": {\"doc_type\": \"...\"}})", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--meta %s: more than one JSON value", path)
	}
	if m.Visibility == "" {
		return nil, fmt.Errorf("--meta %s: \"visibility\" is required: \"public\" or \"restricted\"", path)
	}
	if len(m.Fields) == 0 {
		return nil, fmt.Errorf("--meta %s: \"fields\" is empty", path)
	}
	// A trial message finds bad keys, values and sizes now, with the field named.
	probe := m.message("siegel-probe", [32]byte{}, "probe", make(ed25519.PrivateKey, ed25519.PrivateKeySize))
	if probe == nil {
		return nil, fmt.Errorf("--meta %s: unknown visibility %q: use public or restricted", path, m.Visibility)
	}
	if err := probe.Check(); err != nil {
		return nil, fmt.Errorf("--meta %s: %w", path, err)
	}
	return &m, nil
}

// message builds the signed metadata of doc; nil if the visibility is unknown.
func (m *metaFile) message(chainID string, doc [32]byte, agency string, key ed25519.PrivateKey) *tx.Metadata {
	vis, err := tx.ParseVisibility(m.Visibility)
	if err != nil {
		return nil
	}
	out := &tx.Metadata{ChainID: chainID, DocHash: doc, AgencyID: agency, Visibility: vis}
	for k, v := range m.Fields {
		out.Fields = append(out.Fields, tx.Field{Key: k, Value: v})
	}
	tx.SortFields(out.Fields)
	out.Sign(key)
	return out
}

// signedMeta is a document's signed metadata message, ready to commit to and publish.
type signedMeta struct {
	msg *tx.Metadata
	raw []byte
}

// sign makes the messages of docs. The signatures are deterministic (ed25519), so signing again later
// gives the same bytes: `siegel metadata publish` can republish what `siegel anchor --meta` committed to.
func (m *metaFile) sign(chainID, agency string, key ed25519.PrivateKey, docs []document) ([]signedMeta, error) {
	out := make([]signedMeta, len(docs))
	for i, d := range docs {
		msg := m.message(chainID, d.Hash, agency, key)
		if msg == nil {
			return nil, fmt.Errorf("unknown visibility %q", m.Visibility)
		}
		raw := msg.Encode()
		if _, err := tx.DecodeMeta(raw); err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", d.Name, err)
		}
		out[i] = signedMeta{msg: msg, raw: raw}
	}
	return out, nil
}

// metaPublished is anchorResult.Metadata for metadata that the node stored and gossiped.
const metaPublished = "published"

// signMetadata finds the agency of key on the node, checks that it may issue the file's document type,
// and signs the metadata of every document.
func signMetadata(ctx context.Context, c *api.Client, chainID string, key ed25519.PrivateKey, meta *metaFile, docs []document) ([]signedMeta, error) {
	as, err := c.Agencies(ctx)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	var agency *api.AgencyView
	for i := range as {
		if slices.Contains(as[i].Keys, hex.EncodeToString(pub)) {
			agency = &as[i]
		}
	}
	if agency == nil {
		return nil, fmt.Errorf("%w (public key %x)", errNoAgency, []byte(pub))
	}
	if dt, ok := meta.Fields[tx.FieldDocType]; ok && len(agency.DocTypes) > 0 && !slices.Contains(agency.DocTypes, dt) {
		return nil, fmt.Errorf("agency %s may issue documents of type %s, not %q (the consortium sets this)",
			agency.ID, strings.Join(agency.DocTypes, ", "), dt)
	}
	return meta.sign(chainID, agency.ID, key, docs)
}

// publishOne publishes one signed metadata message and says how it went, for anchorResult.Metadata.
func publishOne(ctx context.Context, c *api.Client, raw []byte) string {
	if _, err := c.PublishMetadata(ctx, raw); err != nil {
		return "not published: " + err.Error()
	}
	return metaPublished
}

// errNoAgency: the key is registered to no agency.
var errNoAgency = errors.New("the key is not a registered key of any agency")
