package receipt_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// The golden receipts of siegel-golden-revoke (see golden_test.go).
const (
	revokedSucc   = "revoked-successor-4"          // document 10, revoked at 3 with a successor, as of 6
	revokedPlain  = "revoked-4"                    // document 41, revoked at 4 without one, as of 5
	anchoredEarly = "anchored-before-revocation-4" // document 41 as of 3, before its revocation
)

var revokedGoldens = []string{revokedSucc, revokedPlain}

// revokedMutations are the changes to revoked receipts (and to the anchored receipt of the same chain)
// that Verify must refuse, each with the sentinel that names what is wrong.
func revokedMutations(t *testing.T) []mutation {
	rootErr, recErr := receipt.ErrRootMismatch, receipt.ErrRecord
	revSucc := goldenField(t, revokedSucc, func(r *receipt.Receipt) receipt.Revocation { return *r.Revocation })
	revPlain := goldenField(t, revokedPlain, func(r *receipt.Receipt) receipt.Revocation { return *r.Revocation })
	later := goldenField(t, revokedPlain, func(r *receipt.Receipt) *receipt.Receipt { return r })
	other := goldenDoc(70)
	var ms []mutation
	for _, file := range revokedGoldens {
		m := func(name string, mutate func(r *receipt.Receipt), want error) {
			ms = append(ms, mutation{name: name, file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { mutate(r) },
				want: errs(want), proofs: want})
		}
		// The revocation's presence and the state.
		m("revocation removed", func(r *receipt.Receipt) { r.Revocation = nil }, recErr)
		m("state revoked -> anchored, revocation kept", func(r *receipt.Receipt) { r.State = receipt.StateAnchored }, recErr)
		m("state revoked -> anchored, revocation dropped", func(r *receipt.Receipt) {
			r.State, r.Revocation = receipt.StateAnchored, nil
		}, rootErr)
		m("state revoked -> unknown", func(r *receipt.Receipt) { r.State = receipt.StateUnknown }, recErr)
		m("state revoked -> unknown, record and log proof dropped", func(r *receipt.Receipt) {
			r.State, r.Record, r.LogIndex, r.LogProof = receipt.StateUnknown, nil, 0, nil
		}, recErr)
		m("state revoked -> unknown, everything but the map proof dropped", func(r *receipt.Receipt) {
			r.State, r.Record, r.Revocation, r.LogIndex, r.LogProof = receipt.StateUnknown, nil, nil, 0, nil
		}, receipt.ErrProofShape)
		m("state 3", func(r *receipt.Receipt) { r.State = 3 }, recErr)
		m("record removed", func(r *receipt.Receipt) { r.Record = nil }, recErr)

		// Each field of the revocation is in the map value.
		for _, reason := range []uint8{0, 1, 2, 3, 4, 5, 255} {
			m(fmt.Sprintf("reason -> %d", reason), func(r *receipt.Receipt) {
				if r.Revocation.Reason == reason {
					r.Revocation.Reason ^= 6
				} else {
					r.Revocation.Reason = reason
				}
			}, rootErr)
		}
		m("revocation height - 1", func(r *receipt.Receipt) { r.Revocation.Height-- }, rootErr)
		m("revocation height + 1", func(r *receipt.Receipt) { r.Revocation.Height++ }, rootErr)
		m("revocation height at the record's", func(r *receipt.Receipt) { r.Revocation.Height = r.Record.Height }, rootErr)
		m("revocation height beyond the checkpoint", func(r *receipt.Receipt) { r.Revocation.Height = r.Checkpoint.Height + 1 }, recErr)
		m("revocation height huge", func(r *receipt.Receipt) { r.Revocation.Height = 1 << 63 }, recErr)
		m("revocation time + 1ns", func(r *receipt.Receipt) { r.Revocation.Time = r.Revocation.Time.Add(1) }, rootErr)
		m("revocation time of the record", func(r *receipt.Receipt) { r.Revocation.Time = r.Record.Time }, rootErr)
		m("revocation signer flipped", func(r *receipt.Receipt) { r.Revocation.Signer[0] ^= 1 }, rootErr)
		m("revocation tx hash flipped", func(r *receipt.Receipt) { r.Revocation.TxHash[31] ^= 0x80 }, rootErr)
		m("revocation tx hash of the record", func(r *receipt.Receipt) { r.Revocation.TxHash = r.Record.TxHash }, rootErr)
		m("revocation log index + 1", func(r *receipt.Receipt) { r.Revocation.LogIndex++ }, rootErr)
		m("revocation log index - 1", func(r *receipt.Receipt) { r.Revocation.LogIndex-- }, rootErr)
		m("revocation log index at the record's", func(r *receipt.Receipt) { r.Revocation.LogIndex = r.LogIndex }, recErr)
		m("revocation log index below the record's", func(r *receipt.Receipt) { r.Revocation.LogIndex = r.LogIndex - 1 }, recErr)
		m("revocation log index 0", func(r *receipt.Receipt) { r.Revocation.LogIndex = 0 }, recErr)
		m("revocation log index at the log size", func(r *receipt.Receipt) { r.Revocation.LogIndex = r.Checkpoint.LogSize }, recErr)
		m("revocation log index beyond the log size", func(r *receipt.Receipt) { r.Revocation.LogIndex = r.Checkpoint.LogSize + 100 }, recErr)
		m("revocation log index huge", func(r *receipt.Receipt) { r.Revocation.LogIndex = 1 << 63 }, recErr)
		m("successor -> another document", func(r *receipt.Receipt) {
			s := goldenDoc(71)
			r.Revocation.Successor = &s
		}, rootErr)
		m("successor -> the document itself", func(r *receipt.Receipt) {
			s := r.DocHash
			r.Revocation.Successor = &s
		}, rootErr)
		m("successor -> zero", func(r *receipt.Receipt) { r.Revocation.Successor = &[32]byte{} }, rootErr)

		// The record, its log proof and the log index are checked as for an anchored receipt.
		m("record agency changed", func(r *receipt.Receipt) { r.Record.Agency = "notary-berlin-4" }, rootErr)
		m("record height - 1", func(r *receipt.Receipt) { r.Record.Height-- }, rootErr)
		m("record tx hash flipped", func(r *receipt.Receipt) { r.Record.TxHash[0] ^= 1 }, rootErr)
		m("record log index + 1", func(r *receipt.Receipt) { r.LogIndex++ }, rootErr)
		m("record log index at the revocation's", func(r *receipt.Receipt) { r.LogIndex = r.Revocation.LogIndex }, recErr)
		m("log proof truncated", func(r *receipt.Receipt) { r.LogProof = r.LogProof[:len(r.LogProof)-1] }, receipt.ErrLogProof)
		m("log proof entry flipped", func(r *receipt.Receipt) { r.LogProof[0][5] ^= 1 }, receipt.ErrLogProof)
		m("map proof sibling flipped", func(r *receipt.Receipt) { r.MapProof.Siblings[0][0] ^= 1 }, rootErr)
		m("doc hash and record doc hash of another document", func(r *receipt.Receipt) {
			r.DocHash, r.Record.DocHash = other, other
		}, rootErr)

		// What only the signatures cover.
		ms = append(ms,
			mutation{name: "checkpoint map root flipped", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.MapRoot[3] ^= 1 },
				want: errs(receipt.ErrSignature), proofs: rootErr},
			mutation{name: "checkpoint log size + 1", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize++ },
				want: errs(receipt.ErrSignature), proofs: nil},
			mutation{name: "checkpoint height + 1", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.Height++ },
				want: errs(receipt.ErrSignature), proofs: nil},
			mutation{name: "checkpoint height below the revocation's", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
				r.Checkpoint.Height = r.Revocation.Height - 1
			}, want: errs(receipt.ErrSignature), proofs: recErr},
			mutation{name: "checkpoint log size at the revocation's index", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
				r.Checkpoint.LogSize = r.Revocation.LogIndex
			}, want: errs(receipt.ErrSignature), proofs: recErr},
			mutation{name: "signature flipped", file: file, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs[0].Signature[9] ^= 1 },
				want: errs(receipt.ErrSignature), proofs: nil},
			mutation{name: "trust root of another chain", file: file, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) { tr.ChainID = "siegel-golden-4" },
				want: errs(receipt.ErrChain), proofs: nil},
		)
	}
	ms = append(ms,
		// Successors added and removed.
		mutation{name: "successor removed", file: revokedSucc, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Revocation.Successor = nil },
			want: errs(rootErr), proofs: rootErr},
		mutation{name: "successor added", file: revokedPlain, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			s := goldenDoc(42)
			r.Revocation.Successor = &s
		}, want: errs(rootErr), proofs: rootErr},
		// Revocations swapped between documents.
		mutation{name: "revocation of another document", file: revokedPlain, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revSucc
			r.Revocation = &rv
		}, want: errs(rootErr), proofs: rootErr},
		mutation{name: "revocation of another document (later than the checkpoint)", file: revokedSucc, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revPlain
			rv.Height = r.Checkpoint.Height + 1
			r.Revocation = &rv
		}, want: errs(recErr), proofs: recErr},
		mutation{name: "revocation of another document", file: revokedSucc, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revPlain
			r.Revocation = &rv
		}, want: errs(rootErr), proofs: rootErr},

		// The anchored receipt of a document that was revoked later.
		mutation{name: "revocation added, state kept", file: anchoredEarly, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revPlain
			r.Revocation = &rv
		}, want: errs(recErr), proofs: recErr},
		mutation{name: "revocation added, state revoked (revocation later than the checkpoint)", file: anchoredEarly, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revPlain
			r.State, r.Revocation = receipt.StateRevoked, &rv
		}, want: errs(recErr), proofs: recErr},
		mutation{name: "revocation added, state revoked (revocation moved into the checkpoint)", file: anchoredEarly, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rv := revPlain
			rv.Height, rv.LogIndex = r.Checkpoint.Height, r.Checkpoint.LogSize-1
			r.State, r.Revocation = receipt.StateRevoked, &rv
		}, want: errs(rootErr), proofs: rootErr},
		mutation{name: "state anchored -> revoked without a revocation", file: anchoredEarly, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.State = receipt.StateRevoked
		}, want: errs(recErr), proofs: recErr},
		// An anchored receipt cannot be carried forward past the revocation: the later checkpoint's map
		// holds the revoked value.
		mutation{name: "anchored state claimed at the checkpoint after the revocation", file: anchoredEarly, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Checkpoint, r.Signatures, r.MapProof, r.LogProof = later.Checkpoint, later.Signatures, later.MapProof, later.LogProof
		}, want: errs(rootErr), proofs: rootErr},
		mutation{name: "revoked state claimed at the checkpoint before the revocation", file: revokedPlain, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			early := goldenField(t, anchoredEarly, func(r *receipt.Receipt) *receipt.Receipt { return r })
			r.Checkpoint, r.Signatures, r.MapProof, r.LogProof = early.Checkpoint, early.Signatures, early.MapProof, early.LogProof
		}, want: errs(recErr), proofs: recErr},
		mutation{name: "revoked state claimed at the checkpoint before the revocation, revocation moved into it", file: revokedPlain, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			early := goldenField(t, anchoredEarly, func(r *receipt.Receipt) *receipt.Receipt { return r })
			r.Checkpoint, r.Signatures, r.MapProof, r.LogProof = early.Checkpoint, early.Signatures, early.MapProof, early.LogProof
			r.Revocation.Height, r.Revocation.LogIndex = early.Checkpoint.Height, early.Checkpoint.LogSize-1
		}, want: errs(rootErr), proofs: rootErr},
	)
	return ms
}

