package api

import (
	_ "embed" // the OpenAPI document
	"net/http"
)

// openAPIDocument is the OpenAPI 3.0.3 description of the public API (and of the agency API, tagged
// "agency"), served at GET /v1/openapi.json. The TestOpenAPI tests check it against the handlers.
//
//go:embed openapi.json
var openAPIDocument []byte

func (p *public) openAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// It changes only with the node's version.
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
