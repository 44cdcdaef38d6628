package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// testRecord returns an anchor record for docHash(i) whose time is given in a non-UTC zone.
func testRecord(i int, meta *[32]byte) receipt.Record {
	r := receipt.Record{
		DocHash: docHash(i), Agency: "land-registry", Height: 17,
		Time:    time.Date(2025, 6, 1, 14, 30, 0, 0, time.FixedZone("CEST", 2*3600)),
		TxIndex: 2, Entry: 5, MetaDigest: meta,
	}
	for j := range r.Signer {
		r.Signer[j] = 0xA0 + byte(j%16)
	}
	r.TxHash = docHash(1000 + i)
	return r
}

func newPublic(t *testing.T) (*fakeBackend, http.Handler) {
	t.Helper()
	f := newFakeBackend()
	f.agencies["land-registry"] = "Land Registry <North>"
	return f, PublicHandler(f, PublicOptions{}, discardLogger())
}

func TestPublicAnchor(t *testing.T) {
	meta := docHash(99)
	f, h := newPublic(t)
	f.anchors[docHash(1)] = testRecord(1, nil)
	f.anchors[docHash(2)] = testRecord(2, &meta)
	orphan := testRecord(3, nil)
	orphan.Agency = "gone"
	f.anchors[docHash(3)] = orphan

	for _, tc := range []struct {
		name     string
		path     string
		doc      int
		wantMeta string // "" means the key must be absent
		wantName string
	}{
		{"lower-case hex", hexOf(docHash(1)), 1, "", "Land Registry <North>"},
		{"upper-case hex", strings.ToUpper(hexOf(docHash(1))), 1, "", "Land Registry <North>"},
		{"with metadata digest", hexOf(docHash(2)), 2, hexOf(meta), "Land Registry <North>"},
		{"unregistered agency", hexOf(docHash(3)), 3, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, "/v1/anchors/"+tc.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
			}
			wantSecureHeaders(t, rec.Header())
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			if strings.Contains(rec.Body.String(), "<") {
				t.Errorf("body carries a raw '<': %s", rec.Body.String())
			}
			var raw map[string]json.RawMessage
			decodeJSON(t, rec, &raw)
			if _, ok := raw["metadata_digest"]; ok != (tc.wantMeta != "") {
				t.Errorf("metadata_digest present = %v, want %v: %s", ok, tc.wantMeta != "", rec.Body.String())
			}
			var v AnchorView
			decodeJSON(t, rec, &v)
			r := f.anchors[docHash(tc.doc)]
			want := AnchorView{
				Hash: hexOf(r.DocHash), Status: "anchored", Agency: AgencyRef{ID: r.Agency, Name: tc.wantName},
				Signer: hexOf(r.Signer), Height: 17, Time: r.Time.UTC(), TxHash: hexOf(r.TxHash),
				TxIndex: 2, Entry: 5, MetaDigest: tc.wantMeta,
			}
			if v != want {
				t.Errorf("view =\n%+v\nwant\n%+v", v, want)
			}
			var tm string
			if err := json.Unmarshal(raw["time"], &tm); err != nil {
				t.Fatal(err)
			}
			if tm != "2025-06-01T12:30:00Z" {
				t.Errorf("time = %q, want RFC 3339 in UTC", tm)
			}
			for _, k := range []string{"hash", "signer", "tx_hash"} {
				var s string
				_ = json.Unmarshal(raw[k], &s)
				if s != strings.ToLower(s) || len(s) != 64 {
					t.Errorf("%s = %q, want 64 lower-case hex digits", k, s)
				}
			}
		})
	}
}

func hexOf(b [32]byte) string { return hex.EncodeToString(b[:]) }

func TestPublicAnchorErrors(t *testing.T) {
	const secret = "pebble: corrupted sstable /var/lib/siegel/data/000123.sst"
	for _, tc := range []struct {
		name      string
		path      string
		anchorErr error
		agencyErr error
		status    int
		code      string
	}{
		{"unknown", hexOf(docHash(404)), nil, nil, http.StatusNotFound, "unknown"},
		{"too short", strings.Repeat("a", 63), nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"too long", strings.Repeat("a", 65), nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"not hex", strings.Repeat("g", 64), nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"0x prefix", "0x" + strings.Repeat("a", 62), nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"encoded space", strings.Repeat("a", 62) + "%20a", nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"script", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil, nil, http.StatusBadRequest, "malformed_hash"},
		{"script padded to 64", "%3Cscript%3Ealert(1)%3C%2Fscript%3E" + strings.Repeat("0", 64-25), nil, nil, http.StatusBadRequest, "malformed_hash"},
		// An unescaped slash ends the segment: no route matches.
		{"script with slash", "%3Cscript%3Ealert(1)%3C/script%3E", nil, nil, http.StatusNotFound, "not_found"},
		{"anchor lookup fails", hexOf(docHash(1)), errors.New(secret), nil, http.StatusInternalServerError, "internal"},
		{"agency lookup fails", hexOf(docHash(1)), nil, errors.New(secret), http.StatusInternalServerError, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := newPublic(t)
			f.anchors[docHash(1)] = testRecord(1, nil)
			f.anchorErr, f.agencyErr = tc.anchorErr, tc.agencyErr
			rec := serve(t, h, http.MethodGet, "/v1/anchors/"+tc.path, nil)
			wantError(t, rec, tc.status, tc.code)
			wantSecureHeaders(t, rec.Header())
			body := rec.Body.String()
			for _, bad := range []string{"<script", "</script", "sstable", "/var/lib"} {
				if strings.Contains(strings.ToLower(body), bad) {
					t.Errorf("body contains %q: %s", bad, body)
				}
			}
		})
	}
}

