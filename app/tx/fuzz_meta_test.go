package tx_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// FuzzDecodeMeta checks that DecodeMeta never panics, fails only with ErrMalformed or ErrOversized, and
// accepts only canonical, well-formed metadata: Encode gives back exactly the input, Check agrees, and
// Verify fails, if at all, with ErrBadSignature.
//
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecodeMeta -fuzztime=30s -fuzzminimizetime=2000x ./app/tx
//
// (Without the bound on minimizing, the fuzzer spends most of its time shrinking 8 KiB inputs.)
// Interesting inputs are kept in testdata/fuzz/FuzzDecodeMeta and run by plain go test.
func FuzzDecodeMeta(f *testing.F) {
	for _, m := range validMetas() {
		f.Add(m.Encode())
	}
	good := testMeta().Encode()
	for _, b := range [][]byte{
		nil,
		{1},
		{1, 1, 'c'},
		good[:len(good)-1],
		cat(good, []byte{0}),
		setByte(good, 0, 2),
		setByte(good, fieldCountOffset(), 0),
		setByte(good, fieldCountOffset(), 255),
		setByte(good, len(good)-64-1, 0x0a), // a control character in the last value
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := tx.DecodeMeta(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeMeta modified its input")
		}
		if err != nil {
			if m != nil {
				t.Fatalf("DecodeMeta returned metadata along with error %v", err)
			}
			if !errors.Is(err, tx.ErrMalformed) && !errors.Is(err, tx.ErrOversized) {
				t.Fatalf("DecodeMeta = %v, want an error wrapping ErrMalformed or ErrOversized", err)
			}
			return
		}
		enc := m.Encode()
		if !bytes.Equal(enc, b) {
			t.Fatalf("DecodeMeta accepted a non-canonical encoding:\n  in %x\n out %x", b, enc)
		}
		if len(enc) > tx.MaxMetaBytes {
			t.Fatalf("DecodeMeta accepted %d bytes", len(enc))
		}
		if err := m.Check(); err != nil {
			t.Fatalf("Check() = %v after DecodeMeta accepted", err)
		}
		m2, err := tx.DecodeMeta(enc)
		if err != nil || !tx.EqualMeta(m, m2) {
			t.Fatalf("DecodeMeta(Encode(DecodeMeta(b))) = %v, want the same metadata", err)
		}
		if err := m.Verify(); err != nil && !errors.Is(err, tx.ErrBadSignature) {
			t.Fatalf("Verify() = %v, want nil or ErrBadSignature", err)
		}
	})
}
