package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts its requests.
type countingServer struct {
	*httptest.Server
	calls atomic.Int32
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// failing answers every request with status and a JSON error body.
func failing(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, status, "failing", http.StatusText(status))
	}
}

// statusOK answers every request with a status body for chain chainID.
func statusOK(chainID string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Status{ChainID: chainID, Height: 7})
	}
}

// closedURL returns the URL of a loopback address nobody listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func testClient(urls ...string) *Client {
	c := NewClient(urls...)
	c.HTTP.Timeout = waitLimit
	c.Retry = 500 * time.Millisecond
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func TestClientFailover(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(t *testing.T) (url string, calls func() int32)
	}{
		{"503", serverURL(failing(http.StatusServiceUnavailable))},
		{"429", serverURL(failing(http.StatusTooManyRequests))},
		{"502 without JSON", serverURL(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "bad gateway", http.StatusBadGateway)
		})},
		{"504", serverURL(failing(http.StatusGatewayTimeout))},
		{"bad JSON", serverURL(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{not json")
		})},
		{"connection refused", func(t *testing.T) (string, func() int32) {
			return closedURL(t), func() int32 { return 1 }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			firstURL, firstCalls := tc.first(t)
			good := newCountingServer(t, statusOK("good"))
			c := testClient(firstURL, good.URL+"/") // a trailing slash is trimmed
			s, err := c.Status(testContext(t))
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if s.ChainID != "good" || s.Height != 7 {
				t.Errorf("status = %+v", s)
			}
			if firstCalls() != 1 || good.calls.Load() != 1 {
				t.Errorf("calls: first %d, second %d; want 1 and 1", firstCalls(), good.calls.Load())
			}
		})
	}
}

// serverURL starts a counting server for h when the test runs.
func serverURL(h http.HandlerFunc) func(t *testing.T) (string, func() int32) {
	return func(t *testing.T) (string, func() int32) {
		s := newCountingServer(t, h)
		return s.URL, s.calls.Load
	}
}

func TestClientAllFailing(t *testing.T) {
	down := newCountingServer(t, failing(http.StatusServiceUnavailable))
	refused := closedURL(t)
	for _, tc := range []struct {
		name    string
		urls    []string
		mention []string
	}{
		{"503 last", []string{refused, down.URL}, []string{down.URL, "503"}},
		{"refused last", []string{down.URL, refused}, []string{refused, "refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient(tc.urls...)
			start := time.Now()
			_, err := c.Status(testContext(t))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Status succeeded with every node failing")
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if elapsed > c.Retry+waitLimit/2 {
				t.Errorf("gave up after %v, Retry is %v", elapsed, c.Retry)
			}
		})
	}
	if n := down.calls.Load(); n < 4 {
		t.Errorf("the unavailable node was asked %d times, want a retry per call", n)
	}
}

func TestClientNoRetryOnClientErrors(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			first := newCountingServer(t, failing(status))
			second := newCountingServer(t, statusOK("second"))
			_, err := testClient(first.URL, second.URL).Status(testContext(t))
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != status || ae.Code != "failing" {
				t.Fatalf("err = %v, want an APIError with status %d", err, status)
			}
			if first.calls.Load() != 1 || second.calls.Load() != 0 {
				t.Errorf("calls: first %d, second %d; want 1 and 0", first.calls.Load(), second.calls.Load())
			}
		})
	}
}

// TestClientLiteral checks that a Client built without NewClient (no HTTP client, no Retry) works.
func TestClientLiteral(t *testing.T) {
	good := newCountingServer(t, statusOK("literal"))
	s, err := (&Client{URLs: []string{good.URL}}).Status(testContext(t))
	if err != nil || s.ChainID != "literal" {
		t.Errorf("Status = %+v, %v", s, err)
	}
}

