package tx_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// FuzzDecode checks that Decode never panics, that it fails only with ErrMalformed or ErrOversized, and
// that whatever it accepts is canonical: Encode gives back exactly the input, which decodes again.
//
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecode -fuzztime=60s ./app/tx
//
// Interesting inputs are kept in testdata/fuzz/FuzzDecode and run by plain go test.
func FuzzDecode(f *testing.F) {
	for _, v := range validEncodings() {
		f.Add(v.b)
	}
	h0, h1, m0 := docHash(0), docHash(1), *metaDigest(0)
	for _, b := range [][]byte{
		nil,
		{1},
		{1, 1},
		{1, 1, 1, '!'},
		cat(header(1, 1, testChainID), body(0), sig),
		cat(header(1, 1, testChainID), body(1, rawEntry(2, h0)), sig),
		cat(header(1, 1, testChainID), body(1, rawEntry(1, h0)), sig),
		cat(header(1, 1, testChainID), body(2, rawEntry(0, h0), rawEntry(1, h0, m0)), sig),
		cat(header(1, 1, testChainID), body(2, rawEntry(0, h0), rawEntry(0, h1)), sig, []byte{0}),
		cat(header(1, 1, testChainID), body(64, plainEntries(64, 63, 0)...), sig),
		cat(header(1, 1, testChainID), body(tx.MaxEntries+1), sig),
		cat(header(1, 1, testChainID), body(5, rawEntry(0, h0)), sig),
		cat(header(1, 2, testChainID), body(1, rawEntry(0, h0)), sig),
		cat(header(2, 1, testChainID), body(1, rawEntry(0, h0)), sig),
		cat(header(1, 1, "siegel test"), body(1, rawEntry(0, h0)), sig),
		cat(header(1, 1, ""), body(1, rawEntry(0, h0)), sig),
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		d, err := tx.Decode(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("Decode modified its input")
		}
		if err != nil {
			if d != nil {
				t.Fatalf("Decode returned a transaction along with error %v", err)
			}
			if !errors.Is(err, tx.ErrMalformed) && !errors.Is(err, tx.ErrOversized) {
				t.Fatalf("Decode = %v, want an error wrapping ErrMalformed or ErrOversized", err)
			}
			return
		}
		enc := d.Encode()
		if !bytes.Equal(enc, b) {
			t.Fatalf("Decode accepted a non-canonical encoding:\n  in %x\n out %x", b, enc)
		}
		d2, err := tx.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(b))) = %v, want success", err)
		}
		if !tx.Equal(d, d2) {
			t.Fatalf("Decode(Encode(t)) differs from t")
		}
		switch body := d.Body.(type) {
		case *tx.Anchor:
			if len(body.Entries) == 0 {
				t.Fatalf("Decode accepted a transaction without anchor entries")
			}
		case *tx.Revoke:
			if !body.Reason.Valid() || body.Successor != nil && *body.Successor == body.Hash {
				t.Fatalf("Decode accepted an invalid revocation: %+v", body)
			}
		}
		if err := d.Verify(); err != nil && !errors.Is(err, tx.ErrBadSignature) {
			t.Fatalf("Verify() = %v, want nil or ErrBadSignature", err)
		}
	})
}
