package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// testReceipt returns a receipt of anchored document 1 in the form the node serves.
func testReceipt() *receipt.Receipt {
	rec := testRecord(1, nil)
	var sig receipt.Sig
	copy(sig.Signature[:], bytes.Repeat([]byte{0x5a}, 64))
	return &receipt.Receipt{
		Version: receipt.Version, DocHash: rec.DocHash, State: receipt.StateAnchored, Record: &rec, LogIndex: 3,
		LogProof: [][32]byte{docHash(500), docHash(501)},
		MapProof: receipt.MapProof{Siblings: [][32]byte{docHash(502), {}, docHash(503)}, Terminal: receipt.Terminal{Kind: receipt.TerminalMatch}},
		Checkpoint: receipt.Checkpoint{ChainID: testChainID, Height: 18, Time: time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC),
			LogSize: 9, LogRoot: docHash(504), MapRoot: docHash(505), Validators: docHash(506), NextValidators: docHash(506)},
		Signatures: receipt.Signatures{Round: 1, Sigs: []receipt.Sig{sig, {Validator: 2, Signature: sig.Signature}}},
	}
}

// consistencyBackend records the heights Consistency is asked for.
type consistencyBackend struct {
	*fakeBackend
	mu    sync.Mutex
	calls [][2]uint64
}

func (c *consistencyBackend) Consistency(from, to uint64) (ConsistencyView, error) {
	c.mu.Lock()
	c.calls = append(c.calls, [2]uint64{from, to})
	c.mu.Unlock()
	return c.fakeBackend.Consistency(from, to)
}

func newProofPublic(t *testing.T) (*consistencyBackend, http.Handler) {
	t.Helper()
	f := newFakeBackend()
	withProofs(f)
	c := &consistencyBackend{fakeBackend: f}
	return c, PublicHandler(c, PublicOptions{}, discardLogger())
}

// wantExtraHeaders checks the security headers of a response that need not be JSON.
func wantExtraHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing: %v", h)
	}
}

func TestPublicReceipt(t *testing.T) {
	_, h := newProofPublic(t)
	doc := docHash(7) // the fake backend answers for any hash
	want := testReceipt()
	want.DocHash = doc
	for _, tc := range []struct {
		name, path, query, contentType string
		decode                         func([]byte) (*receipt.Receipt, error)
	}{
		{"json by default", hexOf(doc), "", "application/json", receipt.DecodeJSON},
		{"json asked for", hexOf(doc), "?format=json", "application/json", receipt.DecodeJSON},
		{"upper-case hash", strings.ToUpper(hexOf(doc)), "", "application/json", receipt.DecodeJSON},
		{"compact", hexOf(doc), "?format=compact", "application/octet-stream", receipt.DecodeCompact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, "/v1/anchors/"+tc.path+"/receipt"+tc.query, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
			}
			wantExtraHeaders(t, rec.Header())
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.contentType)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			got, err := tc.decode(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("decode %q: %v", rec.Body.String(), err)
			}
			if got.DocHash != doc {
				t.Errorf("doc hash %x, want the queried %x", got.DocHash, doc)
			}
			if !bytes.Equal(got.EncodeCompact(), want.EncodeCompact()) {
				t.Errorf("receipt changed on the way:\n got %+v\nwant %+v", got, want)
			}
			if tc.contentType == "application/json" {
				var raw map[string]json.RawMessage
				decodeJSON(t, rec, &raw)
				if string(raw["doc_hash"]) != `"`+hexOf(doc)+`"` {
					t.Errorf("doc_hash = %s", raw["doc_hash"])
				}
			}
		})
	}
}

