// Package receipt defines what a verifier outside the network needs to know about a notarised document:
// the anchor record and its canonical encoding. It imports nothing else of Siegel and none of the node's
// heavy dependencies (CometBFT, Pebble, libp2p, net/http), so that third parties can embed it.
//
// It leaves storing records to package store and serving them to package api.
package receipt
