// Package tree computes Siegel's authenticated map of document states: a compressed sparse Merkle tree
// over 256-bit keys (document SHA-256s) whose values are 32-byte value hashes. The hashing and shape rules,
// and the verification of proofs, live in package receipt (see receipt.VerifyMapInclusion), so that an
// offline verifier needs nothing from here.
//
// The tree is stored as one Node per position (Path: a depth and the key bits above it). A leaf node
// holds its key and value; an internal node holds the hashes of its two children, so that walking from
// the root to a key reads one node per level. Update applies a batch of insertions and updates (there are
// no deletions) and returns the new root and the nodes to write; Prove walks from the root to a key and
// returns a receipt.MapProof; Root returns the current root hash. All three read nodes through a Read
// function and touch only the positions on the paths of the keys involved: O(keys × depth).
//
// Update overwrites positions in place and never leaves a node that the new tree does not use, so the
// stored nodes are always exactly the current tree. The package is pure: it leaves storing the nodes
// (and keeping older versions of the tree, if wanted) to package store, and what a value hash commits to
// (a document's record and status) to its callers.
//
// The package also holds the maths of the append-only log of anchor events (log.go: AppendLog,
// LogInclusion, LogConsistency), under the same split: nodes in and out as values, storage elsewhere.
package tree
