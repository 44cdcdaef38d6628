package p2p_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/p2p"
)

// chain is the smallest Chain: one anchor. A node implements it over its committed state.
type chain struct {
	doc    [32]byte
	anchor p2p.Anchor
}

func (c chain) Anchor(doc [32]byte) (p2p.Anchor, bool, error)     { return c.anchor, doc == c.doc, nil }
func (c chain) KeyStatus(string, [32]byte) (p2p.KeyStatus, error) { return p2p.KeyUnknown, nil }
func (c chain) DocTypeAllowed(string, string) (bool, error)       { return true, nil }
func (c chain) CaughtUp() bool                                    { return true }
func (c chain) MetaAnchors(from uint64, limit int) ([][32]byte, uint64, error) {
	if from > 0 {
		return nil, 1, nil
	}
	return [][32]byte{c.doc}, 1, nil
}

// An agency's metadata is published at one node; a second node, started later with the first as its
// bootstrap peer, fetches it when it connects.
func Example() {
	agency := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	m := &tx.Metadata{
		ChainID: "siegel-1", DocHash: sha256.Sum256([]byte("deed-2024-0117.pdf")), AgencyID: "land-registry",
		Visibility: tx.Public, Fields: []tx.Field{{Key: tx.FieldDocType, Value: "deed"}},
	}
	m.Sign(agency)
	digest := m.Digest()
	c := chain{doc: m.DocHash, anchor: p2p.Anchor{
		Agency: "land-registry", Signer: m.Signer, MetaDigest: &digest, // as committed by the anchor
	}}

	ctx := context.Background()

	storeA := p2p.NewMemStore()
	a, err := p2p.New(ctx, nodeConfig(1, nil), c, storeA, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	if err := a.Publish(ctx, m.Encode()); err != nil {
		fmt.Println(err)
		return
	}

	storeB := p2p.NewMemStore()
	b, err := p2p.New(ctx, nodeConfig(2, a.Addrs()), c, storeB, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	for deadline := time.Now().Add(10 * time.Second); storeB.Len() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	raw, found, _ := storeB.Get(m.DocHash)
	fmt.Println("second node has it:", found)
	got, _ := tx.DecodeMeta(raw)
	fmt.Println(got.Field(tx.FieldDocType))
	// Output:
	// second node has it: true
	// deed true
}

// nodeConfig returns the configuration of a node on loopback with a key from seed.
func nodeConfig(seed byte, bootstrap []string) p2p.Config {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return p2p.Config{
		ChainID:     "siegel-1",
		Key:         ed25519.NewKeyFromSeed(s),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap:   bootstrap,
	}
}
