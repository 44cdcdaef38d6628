package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
)

// agencyRig is an agency handler over a fake backend and a real Tracker.
type agencyRig struct {
	f *fakeBackend
	t *Tracker
	h http.Handler
}

func newAgency(t *testing.T, wait time.Duration) *agencyRig {
	t.Helper()
	f := newFakeBackend()
	tr := NewTracker()
	r := &agencyRig{f: f, t: tr, h: AgencyHandler(f, tr, AgencyOptions{CommitWait: wait}, discardLogger())}
	t.Cleanup(func() {
		if n := tr.Waiting(); n != 0 {
			t.Errorf("tracker has %d leftover waiters", n)
		}
	})
	return r
}

// notifyOnSubmit notifies the tracker with o once the handler has called Submit (by then it waits).
// The returned channel closes when the goroutine is done.
func (r *agencyRig) notifyOnSubmit(t *testing.T, o TxOutcome) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r.f.awaitSubmit(t) != nil {
			r.t.Notify([]TxOutcome{{Hash: docHash(12345)}, o}) // an unrelated tx in the same block
		}
	}()
	return done
}

func (r *agencyRig) post(t *testing.T, body []byte) answer {
	t.Helper()
	rec := serve(t, r.h, http.MethodPost, "/v1/anchors", bytes.NewReader(body))
	wantSecureHeaders(t, rec.Header())
	out := answer{Code: rec.Code, Header: rec.Header()}
	decodeJSON(t, rec, &out.Body)
	if n := r.t.Waiting(); n != 0 {
		t.Errorf("after the request the tracker has %d waiters", n)
	}
	return out
}

// answer is an HTTP answer to a submission.
type answer struct {
	Code   int
	Header http.Header
	Body   SubmitResult
}

func wantResult(t *testing.T, got answer, status int, want SubmitResult) {
	t.Helper()
	if got.Code != status || got.Body != want {
		t.Errorf("answer = %d %+v\nwant     %d %+v", got.Code, got.Body, status, want)
	}
}

func TestSubmitCommitted(t *testing.T) {
	r := newAgency(t, waitLimit)
	body, h := signedTx(t, 1)
	done := r.notifyOnSubmit(t, TxOutcome{Hash: h, Height: 9, Index: 1})
	got := r.post(t, body)
	<-done
	wantResult(t, got, http.StatusOK, SubmitResult{Status: "committed", TxHash: hexOf(h), Height: 9, CodeName: "ok"})
	if n := r.f.submits.Load(); n != 1 {
		t.Errorf("Submit called %d times, want 1", n)
	}
}

func TestSubmitAlreadySubmitted(t *testing.T) {
	r := newAgency(t, waitLimit)
	r.f.submitErr = fmt.Errorf("mempool: %w", ErrAlreadySubmitted)
	body, h := signedTx(t, 1)
	done := r.notifyOnSubmit(t, TxOutcome{Hash: h, Height: 10})
	got := r.post(t, body)
	<-done
	wantResult(t, got, http.StatusOK, SubmitResult{Status: "committed", TxHash: hexOf(h), Height: 10, CodeName: "ok"})
}

func TestSubmitRejectedInBlock(t *testing.T) {
	r := newAgency(t, waitLimit)
	body, h := signedTx(t, 1)
	done := r.notifyOnSubmit(t, TxOutcome{Hash: h, Height: 11, Code: uint32(tx.CodeDuplicateHash), Log: "already anchored"})
	got := r.post(t, body)
	<-done
	wantResult(t, got, http.StatusUnprocessableEntity, SubmitResult{
		Status: "rejected", TxHash: hexOf(h), Height: 11, Code: 7, CodeName: "duplicate_hash", Message: "already anchored"})
}

func TestSubmitAlreadyCommitted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   uint32
		status int
		want   string
	}{
		{"committed", 0, http.StatusOK, "committed"},
		{"rejected", uint32(tx.CodeReplayed), http.StatusUnprocessableEntity, "rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAgency(t, waitLimit)
			body, h := signedTx(t, 1)
			r.f.setTx(TxOutcome{Hash: h, Height: 3, Code: tc.code})
			got := r.post(t, body)
			wantResult(t, got, tc.status, SubmitResult{
				Status: tc.want, TxHash: hexOf(h), Height: 3, Code: tc.code, CodeName: tx.Code(tc.code).String()})
			if n := r.f.submits.Load(); n != 0 {
				t.Errorf("Submit called %d times for a committed transaction", n)
			}
		})
	}
}

