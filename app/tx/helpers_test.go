package tx_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// update rewrites the golden files in testdata instead of comparing against them:
//
//	go test -tags pebbledb ./app/tx -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// testChainID is the chain ID used by the test transactions unless a test says otherwise.
const testChainID = "siegel-test-1"

// seededKey returns a deterministic ed25519 key whose seed is every byte equal to b.
func seededKey(b byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	return ed25519.NewKeyFromSeed(seed)
}

// docHash returns a distinct, deterministic document hash for each i.
func docHash(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "document %d", i)) }

// metaDigest returns a distinct, deterministic metadata digest for each i.
func metaDigest(i int) *[32]byte {
	m := sha256.Sum256(fmt.Appendf(nil, "metadata %d", i))
	return &m
}

// entries returns n distinct entries; every entry whose index satisfies withMeta carries a metadata
// digest.
func entries(n int, withMeta func(i int) bool) []tx.Entry {
	es := make([]tx.Entry, n)
	for i := range es {
		es[i].Hash = docHash(i)
		if withMeta != nil && withMeta(i) {
			es[i].MetaDigest = metaDigest(i)
		}
	}
	return es
}

func noMeta(int) bool    { return false }
func allMeta(int) bool   { return true }
func oddMeta(i int) bool { return i%2 == 1 }

// signedAnchor returns an anchor transaction on testChainID with the given entries, signed by
// seededKey(1).
func signedAnchor(es []tx.Entry) *tx.Tx {
	t := &tx.Tx{
		ChainID: testChainID,
		Nonce:   0x0102030405060708,
		Expiry:  4242,
		Body:    &tx.Anchor{Entries: es},
	}
	t.Sign(seededKey(1))
	return t
}

// validEncoding is a named, valid, signed encoding.
type validEncoding struct {
	name string
	b    []byte
}

// validEncodings returns valid, signed encodings of various shapes, in a fixed order.
func validEncodings() []validEncoding {
	return []validEncoding{
		{"one entry", signedAnchor(entries(1, noMeta)).Encode()},
		{"one entry with meta", signedAnchor(entries(1, allMeta)).Encode()},
		{"two entries with meta", signedAnchor(entries(2, allMeta)).Encode()},
		{"three entries mixed meta", signedAnchor(entries(3, oddMeta)).Encode()},
		{"five entries without meta", signedAnchor(entries(5, noMeta)).Encode()},
		{"ten entries all meta", signedAnchor(entries(10, allMeta)).Encode()},
		{"64 entries (map path)", signedAnchor(entries(64, oddMeta)).Encode()},
		{"100 entries without meta", signedAnchor(entries(100, noMeta)).Encode()},
	}
}

// The helpers below assemble raw encodings field by field, so that tests can produce bytes that Encode
// never would.

// header returns version | kind | len(chainID) | chainID | signer | nonce | expiry.
func header(version, kind byte, chainID string) []byte {
	b := []byte{version, kind, byte(len(chainID))}
	b = append(b, chainID...)
	signer := seededKey(1).Public().(ed25519.PublicKey)
	b = append(b, signer...)
	b = binary.BigEndian.AppendUint64(b, 7)
	b = binary.BigEndian.AppendUint64(b, 100)
	return b
}

// rawEntry returns flags | hash | meta (meta only if given).
func rawEntry(flags byte, hash [32]byte, meta ...[32]byte) []byte {
	b := append([]byte{flags}, hash[:]...)
	for _, m := range meta {
		b = append(b, m[:]...)
	}
	return b
}

// body returns the announced count followed by the given raw entries.
func body(count uint16, es ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, count)
	for _, e := range es {
		b = append(b, e...)
	}
	return b
}

// plainEntries returns n raw entries without metadata, hashes docHash(0..n-1), with the hash of entry
// dupOf copied into entry dupAt if dupAt >= 0.
func plainEntries(n, dupAt, dupOf int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		h := docHash(i)
		if i == dupAt {
			h = docHash(dupOf)
		}
		out[i] = rawEntry(0, h)
	}
	return out
}

// sig is a placeholder signature: decoding does not check it.
var sig = make([]byte, 64)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// mustDecode decodes b and fails the test if that fails.
func mustDecode(t testing.TB, b []byte) *tx.Tx {
	t.Helper()
	d, err := tx.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%d bytes) = %v, want success", len(b), err)
	}
	return d
}