func TestClientContextCancelled(t *testing.T) {
	c := testClient(closedURL(t))
	c.Retry = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Status(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
	if d := time.Since(start); d > waitLimit {
		t.Errorf("returned after %v", d)
	}
	if _, err := (&Client{}).Status(ctx); err == nil {
		t.Error("a client without URLs succeeded")
	}
}

func TestClientAnchor(t *testing.T) {
	f, h := newPublic(t)
	f.anchors[docHash(1)] = testRecord(1, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := testClient(srv.URL)
	ctx := testContext(t)

	v, found, err := c.Anchor(ctx, docHash(1))
	if err != nil || !found {
		t.Fatalf("Anchor: found %v, err %v", found, err)
	}
	if v.Hash != hexOf(docHash(1)) || v.Agency.Name != "Land Registry <North>" || v.Height != 17 {
		t.Errorf("view = %+v", v)
	}

	v, found, err = c.Anchor(ctx, docHash(2))
	if err != nil || found {
		t.Errorf("unknown hash: found %v, err %v; want false, nil", found, err)
	}
	if v != (AnchorView{}) {
		t.Errorf("unknown hash gave view %+v", v)
	}

	f.anchorErr = errors.New("disk on fire")
	if _, found, err = c.Anchor(ctx, docHash(1)); err == nil || found {
		t.Errorf("failing backend: found %v, err %v", found, err)
	}
}

// TestClientSubmitPolls checks that a pending submission is followed by polling GET /v1/txs.
func TestClientSubmitPolls(t *testing.T) {
	body, h := signedTx(t, 1)
	var posts, polls atomic.Int32
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/anchors":
			got, _ := io.ReadAll(r.Body)
			if sha256.Sum256(got) != h || r.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("submitted %d bytes as %q", len(got), r.Header.Get("Content-Type"))
			}
			posts.Add(1)
			writeJSON(w, http.StatusAccepted, SubmitResult{Status: SubmitPending, TxHash: hexOf(h)})
		case r.Method == http.MethodGet && r.URL.Path == "/v1/txs/"+hexOf(h):
			polls.Add(1)
			writeJSON(w, http.StatusOK, SubmitResult{Status: SubmitCommitted, TxHash: hexOf(h), Height: 12, CodeName: "ok"})
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			writeError(w, http.StatusNotFound, "not_found", "")
		}
	})
	start := time.Now()
	res, err := testClient(srv.URL).Submit(testContext(t), body)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if res.Status != SubmitCommitted || res.Height != 12 || res.TxHash != hexOf(h) {
		t.Errorf("result = %+v", res)
	}
	if posts.Load() != 1 || polls.Load() != 1 {
		t.Errorf("posts %d, polls %d; want 1 and 1", posts.Load(), polls.Load())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Submit took %v", d)
	}
}

// TestClientSubmitAgency runs the client against the agency handler: a rejection is a result, not an
// error; an unavailable node is skipped; a pending submission is found committed by polling.
func TestClientSubmitAgency(t *testing.T) {
	r := newAgency(t, 100*time.Millisecond)
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	ctx := testContext(t)
	down := newCountingServer(t, failing(http.StatusServiceUnavailable))
	c := testClient(down.URL, srv.URL)

	body, h := signedTx(t, 1)
	r.f.submitCode, r.f.submitLog = 5, "nonce used"
	res, err := c.Submit(ctx, body)
	if err != nil || res.Status != SubmitRejected || res.CodeName != "replayed" || res.Message != "nonce used" {
		t.Errorf("rejected submission: %+v, %v", res, err)
	}
	r.f.awaitSubmit(t)

	r.f.submitCode, r.f.submitLog = 0, ""
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		if r.f.awaitSubmit(t) != nil {
			r.f.setTx(TxOutcome{Hash: h, Height: 30}) // committed, but nobody told the tracker
		}
	}()
	defer func() { <-committed }()
	res, err = c.Submit(ctx, body)
	if err != nil || res.Status != SubmitCommitted || res.Height != 30 || res.TxHash != hexOf(h) {
		t.Errorf("pending submission: %+v, %v", res, err)
	}
	if down.calls.Load() < 2 {
		t.Errorf("the unavailable node was asked %d times", down.calls.Load())
	}
	if _, err := c.Submit(ctx, []byte("junk")); err != nil {
		t.Errorf("malformed submission: err %v, want a rejected result", err)
	}
}

