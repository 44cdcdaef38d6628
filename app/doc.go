// Package app is Siegel's deterministic state machine: the ABCI 2.0 application that CometBFT drives.
//
// It decodes and checks transactions (CheckTx, PrepareProposal, ProcessProposal, FinalizeBlock all run
// the same checks against the same committed state), stages a block's effects in memory in
// FinalizeBlock, and hands them to package store in Commit as one synced batch. Its only inputs are the
// requests CometBFT sends: block height and block time, never a wall clock, randomness, goroutines or map
// iteration order. Network, files, metrics and logging of requests are left to the caller, which
// observes the application through Hooks and by wrapping it.
package app