func TestVerifyRejectsRevokedMutations(t *testing.T) {
	runMutations(t, revokedMutations(t))
}

// TestVerifyRevoked checks what the revoked receipts and the anchored one before them prove.
func TestVerifyRevoked(t *testing.T) {
	g := goldenOnce()
	chain := g.chains["siegel-golden-revoke"]
	for _, tc := range []struct {
		file      string
		doc       int
		state     receipt.State
		height    uint64
		reason    uint8
		successor *[32]byte
	}{
		{revokedSucc, 10, receipt.StateRevoked, 3, 1, func() *[32]byte { s := goldenDoc(70); return &s }()},
		{revokedPlain, 41, receipt.StateRevoked, 4, 3, nil},
		{anchoredEarly, 41, receipt.StateAnchored, 0, 0, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r, trust := loadGolden(t, tc.file)
			res, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatal(err)
			}
			if res.DocHash != goldenDoc(tc.doc) || res.State != tc.state || res.Record == nil || res.Record.DocHash != res.DocHash {
				t.Fatalf("result %+v", res)
			}
			if err := g.truth(res, trust); err != nil {
				t.Fatal(err)
			}
			if tc.state == receipt.StateAnchored {
				if res.Revocation != nil {
					t.Fatalf("anchored result with a revocation %+v", res.Revocation)
				}
				// It was true as of its checkpoint; the document was revoked later.
				if rv, ok := chain.revocations[res.DocHash]; !ok || rv.Height <= res.AsOf.Height {
					t.Fatalf("the golden chain revoked %x at %d", res.DocHash[:4], rv.Height)
				}
				return
			}
			rv := res.Revocation
			if rv == nil || rv.Height != tc.height || rv.Reason != tc.reason || !reflect.DeepEqual(rv.Successor, tc.successor) ||
				rv.Signer != res.Record.Signer || rv.LogIndex <= r.LogIndex || rv.LogIndex >= res.AsOf.LogSize || !rv.Time.Equal(goldenBlockTime(tc.height)) {
				t.Fatalf("revocation %+v", rv)
			}
			// The revocation event is in the log the checkpoint commits to, at its index.
			p, err := tree.LogInclusion(chain.readLog, rv.LogIndex, res.AsOf.LogSize)
			if err != nil {
				t.Fatal(err)
			}
			ps := make([][]byte, len(p))
			for i := range p {
				ps[i] = p[i][:]
			}
			leaf := receipt.LogLeafHash(receipt.RevocationEvent(res.DocHash, rv))
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, rv.LogIndex, res.AsOf.LogSize, leaf[:], ps, res.AsOf.LogRoot[:]); err != nil {
				t.Fatalf("revocation event not in the log: %v", err)
			}
			// The log as of the revocation's block is a prefix of the log of the receipt's checkpoint.
			at := chain.cps[rv.Height]
			cons, err := tree.LogConsistency(chain.readLog, at.LogSize, res.AsOf.LogSize)
			if err != nil {
				t.Fatal(err)
			}
			cs := make([][]byte, len(cons))
			for i := range cons {
				cs[i] = cons[i][:]
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, at.LogSize, res.AsOf.LogSize, cs, at.LogRoot[:], res.AsOf.LogRoot[:]); err != nil {
				t.Fatalf("log of %d not consistent with that of %d: %v", res.AsOf.Height, rv.Height, err)
			}
			// Under another chain's trust root with the same validators, it does not verify.
			other := loadTrust(t, "genesis-4.json")
			if _, err := receipt.Verify(r, other); !errors.Is(err, receipt.ErrChain) {
				t.Fatalf("Verify under siegel-golden-4: %v", err)
			}
			other.ChainID = trust.ChainID
			if _, err := receipt.Verify(r, other); err != nil {
				t.Fatalf("Verify under the same set and chain ID: %v", err)
			}
		})
	}
}