// TestClientSubmitSkipsNonAgencyURLs: a URL that has no submission route (a public or metrics listener
// given among the nodes) answers 404 or 405; the client goes on to the next node and skips that URL from
// then on. A 404 to a GET stays an answer.
func TestClientSubmitSkipsNonAgencyURLs(t *testing.T) {
	r := newAgency(t, 100*time.Millisecond)
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	public := newCountingServer(t, failing(http.StatusNotFound))
	metrics := newCountingServer(t, failing(http.StatusMethodNotAllowed))
	c := testClient(public.URL, metrics.URL, srv.URL)
	ctx := testContext(t)
	for i := range 3 {
		body, _ := signedTx(t, i+1)
		r.f.submitCode, r.f.submitLog = 5, "nonce used" // an answer at once, without waiting for a commit
		if res, err := c.Submit(ctx, body); err != nil || res.Status != SubmitRejected {
			t.Fatalf("submission %d: %+v, %v", i, res, err)
		}
		r.f.awaitSubmit(t)
	}
	if public.calls.Load() != 1 || metrics.calls.Load() != 1 {
		t.Errorf("the URLs without the route were asked %d and %d times, want once each", public.calls.Load(), metrics.calls.Load())
	}
	// A pending submission is polled on the agency API, not on the URLs found to be something else.
	body, h := signedTx(t, 9)
	r.f.submitCode, r.f.submitLog = 0, ""
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		if r.f.awaitSubmit(t) != nil {
			r.f.setTx(TxOutcome{Hash: h, Height: 31}) // committed, but nobody told the tracker: found by polling
		}
	}()
	if res, err := c.Submit(ctx, body); err != nil || res.Status != SubmitCommitted || res.Height != 31 {
		t.Errorf("pending submission: %+v, %v", res, err)
	}
	<-committed
	if public.calls.Load() != 1 || metrics.calls.Load() != 1 {
		t.Errorf("polling asked the URLs without the agency routes: %d and %d calls", public.calls.Load(), metrics.calls.Load())
	}
	var ae *APIError
	if _, err := testClient(public.URL).Receipt(ctx, [32]byte{1}); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("GET answered 404: %v, want the APIError", err)
	}
	// A client given only URLs without the route says so, on every call, not with an empty error.
	only := testClient(public.URL)
	for i := range 2 {
		body, _ := signedTx(t, 20+i)
		if _, err := only.Submit(ctx, body); err == nil || !strings.Contains(err.Error(), "not an agency API") {
			t.Errorf("submission %d to a public URL only: %v", i, err)
		}
	}
}

// The stored metadata of a document is an agency route: a public URL listed first answers "no such
// route" (404 not_found), and the client asks the agency API; its "unknown" is the answer.
func TestClientMetadataSkipsPublicURL(t *testing.T) {
	r := newAgency(t, 100*time.Millisecond)
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	public := newCountingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	})
	c := testClient(public.URL, srv.URL)
	if _, err := c.Metadata(testContext(t), [32]byte{7}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("metadata of an unknown document through a public and an agency URL: %v, want ErrNotFound", err)
	}
	if public.calls.Load() != 1 {
		t.Errorf("the public URL was asked %d times, want once", public.calls.Load())
	}
}

// TestAgencyRoute: a client sends to agency APIs only the requests that the public listener does not
// serve, derived from the two route tables, so that a route added to either is routed right.
func TestAgencyRoute(t *testing.T) {
	concrete := func(pattern string) string {
		return strings.NewReplacer("{hash}", strings.Repeat("ab", 32), "{id}", "school-1").Replace(pattern)
	}
	public := map[string]bool{}
	for _, rt := range publicRoutes {
		public[rt.Method+" "+rt.Pattern] = true
		if agencyRoute(rt.Method, concrete(rt.Pattern)) {
			t.Errorf("%s %s is on the public listener, yet routed to agency APIs only", rt.Method, rt.Pattern)
		}
	}
	only := 0
	for _, rt := range agencyRoutes {
		want := !public[rt.Method+" "+rt.Pattern]
		if want {
			only++
		}
		if got := agencyRoute(rt.Method, concrete(rt.Pattern)); got != want {
			t.Errorf("agencyRoute(%s %s) = %v, want %v", rt.Method, rt.Pattern, got, want)
		}
	}
	if only != 4 {
		t.Errorf("%d agency-only routes, want 4 (submissions, their status, metadata in and out)", only)
	}
	for _, rt := range []string{"POST /v1/anchors", "GET /v1/txs/{hash}", "POST /v1/metadata", "GET /v1/metadata/{hash}"} {
		m, p, _ := strings.Cut(rt, " ")
		if !agencyRoute(m, concrete(p)) {
			t.Errorf("%s is not routed to agency APIs only", rt)
		}
	}
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{http.MethodGet, "/v1/txs/" + strings.Repeat("ab", 32) + "?wait=1", true},
		{http.MethodHead, "/v1/metadata/" + strings.Repeat("ab", 32), true},
		{http.MethodGet, "/v1/anchors/" + strings.Repeat("ab", 32) + "/receipt?height=3", false},
		{http.MethodGet, "/v1/anchors", false}, // no such GET route anywhere
		{http.MethodPost, "/v1/status", false},
		{http.MethodGet, "%zz", false},
	} {
		if got := agencyRoute(c.method, c.path); got != c.want {
			t.Errorf("agencyRoute(%s %s) = %v, want %v", c.method, c.path, got, c.want)
		}
	}
}
