// Package store keeps Siegel's application state in Pebble: agencies, anchors, used nonces, transaction
// results and the last commit (height and app hash).
//
// Writes happen only through Save, which applies one block's changes, the new height and the new app hash
// in a single synced Pebble batch: after a crash the store holds either the whole block or none of it,
// and CometBFT's handshake replays what is missing. Reads see committed state only.
//
// The authenticated map is split at depth 22 (top.go): the nodes above live in memory (every block
// rewrites much of them), per commit for the last few, and are rebuilt at Open from the nodes at depth
// 22, which Pebble holds with those below, and from the anchors, whose values carry their map values
// (layout.go); Open checks the rebuilt root against the last checkpoint. The log is stored in tiles
// (logtiles.go). The storage layout is recorded in the store; Open migrates older ones.
//
// An anchor is stored in two parts (anchorvalue.go): its own fields under its document hash, and what
// all the anchors of one transaction share once per transaction.
//
// It leaves deciding what to write (validation, execution, app hash) to package app.
package store