func TestRevocationEncoding(t *testing.T) {
	succ := goldenDoc(7)
	for _, v := range []receipt.Revocation{
		{Height: 4, Time: goldenBlockTime(4), Reason: 3, Signer: [32]byte{1}, TxHash: [32]byte{2}, LogIndex: 121},
		{Height: 1 << 40, Time: time.Unix(0, -1).UTC(), Reason: 1, Successor: &succ, Signer: [32]byte{0xff}, TxHash: [32]byte{31: 1}, LogIndex: 1<<64 - 1},
		{Reason: 255, Time: time.Unix(0, 0).UTC(), Successor: &[32]byte{}},
	} {
		b := v.Encode()
		want := 8 + 8 + 1 + 1 + 32 + 32 + 8
		if v.Successor != nil {
			want += 32
		}
		if len(b) != want {
			t.Fatalf("encoding of %d bytes, want %d", len(b), want)
		}
		if binary.BigEndian.Uint64(b) != v.Height || int64(binary.BigEndian.Uint64(b[8:])) != v.Time.UnixNano() || b[16] != v.Reason ||
			binary.BigEndian.Uint64(b[len(b)-8:]) != v.LogIndex {
			t.Fatalf("layout: %x", b)
		}
		back, err := receipt.DecodeRevocation(b)
		if err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("DecodeRevocation(Encode(v)) = %+v, %v; want %+v", back, err, v)
		}
		if !bytes.Equal(back.Encode(), b) {
			t.Fatal("Encode(DecodeRevocation(b)) != b")
		}
		for n := range len(b) {
			if _, err := receipt.DecodeRevocation(b[:n]); !errors.Is(err, receipt.ErrMalformed) {
				t.Fatalf("first %d of %d bytes: %v, want ErrMalformed", n, len(b), err)
			}
		}
		for _, tail := range [][]byte{{0}, b} {
			if _, err := receipt.DecodeRevocation(append(slices.Clone(b), tail...)); !errors.Is(err, receipt.ErrMalformed) {
				t.Fatalf("with %d trailing bytes: %v, want ErrMalformed", len(tail), err)
			}
		}
		for _, flags := range []byte{2, 3, 0x80, 0xff} {
			c := slices.Clone(b)
			c[17] = flags
			if _, err := receipt.DecodeRevocation(c); !errors.Is(err, receipt.ErrMalformed) {
				t.Fatalf("flags %#x: %v, want ErrMalformed", flags, err)
			}
		}
		// The event names the document and is not an anchor event.
		doc := goldenDoc(1)
		ev := receipt.RevocationEvent(doc, &v)
		if ev[0] != 2 || !bytes.Equal(ev[1:33], doc[:]) || !bytes.Equal(ev[33:], b) {
			t.Fatalf("revocation event %x", ev)
		}
		other := goldenDoc(2)
		if receipt.LogLeafHash(ev) == receipt.LogLeafHash(receipt.RevocationEvent(other, &v)) {
			t.Fatal("the event does not depend on the document")
		}
	}
}

