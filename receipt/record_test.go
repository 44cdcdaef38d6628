package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// update rewrites the golden files in testdata instead of comparing against them:
//
//	go test -tags pebbledb ./receipt -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files in testdata")

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func digestPtr(s string) *[32]byte {
	d := digest(s)
	return &d
}

// record returns a record with every field set; meta chooses whether it carries a metadata digest.
func record(meta bool) receipt.Record {
	r := receipt.Record{
		DocHash: digest("document"),
		Agency:  "notary-berlin-3",
		Signer:  digest("signer key"),
		Height:  123456,
		Time:    time.Date(2024, time.March, 1, 12, 34, 56, 789012345, time.UTC),
		TxHash:  digest("tx"),
		TxIndex: 7,
		Entry:   11,
	}
	if meta {
		r.MetaDigest = digestPtr("metadata")
	}
	return r
}

// encodedLen is the length the documented layout gives.
func encodedLen(r receipt.Record) int {
	n := 1 + 32 + 1 + len(r.Agency) + 32 + 8 + 8 + 32 + 4 + 4 + 1
	if r.MetaDigest != nil {
		n += 32
	}
	return n
}

// assertSameRecord compares two records, the times as instants.
func assertSameRecord(t *testing.T, got, want receipt.Record) {
	t.Helper()
	if !got.Time.Equal(want.Time) {
		t.Fatalf("Time = %v, want %v", got.Time, want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record = %+v, want %+v", got, want)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		change func(*receipt.Record)
	}{
		{"with meta digest", func(r *receipt.Record) {}},
		{"without meta digest", func(r *receipt.Record) { r.MetaDigest = nil }},
		{"agency of 1 byte", func(r *receipt.Record) { r.Agency = "a" }},
		{"agency of MaxAgencyIDLen bytes", func(r *receipt.Record) { r.Agency = strings.Repeat("a", receipt.MaxAgencyIDLen) }},
		{"agency with arbitrary bytes", func(r *receipt.Record) { r.Agency = "\x00\xff é" }},
		{"zero hashes and counters", func(r *receipt.Record) {
			r.DocHash, r.Signer, r.TxHash, r.Height, r.TxIndex, r.Entry = [32]byte{}, [32]byte{}, [32]byte{}, 0, 0, 0
		}},
		{"maximum counters", func(r *receipt.Record) {
			r.Height, r.TxIndex, r.Entry = math.MaxUint64, math.MaxUint32, math.MaxUint32
		}},
		{"time at the Unix epoch", func(r *receipt.Record) { r.Time = time.Unix(0, 0).UTC() }},
		{"time one nanosecond before the epoch", func(r *receipt.Record) { r.Time = time.Unix(0, -1).UTC() }},
		{"time with every nanosecond digit", func(r *receipt.Record) { r.Time = time.Unix(1_700_000_000, 999_999_999).UTC() }},
		{"time near the int64 limits", func(r *receipt.Record) { r.Time = time.Unix(0, math.MaxInt64).UTC() }},
		{"time near the negative int64 limit", func(r *receipt.Record) { r.Time = time.Unix(0, math.MinInt64).UTC() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := record(true)
			tc.change(&want)
			b := want.Encode()
			if len(b) != encodedLen(want) {
				t.Fatalf("Encode() gave %d bytes, want %d by the documented layout", len(b), encodedLen(want))
			}
			got, err := receipt.DecodeRecord(b)
			if err != nil {
				t.Fatalf("DecodeRecord(Encode(r)) = %v, want success", err)
			}
			if got.Time.Location() != time.UTC {
				t.Fatalf("decoded Time is in %v, want UTC", got.Time.Location())
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("DecodeRecord(Encode(r)) = %+v, want %+v", got, want)
			}
			if again := got.Encode(); !bytes.Equal(again, b) {
				t.Fatalf("Encode(DecodeRecord(b)) differs from b:\n got %x\nwant %x", again, b)
			}
		})
	}

	// A time in another zone encodes the same instant and decodes to UTC.
	t.Run("time outside UTC", func(t *testing.T) {
		want := record(false)
		want.Time = want.Time.In(berlin)
		b := want.Encode()
		got, err := receipt.DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord(Encode(r)) = %v, want success", err)
		}
		assertSameRecord(t, got, want)
		if got.Time.Location() != time.UTC {
			t.Fatalf("decoded Time is in %v, want UTC", got.Time.Location())
		}
		utc := want
		utc.Time = want.Time.UTC()
		if !bytes.Equal(b, utc.Encode()) {
			t.Fatalf("the same instant in two zones encodes differently")
		}
	})
}

// TestRecordLayout checks the documented field order on hand-written bytes.
func TestRecordLayout(t *testing.T) {
	r := record(true)
	var want []byte
	want = append(want, 1)
	want = append(want, r.DocHash[:]...)
	want = append(want, byte(len(r.Agency)))
	want = append(want, r.Agency...)
	want = append(want, r.Signer[:]...)
	want = binary.BigEndian.AppendUint64(want, r.Height)
	want = binary.BigEndian.AppendUint64(want, uint64(r.Time.UnixNano()))
	want = append(want, r.TxHash[:]...)
	want = binary.BigEndian.AppendUint32(want, r.TxIndex)
	want = binary.BigEndian.AppendUint32(want, r.Entry)
	want = append(want, 1)
	want = append(want, r.MetaDigest[:]...)
	if got := r.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("Encode() =\n %x\nwant\n %x", got, want)
	}
	r.MetaDigest = nil
	if got, want := r.Encode(), append(want[:len(want)-33:len(want)-33], 0); !bytes.Equal(got, want) {
		t.Fatalf("Encode() without meta digest =\n %x\nwant\n %x", got, want)
	}
}

