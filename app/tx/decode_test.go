package tx_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

func TestDecodeRejects(t *testing.T) {
	valid := cat(header(1, 1, testChainID), body(1, rawEntry(0, docHash(0))), sig)
	h0, h1 := docHash(0), docHash(1)
	m0, m1 := *metaDigest(0), *metaDigest(1)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil input", nil, tx.ErrMalformed},
		{"empty input", []byte{}, tx.ErrMalformed},
		{"version only", []byte{1}, tx.ErrMalformed},

		{"version 0", cat(header(0, 1, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"version 2", cat(header(2, 1, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"version 255", cat(header(255, 1, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"lone unknown version byte", []byte{2}, tx.ErrMalformed},

		{"kind 0", cat(header(1, 0, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"kind 2", cat(header(1, 2, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"kind 255", cat(header(1, 255, testChainID), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},

		{"chain ID length 0", cat(header(1, 1, ""), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID length 51", cat(header(1, 1, strings.Repeat("c", 51)), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID length 255", cat(header(1, 1, strings.Repeat("c", 255)), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with space", cat(header(1, 1, "siegel test"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with NUL", cat(header(1, 1, "siegel\x00"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with tab", cat(header(1, 1, "\tsiegel"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with DEL", cat(header(1, 1, "siegel\x7f"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with UTF-8", cat(header(1, 1, "siegel-é"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"chain ID with high byte", cat(header(1, 1, "\xff"), body(1, rawEntry(0, h0)), sig), tx.ErrMalformed},

		{"trailing byte", cat(valid, []byte{0}), tx.ErrMalformed},
		{"trailing signature", cat(valid, sig), tx.ErrMalformed},
		{"trailing entry", cat(header(1, 1, testChainID), body(1, rawEntry(0, h0), rawEntry(0, h1)), sig), tx.ErrMalformed},

		{"zero entries", cat(header(1, 1, testChainID), body(0), sig), tx.ErrMalformed},
		{"zero entries and nothing else", cat(header(1, 1, testChainID), body(0)), tx.ErrMalformed},

		{"flags 2", cat(header(1, 1, testChainID), body(1, rawEntry(2, h0)), sig), tx.ErrMalformed},
		{"flags 3", cat(header(1, 1, testChainID), body(1, rawEntry(3, h0, m0)), sig), tx.ErrMalformed},
		{"flags 0x80", cat(header(1, 1, testChainID), body(1, rawEntry(0x80, h0)), sig), tx.ErrMalformed},
		{"flags 0xff", cat(header(1, 1, testChainID), body(1, rawEntry(0xff, h0, m0)), sig), tx.ErrMalformed},
		{"unknown flags in second entry", cat(header(1, 1, testChainID), body(2, rawEntry(1, h0, m0), rawEntry(4, h1)), sig), tx.ErrMalformed},

		{"duplicate of two", cat(header(1, 1, testChainID), body(2, rawEntry(0, h0), rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"duplicate with different meta", cat(header(1, 1, testChainID), body(2, rawEntry(1, h0, m0), rawEntry(1, h0, m1)), sig), tx.ErrMalformed},
		{"duplicate with and without meta", cat(header(1, 1, testChainID), body(2, rawEntry(0, h0), rawEntry(1, h0, m0)), sig), tx.ErrMalformed},
		{"duplicate first and last of 3", cat(header(1, 1, testChainID), body(3, plainEntries(3, 2, 0)...), sig), tx.ErrMalformed},
		{"duplicate last two of 63 (small path)", cat(header(1, 1, testChainID), body(63, plainEntries(63, 62, 61)...), sig), tx.ErrMalformed},
		{"duplicate first and last of 63 (small path)", cat(header(1, 1, testChainID), body(63, plainEntries(63, 62, 0)...), sig), tx.ErrMalformed},
		{"duplicate first and last of 64 (map path)", cat(header(1, 1, testChainID), body(64, plainEntries(64, 63, 0)...), sig), tx.ErrMalformed},
		{"duplicate first two of 64 (map path)", cat(header(1, 1, testChainID), body(64, plainEntries(64, 1, 0)...), sig), tx.ErrMalformed},
		{"duplicate in middle of 500 (map path)", cat(header(1, 1, testChainID), body(500, plainEntries(500, 321, 123)...), sig), tx.ErrMalformed},

		{"count MaxEntries+1", cat(header(1, 1, testChainID), body(tx.MaxEntries+1), sig), tx.ErrOversized},
		{"count MaxEntries+1 with entries", cat(header(1, 1, testChainID), body(tx.MaxEntries+1, plainEntries(tx.MaxEntries+1, -1, 0)...), sig), tx.ErrOversized},
		{"count 0xffff", cat(header(1, 1, testChainID), body(0xffff)), tx.ErrOversized},

		{"input MaxTxBytes+1", cat(valid, make([]byte, tx.MaxTxBytes+1-len(valid))), tx.ErrOversized},
		{"garbage of MaxTxBytes+1", bytes.Repeat([]byte{0xff}, tx.MaxTxBytes+1), tx.ErrOversized},
		// At exactly the limit the size is allowed and the bytes are judged on form.
		{"input of exactly MaxTxBytes", cat(valid, make([]byte, tx.MaxTxBytes-len(valid))), tx.ErrMalformed},

		{"count 2, one entry", cat(header(1, 1, testChainID), body(2, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"count 3, one entry (below minimum size)", cat(header(1, 1, testChainID), body(3, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"count MaxEntries, one entry", cat(header(1, 1, testChainID), body(tx.MaxEntries, rawEntry(0, h0)), sig), tx.ErrMalformed},
		{"count 1, nothing after", cat(header(1, 1, testChainID), body(1)), tx.ErrMalformed},
		{"meta flag, no meta digest", cat(header(1, 1, testChainID), body(1, rawEntry(1, h0)), sig), tx.ErrMalformed},
		{"signature short by one", cat(header(1, 1, testChainID), body(1, rawEntry(0, h0)), sig[:63]), tx.ErrMalformed},
		{"no signature", cat(header(1, 1, testChainID), body(1, rawEntry(0, h0))), tx.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tx.Decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%d bytes) = %v, want an error wrapping %v", len(tc.in), err, tc.want)
			}
			if got != nil {
				t.Fatalf("Decode(%d bytes) returned a transaction along with error %v", len(tc.in), err)
			}
			other := tx.ErrOversized
			if tc.want == tx.ErrOversized {
				other = tx.ErrMalformed
			}
			if errors.Is(err, other) {
				t.Fatalf("Decode(%d bytes) = %v, which also wraps %v", len(tc.in), err, other)
			}
		})
	}
}

// TestDecodeRawValid checks that the raw builders used by TestDecodeRejects do produce valid
// transactions when nothing is wrong, so that each rejection there is due to the one defect it names.
func TestDecodeRawValid(t *testing.T) {
	h0, m0 := docHash(0), *metaDigest(0)
	tests := []struct {
		name string
		in   []byte
	}{
		{"one plain entry", cat(header(1, 1, testChainID), body(1, rawEntry(0, h0)), sig)},
		{"one entry with meta", cat(header(1, 1, testChainID), body(1, rawEntry(1, h0, m0)), sig)},
		{"chain ID length 1", cat(header(1, 1, "x"), body(1, rawEntry(0, h0)), sig)},
		{"chain ID length 50", cat(header(1, 1, strings.Repeat("c", tx.MaxChainIDLen)), body(1, rawEntry(0, h0)), sig)},
		{"chain ID at printable bounds", cat(header(1, 1, "!~"), body(1, rawEntry(0, h0)), sig)},
		{"63 distinct entries", cat(header(1, 1, testChainID), body(63, plainEntries(63, -1, 0)...), sig)},
		{"64 distinct entries", cat(header(1, 1, testChainID), body(64, plainEntries(64, -1, 0)...), sig)},
		{"MaxEntries entries", cat(header(1, 1, testChainID), body(tx.MaxEntries, plainEntries(tx.MaxEntries, -1, 0)...), sig)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecode(t, tc.in)
			if got := d.Encode(); !bytes.Equal(got, tc.in) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", got, tc.in)
			}
		})
	}
}

// TestDecodeTruncated cuts valid transactions at every length short of the whole: every strict prefix
// must be rejected as malformed, whichever field it ends in.
func TestDecodeTruncated(t *testing.T) {
	for _, v := range validEncodings() {
		full := v.b
		t.Run(v.name, func(t *testing.T) {
			mustDecode(t, full)
			for n := range len(full) {
				_, err := tx.Decode(full[:n])
				if !errors.Is(err, tx.ErrMalformed) {
					t.Fatalf("Decode of the first %d of %d bytes = %v, want %v", n, len(full), err, tx.ErrMalformed)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	maxMeta := sha256.Sum256([]byte("max"))
	tests := []struct {
		name string
		tx   *tx.Tx
	}{
		{"one entry without meta", signedAnchor(entries(1, noMeta))},
		{"one entry with meta", signedAnchor(entries(1, allMeta))},
		{"mixed meta", signedAnchor(entries(7, oddMeta))},
		{"64 entries", signedAnchor(entries(64, allMeta))},
		{"MaxEntries with meta", signedAnchor(entries(tx.MaxEntries, allMeta))},
		{"extreme header values", func() *tx.Tx {
			t := &tx.Tx{
				ChainID: strings.Repeat("~", tx.MaxChainIDLen),
				Nonce:   ^uint64(0),
				Expiry:  ^uint64(0),
				Body:    &tx.Anchor{Entries: []tx.Entry{{Hash: [32]byte{}, MetaDigest: &maxMeta}}},
			}
			t.Sign(seededKey(9))
			return t
		}()},
		{"zero nonce and expiry, unsigned", &tx.Tx{
			ChainID: "!",
			Body:    &tx.Anchor{Entries: entries(2, noMeta)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.tx.Encode()
			d := mustDecode(t, b)
			if !reflect.DeepEqual(d, tc.tx) {
				t.Fatalf("Decode(Encode(tx)) = %+v, want %+v", d, tc.tx)
			}
			if got := d.Encode(); !bytes.Equal(got, b) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", got, b)
			}
			if !tx.Equal(d, tc.tx) {
				t.Fatalf("Equal(Decode(Encode(tx)), tx) = false")
			}
			if got, want := d.Hash(), sha256.Sum256(b); got != want {
				t.Fatalf("Hash() = %x, want SHA-256 of the encoding %x", got, want)
			}
			if d.Body.Kind() != tx.KindAnchor {
				t.Fatalf("Body.Kind() = %v, want %v", d.Body.Kind(), tx.KindAnchor)
			}
		})
	}
}

// TestRoundTripValidEncodings checks Encode(Decode(b)) == b on raw encodings.
func TestRoundTripValidEncodings(t *testing.T) {
	for _, v := range validEncodings() {
		b := v.b
		t.Run(v.name, func(t *testing.T) {
			if got := mustDecode(t, b).Encode(); !bytes.Equal(got, b) {
				t.Fatalf("Encode(Decode(b)) differs from b:\n got %x\nwant %x", got, b)
			}
		})
	}
}

// TestDecodeDoesNotAlias checks that a decoded transaction does not share memory with its input, so
// that a caller may reuse the buffer.
func TestDecodeDoesNotAlias(t *testing.T) {
	b := signedAnchor(entries(3, allMeta)).Encode()
	want := bytes.Clone(b)
	d := mustDecode(t, b)
	for i := range b {
		b[i] ^= 0xff
	}
	if got := d.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("changing the input after Decode changed the transaction:\n got %x\nwant %x", got, want)
	}
}

func TestEqual(t *testing.T) {
	a := signedAnchor(entries(2, oddMeta))
	b := mustDecode(t, a.Encode())
	if !tx.Equal(a, b) {
		t.Fatalf("Equal(a, Decode(a.Encode())) = false, want true")
	}
	b.Nonce++
	if tx.Equal(a, b) {
		t.Fatalf("Equal reports transactions with different nonces as equal")
	}
}
