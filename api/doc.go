// Package api serves Siegel's HTTP interfaces and holds a Go client for them.
//
// Two listeners, two handlers, so that an operator can expose them differently:
//   - Public (read-only, for citizens and anyone): GET /v1/status, GET /v1/anchors/{sha256-hex}.
//     No route writes anything; every other method gets 405.
//   - Agency (for registered agencies; keep it on an internal network): POST /v1/anchors takes a signed
//     transaction and answers once it is committed or rejected; GET /v1/txs/{hash}; GET /v1/status.
//
// Answers come from committed state only. The package depends on small interfaces (Backend), not on the
// node's packages; package cmd/siegel wires them.
package api
