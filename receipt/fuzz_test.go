package receipt_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
)

// FuzzDecodeRecord checks that DecodeRecord never panics, fails only with ErrMalformedRecord, and accepts
// only canonical encodings: Encode gives back exactly the input.
//
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecodeRecord -fuzztime=60s ./receipt
//
// Interesting inputs are kept in testdata/fuzz/FuzzDecodeRecord and run by plain go test.
func FuzzDecodeRecord(f *testing.F) {
	long := record(false)
	long.Agency = strings.Repeat("a", receipt.MaxAgencyIDLen)
	meta := digest("metadata")
	withMeta, withoutMeta := record(true), record(false)
	for _, b := range [][]byte{
		withMeta.Encode(),
		withoutMeta.Encode(),
		long.Encode(),
		nil,
		{1},
		rawRecord(2, 3, "abc", 0, nil),
		rawRecord(1, 0, "", 0, nil),
		rawRecord(1, 65, strings.Repeat("a", 65), 0, nil),
		rawRecord(1, 3, "abc", 2, nil),
		rawRecord(1, 3, "abc", 1, meta[:16]),
		rawRecord(1, 3, "abc", 0, []byte{0}),
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, err := receipt.DecodeRecord(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeRecord modified its input")
		}
		if err != nil {
			if !errors.Is(err, receipt.ErrMalformedRecord) {
				t.Fatalf("DecodeRecord = %v, want an error wrapping ErrMalformedRecord", err)
			}
			return
		}
		enc := r.Encode()
		if !bytes.Equal(enc, b) {
			t.Fatalf("DecodeRecord accepted a non-canonical encoding:\n  in %x\n out %x", b, enc)
		}
		r2, err := receipt.DecodeRecord(enc)
		if err != nil {
			t.Fatalf("DecodeRecord(Encode(DecodeRecord(b))) = %v, want success", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("DecodeRecord(Encode(r)) = %+v, want %+v", r2, r)
		}
		if n := len(r.Agency); n == 0 || n > receipt.MaxAgencyIDLen {
			t.Fatalf("DecodeRecord accepted an agency ID of %d bytes", n)
		}
	})
}
