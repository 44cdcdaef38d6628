//go:build !pebbledb

package consensus

// Siegel keeps all of CometBFT's stores in Pebble, which cometbft-db compiles in only with the build tag
// "pebbledb". Without it a node would fail at start; this makes the mistake fail at build time instead:
// build with `go build -tags pebbledb` (the Makefile does).
var _ = buildTagPebbledbIsRequired