// TestMapValueRevoked: the revoked map value commits to every field of the revocation and differs from
// the anchored value; for StateAnchored a revocation is ignored, which is why Verify refuses an anchored
// receipt that carries one.
func TestMapValueRevoked(t *testing.T) {
	r, _ := loadGolden(t, revokedSucc)
	rec, rv := r.Record, *r.Revocation
	base := receipt.MapValue(rec, receipt.StateRevoked, r.LogIndex, &rv)
	anchored := receipt.MapValue(rec, receipt.StateAnchored, r.LogIndex, nil)
	if base == anchored {
		t.Fatal("the revoked value equals the anchored one")
	}
	if receipt.MapValue(rec, receipt.StateAnchored, r.LogIndex, &rv) != anchored {
		t.Fatal("MapValue(anchored) depends on a revocation")
	}
	if receipt.MapValue(rec, receipt.StateRevoked, r.LogIndex, nil) == base {
		t.Fatal("the revoked value does not depend on the revocation")
	}
	for name, change := range map[string]func(v *receipt.Revocation){
		"height":    func(v *receipt.Revocation) { v.Height++ },
		"time":      func(v *receipt.Revocation) { v.Time = v.Time.Add(1) },
		"reason":    func(v *receipt.Revocation) { v.Reason++ },
		"successor": func(v *receipt.Revocation) { v.Successor = nil },
		"signer":    func(v *receipt.Revocation) { v.Signer[0] ^= 1 },
		"tx hash":   func(v *receipt.Revocation) { v.TxHash[0] ^= 1 },
		"log index": func(v *receipt.Revocation) { v.LogIndex++ },
	} {
		v := rv
		s := *rv.Successor
		v.Successor = &s
		change(&v)
		if receipt.MapValue(rec, receipt.StateRevoked, r.LogIndex, &v) == base {
			t.Errorf("the revoked value does not depend on the %s", name)
		}
	}
}