func TestSubmitPending(t *testing.T) {
	r := newAgency(t, 200*time.Millisecond)
	body, h := signedTx(t, 1)
	start := time.Now()
	got := r.post(t, body)
	wantResult(t, got, http.StatusAccepted, SubmitResult{Status: "pending", TxHash: hexOf(h)})
	if d := time.Since(start); d < 200*time.Millisecond || d > waitLimit {
		t.Errorf("answered after %v, want about CommitWait", d)
	}
	// A later notification finds nobody waiting and does not block.
	r.t.Notify([]TxOutcome{{Hash: h, Height: 1}})
}

// TestSubmitRefused covers the answers given before any waiting: CheckTx rejections, undecodable
// bodies and an unavailable node.
func TestSubmitRefused(t *testing.T) {
	good, h := signedTx(t, 1)
	tooMany := tooManyEntries(t)
	for _, tc := range []struct {
		name      string
		body      []byte
		code      uint32
		log       string
		err       error
		status    int
		want      SubmitResult // checked when errCode is ""
		errCode   string       // the ErrorBody code for non-SubmitResult answers
		submitted int32
	}{
		{name: "bad signature", body: good, code: 3, log: "signature does not verify", status: 422, submitted: 1,
			want: SubmitResult{Status: "rejected", TxHash: hexOf(h), Code: 3, CodeName: "bad_signature", Message: "signature does not verify"}},
		{name: "unknown agency", body: good, code: 4, status: 422, submitted: 1,
			want: SubmitResult{Status: "rejected", TxHash: hexOf(h), Code: 4, CodeName: "unknown_agency"}},
		{name: "empty body", body: nil, status: 422, want: SubmitResult{Status: "rejected", Code: 1, CodeName: "malformed"}},
		{name: "garbage", body: []byte("hello, world"), status: 422, want: SubmitResult{Status: "rejected", Code: 1, CodeName: "malformed"}},
		{name: "trailing byte", body: append(append([]byte(nil), good...), 0), status: 422, want: SubmitResult{Status: "rejected", Code: 1, CodeName: "malformed"}},
		{name: "too many entries", body: tooMany, status: 422, want: SubmitResult{Status: "rejected", Code: 2, CodeName: "oversized"}},
		{name: "over 1 MiB", body: bytes.Repeat([]byte{1}, tx.MaxTxBytes+1), status: 413, errCode: "oversized"},
		{name: "unavailable", body: good, err: fmt.Errorf("catching up: %w", ErrUnavailable), status: 503, errCode: "unavailable", submitted: 1},
		{name: "backend failure", body: good, err: errors.New("rpc: /tmp/secret.sock: broken pipe"), status: 500, errCode: "internal", submitted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAgency(t, waitLimit)
			r.f.submitCode, r.f.submitLog, r.f.submitErr = tc.code, tc.log, tc.err
			rec := serve(t, r.h, http.MethodPost, "/v1/anchors", bytes.NewReader(tc.body))
			wantSecureHeaders(t, rec.Header())
			if tc.errCode != "" {
				wantError(t, rec, tc.status, tc.errCode)
			} else {
				var got SubmitResult
				decodeJSON(t, rec, &got)
				if tc.want.TxHash == "" { // did not decode: the message says why
					if got.Message == "" {
						t.Error("the answer says nothing about why the body does not decode")
					}
					got.Message = ""
				}
				wantResult(t, answer{Code: rec.Code, Body: got}, tc.status, tc.want)
			}
			if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if strings.Contains(rec.Body.String(), "secret.sock") {
				t.Errorf("internal error leaked: %s", rec.Body.String())
			}
			if n := r.f.submits.Load(); n != tc.submitted {
				t.Errorf("Submit called %d times, want %d", n, tc.submitted)
			}
			if n := r.t.Waiting(); n != 0 {
				t.Errorf("tracker has %d waiters", n)
			}
		})
	}
}

// tooManyEntries returns a well-formed anchor header announcing MaxEntries+1 entries.
func tooManyEntries(t *testing.T) []byte {
	t.Helper()
	x := &tx.Tx{ChainID: testChainID, Nonce: 1, Expiry: 100, Body: &tx.Anchor{Entries: []tx.Entry{{Hash: docHash(0)}}}}
	b := x.Encode()
	// The entry count sits right after the header; the header is everything before the one entry,
	// its flag byte and the signature.
	off := len(b) - 64 - 33 - 2
	binary.BigEndian.PutUint16(b[off:], tx.MaxEntries+1)
	return b
}

