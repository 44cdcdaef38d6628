// Package consensus wires CometBFT v0.40 into Siegel: it writes a node home (config.toml, keys,
// genesis), loads it with Siegel's defaults enforced, and runs the CometBFT node in-process around any
// ABCI application. While the node runs, Backup copies its databases at the end of a Commit, where they
// fit one another (backup.go); ReadHeights reads those of a stopped home.
//
// It knows nothing of Siegel's state machine: it takes an abci.Application. Siegel's own settings (API
// listeners and so on) are left to package cmd/siegel.
package consensus
