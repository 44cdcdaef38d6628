package api

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

const testChainID = "siegel-test-1"

// waitLimit bounds every wait in these tests.
const waitLimit = 5 * time.Second

// fakeBackend is an in-memory Backend. Its maps may be changed between requests (under mu when a
// handler may be running); Submit calls are counted and reported on the submitted channel.
type fakeBackend struct {
	mu        sync.Mutex
	anchors   map[[32]byte]receipt.Record
	revoked   map[[32]byte]*receipt.Revocation
	agencies  map[string]string
	signers   map[[32]byte]string // agency IDs by signing key, for AgencyOf
	txs       map[[32]byte]TxOutcome
	status    Status
	anchorErr error // returned by Anchor for every hash when set
	agencyErr error // returned by AgencyName for every ID when set

	receipt     *receipt.Receipt // returned by Receipt (with the queried hash) when set
	receiptErr  error
	checkpoint  CheckpointView
	consistency ConsistencyView
	proofErr    error // returned by LatestCheckpoint and Consistency when set

	meta         map[[32]byte][]byte // stored metadata messages
	metaErr      error               // returned by Metadata for every hash when set
	publishErr   error               // returned by PublishMetadata when set
	publishBlock bool                // PublishMetadata waits for its context to end
	publishes    atomic.Int32

	submitCode uint32
	submitLog  string
	submitErr  error
	submits    atomic.Int32
	submitted  chan []byte // receives each submitted body; buffered
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		anchors:   map[[32]byte]receipt.Record{},
		agencies:  map[string]string{},
		txs:       map[[32]byte]TxOutcome{},
		meta:      map[[32]byte][]byte{},
		submitted: make(chan []byte, 16),
		status: Status{
			ChainID: testChainID, Height: 42, AppHash: HexBytes{0xAB, 0xCD, 0x01},
			BlockTime: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Peers: 3, NodeID: "node0",
			Version: "test", MaxBatch: 100, MaxTTL: 1000,
		},
	}
}

func (f *fakeBackend) Anchor(doc [32]byte) (receipt.Record, *receipt.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.anchorErr != nil {
		return receipt.Record{}, nil, f.anchorErr
	}
	r, ok := f.anchors[doc]
	if !ok {
		return receipt.Record{}, nil, fmt.Errorf("anchor %x: %w", doc[:4], ErrNotFound)
	}
	return r, f.revoked[doc], nil
}

func (f *fakeBackend) AgencyName(id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.agencyErr != nil {
		return "", f.agencyErr
	}
	n, ok := f.agencies[id]
	if !ok {
		return "", ErrNotFound
	}
	return n, nil
}

func (f *fakeBackend) TxResult(h [32]byte) (TxOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.txs[h]
	if !ok {
		return TxOutcome{}, ErrNotFound
	}
	return o, nil
}

func (f *fakeBackend) setTx(o TxOutcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txs[o.Hash] = o
}

func (f *fakeBackend) Metadata(doc [32]byte) (*tx.Metadata, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.metaErr != nil {
		return nil, f.metaErr
	}
	raw, ok := f.meta[doc]
	if !ok {
		return nil, fmt.Errorf("metadata %x: %w", doc[:4], ErrNotFound)
	}
	return tx.DecodeMeta(raw)
}