// TestRecordGoldenV1 freezes version 1 of the record encoding, which the Merkle log commits to.
func TestRecordGoldenV1(t *testing.T) {
	path := filepath.Join("testdata", "record_v1.hex")
	recs := []receipt.Record{record(true), record(false)}
	var lines []string
	for _, r := range recs {
		lines = append(lines, hex.EncodeToString(r.Encode()))
	}
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("writing golden file: %v", err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Fatalf("the record encoding changed; version 1 must never change\n got %s\nwant %s", got, want)
	}
	for i, line := range strings.Fields(string(want)) {
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("golden line %d is not hex: %v", i+1, err)
		}
		r, err := receipt.DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord(golden line %d) = %v", i+1, err)
		}
		if !reflect.DeepEqual(r, recs[i]) {
			t.Fatalf("DecodeRecord(golden line %d) = %+v, want %+v", i+1, r, recs[i])
		}
	}
}

// rawRecord assembles a record encoding field by field, with the given version, agency length byte,
// agency bytes and flags; meta is appended as is.
func rawRecord(version, alen byte, agency string, flags byte, meta []byte) []byte {
	r := record(false)
	b := []byte{version}
	b = append(b, r.DocHash[:]...)
	b = append(b, alen)
	b = append(b, agency...)
	b = append(b, r.Signer[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Height)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = append(b, r.TxHash[:]...)
	b = binary.BigEndian.AppendUint32(b, r.TxIndex)
	b = binary.BigEndian.AppendUint32(b, r.Entry)
	b = append(b, flags)
	return append(b, meta...)
}

func TestDecodeRecordRejects(t *testing.T) {
	meta := digest("metadata")
	long := strings.Repeat("a", receipt.MaxAgencyIDLen+1)
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version only", []byte{1}},
		{"version 0", rawRecord(0, 3, "abc", 0, nil)},
		{"version 2", rawRecord(2, 3, "abc", 0, nil)},
		{"version 255", rawRecord(255, 3, "abc", 0, nil)},
		{"lone version 0", []byte{0}},
		{"agency length 0", rawRecord(1, 0, "", 0, nil)},
		{"agency length 65", rawRecord(1, 65, long, 0, nil)},
		{"agency length 255", rawRecord(1, 255, strings.Repeat("a", 255), 0, nil)},
		{"agency length larger than the agency", rawRecord(1, 4, "abc", 0, nil)},
		{"agency length smaller than the agency", rawRecord(1, 2, "abc", 0, nil)},
		{"flags 2", rawRecord(1, 3, "abc", 2, nil)},
		{"flags 3", rawRecord(1, 3, "abc", 3, meta[:])},
		{"flags 0x80", rawRecord(1, 3, "abc", 0x80, nil)},
		{"flags 0xff", rawRecord(1, 3, "abc", 0xff, meta[:])},
		{"meta flag without digest", rawRecord(1, 3, "abc", 1, nil)},
		{"meta flag with short digest", rawRecord(1, 3, "abc", 1, meta[:31])},
		{"trailing byte without meta", rawRecord(1, 3, "abc", 0, []byte{0})},
		{"digest without meta flag", rawRecord(1, 3, "abc", 0, meta[:])},
		{"trailing byte after meta", rawRecord(1, 3, "abc", 1, append(meta[:], 0))},
		{"two records", func() []byte { r := record(true); return append(r.Encode(), r.Encode()...) }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := receipt.DecodeRecord(tc.in); !errors.Is(err, receipt.ErrMalformedRecord) {
				t.Fatalf("DecodeRecord(%x) = %v, want an error wrapping %v", tc.in, err, receipt.ErrMalformedRecord)
			}
		})
	}
	// The raw builder itself makes valid records when nothing is wrong.
	for _, b := range [][]byte{rawRecord(1, 3, "abc", 0, nil), rawRecord(1, 3, "abc", 1, meta[:])} {
		if _, err := receipt.DecodeRecord(b); err != nil {
			t.Fatalf("DecodeRecord(%x) = %v, want success", b, err)
		}
	}
}

// TestDecodeRecordTruncated cuts valid encodings at every length short of the whole.
func TestDecodeRecordTruncated(t *testing.T) {
	long := record(true)
	long.Agency = strings.Repeat("z", receipt.MaxAgencyIDLen)
	for name, r := range map[string]receipt.Record{
		"with meta":    record(true),
		"without meta": record(false),
		"long agency":  long,
	} {
		t.Run(name, func(t *testing.T) {
			full := r.Encode()
			if _, err := receipt.DecodeRecord(full); err != nil {
				t.Fatalf("DecodeRecord(full encoding) = %v", err)
			}
			for n := range len(full) {
				if _, err := receipt.DecodeRecord(full[:n]); !errors.Is(err, receipt.ErrMalformedRecord) {
					t.Fatalf("DecodeRecord of the first %d of %d bytes = %v, want %v", n, len(full), err, receipt.ErrMalformedRecord)
				}
			}
		})
	}
}

// TestDecodeRecordDoesNotAlias checks that the decoded record does not share memory with its input.
func TestDecodeRecordDoesNotAlias(t *testing.T) {
	want := record(true)
	b := want.Encode()
	got, err := receipt.DecodeRecord(b)
	if err != nil {
		t.Fatalf("DecodeRecord = %v", err)
	}
	for i := range b {
		b[i] ^= 0xff
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changing the input after DecodeRecord changed the record: %+v, want %+v", got, want)
	}
}
