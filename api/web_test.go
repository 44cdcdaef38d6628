package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWebPage: the page and its files are served with the page's policy (own script and style, no
// inline script, Trusted Types), revalidated by ETag, compressed when asked; the query never reaches
// the response; unknown files and other methods are refused.
func TestWebPage(t *testing.T) {
	_, h := newPublic(t)
	rec := serve(t, h, http.MethodGet, "/?h=%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	if strings.Contains(body, "alert(1)") || strings.Contains(body, "%3Cscript") {
		t.Error("the page reflects its query")
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "require-trusted-types-for 'script'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("page CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("page CSP allows inline script or eval: %q", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " on") && strings.Contains(body, "onclick") {
		t.Error("the page carries inline script")
	}
	for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if rec.Header().Get(h) == "" {
			t.Errorf("page without %s", h)
		}
	}
	etag := rec.Header().Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("If-None-Match", etag)
	if rec := serveReq(h, req); rec.Code != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d, want 304", rec.Code)
	}

	for name, ctype := range map[string]string{"app.js": "text/javascript", "style.css": "text/css"} {
		req, _ := http.NewRequest(http.MethodGet, "/static/"+name, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := serveReq(h, req)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: %d %q %q", name, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || len(plain) == 0 {
			t.Fatalf("%s: gunzip: %v", name, err)
		}
		if name == "app.js" && strings.Contains(string(plain), "innerHTML") {
			t.Error("app.js writes markup through innerHTML")
		}
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/static/index.html", http.StatusNotFound},
		{http.MethodGet, "/static/%2e%2e%2fpublic.go", http.StatusNotFound},
		{http.MethodGet, "/static/nope.js", http.StatusNotFound},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/static/app.js", http.StatusMethodNotAllowed},
		{http.MethodHead, "/", http.StatusOK},
	} {
		if rec := serve(t, h, c.method, c.path, nil); rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.want)
		}
	}
}

func serveReq(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req.RemoteAddr = "192.0.2.1:1234"
	h.ServeHTTP(rec, req)
	return rec
}
