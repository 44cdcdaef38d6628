// Package tx defines Siegel's transactions: their canonical, versioned binary encoding, how they are
// signed, and how they are checked for form and signature. It knows nothing of state: whether the signer
// is a registered agency, or a nonce was used before, is for package app to decide.
//
// # Encoding, version 1
//
// All integers are big-endian; lengths are counted in bytes.
//
//	version      1   = 1
//	kind         1   1 = anchor
//	chain ID     1+L L in 1..50, printable ASCII without spaces (0x21..0x7e)
//	signer      32   ed25519 public key of the agency key that signs
//	nonce        8   any value; a (signer, nonce) pair is accepted once while unexpired
//	expiry       8   the last block height at which the transaction may be included
//	body         …   by kind, see below
//	signature   64   ed25519 over SignDomain || every byte before the signature
//
// Anchor body:
//
//	count        2   number of entries, 1..MaxEntries
//	entries      …   per entry: flags(1) | document SHA-256(32) | [metadata digest(32) if flags&1]
//
// Decoding is strict: unknown versions, kinds or flags, out-of-range lengths, repeated document hashes and
// trailing bytes are all rejected, so a transaction has exactly one encoding and Encode(Decode(b)) == b.
//
// Replay protection is a nonce with an expiry height rather than a sequence number, so that several clerks
// of one agency can sign and submit in parallel without coordinating.
package tx
