package tx_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/siegel-notary/siegel/app/tx"
)

// An agency anchors a batch of documents: it hashes each document (and, optionally, a description of
// it), builds an anchor transaction for the chain it submits to, signs it with its registered key and
// sends the encoding to a node. The node decodes and verifies it the same way.
func Example() {
	// In practice the key is the agency's registered signing key; a fixed seed keeps the example
	// deterministic.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

	deed := sha256.Sum256([]byte("contents of deed-2024-0117.pdf"))
	will := sha256.Sum256([]byte("contents of will-2024-0042.pdf"))
	willMeta := sha256.Sum256([]byte(`{"kind":"will","pages":4}`))

	t := &tx.Tx{
		ChainID: "siegel-1",
		Nonce:   42,   // any value this key has not used before
		Expiry:  1000, // the last block height at which the transaction may be included
		Body: &tx.Anchor{Entries: []tx.Entry{
			{Hash: deed},
			{Hash: will, MetaDigest: &willMeta},
		}},
	}
	t.Sign(key)
	raw := t.Encode() // what goes to the node's broadcast_tx endpoint

	fmt.Println("encoded bytes:", len(raw))

	// What a node does with it:
	got, err := tx.Decode(raw)
	if err != nil {
		fmt.Println("decode:", err)
		return
	}
	fmt.Println("kind:", got.Body.Kind())
	fmt.Println("entries:", len(got.Body.(*tx.Anchor).Entries))
	fmt.Println("verify error:", got.Verify())
	// Output:
	// encoded bytes: 223
	// kind: anchor
	// entries: 2
	// verify error: <nil>
}