// revokedCompactSentinel is compactSentinel for receipts that may carry a revocation: a cut in the log
// index or proof, or in the revocation, leaves the revocation short (ErrMalformed); a cut in the map
// proof gives ErrMalformedMapProof.
func revokedCompactSentinel(r *receipt.Receipt, cut int) error {
	if r.Revocation == nil {
		return compactSentinel(r, cut)
	}
	at := 2 + 1 + 1 + 32
	if cut < at {
		return receipt.ErrMalformed
	}
	at += 2 + len(r.Record.Encode())
	if cut < at {
		return receipt.ErrMalformedRecord
	}
	at += 8 + 1 + 32*len(r.LogProof) + 2 + len(r.Revocation.Encode())
	if cut < at {
		return receipt.ErrMalformed
	}
	at += 2 + len(r.MapProof.Encode())
	if cut < at {
		return receipt.ErrMalformedMapProof
	}
	return receipt.ErrMalformed
}

func TestRevokedCompact(t *testing.T) {
	g := goldenOnce()
	for _, name := range []string{revokedSucc, revokedPlain, anchoredEarly} {
		t.Run(name, func(t *testing.T) {
			r, trust := loadGolden(t, name)
			b := r.EncodeCompact()
			if b[3] != byte(r.State) {
				t.Fatalf("state byte %d", b[3])
			}
			back, err := receipt.DecodeCompact(b)
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("DecodeCompact(EncodeCompact(r)) = %+v, %v", back, err)
			}
			if r.Revocation != nil && !bytes.Contains(b, r.Revocation.Encode()) {
				t.Fatal("the compact form does not carry the revocation's encoding")
			}
			for n := range len(b) {
				_, err := receipt.DecodeCompact(b[:n])
				if want := revokedCompactSentinel(r, n); !errors.Is(err, want) {
					t.Fatalf("DecodeCompact(first %d of %d bytes) = %v, want an error wrapping %v", n, len(b), err, want)
				}
			}
			for _, tail := range [][]byte{{0}, {0xff}, b} {
				if _, err := receipt.DecodeCompact(append(slices.Clone(b), tail...)); !errors.Is(err, receipt.ErrMalformed) {
					t.Fatalf("DecodeCompact(receipt + %d bytes) = %v, want ErrMalformed", len(tail), err)
				}
			}
			// The state byte says whether a revocation follows the log proof.
			for _, s := range []receipt.State{receipt.StateUnknown, receipt.StateAnchored, receipt.StateRevoked, 3} {
				if s == r.State {
					continue
				}
				c := slices.Clone(b)
				c[3] = byte(s)
				if m, err := receipt.DecodeCompact(c); err == nil {
					if res, err := receipt.Verify(m, trust); err == nil {
						t.Fatalf("state %v: decoded and verified: %+v", s, res)
					}
				}
			}
			// Bit flips (bit i mod 8 of byte i): none decodes into a receipt that verifies.
			for bit := range 8 * len(b) {
				if bit%8 != (bit/8)%8 {
					continue
				}
				m := slices.Clone(b)
				flipBit(m, bit)
				mr, err := receipt.DecodeCompact(m)
				if err != nil {
					continue
				}
				if res, err := receipt.Verify(mr, trust); err == nil {
					t.Fatalf("bit %d flipped: verified %+v (truth: %v)", bit, res, g.truth(res, trust))
				}
			}
		})
	}
}

