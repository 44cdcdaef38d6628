// Package api serves Siegel's HTTP interfaces and holds a Go client for them.
//
// Two listeners, two handlers, so that an operator can expose them differently:
//   - Public (read-only, for citizens and anyone): GET /v1/status, GET /v1/anchors/{sha256-hex} (with
//     the document's metadata when it is public), receipts, checkpoints, the registry, the web page.
//     No route writes anything; every other method gets 405. Restricted metadata is never shown there.
//   - Agency (for registered agencies; keep it on an internal network): POST /v1/anchors takes a signed
//     transaction and answers once it is committed or rejected; GET /v1/txs/{hash}; POST /v1/metadata
//     takes a signed metadata message and answers once the node has checked it against the chain,
//     stored and gossiped it; GET /v1/metadata/{hash} (public or restricted); GET /v1/agencies[/{id}];
//     GET /v1/status.
//
// Answers come from committed state only. The package depends on small interfaces (Backend), not on the
// node's packages; package cmd/siegel wires them.
package api
