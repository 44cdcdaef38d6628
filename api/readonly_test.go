package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingReader is a request body that counts the bytes the server read from it.
type countingReader struct {
	r    io.Reader
	read *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestPublicReadOnlyRoutes: on every public route, with valid and invalid parameters, every method but
// GET, HEAD and OPTIONS, with or without a body (sized or of unknown length), is answered 405 (never
// 2xx), the body is never read and the backend sees no write.
func TestPublicReadOnlyRoutes(t *testing.T) {
	b, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{Disabled: true}})
	tx, _ := signedTx(t, 1)
	var read atomic.Int64
	bodies := map[string]func() io.Reader{
		"no body":        func() io.Reader { return nil },
		"sized body":     func() io.Reader { return strings.NewReader(string(tx)) },
		"unsized body":   func() io.Reader { return countingReader{strings.NewReader(string(tx)), &read} },
		"form body":      func() io.Reader { return strings.NewReader("hash=00&format=json") },
		"oversized body": func() io.Reader { return countingReader{io.LimitReader(zeros{}, 8<<20), &read} },
	}
	for _, rt := range publicRoutes {
		targets := []string{sampleTarget(t, rt.Pattern)}
		if bad := strings.NewReplacer("{hash}", "not-a-hash", "{id}", strings.Repeat("x", 65)).Replace(rt.Pattern); bad != rt.Pattern {
			targets = append(targets, bad)
		}
		for _, target := range targets {
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				for name, body := range bodies {
					t.Run(m+" "+target+" "+name, func(t *testing.T) {
						rec := serve(t, h, m, target, body())
						if rec.Code/100 == 2 {
							t.Fatalf("status %d: a write method succeeded", rec.Code)
						}
						wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
						wantSecureHeaders(t, rec.Header())
						if allow := rec.Header().Get("Allow"); allow != http.MethodGet {
							t.Errorf("Allow = %q, want GET", allow)
						}
					})
				}
			}
		}
	}
	if n := b.submits.Load(); n != 0 {
		t.Errorf("Submit called %d times, want 0", n)
	}
	if n := read.Load(); n != 0 {
		t.Errorf("%d body bytes read, want none", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestPublicRequestLimits runs a real server: a GET or HEAD with a body is answered 413 (sized or
// chunked), a write method with a body 405, a request target over 2 KiB 414; a target of exactly
// 2 KiB is served.
func TestPublicRequestLimits(t *testing.T) {
	b, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{Disabled: true}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Timeout: waitLimit}
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	// A reader of a type the client cannot size: it sends the body chunked.
	chunked := func() io.Reader { return io.MultiReader(strings.NewReader("some body")) }
	pad := func(n int) string {
		base := "/v1/status?pad="
		return base + strings.Repeat("a", n-len(base))
	}
	for _, tc := range []struct {
		name, method, target string
		body                 func() io.Reader
		chunked              bool // the body has no length: it goes chunked
		want                 int
		code                 string
	}{
		{"GET", http.MethodGet, "/v1/status", nil, false, http.StatusOK, ""},
		{"GET with body", http.MethodGet, "/v1/status", func() io.Reader { return strings.NewReader("x") }, false, http.StatusRequestEntityTooLarge, "body_not_allowed"},
		{"GET chunked", http.MethodGet, "/v1/status", chunked, true, http.StatusRequestEntityTooLarge, "body_not_allowed"},
		{"HEAD with body", http.MethodHead, "/v1/status", func() io.Reader { return strings.NewReader("x") }, false, http.StatusRequestEntityTooLarge, ""},
		{"GET unknown route with body", http.MethodGet, "/nope", func() io.Reader { return strings.NewReader("x") }, false, http.StatusRequestEntityTooLarge, "body_not_allowed"},
		{"POST chunked", http.MethodPost, "/v1/status", chunked, true, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"POST to the agency route", http.MethodPost, "/v1/anchors", chunked, true, http.StatusNotFound, "not_found"},
		{"URL of 2 KiB", http.MethodGet, pad(maxURLBytes), nil, false, http.StatusOK, ""},
		{"URL over 2 KiB", http.MethodGet, pad(maxURLBytes + 1), nil, false, http.StatusRequestURITooLong, "uri_too_long"},
		{"long path", http.MethodGet, "/v1/anchors/" + strings.Repeat("a", 4096), nil, false, http.StatusRequestURITooLong, "uri_too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req, err := http.NewRequestWithContext(ctx, tc.method, srv.URL+tc.target, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.chunked && req.ContentLength != 0 {
				t.Fatalf("request has a length (%d): it will not be sent chunked", req.ContentLength)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			wantSecureHeaders(t, resp.Header)
			if tc.code != "" {
				var eb ErrorBody
				if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error.Code != tc.code {
					t.Errorf("error code %q (%v), want %q", eb.Error.Code, err, tc.code)
				}
			}
			if tc.body != nil && !resp.Close {
				t.Error("the connection stays open after a request with a body")
			}
		})
	}
	if n := b.submits.Load(); n != 0 {
		t.Errorf("Submit called %d times", n)
	}
}
