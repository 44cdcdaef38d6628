package api

import (
	"errors"
	"log/slog"
	"net/http"
)

// PublicHandler serves the read-only public API.
func PublicHandler(b Backend, logger *slog.Logger) http.Handler {
	p := &public{b: b, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/status", method(http.MethodGet, p.status))
	mux.HandleFunc("/v1/anchors/{hash}", method(http.MethodGet, p.anchor))
	mux.HandleFunc("/", notFound)
	return secure(mux)
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
	rec, err := p.b.Anchor(h)
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
	// A record can still change (revocation), so caches must revalidate.
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, viewOf(rec, name))
}
