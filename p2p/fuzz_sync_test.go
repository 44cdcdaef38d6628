package p2p

import (
	"bytes"
	"testing"
)

// FuzzReadRequest feeds arbitrary bytes to the catch-up request decoder, which reads what any peer
// sends: it must never panic, and whatever it accepts must encode back to exactly the bytes read.
// Corpus: testdata/fuzz/FuzzReadRequest.
func FuzzReadRequest(f *testing.F) {
	var one, full bytes.Buffer
	_ = writeRequest(&one, [][32]byte{doc("a")})
	docs := make([][32]byte, MaxSyncDocs)
	for i := range docs {
		docs[i] = doc(string(rune('a' + i%26)))
	}
	_ = writeRequest(&full, docs)
	f.Add(one.Bytes())
	f.Add(full.Bytes())
	f.Add([]byte{syncVersion, 0, 0})
	f.Add([]byte{syncVersion, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > MaxSyncDocs {
			t.Fatalf("accepted a request for %d documents", len(got))
		}
		var again bytes.Buffer
		if err := writeRequest(&again, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), b) {
			t.Fatalf("accepted %x, which encodes as %x", b, again.Bytes())
		}
	})
}

// FuzzReadResponse feeds arbitrary bytes to the catch-up answer decoder: it must never panic, never
// return more messages than were asked for or one over the size limit, and what it accepts whole must
// encode back to the bytes read.
// Corpus: testdata/fuzz/FuzzReadResponse.
func FuzzReadResponse(f *testing.F) {
	var two bytes.Buffer
	_ = writeResponse(&two, [][]byte{meta("x").Encode(), meta("y").Encode()})
	f.Add(two.Bytes(), uint8(2))
	f.Add(two.Bytes(), uint8(1))
	f.Add([]byte{syncVersion, 0, 0}, uint8(0))
	f.Add([]byte{syncVersion, 0, 1, 0x20, 0x01}, uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, asked uint8) {
		got, err := readResponse(bytes.NewReader(b), int(asked))
		if len(got) > int(asked) {
			t.Fatalf("%d messages for %d asked", len(got), asked)
		}
		for _, m := range got {
			if len(m) == 0 || len(m) > 8<<10 {
				t.Fatalf("a message of %d bytes", len(m))
			}
		}
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := writeResponse(&again, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), b) {
			t.Fatalf("accepted %x, which encodes as %x", b, again.Bytes())
		}
	})
}
