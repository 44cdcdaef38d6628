package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

// hostile is a metadata value that a page could mistake for markup.
const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>"'&`

func publicFields() []tx.Field {
	return []tx.Field{
		{Key: tx.FieldDocType, Value: "land-title"},
		{Key: tx.FieldIssuerOffice, Value: "Grundbuchamt Nord"},
		{Key: tx.FieldValidFrom, Value: "2026-01-01"},
		{Key: "parcel", Value: hostile},
	}
}

func restrictedFields() []tx.Field {
	return []tx.Field{{Key: "owner", Value: "Erika Mustermann"}, {Key: tx.FieldDocType, Value: "secret-kind"}}
}

// getAnchor looks doc up on the public listener and returns the raw body and the decoded view.
func getAnchor(t *testing.T, h http.Handler, doc [32]byte) ([]byte, AnchorView) {
	t.Helper()
	rec := serve(t, h, http.MethodGet, "/v1/anchors/"+hexOf(doc), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var v AnchorView
	decodeJSON(t, rec, &v)
	return rec.Body.Bytes(), v
}

// TestPublicAnchorMetadata: public metadata appears beside the record, with what anyone needs to
// check it; restricted metadata does not, and the answer is then the same as when none is stored.
func TestPublicAnchorMetadata(t *testing.T) {
	f, h := newPublic(t)
	pub := testMeta(1, tx.Public, publicFields()...)
	f.withMeta(1, pub, true)

	body, v := getAnchor(t, h, docHash(1))
	if v.Metadata == nil {
		t.Fatalf("no metadata in %s", body)
	}
	m := v.Metadata
	d := pub.Digest()
	if m.Hash != hexOf(docHash(1)) || m.ChainID != testChainID || m.Agency != "land-registry" || m.Visibility != "public" ||
		m.Digest != hexOf(d) || m.Digest != v.MetaDigest || m.Signer != hex.EncodeToString(seededKey(1).Public().(ed25519.PublicKey)) {
		t.Errorf("metadata view = %+v", m)
	}
	if len(m.Fields) != 4 || m.Fields["issuer_office"] != "Grundbuchamt Nord" || m.Fields["parcel"] != hostile || m.Fields["valid_from"] != "2026-01-01" {
		t.Errorf("fields = %q", m.Fields)
	}
	if bytes.Contains(body, []byte("<img")) || bytes.Contains(body, []byte("<script")) {
		t.Errorf("markup leaves unescaped: %s", body)
	}

	// Anyone can re-check the message with the standard library alone, from the JSON alone.
	var raw struct {
		MetaDigest string `json:"metadata_digest"`
		Metadata   struct {
			Signer  string `json:"signer"`
			Digest  string `json:"digest"`
			Message string `json:"message"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	msg, err := base64.StdEncoding.DecodeString(raw.Metadata.Message)
	if err != nil || len(msg) < 64 {
		t.Fatalf("message %q: %v", raw.Metadata.Message, err)
	}
	signed := append([]byte("siegel/meta/v1\n"), msg[:len(msg)-64]...)
	key, _ := hex.DecodeString(raw.Metadata.Signer)
	if !ed25519.Verify(key, signed, msg[len(msg)-64:]) {
		t.Error("the signature does not verify over the domain and the message")
	}
	if sum := sha256.Sum256(signed); hex.EncodeToString(sum[:]) != raw.MetaDigest || raw.Metadata.Digest != raw.MetaDigest {
		t.Errorf("SHA-256 of the signed bytes %x, digest %s, metadata_digest %s", sum, raw.Metadata.Digest, raw.MetaDigest)
	}
	if _, err := m.Check(d); err != nil {
		t.Errorf("Check: %v", err)
	}

	// Restricted: not shown, and indistinguishable from nothing stored.
	secret := testMeta(2, tx.Restricted, restrictedFields()...)
	f.withMeta(2, secret, true)
	withSecret, v := getAnchor(t, h, docHash(2))
	if v.Metadata != nil || v.MetaDigest != hexOf(secret.Digest()) {
		t.Errorf("restricted: metadata %+v, digest %q", v.Metadata, v.MetaDigest)
	}
	for _, leak := range []string{"Mustermann", "secret-kind", "restricted", "owner", `"metadata"`} {
		if bytes.Contains(withSecret, []byte(leak)) {
			t.Errorf("the public answer mentions %q: %s", leak, withSecret)
		}
	}
	f.mu.Lock()
	delete(f.meta, docHash(2))
	f.mu.Unlock()
	if without, v := getAnchor(t, h, docHash(2)); !bytes.Equal(without, withSecret) || v.MetaDigest == "" {
		t.Errorf("restricted stored and none stored answer differently:\n%s\n%s", withSecret, without)
	}

	// A digest, nothing stored yet.
	f.withMeta(3, testMeta(3, tx.Public, publicFields()...), false)
	if body, v := getAnchor(t, h, docHash(3)); v.Metadata != nil || v.MetaDigest == "" || bytes.Contains(body, []byte(`"metadata"`)) {
		t.Errorf("not received yet: %s", body)
	}

	// Stored metadata that does not match the anchor's digest is never shown.
	other := testMeta(4, tx.Public, tx.Field{Key: "title", Value: "Other"})
	f.withMeta(4, other, false)
	f.mu.Lock()
	f.meta[docHash(4)] = testMeta(4, tx.Public, tx.Field{Key: "title", Value: "Forged"}).Encode()
	f.mu.Unlock()
	if body, v := getAnchor(t, h, docHash(4)); v.Metadata != nil {
		t.Errorf("mismatching metadata shown: %s", body)
	}

	// No digest: no metadata lookup, whatever is stored.
	f.mu.Lock()
	f.anchors[docHash(5)] = testRecord(5, nil)
	f.meta[docHash(5)] = testMeta(5, tx.Public, publicFields()...).Encode()
	f.mu.Unlock()
	if body, v := getAnchor(t, h, docHash(5)); v.Metadata != nil || v.MetaDigest != "" {
		t.Errorf("anchor without digest: %s", body)
	}

	// Revoked documents show their metadata too.
	f.mu.Lock()
	f.revoked = map[[32]byte]*receipt.Revocation{docHash(1): {Height: 30, Time: time.Unix(1_800_000_000, 0), Reason: 3}}
	f.mu.Unlock()
	if _, v := getAnchor(t, h, docHash(1)); v.Status != StatusRevoked || v.Metadata == nil {
		t.Errorf("revoked: status %q, metadata %v", v.Status, v.Metadata)
	}

	// The store fails: an error, not an answer without the metadata.
	f.mu.Lock()
	f.metaErr = errors.New("pebble: disk on fire")
	f.mu.Unlock()
	rec := serve(t, h, http.MethodGet, "/v1/anchors/"+hexOf(docHash(1)), nil)
	if eb := wantError(t, rec, http.StatusInternalServerError, "internal"); strings.Contains(eb.Error.Message, "disk") {
		t.Errorf("internal details leak: %q", eb.Error.Message)
	}
	// ... but only anchors with a digest ask the store.
	if _, v := getAnchor(t, h, docHash(5)); v.Hash != hexOf(docHash(5)) {
		t.Errorf("anchor without digest: %+v", v)
	}
}

func TestMetadataViewCheck(t *testing.T) {
	m := testMeta(1, tx.Public, publicFields()...)
	d := m.Digest()
	good := metadataView(m, d)
	if got, err := good.Check(d); err != nil || !tx.EqualMeta(got, m) {
		t.Fatalf("Check of a good view: %v", err)
	}
	sig := *good
	sig.Message = bytes.Clone(good.Message)
	sig.Message[len(sig.Message)-1] ^= 1
	for _, tc := range []struct {
		name      string
		v         MetadataView
		committed [32]byte
		want      error
	}{
		{"other commitment", *good, docHash(77), ErrMetaDigest},
		{"bad signature", sig, d, tx.ErrBadSignature},
		{"truncated", MetadataView{Message: good.Message[:40]}, d, tx.ErrMalformed},
		{"field changed", withField(good, "issuer_office", "Somewhere else"), d, ErrMetaMismatch},
		{"field added", withField(good, "extra", "x"), d, ErrMetaMismatch},
		{"agency", func() MetadataView { v := *good; v.Agency = "other"; return v }(), d, ErrMetaMismatch},
		{"visibility", func() MetadataView { v := *good; v.Visibility = "restricted"; return v }(), d, ErrMetaMismatch},
		{"digest", func() MetadataView { v := *good; v.Digest = hexOf(docHash(9)); return v }(), d, ErrMetaMismatch},
		{"hash", func() MetadataView { v := *good; v.Hash = hexOf(docHash(9)); return v }(), d, ErrMetaMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.v.Check(tc.committed); !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func withField(v *MetadataView, k, val string) MetadataView {
	c := *v
	c.Fields = map[string]string{}
	for k, v := range v.Fields {
		c.Fields[k] = v
	}
	c.Fields[k] = val
	return c
}

// TestAgencyMetadata: the agency listener shows stored metadata, restricted included.
func TestAgencyMetadata(t *testing.T) {
	r := newAgency(t, waitLimit)
	pub, secret := testMeta(1, tx.Public, publicFields()...), testMeta(2, tx.Restricted, restrictedFields()...)
	r.f.withMeta(1, pub, true)
	r.f.withMeta(2, secret, true)
	r.f.withMeta(3, testMeta(3, tx.Public, publicFields()...), false)

	for _, tc := range []struct {
		name string
		m    *tx.Metadata
		doc  string
	}{
		{"public", pub, hexOf(docHash(1))},
		{"restricted", secret, hexOf(docHash(2))},
		{"upper case", secret, strings.ToUpper(hexOf(docHash(2)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, r.h, http.MethodGet, "/v1/metadata/"+tc.doc, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			wantSecureHeaders(t, rec.Header())
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			var v MetadataView
			decodeJSON(t, rec, &v)
			if got, err := v.Check(tc.m.Digest()); err != nil || !tx.EqualMeta(got, tc.m) {
				t.Errorf("view does not check: %v: %+v", err, v)
			}
			if v.Visibility != tc.m.Visibility.String() || len(v.Fields) != len(tc.m.Fields) {
				t.Errorf("view = %+v", v)
			}
		})
	}
	for _, tc := range []struct {
		name, method, target string
		setup                func()
		status               int
		code                 string
	}{
		{"none stored", http.MethodGet, "/v1/metadata/" + hexOf(docHash(3)), nil, 404, "unknown"},
		{"never anchored", http.MethodGet, "/v1/metadata/" + hexOf(docHash(404)), nil, 404, "unknown"},
		{"bad hash", http.MethodGet, "/v1/metadata/xyz", nil, 400, "malformed_hash"},
		{"POST", http.MethodPost, "/v1/metadata/" + hexOf(docHash(1)), nil, 405, "method_not_allowed"},
		{"store fails", http.MethodGet, "/v1/metadata/" + hexOf(docHash(1)), func() { r.f.metaErr = errors.New("disk") }, 500, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			wantError(t, serve(t, r.h, tc.method, tc.target, nil), tc.status, tc.code)
		})
	}
}

// publishRig posts metadata messages to an agency handler whose PublishMetadata waits at most 200 ms.
func publishRig(t *testing.T) (*agencyRig, func(body []byte) *httptest.ResponseRecorder) {
	t.Helper()
	f := newFakeBackend()
	tr := NewTracker()
	r := &agencyRig{f: f, t: tr, h: AgencyHandler(f, tr, AgencyOptions{CommitWait: waitLimit, PublishWait: 200 * time.Millisecond}, discardLogger())}
	return r, func(body []byte) *httptest.ResponseRecorder {
		t.Helper()
		rec := serve(t, r.h, http.MethodPost, "/v1/metadata", bytes.NewReader(body))
		wantSecureHeaders(t, rec.Header())
		return rec
	}
}

func TestPublishMetadata(t *testing.T) {
	r, post := publishRig(t)
	pub := testMeta(1, tx.Public, publicFields()...)
	r.f.withMeta(1, pub, false)

	rec := post(pub.Encode())
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var got MetadataPublished
	decodeJSON(t, rec, &got)
	if want := (MetadataPublished{Hash: hexOf(docHash(1)), Digest: hexOf(pub.Digest()), Visibility: "public"}); got != want {
		t.Errorf("answer %+v, want %+v", got, want)
	}
	if m, err := r.f.Metadata(docHash(1)); err != nil || !tx.EqualMeta(m, pub) {
		t.Errorf("not stored: %v", err)
	}
	// Publishing again is fine (the node gossips it again).
	if rec := post(pub.Encode()); rec.Code != http.StatusOK {
		t.Errorf("again: %d %s", rec.Code, rec.Body.String())
	}
	// Restricted metadata is published the same way.
	secret := testMeta(2, tx.Restricted, restrictedFields()...)
	r.f.withMeta(2, secret, false)
	rec = post(secret.Encode())
	decodeJSON(t, rec, &got)
	if rec.Code != http.StatusOK || got.Visibility != "restricted" {
		t.Errorf("restricted: %d %+v", rec.Code, got)
	}
}

func TestPublishMetadataRefused(t *testing.T) {
	good := testMeta(1, tx.Public, publicFields()...)
	badSig := good.Encode()
	badSig[len(badSig)-1] ^= 1
	trailing := append(good.Encode(), 0)
	for _, tc := range []struct {
		name       string
		body       []byte
		setup      func(f *fakeBackend)
		status     int
		code       string
		mention    string
		reachesOut bool // whether the backend is asked
	}{
		{"not anchored", good.Encode(), nil, 422, "not_anchored", "not anchored", true},
		{"no commitment", good.Encode(), func(f *fakeBackend) { f.anchors[docHash(1)] = testRecord(1, nil) }, 422, "no_commitment", "committed to no metadata", true},
		{"digest mismatch", good.Encode(), func(f *fakeBackend) { d := docHash(7); f.anchors[docHash(1)] = testRecord(1, &d) }, 422, "digest_mismatch", "digest", true},
		{"wrong agency", good.Encode(), func(f *fakeBackend) {
			d := good.Digest()
			r := testRecord(1, &d)
			r.Agency = "other-office"
			f.anchors[docHash(1)] = r
		}, 422, "wrong_agency", `the anchor is by "other-office"`, true},
		{"bad signature", badSig, nil, 422, "bad_signature", "signature", true},
		{"reason unknown to the API", good.Encode(), func(f *fakeBackend) { f.publishErr = &RejectedError{Reason: "moon_phase"} }, 422, "rejected", "moon_phase", true},
		{"malformed", []byte("not metadata"), nil, 400, "malformed", "not a metadata message", false},
		{"empty", nil, nil, 400, "malformed", "not a metadata message", false},
		{"trailing byte", trailing, nil, 400, "malformed", "trailing", false},
		{"oversized", make([]byte, tx.MaxMetaBytes+1), nil, 413, "oversized", fmt.Sprint(tx.MaxMetaBytes), false},
		{"unavailable", good.Encode(), func(f *fakeBackend) {
			f.publishErr = errors.Join(ErrUnavailable, errors.New("p2p: metadata not published: queue_full"))
		}, 503, "unavailable", "queue_full", true},
		{"anchor not committed in time", good.Encode(), func(f *fakeBackend) { f.publishBlock = true }, 503, "unavailable", "try again", true},
		{"fails", good.Encode(), func(f *fakeBackend) { f.publishErr = errors.New("pebble: disk on fire") }, 500, "internal", "failed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, post := publishRig(t)
			if tc.setup != nil {
				tc.setup(r.f)
			}
			start := time.Now()
			rec := post(tc.body)
			eb := wantError(t, rec, tc.status, tc.code)
			if !strings.Contains(eb.Error.Message, tc.mention) {
				t.Errorf("message %q does not mention %q", eb.Error.Message, tc.mention)
			}
			if tc.status == 500 && strings.Contains(eb.Error.Message, "disk") {
				t.Errorf("internal details leak: %q", eb.Error.Message)
			}
			if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if n := r.f.publishes.Load(); (n > 0) != tc.reachesOut {
				t.Errorf("backend asked %d times", n)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %v; PublishWait is 200 ms", d)
			}
			if _, err := r.f.Metadata(docHash(1)); !errors.Is(err, ErrNotFound) {
				t.Errorf("a refused message was stored (%v)", err)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		r, _ := publishRig(t)
		wantError(t, serve(t, r.h, http.MethodPost, "/v1/metadata", errReader{}), 400, "bad_body")
	})
	t.Run("GET", func(t *testing.T) {
		r, _ := publishRig(t)
		rec := serve(t, r.h, http.MethodGet, "/v1/metadata", nil)
		wantError(t, rec, 405, "method_not_allowed")
		if rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("Allow = %q", rec.Header().Get("Allow"))
		}
	})
}

// TestAgencyListenerRegistry: the agency listener serves the registry as the public one does.
func TestAgencyListenerRegistry(t *testing.T) {
	r := newAgency(t, waitLimit)
	r.f.agencies["land-registry"] = "Land Registry <North>"
	rec := serve(t, r.h, http.MethodGet, "/v1/agencies", nil)
	var list struct {
		Agencies []AgencyView `json:"agencies"`
	}
	decodeJSON(t, rec, &list)
	if rec.Code != 200 || len(list.Agencies) != 1 || list.Agencies[0].ID != "land-registry" {
		t.Errorf("GET /v1/agencies: %d %s", rec.Code, rec.Body.String())
	}
	rec = serve(t, r.h, http.MethodGet, "/v1/agencies/land-registry", nil)
	var a AgencyView
	decodeJSON(t, rec, &a)
	if rec.Code != 200 || a.Name != "Land Registry <North>" {
		t.Errorf("GET /v1/agencies/land-registry: %d %s", rec.Code, rec.Body.String())
	}
	wantError(t, serve(t, r.h, http.MethodGet, "/v1/agencies/nobody", nil), 404, "not_found")
	wantError(t, serve(t, r.h, http.MethodGet, "/v1/agencies/"+strings.Repeat("x", 65), nil), 400, "malformed_id")
	wantError(t, serve(t, r.h, http.MethodPost, "/v1/agencies", nil), 405, "method_not_allowed")
	// The rest of the public API stays off the agency listener.
	wantError(t, serve(t, r.h, http.MethodGet, "/v1/anchors/"+hexOf(docHash(1)), nil), 404, "not_found")
}

// TestClientMetadata runs the client against the agency and public handlers.
func TestClientMetadata(t *testing.T) {
	r, _ := publishRig(t)
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	pubSrv := httptest.NewServer(PublicHandler(r.f, PublicOptions{}, discardLogger()))
	defer pubSrv.Close()
	down := newCountingServer(t, failing(http.StatusServiceUnavailable))
	c := testClient(down.URL, srv.URL)
	ctx := testContext(t)

	pub := testMeta(1, tx.Public, publicFields()...)
	r.f.withMeta(1, pub, false)
	got, err := c.PublishMetadata(ctx, pub.Encode())
	if err != nil || got != (MetadataPublished{Hash: hexOf(docHash(1)), Digest: hexOf(pub.Digest()), Visibility: "public"}) {
		t.Errorf("PublishMetadata = %+v, %v", got, err)
	}
	if down.calls.Load() == 0 {
		t.Error("the unavailable node was not tried first")
	}

	_, err = c.PublishMetadata(ctx, testMeta(2, tx.Public, publicFields()...).Encode())
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Reason != "not_anchored" || !strings.Contains(err.Error(), "not anchored") {
		t.Errorf("unanchored: err %v, want a RejectedError not_anchored", err)
	}
	_, err = c.PublishMetadata(ctx, []byte("junk"))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "malformed" {
		t.Errorf("junk: err %v, want an APIError 400 malformed", err)
	}

	secret := testMeta(2, tx.Restricted, restrictedFields()...)
	r.f.withMeta(2, secret, true)
	v, err := c.Metadata(ctx, docHash(2))
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if m, err := v.Check(secret.Digest()); err != nil || m.Visibility != tx.Restricted {
		t.Errorf("restricted view: %v %+v", err, v)
	}
	if _, err := c.Metadata(ctx, docHash(3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("none stored: err %v, want ErrNotFound", err)
	}
	if as, err := c.Agencies(ctx); err != nil || as == nil {
		t.Errorf("Agencies on the agency listener: %v %v", as, err)
	}

	// The public lookup carries public metadata, never restricted.
	pc := testClient(pubSrv.URL)
	av, found, err := pc.Anchor(ctx, docHash(1))
	if err != nil || !found || av.Metadata == nil || av.Metadata.Fields["issuer_office"] != "Grundbuchamt Nord" {
		t.Fatalf("public anchor: %+v %v %v", av, found, err)
	}
	if _, err := av.Metadata.Check(pub.Digest()); err != nil {
		t.Errorf("public view: %v", err)
	}
	if av, _, err := pc.Anchor(ctx, docHash(2)); err != nil || av.Metadata != nil || av.MetaDigest == "" {
		t.Errorf("restricted via the public client: %+v %v", av, err)
	}
	// Metadata asks the agency listener; the public one has no such route, which is not "none stored".
	if _, err := pc.Metadata(ctx, docHash(2)); errors.Is(err, ErrNotFound) || err == nil {
		t.Errorf("Metadata on the public listener: %v, want a route error", err)
	}
}

// TestPublishMetadataClientGone: a publisher that goes away ends the wait.
func TestPublishMetadataClientGone(t *testing.T) {
	f := newFakeBackend()
	f.publishBlock = true
	h := AgencyHandler(f, NewTracker(), AgencyOptions{PublishWait: time.Hour}, discardLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/metadata", bytes.NewReader(testMeta(1, tx.Public, publicFields()...).Encode())).WithContext(ctx))
		done <- rec.Code
	}()
	for start := time.Now(); f.publishes.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Since(start) > waitLimit {
			t.Fatal("PublishMetadata was not called")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("the handler kept waiting after the client left")
	}
}
