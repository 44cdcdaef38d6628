package receipt_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// A third party verifies a receipt file offline: it needs the file, the chain's genesis.json (which it
// obtained once, out of band, and trusts) and this package; no node, no network.
func ExampleVerify() {
	genesis, err := os.ReadFile("testdata/receipts/genesis-4.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	trust, err := receipt.TrustRootFromGenesis(genesis)
	if err != nil {
		fmt.Println(err)
		return
	}

	file, err := os.ReadFile("testdata/receipts/anchored-4.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := receipt.DecodeJSON(file)
	if err != nil {
		fmt.Println("not a receipt file:", err)
		return
	}
	res, err := receipt.Verify(r, trust)
	if err != nil {
		fmt.Println("receipt does not verify:", err)
		return
	}
	// Before trusting the result, compare res.DocHash with the SHA-256 of the document at hand.
	fmt.Printf("document %x…\n", res.DocHash[:8])
	fmt.Println("state:", res.State)
	rec := res.Record
	fmt.Printf("anchored by %s at height %d, %s\n", rec.Agency, rec.Height, rec.Time.Format(time.RFC3339))
	fmt.Printf("as of checkpoint %d of %s (%s), signed by %d of %d validators\n",
		res.AsOf.Height, res.AsOf.ChainID, res.AsOf.Time.Format(time.RFC3339), len(r.Signatures.Sigs), len(trust.Validators))
	fmt.Printf("log entry %d of %d; compact form %d bytes\n", r.LogIndex, res.AsOf.LogSize, len(r.EncodeCompact()))

	// A receipt whose record was altered no longer verifies.
	r.Record.Agency = "notary-elsewhere"
	_, err = receipt.Verify(r, trust)
	fmt.Println("altered record rejected:", errors.Is(err, receipt.ErrRootMismatch))

	// Output:
	// document 7e4a68c481ea249f…
	// state: anchored
	// anchored by registry-muenchen at height 5, 2025-03-03T08:00:30Z
	// as of checkpoint 10 of siegel-golden-4 (2025-03-03T08:01:01Z), signed by 3 of 4 validators
	// log entry 437 of 1000; compact form 1276 bytes
	// altered record rejected: true
}

// An absence receipt proves that, as of its checkpoint, the chain had never anchored the document.
func ExampleVerify_absent() {
	genesis, _ := os.ReadFile("testdata/receipts/genesis-16.json")
	trust, err := receipt.TrustRootFromGenesis(genesis)
	if err != nil {
		fmt.Println(err)
		return
	}
	file, _ := os.ReadFile("testdata/receipts/absent-16.json")
	r, err := receipt.DecodeJSON(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := receipt.Verify(r, trust)
	if err != nil {
		fmt.Println("receipt does not verify:", err)
		return
	}
	fmt.Printf("document %x… is %s as of checkpoint %d\n", res.DocHash[:8], res.State, res.AsOf.Height)
	// The same receipt checked against another chain's genesis fails.
	other, _ := os.ReadFile("testdata/receipts/genesis-4.json")
	trust4, _ := receipt.TrustRootFromGenesis(other)
	_, err = receipt.Verify(r, trust4)
	fmt.Println("other chain:", errors.Is(err, receipt.ErrChain))

	// Output:
	// document 7ecd02ac610cccf4… is unknown as of checkpoint 9
	// other chain: true
}