// TestDecodeJSONRejectsRevoked changes the bytes of a revoked receipt file.
func TestDecodeJSONRejectsRevoked(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(goldenDir, revokedSucc+".json"))
	if err != nil {
		t.Fatal(err)
	}
	early, err := os.ReadFile(filepath.Join(goldenDir, anchoredEarly+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := loadGolden(t, revokedSucc)
	edit := func(f func(j map[string]any)) func(string) string {
		return func(s string) string {
			var j map[string]any
			if err := json.Unmarshal([]byte(s), &j); err != nil {
				t.Fatal(err)
			}
			f(j)
			b, err := json.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	rev := func(j map[string]any) map[string]any { return j["revocation"].(map[string]any) }
	revTime := r.Revocation.Time.Format(time.RFC3339Nano)
	succHex := hex.EncodeToString(r.Revocation.Successor[:])
	tests := []struct {
		name   string
		in     string
		change func(string) string
		want   error
	}{
		{"revocation without a record", string(file), edit(func(j map[string]any) { delete(j, "record"); delete(j, "log") }), receipt.ErrJSON},
		{"revocation without a record, state unknown", string(file), edit(func(j map[string]any) {
			delete(j, "record")
			delete(j, "log")
			j["state"] = "unknown"
		}), receipt.ErrJSON},
		{"revocation without a record, state anchored", string(file), edit(func(j map[string]any) {
			delete(j, "record")
			delete(j, "log")
			j["state"] = "anchored"
		}), receipt.ErrJSON},
		{"unknown field in the revocation", string(file), edit(func(j map[string]any) { rev(j)["comment"] = "" }), receipt.ErrJSON},
		{"reason 256", string(file), edit(func(j map[string]any) { rev(j)["reason"] = 256 }), receipt.ErrJSON},
		{"reason -1", string(file), edit(func(j map[string]any) { rev(j)["reason"] = -1 }), receipt.ErrJSON},
		{"reason as a string", string(file), edit(func(j map[string]any) { rev(j)["reason"] = "superseded" }), receipt.ErrJSON},
		{"successor one digit short", string(file), edit(func(j map[string]any) { rev(j)["successor"] = succHex[1:] }), receipt.ErrJSON},
		{"successor not hex", string(file), edit(func(j map[string]any) { rev(j)["successor"] = "g" + succHex[1:] }), receipt.ErrJSON},
		{"revocation time not RFC 3339", string(file), edit(func(j map[string]any) { rev(j)["time"] = "2025-03-03 08:00:18Z" }), receipt.ErrJSON},
		{"revocation time before 1678", string(file), edit(func(j map[string]any) { rev(j)["time"] = "1600-01-01T00:00:00Z" }), receipt.ErrJSON},
		{"revocation time wrapped around int64 nanoseconds", string(file), func(s string) string {
			tm := r.Revocation.Time
			w := time.Unix(tm.Unix()+18446744073, int64(tm.Nanosecond())+709551616).UTC().Format(time.RFC3339Nano)
			if !strings.Contains(s, revTime) {
				t.Fatalf("%q is not in the file", revTime)
			}
			return strings.Replace(s, revTime, w, 1)
		}, receipt.ErrJSON},
		{"state misspelt", string(file), edit(func(j map[string]any) { j["state"] = "Revoked" }), receipt.ErrJSON},
		// Well formed, but false.
		{"revocation removed", string(file), edit(func(j map[string]any) { delete(j, "revocation") }), receipt.ErrRecord},
		{"state anchored, revocation kept", string(file), edit(func(j map[string]any) { j["state"] = "anchored" }), receipt.ErrRecord},
		{"state anchored, revocation removed", string(file), edit(func(j map[string]any) {
			j["state"] = "anchored"
			delete(j, "revocation")
		}), receipt.ErrRootMismatch},
		{"state unknown, record, log and revocation kept", string(file), edit(func(j map[string]any) { j["state"] = "unknown" }), receipt.ErrRecord},
		{"reason changed", string(file), edit(func(j map[string]any) { rev(j)["reason"] = 2 }), receipt.ErrRootMismatch},
		{"successor removed", string(file), edit(func(j map[string]any) { delete(rev(j), "successor") }), receipt.ErrRootMismatch},
		{"revocation height beyond the checkpoint", string(file), edit(func(j map[string]any) { rev(j)["height"] = 7 }), receipt.ErrRecord},
		{"revocation log index at the record's", string(file), edit(func(j map[string]any) { rev(j)["log_index"] = r.LogIndex }), receipt.ErrRecord},
		{"revocation in an anchored receipt", string(early), func(s string) string {
			var j, from map[string]any
			json.Unmarshal([]byte(s), &j)
			json.Unmarshal(file, &from)
			j["revocation"] = from["revocation"]
			b, _ := json.Marshal(j)
			return string(b)
		}, receipt.ErrRecord},
		{"anchored receipt with state revoked", string(early), edit(func(j map[string]any) { j["state"] = "revoked" }), receipt.ErrRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := receipt.DecodeJSON([]byte(tc.change(tc.in)))
			if err == nil {
				var res receipt.Result
				if res, err = receipt.Verify(got, loadTrust(t, "genesis-revoke-4.json")); err == nil {
					t.Fatalf("DecodeJSON and Verify accepted the changed file: %+v", res)
				}
			} else if got != nil {
				t.Fatalf("DecodeJSON returned a receipt with its error %v", err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.want)
			}
		})
	}
	// The revocation's fields are named as documented, and survive a decode and re-encode.
	var j map[string]any
	if err := json.Unmarshal(file, &j); err != nil {
		t.Fatal(err)
	}
	if j["state"] != "revoked" {
		t.Fatalf("state %v", j["state"])
	}
	keys := slices.Sorted(maps.Keys(rev(j)))
	if want := []string{"height", "log_index", "reason", "signer", "successor", "time", "tx_hash"}; !slices.Equal(keys, want) {
		t.Fatalf("revocation fields %q, want %q", keys, want)
	}
	plain, err := os.ReadFile(filepath.Join(goldenDir, revokedPlain+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte(`"successor"`)) {
		t.Fatal("a revocation without a successor names one")
	}
}

// TestRevokedJSONFixedPoint applies FuzzDecodeJSON's checks to revoked receipt files and to variants that
// decode but do not verify: the JSON form is a fixed point, and the compact form carries whatever it can
// (not a revocation on a receipt whose state is not revoked, which compactable excludes).
func TestRevokedJSONFixedPoint(t *testing.T) {
	for _, name := range []string{revokedSucc, revokedPlain, anchoredEarly} {
		file, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		from, err := os.ReadFile(filepath.Join(goldenDir, revokedPlain+".json"))
		if err != nil {
			t.Fatal(err)
		}
		for variant, change := range map[string]func(j, from map[string]any){
			"as is":               func(j, _ map[string]any) {},
			"state anchored":      func(j, _ map[string]any) { j["state"] = "anchored" },
			"state revoked":       func(j, _ map[string]any) { j["state"] = "revoked" },
			"revocation removed":  func(j, _ map[string]any) { delete(j, "revocation") },
			"revocation replaced": func(j, from map[string]any) { j["revocation"] = from["revocation"] },
		} {
			t.Run(name+"/"+variant, func(t *testing.T) {
				var j, f map[string]any
				if err := json.Unmarshal(file, &j); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(from, &f); err != nil {
					t.Fatal(err)
				}
				change(j, f)
				b, err := json.Marshal(j)
				if err != nil {
					t.Fatal(err)
				}
				r, err := receipt.DecodeJSON(b)
				if err != nil {
					t.Fatalf("DecodeJSON = %v", err)
				}
				out, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				r2, err := receipt.DecodeJSON(out)
				if err != nil || !reflect.DeepEqual(r2, r) {
					t.Fatalf("DecodeJSON(json.Marshal(r)) = %+v, %v; want %+v", r2, err, r)
				}
				if again, _ := json.Marshal(r2); !bytes.Equal(again, out) {
					t.Fatal("json.Marshal is not a fixed point")
				}
				wantCompactable := (r.State == receipt.StateRevoked) == (r.Revocation != nil)
				if compactable(r) != wantCompactable {
					t.Fatalf("compactable = %v, want %v (state %v, revocation %v)", !wantCompactable, wantCompactable, r.State, r.Revocation != nil)
				}
				if !wantCompactable {
					return
				}
				r3, err := receipt.DecodeCompact(r.EncodeCompact())
				if err != nil || !reflect.DeepEqual(r3, r) {
					t.Fatalf("DecodeCompact(EncodeCompact(r)) = %+v, %v; want %+v", r3, err, r)
				}
			})
		}
	}
}