func TestPublicReceiptErrors(t *testing.T) {
	const secret = "pebble: snapshot of /var/lib/siegel/data released"
	for _, tc := range []struct {
		name, path, query string
		err               error
		status            int
		code              string
	}{
		{"format xml", hexOf(docHash(1)), "?format=xml", nil, http.StatusBadRequest, "bad_format"},
		{"format upper-case", hexOf(docHash(1)), "?format=JSON", nil, http.StatusBadRequest, "bad_format"},
		{"malformed hash", strings.Repeat("z", 64), "", nil, http.StatusBadRequest, "malformed_hash"},
		{"short hash", "abcd", "?format=compact", nil, http.StatusBadRequest, "malformed_hash"},
		{"no signed checkpoint", hexOf(docHash(1)), "", ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
		{"wrapped unavailable", hexOf(docHash(1)), "?format=compact", fmt.Errorf("snapshot gone: %w", ErrUnavailable), http.StatusServiceUnavailable, "unavailable"},
		{"not found", hexOf(docHash(1)), "", ErrNotFound, http.StatusNotFound, "not_found"},
		{"backend fails", hexOf(docHash(1)), "", errors.New(secret), http.StatusInternalServerError, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, h := newProofPublic(t)
			b.receiptErr = tc.err
			rec := serve(t, h, http.MethodGet, "/v1/anchors/"+tc.path+"/receipt"+tc.query, nil)
			wantError(t, rec, tc.status, tc.code)
			wantSecureHeaders(t, rec.Header())
			if ra := rec.Header().Get("Retry-After"); (ra != "") != (tc.status == http.StatusServiceUnavailable) {
				t.Errorf("Retry-After = %q with status %d", ra, tc.status)
			}
			if strings.Contains(rec.Body.String(), "/var/lib") {
				t.Errorf("body leaks the error: %s", rec.Body.String())
			}
		})
	}
}

func TestPublicLatestCheckpoint(t *testing.T) {
	b, h := newProofPublic(t)
	rec := serve(t, h, http.MethodGet, "/v1/checkpoints/latest", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
	}
	wantSecureHeaders(t, rec.Header())
	var raw map[string]json.RawMessage
	decodeJSON(t, rec, &raw)
	for _, k := range []string{"checkpoint", "app_hash", "signatures"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %s", k, rec.Body.String())
		}
	}
	var v CheckpointView
	decodeJSON(t, rec, &v)
	if v.Checkpoint != b.checkpoint.Checkpoint || !bytes.Equal(v.AppHash, b.checkpoint.AppHash) ||
		v.Signatures.Round != 1 || len(v.Signatures.Sigs) != 2 || v.Signatures.Sigs[1] != b.checkpoint.Signatures.Sigs[1] {
		t.Errorf("checkpoint view %+v, want %+v", v, b.checkpoint)
	}
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"}, {ErrNotFound, http.StatusNotFound, "not_found"}} {
		b.mu.Lock()
		b.proofErr = tc.err
		b.mu.Unlock()
		wantError(t, serve(t, h, http.MethodGet, "/v1/checkpoints/latest", nil), tc.status, tc.code)
	}
}