func TestPublicStatus(t *testing.T) {
	f, h := newPublic(t)
	rec := serve(t, h, http.MethodGet, "/v1/status", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
	}
	wantSecureHeaders(t, rec.Header())
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var raw map[string]any
	decodeJSON(t, rec, &raw)
	if raw["app_hash"] != "abcd01" || raw["chain_id"] != testChainID || raw["block_time"] != "2025-03-04T05:06:07Z" {
		t.Errorf("status body = %s", rec.Body.String())
	}
	var s Status
	decodeJSON(t, rec, &s)
	want := f.Status()
	if s.ChainID != want.ChainID || s.Height != want.Height || string(s.AppHash) != string(want.AppHash) ||
		!s.BlockTime.Equal(want.BlockTime) || s.Peers != want.Peers || s.MaxBatch != want.MaxBatch || s.MaxTTL != want.MaxTTL {
		t.Errorf("status = %+v, want %+v", s, want)
	}
}

// TestPublicHeaders checks that every kind of answer, errors included, carries the security headers.
func TestPublicHeaders(t *testing.T) {
	f, h := newPublic(t)
	f.anchors[docHash(1)] = testRecord(1, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/status", http.StatusOK},
		{http.MethodGet, "/v1/anchors/" + hexOf(docHash(1)), http.StatusOK},
		{http.MethodGet, "/v1/anchors/" + hexOf(docHash(2)), http.StatusNotFound},
		{http.MethodGet, "/v1/anchors/xyz", http.StatusBadRequest},
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/index.htm", http.StatusNotFound},
		{http.MethodGet, "/v1/anchors", http.StatusNotFound},
		{http.MethodGet, "/v1/anchors/", http.StatusNotFound},
		{http.MethodGet, "/v1/txs/" + hexOf(docHash(1)), http.StatusNotFound}, // agency only
		{http.MethodPost, "/v1/status", http.StatusMethodNotAllowed},
		{http.MethodOptions, "/v1/status", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := serve(t, h, tc.method, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body.String())
			}
			wantSecureHeaders(t, rec.Header())
		})
	}
	if n := f.submits.Load(); n != 0 {
		t.Errorf("Submit called %d times", n)
	}
}

// TestPublicReadOnly checks that no method but GET (and HEAD) reaches a public route, and that
// nothing ever reaches Backend.Submit.
func TestPublicReadOnly(t *testing.T) {
	f, h := newPublic(t)
	tx, _ := signedTx(t, 1)
	routes := []string{"/v1/status", "/v1/anchors/" + hexOf(docHash(1)), "/v1/anchors/not-a-hash"}
	for _, route := range routes {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			t.Run(m+" "+route, func(t *testing.T) {
				rec := serve(t, h, m, route, strings.NewReader(string(tx)))
				wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
				wantSecureHeaders(t, rec.Header())
				if allow := rec.Header().Get("Allow"); allow != http.MethodGet {
					t.Errorf("Allow = %q, want GET", allow)
				}
			})
		}
	}
	// POST /v1/anchors is the agency's submission route; the public listener does not have it.
	rec := serve(t, h, http.MethodPost, "/v1/anchors", strings.NewReader(string(tx)))
	wantError(t, rec, http.StatusNotFound, "not_found")
	if n := f.submits.Load(); n != 0 {
		t.Errorf("Submit called %d times, want 0", n)
	}
}

func TestPublicHead(t *testing.T) {
	f, h := newPublic(t)
	f.anchors[docHash(1)] = testRecord(1, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Timeout: waitLimit}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/status", http.StatusOK},
		{"/v1/anchors/" + hexOf(docHash(1)), http.StatusOK},
		{"/v1/anchors/" + hexOf(docHash(2)), http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Head(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("HEAD status = %d, want %d", resp.StatusCode, tc.status)
			}
			wantSecureHeaders(t, resp.Header)
		})
	}
}

// TestPublicAnchorRevoked: a revoked document answers 200 with status "revoked" and the revocation.
func TestPublicAnchorRevoked(t *testing.T) {
	f, h := newPublic(t)
	succ := docHash(8)
	f.anchors[docHash(7)] = testRecord(7, nil)
	f.revoked = map[[32]byte]*receipt.Revocation{docHash(7): {Height: 30, Time: time.Unix(1_800_000_000, 0).UTC(), Reason: 1, Successor: &succ}}
	rec := serve(t, h, http.MethodGet, "/v1/anchors/"+hexOf(docHash(7)), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body.String())
	}
	var v AnchorView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Status != StatusRevoked || v.Revocation == nil || v.Revocation.Reason != "superseded" ||
		v.Revocation.Code != 1 || v.Revocation.Height != 30 || v.Revocation.Successor != hexOf(succ) {
		t.Fatalf("view = %+v, revocation %+v", v, v.Revocation)
	}
}
