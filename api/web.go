package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// The public web page: index.html, its script and style, and the receipt verifier (the receipt
// package compiled to WebAssembly, with the wasm_exec.js of the same Go release). `make web` builds
// the last two into api/web before the binary; a binary built without them serves the page, which then
// says that the in-browser check is unavailable.
//
//go:embed web
var webFiles embed.FS

// pageCSP is the page's policy: its own script, style and WebAssembly only (no inline script, no eval),
// requests to this origin only, and Trusted Types required, so that no string can become markup or
// script through a DOM sink. The API keeps the stricter policy of secure.
const pageCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

var webTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
}

// asset is an embedded file with what serving it needs. Its gzip form is made on the first request
// that accepts it (the verifier is 4 MB: compressing it at every start would cost each node a second of
// CPU for a page it may never serve); gz stays nil when compression does not pay.
type asset struct {
	body        []byte
	ctype, etag string
	gzOnce      sync.Once
	gz          []byte
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(a.body); err == nil && zw.Close() == nil && buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset
)

func loadAssets() map[string]*asset {
	assetsOnce.Do(func() {
		assets = map[string]*asset{}
		_ = fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			ctype, ok := webTypes[path.Ext(p)]
			if !ok {
				return nil
			}
			b, err := webFiles.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			a := &asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
			assets[strings.TrimPrefix(p, "web/")] = a
			return nil
		})
	})
	return assets
}

// WebAssetsComplete reports whether the binary carries the in-browser receipt verifier.
func WebAssetsComplete() bool {
	a := loadAssets()
	return a["verify.wasm"] != nil && a["wasm_exec.js"] != nil
}

// page serves index.html at "/" (whatever the query: the page reads ?h= itself, the server never puts
// it into the response).
func page(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/index.html" {
		notFound(w, r)
		return
	}
	method(http.MethodGet, func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, "index.html", pageCSP) })(w, r)
}

// static serves the page's files under /static/.
func static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "index.html" || loadAssets()[name] == nil {
		notFound(w, r)
		return
	}
	method(http.MethodGet, func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, name, "") })(w, r)
}

func serveAsset(w http.ResponseWriter, r *http.Request, name, csp string) {
	a := loadAssets()[name]
	if a == nil {
		notFound(w, r)
		return
	}
	h := w.Header()
	if csp != "" {
		h.Set("Content-Security-Policy", csp)
	}
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	// Revalidate every time (an ETag match costs a 304 and no body): the page and its script must
	// change together when a node is upgraded.
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r) {
		if gz := a.gzipped(); gz != nil {
			h.Set("Content-Encoding", "gzip")
			body = gz
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// genesis serves the chain's genesis document: the trust root that receipts are checked against
// (`siegel receipt verify --genesis`, and the page's in-browser check).
func (p *public) genesis(w http.ResponseWriter, r *http.Request) {
	g, err := p.b.Genesis()
	if p.failed(w, err, "genesis") {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(g)
	}
}