func TestPublicConsistency(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		err         error
		status      int
		code        string
	}{
		{"valid", "from=1&to=2", nil, http.StatusOK, ""},
		{"same height", "from=7&to=7", nil, http.StatusOK, ""},
		{"both missing", "", nil, http.StatusBadRequest, "bad_range"},
		{"from missing", "to=2", nil, http.StatusBadRequest, "bad_range"},
		{"to missing", "from=1", nil, http.StatusBadRequest, "bad_range"},
		{"from not a number", "from=one&to=2", nil, http.StatusBadRequest, "bad_range"},
		{"to not a number", "from=1&to=2x", nil, http.StatusBadRequest, "bad_range"},
		{"negative", "from=-1&to=2", nil, http.StatusBadRequest, "bad_range"},
		{"overflow", "from=1&to=18446744073709551616", nil, http.StatusBadRequest, "bad_range"},
		{"from zero", "from=0&to=2", nil, http.StatusBadRequest, "bad_range"},
		{"from after to", "from=3&to=2", nil, http.StatusBadRequest, "bad_range"},
		{"unknown height", "from=1&to=99", ErrNotFound, http.StatusNotFound, "not_found"},
		{"unavailable", "from=1&to=2", ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, h := newProofPublic(t)
			b.proofErr = tc.err
			rec := serve(t, h, http.MethodGet, "/v1/checkpoints/consistency?"+tc.query, nil)
			cc := rec.Header().Get("Cache-Control")
			if tc.status != http.StatusOK {
				wantError(t, rec, tc.status, tc.code)
				if strings.Contains(cc, "immutable") {
					t.Errorf("error cached as immutable: Cache-Control %q", cc)
				}
				if tc.status == http.StatusBadRequest && len(b.calls) != 0 {
					t.Errorf("backend asked for %v", b.calls)
				}
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
			}
			wantSecureHeaders(t, rec.Header())
			if !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=") {
				t.Errorf("Cache-Control = %q, want immutable", cc)
			}
			var v ConsistencyView
			decodeJSON(t, rec, &v)
			if v.From != b.consistency.From || v.To != b.consistency.To || len(v.Proof) != 2 || !bytes.Equal(v.Proof[1], b.consistency.Proof[1]) {
				t.Errorf("view %+v, want %+v", v, b.consistency)
			}
			var from, to uint64
			if _, err := fmt.Sscanf(tc.query, "from=%d&to=%d", &from, &to); err != nil {
				t.Fatal(err)
			}
			if len(b.calls) != 1 || b.calls[0] != [2]uint64{from, to} {
				t.Errorf("backend asked for %v, want [%d %d]", b.calls, from, to)
			}
		})
	}
}

func TestPublicProofRoutesReadOnly(t *testing.T) {
	_, h := newProofPublic(t)
	for _, route := range []string{
		"/v1/anchors/" + hexOf(docHash(1)) + "/receipt",
		"/v1/checkpoints/latest",
		"/v1/checkpoints/consistency?from=1&to=2",
	} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			t.Run(m+" "+route, func(t *testing.T) {
				rec := serve(t, h, m, route, strings.NewReader("x"))
				wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
				if allow := rec.Header().Get("Allow"); allow != http.MethodGet {
					t.Errorf("Allow = %q, want GET", allow)
				}
			})
		}
		t.Run("HEAD "+route, func(t *testing.T) {
			if rec := serve(t, h, http.MethodHead, route, nil); rec.Code != http.StatusOK {
				t.Errorf("HEAD: status %d", rec.Code)
			}
		})
	}
}

func TestClientReceipt(t *testing.T) {
	b, h := newProofPublic(t)
	var calls, unavailable atomic.Int32
	unavailable.Store(1) // the first request finds no signed checkpoint
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if unavailable.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "no signed checkpoint yet")
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := testClient(srv.URL)
	c.Retry = waitLimit // the retry after the first 503 must not depend on how fast the machine is
	ctx := testContext(t)

	doc := docHash(8)
	raw, err := c.Receipt(ctx, doc)
	if err != nil {
		t.Fatalf("Receipt: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (one retry after 503)", n)
	}
	r, err := receipt.DecodeJSON(raw)
	if err != nil {
		t.Fatalf("DecodeJSON(%s): %v", raw, err)
	}
	want := testReceipt()
	want.DocHash = doc
	if !bytes.Equal(r.EncodeCompact(), want.EncodeCompact()) {
		t.Errorf("receipt %+v, want %+v", r, want)
	}

	calls.Store(0)
	b.mu.Lock()
	b.receiptErr = ErrNotFound
	b.mu.Unlock()
	_, err = c.Receipt(ctx, doc)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || calls.Load() != 1 {
		t.Errorf("not found: %v after %d requests; want one 404", err, calls.Load())
	}

	calls.Store(0)
	unavailable.Store(1 << 20) // never available within the client's retry bound
	c.Retry = 300 * time.Millisecond
	_, err = c.Receipt(ctx, doc)
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || calls.Load() < 1 {
		t.Errorf("always unavailable: %v after %d requests; want the 503 once the retry bound passed", err, calls.Load())
	}
}