// PublishMetadata checks raw as a node does, in short: the form, the signature, the anchor's agency and
// digest (not the key's validity or the document type); it stores the message if it passes. With
// publishErr set it returns that instead; with publishBlock set it waits for ctx to end first.
func (f *fakeBackend) PublishMetadata(ctx context.Context, raw []byte) error {
	f.publishes.Add(1)
	f.mu.Lock()
	block, perr := f.publishBlock, f.publishErr
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return errors.Join(ErrUnavailable, ctx.Err())
	}
	if perr != nil {
		return perr
	}
	m, err := tx.DecodeMeta(raw)
	if err != nil {
		return &RejectedError{Reason: "malformed", Err: err}
	}
	if err := m.Verify(); err != nil {
		return &RejectedError{Reason: "bad_signature", Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.anchors[m.DocHash]
	switch {
	case !ok:
		return &RejectedError{Reason: "not_anchored"}
	case a.MetaDigest == nil:
		return &RejectedError{Reason: "no_commitment"}
	case a.Agency != m.AgencyID:
		return &RejectedError{Reason: "wrong_agency", Err: fmt.Errorf("the anchor is by %q", a.Agency)}
	case *a.MetaDigest != m.Digest():
		return &RejectedError{Reason: "digest_mismatch"}
	}
	f.meta[m.DocHash] = append([]byte(nil), raw...)
	return nil
}

// testMeta returns metadata for document i by agency land-registry, signed with seededKey(1).
func testMeta(i int, vis tx.Visibility, fields ...tx.Field) *tx.Metadata {
	m := &tx.Metadata{ChainID: testChainID, DocHash: docHash(i), AgencyID: "land-registry", Visibility: vis,
		Fields: slices.Clone(fields)}
	tx.SortFields(m.Fields)
	m.Sign(seededKey(1))
	return m
}

// withMeta anchors document i committing to m's digest and, if store is set, stores m.
func (f *fakeBackend) withMeta(i int, m *tx.Metadata, store bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := m.Digest()
	f.anchors[docHash(i)] = testRecord(i, &d)
	if store {
		f.meta[docHash(i)] = m.Encode()
	}
}

func (f *fakeBackend) Genesis() ([]byte, error) {
	return []byte(`{"genesis_time":"2026-01-01T00:00:00Z","chain_id":"siegel-test","validators":[{"address":"AB","pub_key":{"type":"tendermint/PubKeyEd25519","value":"AAAA"},"power":"10","name":"v0"}]}`), nil
}

func (f *fakeBackend) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeBackend) Submit(_ context.Context, b []byte) (uint32, string, error) {
	f.submits.Add(1)
	select {
	case f.submitted <- append([]byte(nil), b...):
	default:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.submitCode, f.submitLog, f.submitErr
}

// awaitSubmit waits (bounded) for the next Submit call and returns its body.
func (f *fakeBackend) awaitSubmit(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-f.submitted:
		return b
	case <-time.After(waitLimit):
		t.Error("Submit was not called in time")
		return nil
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func seededKey(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	return ed25519.NewKeyFromSeed(seed)
}

// docHash returns a distinct, deterministic document hash for each i.
func docHash(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "document %d", i)) }

// signedTx returns the encoding of a valid anchor transaction for document i and its hash.
func signedTx(t *testing.T, i int) ([]byte, [32]byte) {
	t.Helper()
	x := &tx.Tx{ChainID: testChainID, Nonce: uint64(i + 1), Expiry: 100, Body: &tx.Anchor{Entries: []tx.Entry{{Hash: docHash(i)}}}}
	x.Sign(seededKey(1))
	b := x.Encode()
	if _, err := tx.Decode(b); err != nil {
		t.Fatalf("test transaction does not decode: %v", err)
	}
	return b, sha256.Sum256(b)
}

// serve runs one request against h and returns the recorder. The request's context ends after
// waitLimit so that a handler can never hang the test.
func serve(t *testing.T, h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	req := httptest.NewRequest(method, target, body).WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decodeJSON decodes a JSON response body into v, failing the test on error or a non-JSON type.
func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
}

// wantError checks an error response's status and error code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) ErrorBody {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	var eb ErrorBody
	decodeJSON(t, rec, &eb)
	if eb.Error.Code != code {
		t.Fatalf("error code = %q, want %q; body %s", eb.Error.Code, code, rec.Body.String())
	}
	return eb
}

// wantSecureHeaders checks the headers every response must carry.
func wantSecureHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got == "" {
		t.Error("no Referrer-Policy")
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func (f *fakeBackend) Receipt(doc [32]byte) (*receipt.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.receiptErr != nil {
		return nil, f.receiptErr
	}
	if f.receipt == nil {
		return nil, ErrUnavailable
	}
	r := *f.receipt
	r.DocHash = doc
	return &r, nil
}

func (f *fakeBackend) LatestCheckpoint() (CheckpointView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkpoint, f.proofErr
}

func (f *fakeBackend) Consistency(from, to uint64) (ConsistencyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.consistency, f.proofErr
}

func (f *fakeBackend) Agencies() ([]AgencyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AgencyView
	for id, name := range f.agencies {
		out = append(out, AgencyView{ID: id, Name: name, Keys: []string{}})
	}
	slices.SortFunc(out, func(a, b AgencyView) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeBackend) Agency(id string) (AgencyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.agencies[id]
	if !ok {
		return AgencyView{}, ErrNotFound
	}
	return AgencyView{ID: id, Name: name, Keys: []string{}}, nil
}

func (f *fakeBackend) Proposals() ([]ProposalView, error) { return nil, nil }

// withProofs gives f a receipt, a signed latest checkpoint and a consistency proof from it to height 30.
func withProofs(f *fakeBackend) {
	f.receipt = testReceipt()
	cp := testReceipt()
	h := cp.Checkpoint.Hash()
	f.checkpoint = CheckpointView{Checkpoint: cp.Checkpoint, AppHash: h[:], Signatures: cp.Signatures}
	to := cp.Checkpoint
	to.Height, to.LogSize = 30, 20
	p0, p1 := docHash(600), docHash(601)
	f.consistency = ConsistencyView{From: cp.Checkpoint, To: to, Proof: []HexBytes{p0[:], p1[:]}}
}
