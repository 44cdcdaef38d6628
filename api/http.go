package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Limits and timeouts shared by both listeners.
const (
	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	idleTimeout       = 60 * time.Second
	// maxURLBytes bounds the request target (path and query) on the read-only listener: 2 KiB holds
	// every route with room to spare.
	maxURLBytes = 2 << 10
)

// NewServer returns an http.Server for h with Siegel's limits and timeouts. writeTimeout must exceed the
// longest a handler may wait (the agency listener waits for commits).
func NewServer(addr string, h http.Handler, writeTimeout time.Duration, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// secure sets the headers every response carries. API responses are JSON and never rendered as a
// page, so the policy forbids everything.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		next.ServeHTTP(w, r)
	})
}

// readOnly guards a listener that serves only GET and HEAD: a request target over 2 KiB is answered
// 414, a GET or HEAD that carries a body (Content-Length > 0 or chunked) 413, both without reading
// further. Requests of other methods go on to the routes, which answer 405 (or 404) and never read
// the body; the connection closes after any request with a body. Responses are not cached unless the
// route says otherwise.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		uri := r.RequestURI
		if uri == "" { // a request made in this process rather than read from a connection
			uri = r.URL.RequestURI()
		}
		if len(uri) > maxURLBytes {
			writeError(w, http.StatusRequestURITooLong, "uri_too_long", "a request URL is at most 2 KiB")
			return
		}
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			h.Set("Connection", "close")
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				writeError(w, http.StatusRequestEntityTooLarge, "body_not_allowed", "requests to this API carry no body")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // '<', '>' and '&' leave as \u003c etc., should anything render it
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

// methods wraps a route that allows only the given method (plus HEAD for GET).
func method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this route allows "+m+" only")
			return
		}
		h(w, r)
	}
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "not_found", "no such route")
}