// TestSubmitClientGone checks that a waiter is removed when the client hangs up.
func TestSubmitClientGone(t *testing.T) {
	r := newAgency(t, waitLimit)
	body, _ := signedTx(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hungUp := make(chan struct{})
	go func() {
		defer close(hungUp)
		if r.f.awaitSubmit(t) != nil {
			cancel()
		}
	}()
	defer func() { <-hungUp }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/anchors", bytes.NewReader(body))
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r.h.ServeHTTP(discardWriter{header: http.Header{}}, req)
	}()
	select {
	case <-finished:
	case <-time.After(waitLimit):
		t.Fatal("handler did not return after the client went away")
	}
	if n := r.t.Waiting(); n != 0 {
		t.Errorf("tracker has %d waiters", n)
	}
}

type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header         { return w.header }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}

func TestAgencyMethods(t *testing.T) {
	r := newAgency(t, waitLimit)
	h := hexOf(docHash(1))
	for _, tc := range []struct {
		method, path, allow string
	}{
		{http.MethodGet, "/v1/anchors", http.MethodPost},
		{http.MethodHead, "/v1/anchors", http.MethodPost},
		{http.MethodPut, "/v1/anchors", http.MethodPost},
		{http.MethodDelete, "/v1/anchors", http.MethodPost},
		{http.MethodPost, "/v1/txs/" + h, http.MethodGet},
		{http.MethodDelete, "/v1/txs/" + h, http.MethodGet},
		{http.MethodPost, "/v1/status", http.MethodGet},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := serve(t, r.h, tc.method, tc.path, nil)
			wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
			wantSecureHeaders(t, rec.Header())
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
	if n := r.f.submits.Load(); n != 0 {
		t.Errorf("Submit called %d times", n)
	}
	rec := serve(t, r.h, http.MethodGet, "/v1/anchors/"+h, nil) // public only
	wantError(t, rec, http.StatusNotFound, "not_found")
	rec = serve(t, r.h, http.MethodGet, "/v1/status", nil)
	var s Status
	decodeJSON(t, rec, &s)
	if rec.Code != http.StatusOK || s.ChainID != testChainID {
		t.Errorf("GET /v1/status = %d %+v", rec.Code, s)
	}
}

func TestTxStatus(t *testing.T) {
	r := newAgency(t, waitLimit)
	ok, bad := docHash(1), docHash(2)
	r.f.setTx(TxOutcome{Hash: ok, Height: 5, Index: 2})
	r.f.setTx(TxOutcome{Hash: bad, Height: 6, Code: uint32(tx.CodeExpired), Log: "expired at 5"})
	for _, tc := range []struct {
		name, path string
		status     int
		want       SubmitResult
		errCode    string
	}{
		{"committed", hexOf(ok), 200, SubmitResult{Status: "committed", TxHash: hexOf(ok), Height: 5, CodeName: "ok"}, ""},
		{"committed upper-case", strings.ToUpper(hexOf(ok)), 200, SubmitResult{Status: "committed", TxHash: hexOf(ok), Height: 5, CodeName: "ok"}, ""},
		{"rejected in block", hexOf(bad), 422, SubmitResult{Status: "rejected", TxHash: hexOf(bad), Height: 6, Code: 6, CodeName: "expired", Message: "expired at 5"}, ""},
		{"unknown", hexOf(docHash(3)), 404, SubmitResult{}, "unknown"},
		{"short", "abcd", 400, SubmitResult{}, "malformed_hash"},
		{"script", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, SubmitResult{}, "malformed_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, r.h, http.MethodGet, "/v1/txs/"+tc.path, nil)
			wantSecureHeaders(t, rec.Header())
			if strings.Contains(rec.Body.String(), "<script") {
				t.Errorf("body contains <script: %s", rec.Body.String())
			}
			if tc.errCode != "" {
				wantError(t, rec, tc.status, tc.errCode)
				return
			}
			var got SubmitResult
			decodeJSON(t, rec, &got)
			wantResult(t, answer{Code: rec.Code, Body: got}, tc.status, tc.want)
		})
	}
}
