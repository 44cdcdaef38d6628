package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// PublicOptions tune the public listener.
type PublicOptions struct {
	// RateLimit limits each client's request rate; the zero value limits with the defaults.
	RateLimit RateLimit
}

// route is one route of a listener: the method it allows (GET also answers HEAD) and its ServeMux
// pattern, whose wildcards are the path parameters of the OpenAPI document.
type route struct {
	Method  string
	Pattern string
	handle  func(*public, http.ResponseWriter, *http.Request)
}

// publicRoutes are the routes of the public listener. PublicHandler registers exactly these, and
// TestOpenAPIRoutes checks that openapi.json documents exactly these.
var publicRoutes = []route{
	{http.MethodGet, "/v1/status", (*public).status},
	{http.MethodGet, "/v1/anchors/{hash}", (*public).anchor},
	{http.MethodGet, "/v1/anchors/{hash}/receipt", (*public).receipt},
	{http.MethodGet, "/v1/checkpoints/latest", (*public).latestCheckpoint},
	{http.MethodGet, "/v1/agencies", (*public).agencies},
	{http.MethodGet, "/v1/agencies/{id}", (*public).agency},
	{http.MethodGet, "/v1/governance/proposals", (*public).proposals},
	{http.MethodGet, "/v1/checkpoints/consistency", (*public).consistency},
	{http.MethodGet, "/v1/genesis", (*public).genesis},
	{http.MethodGet, "/v1/openapi.json", (*public).openAPI},
}

// PublicHandler serves the read-only public API. Every request passes, in order: the security
// headers, the per-client rate limit (o.RateLimit), the read-only limits (no body, a URL of at most
// 2 KiB), then the routes.
func PublicHandler(b Backend, o PublicOptions, logger *slog.Logger) http.Handler {
	p := &public{b: b, log: logger}
	mux := http.NewServeMux()
	for _, rt := range publicRoutes {
		mux.HandleFunc(rt.Pattern, method(rt.Method, func(w http.ResponseWriter, r *http.Request) { rt.handle(p, w, r) }))
	}
	// The web page (web.go): not API routes, so not in publicRoutes or the OpenAPI document.
	mux.HandleFunc("/static/{name}", static)
	mux.HandleFunc("/", page)
	return secure(newLimiter(o.RateLimit).wrap(readOnly(mux)))
}

type public struct {
	b   Backend
	log *slog.Logger
}

func (p *public) status(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p.b.Status())
}

func (p *public) anchor(w http.ResponseWriter, r *http.Request) {
	h, err := ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_hash", err.Error())
		return
	}
	rec, rv, err := p.b.Anchor(h)
	if errors.Is(err, ErrNotFound) {
		w.Header().Set("Cache-Control", "no-cache")
		writeError(w, http.StatusNotFound, "unknown", "no document with this hash is anchored")
		return
	}
	if err != nil {
		p.log.Error("anchor lookup failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
		return
	}
	name, err := p.b.AgencyName(rec.Agency)
	if err != nil && !errors.Is(err, ErrNotFound) {
		p.log.Error("agency lookup failed", "agency", rec.Agency, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
		return
	}
	v := viewOf(rec, name)
	if rec.MetaDigest != nil {
		if v.Metadata, err = p.publicMetadata(h, *rec.MetaDigest); err != nil {
			p.log.Error("metadata lookup failed", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
			return
		}
	}
	if rv != nil {
		v.Status, v.Revocation = StatusRevoked, revocationView(rv)
	}
	// A record can still change (revocation), so caches must revalidate.
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, v)
}

func (p *public) agencies(w http.ResponseWriter, _ *http.Request) {
	as, err := p.b.Agencies()
	if p.failed(w, err, "agencies") {
		return
	}
	if as == nil {
		as = []AgencyView{}
	}
	for i := range as {
		as[i] = withKeys(as[i])
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"agencies": as})
}

func (p *public) agency(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > 64 {
		writeError(w, http.StatusBadRequest, "malformed_id", "an agency ID is 1 to 64 characters")
		return
	}
	a, err := p.b.Agency(id)
	if p.failed(w, err, "agency") {
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, withKeys(a))
}

// withKeys returns a with an empty list of keys rather than none, which JSON would write as null.
func withKeys(a AgencyView) AgencyView {
	if a.Keys == nil {
		a.Keys = []string{}
	}
	return a
}

// receipt serves the receipt of a document hash, also for an unknown hash (an absence proof). With
// ?format=compact it is the binary compact form, otherwise the JSON receipt file.
func (p *public) receipt(w http.ResponseWriter, r *http.Request) {
	h, err := ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_hash", err.Error())
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "compact" {
		writeError(w, http.StatusBadRequest, "bad_format", "format is json (the default) or compact")
		return
	}
	rc, err := p.b.Receipt(h)
	if p.failed(w, err, "receipt") {
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if format == "compact" {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="siegel-receipt.bin"`)
		_, _ = w.Write(rc.EncodeCompact())
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

func (p *public) latestCheckpoint(w http.ResponseWriter, _ *http.Request) {
	v, err := p.b.LatestCheckpoint()
	if p.failed(w, err, "checkpoint") {
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, v)
}

func (p *public) consistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil || from == 0 || from > to {
		writeError(w, http.StatusBadRequest, "bad_range", "give heights from=N&to=M with 1 <= N <= M")
		return
	}
	v, err := p.b.Consistency(from, to)
	if p.failed(w, err, "consistency") {
		return
	}
	if v.Proof == nil {
		v.Proof = []HexBytes{} // from == to, or equal logs: an empty proof, not null
	}
	// Both checkpoints are signed history: the answer never changes.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	writeJSON(w, http.StatusOK, v)
}

// failed writes the error response for err, if any, and reports whether it did.
func (p *public) failed(w http.ResponseWriter, err error, what string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", what+" not found")
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no signed checkpoint yet; try again shortly")
	default:
		p.log.Error(what+" failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", what+" failed")
	}
	return true
}

func (p *public) proposals(w http.ResponseWriter, _ *http.Request) {
	ps, err := p.b.Proposals()
	if p.failed(w, err, "proposals") {
		return
	}
	if ps == nil {
		ps = []ProposalView{}
	}
	for i := range ps {
		if ps[i].Approvals == nil {
			ps[i].Approvals = []string{}
		}
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"proposals": ps})
}
