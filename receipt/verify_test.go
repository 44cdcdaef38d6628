package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
)

// The mutation tests take the golden receipts of testdata/receipts apart: every change to a field of a
// receipt (or to its trust root, or to the bytes of its file) must make Verify fail, and fail with the
// sentinel error that names what is wrong. VerifyProofs is run on the same mutation: it must fail with
// the proof error when the proofs no longer hold, and still succeed when only the signatures (which it
// does not check) are broken, so that each mutation is known to be caught where it should be.

// mutation is a change to a golden receipt or to its trust root.
type mutation struct {
	name   string
	file   string // the golden receipt changed
	mutate func(r *receipt.Receipt, trust *receipt.TrustRoot)
	// want are the sentinels Verify's error must wrap (all of them).
	want []error
	// proofs is the sentinel VerifyProofs' error must wrap; nil means VerifyProofs must still succeed.
	proofs error
	// msg, if set, must appear in Verify's error.
	msg string
}

func errs(e ...error) []error { return e }

func flipBit(b []byte, bit int) { b[bit/8] ^= 0x80 >> (bit % 8) }

// hashBits are the bits flipped in each 32-byte field; sigBits in each signature (R, then S).
var (
	hashBits = []int{0, 101, 255}
	sigBits  = []int{0, 255, 256, 511}
)

// flips returns one mutation per bit of bits, each flipping that bit of the bytes field returns.
func flips(name, file string, bits []int, field func(r *receipt.Receipt) []byte, want []error, proofs error) []mutation {
	var ms []mutation
	for _, bit := range bits {
		ms = append(ms, mutation{
			name:   fmt.Sprintf("%s bit %d flipped", name, bit),
			file:   file,
			mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { flipBit(field(r), bit) },
			want:   want, proofs: proofs,
		})
	}
	return ms
}

var (
	anchoredGoldens = []string{"anchored-4", "anchored-7", "anchored-16", "transition-1", "transition-2"}
	absentGoldens   = []string{"absent-empty-4", "absent-other-4", "absent-7", "absent-16"}
)

// fieldFlips returns the bit flips of every hash-like field of golden receipt file: hashes, record
// fields, proof entries, checkpoint roots and signatures, in the receipt and in its transitions.
func fieldFlips(t *testing.T, file string) []mutation {
	r, _ := loadGolden(t, file)
	anchored := r.State == receipt.StateAnchored
	var ms []mutation
	add := func(name string, bits []int, field func(r *receipt.Receipt) []byte, want []error, proofs error) {
		ms = append(ms, flips(name, file, bits, field, want, proofs)...)
	}
	rootErr := receipt.ErrRootMismatch

	if anchored {
		add("doc hash", hashBits, func(r *receipt.Receipt) []byte { return r.DocHash[:] }, errs(receipt.ErrRecord), receipt.ErrRecord)
		add("record doc hash", hashBits, func(r *receipt.Receipt) []byte { return r.Record.DocHash[:] }, errs(receipt.ErrRecord), receipt.ErrRecord)
		for _, bit := range hashBits {
			ms = append(ms, mutation{
				name: fmt.Sprintf("doc hash and record doc hash bit %d flipped", bit), file: file,
				mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
					flipBit(r.DocHash[:], bit)
					flipBit(r.Record.DocHash[:], bit)
				},
				want: errs(rootErr), proofs: rootErr,
			})
		}
		add("record signer", hashBits, func(r *receipt.Receipt) []byte { return r.Record.Signer[:] }, errs(rootErr), rootErr)
		add("record tx hash", hashBits, func(r *receipt.Receipt) []byte { return r.Record.TxHash[:] }, errs(rootErr), rootErr)
		if r.Record.MetaDigest != nil {
			add("record metadata digest", hashBits, func(r *receipt.Receipt) []byte { return r.Record.MetaDigest[:] }, errs(rootErr), rootErr)
		}
		for i := range r.LogProof {
			add(fmt.Sprintf("log proof[%d]", i), hashBits, func(r *receipt.Receipt) []byte { return r.LogProof[i][:] },
				errs(receipt.ErrLogProof), receipt.ErrLogProof)
		}
		add("checkpoint log root", hashBits, func(r *receipt.Receipt) []byte { return r.Checkpoint.LogRoot[:] },
			errs(receipt.ErrSignature), receipt.ErrLogProof)
	} else {
		// An absence receipt does not involve the log: only the signatures cover the log root.
		add("checkpoint log root", hashBits, func(r *receipt.Receipt) []byte { return r.Checkpoint.LogRoot[:] },
			errs(receipt.ErrSignature), nil)
	}
	for i := range r.MapProof.Siblings {
		add(fmt.Sprintf("map proof sibling[%d]", i), hashBits, func(r *receipt.Receipt) []byte { return r.MapProof.Siblings[i][:] },
			errs(rootErr), rootErr)
	}
	if r.MapProof.Terminal.Kind == receipt.TerminalOther {
		depth := len(r.MapProof.Siblings)
		for _, bit := range hashBits {
			// Off the queried key's prefix, the other leaf cannot stand where the proof puts it.
			want := error(receipt.ErrProofShape)
			if bit >= depth {
				want = rootErr
			}
			ms = append(ms, flips("map proof other leaf key", file, []int{bit},
				func(r *receipt.Receipt) []byte { return r.MapProof.Terminal.Key[:] }, errs(want), want)...)
		}
		add("map proof other leaf value", hashBits, func(r *receipt.Receipt) []byte { return r.MapProof.Terminal.Value[:] },
			errs(rootErr), rootErr)
	}
	add("checkpoint map root", hashBits, func(r *receipt.Receipt) []byte { return r.Checkpoint.MapRoot[:] },
		errs(receipt.ErrSignature), rootErr)
	add("checkpoint validators", hashBits, func(r *receipt.Receipt) []byte { return r.Checkpoint.Validators[:] },
		errs(receipt.ErrValidatorSet), nil)
	add("checkpoint next validators", hashBits, func(r *receipt.Receipt) []byte { return r.Checkpoint.NextValidators[:] },
		errs(receipt.ErrSignature), nil)
	for i := range r.Signatures.Sigs {
		add(fmt.Sprintf("signature[%d]", i), sigBits, func(r *receipt.Receipt) []byte { return r.Signatures.Sigs[i].Signature[:] },
			errs(receipt.ErrSignature), nil)
	}
	for k, tr := range r.Transitions {
		tn := fmt.Sprintf("transition[%d] ", k)
		terr := func(e error) []error { return errs(receipt.ErrTransitions, e) }
		add(tn+"checkpoint log root", hashBits, func(r *receipt.Receipt) []byte { return r.Transitions[k].Checkpoint.LogRoot[:] },
			terr(receipt.ErrSignature), nil)
		add(tn+"checkpoint map root", hashBits, func(r *receipt.Receipt) []byte { return r.Transitions[k].Checkpoint.MapRoot[:] },
			terr(receipt.ErrSignature), nil)
		add(tn+"checkpoint validators", hashBits, func(r *receipt.Receipt) []byte { return r.Transitions[k].Checkpoint.Validators[:] },
			terr(receipt.ErrValidatorSet), nil)
		add(tn+"checkpoint next validators", hashBits, func(r *receipt.Receipt) []byte { return r.Transitions[k].Checkpoint.NextValidators[:] },
			terr(receipt.ErrSignature), nil)
		for i := range tr.Signatures.Sigs {
			add(fmt.Sprintf("%ssignature[%d]", tn, i), sigBits, func(r *receipt.Receipt) []byte { return r.Transitions[k].Signatures.Sigs[i].Signature[:] },
				terr(receipt.ErrSignature), nil)
		}
		for i := range tr.Next {
			for _, m := range flips(fmt.Sprintf("%snext validator[%d] key", tn, i), file, hashBits,
				func(r *receipt.Receipt) []byte { return r.Transitions[k].Next[i].PubKey[:] }, errs(receipt.ErrTransitions), nil) {
				m.msg = "next set does not match the signed hash"
				ms = append(ms, m)
			}
		}
	}
	return ms
}

// outsiderSig is a signature on c by a key that is no validator's, over exactly the bytes a validator signs.
func outsiderSig(c *receipt.Checkpoint, round int32) [64]byte {
	return goldenSign(goldenKey("outsider"), c, round)
}

// signingSet returns the golden validator set that signed c, with its keys.
func signingSet(t *testing.T, c *receipt.Checkpoint) *goldenValidators {
	t.Helper()
	ch, ok := goldenOnce().chains[c.ChainID]
	if !ok {
		t.Fatalf("no golden chain %q", c.ChainID)
	}
	return ch.vals[c.Height]
}

// missing returns the index of a validator of v that did not sign sigs.
func missing(v *goldenValidators, sigs receipt.Signatures) int {
	for i := range v.set {
		if !slices.ContainsFunc(sigs.Sigs, func(s receipt.Sig) bool { return int(s.Validator) == i }) {
			return i
		}
	}
	panic("every validator signed")
}

// goldenField reads another golden receipt, for mutations that splice in parts of it.
func goldenField[T any](t *testing.T, file string, get func(r *receipt.Receipt) T) T {
	r, _ := loadGolden(t, file)
	return get(r)
}

// structuralMutations are the hand-written cases: proofs cut or lengthened, indices and sizes moved,
// states and records swapped, signatures missing, repeated, foreign or for something else, trust roots
// and transitions tampered with, versions changed.
func structuralMutations(t *testing.T) []mutation {
	const a4 = "anchored-4"
	cp9 := goldenField(t, "absent-empty-4", func(r *receipt.Receipt) receipt.Checkpoint { return r.Checkpoint })
	sigs9 := goldenField(t, "absent-empty-4", func(r *receipt.Receipt) receipt.Signatures { return r.Signatures })
	rec0 := goldenField(t, "anchored-7", func(r *receipt.Receipt) receipt.Record { return *r.Record })
	otherProof := goldenField(t, "absent-other-4", func(r *receipt.Receipt) receipt.MapProof { return r.MapProof })
	emptyProof := goldenField(t, "absent-empty-4", func(r *receipt.Receipt) receipt.MapProof { return r.MapProof })
	trust7 := loadTrust(t, "genesis-7.json")
	rootErr := receipt.ErrRootMismatch

	ms := []mutation{
		// The log proof.
		{name: "log proof truncated", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogProof = r.LogProof[:len(r.LogProof)-1] },
			want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "log proof without its first entry", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogProof = r.LogProof[1:] },
			want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "log proof empty", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogProof = nil },
			want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "extra log proof entry (zero)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogProof = append(r.LogProof, [32]byte{}) },
			want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "extra log proof entry (the log root)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.LogProof = append(r.LogProof, r.Checkpoint.LogRoot)
		}, want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "extra log proof entry in front", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.LogProof = append([][32]byte{r.LogProof[0]}, r.LogProof...)
		}, want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		{name: "log proof entries swapped", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.LogProof[0], r.LogProof[1] = r.LogProof[1], r.LogProof[0]
		}, want: errs(receipt.ErrLogProof), proofs: receipt.ErrLogProof},
		// The log index is part of the map value, so the map proof catches it first.
		{name: "log index + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex++ },
			want: errs(rootErr), proofs: rootErr},
		{name: "log index - 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex-- },
			want: errs(rootErr), proofs: rootErr},
		{name: "log index ^ 2", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex ^= 2 },
			want: errs(rootErr), proofs: rootErr},
		{name: "log index at the log size", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex = r.Checkpoint.LogSize },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "log index huge", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex = 1 << 63 },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "log index of another document", file: "anchored-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.LogIndex = 437 },
			want: errs(rootErr), proofs: rootErr},
		// The log size is signed; without the signatures the log proof catches it.
		// An RFC 6962 inclusion proof does not commit to the log size: sizes for which the leaf's path has
		// the same shape (here 999 to 1024 for leaf 437) give the same root. Only the signature binds it.
		{name: "log size + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize++ },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "log size - 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize-- },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "log size past the next power of two", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize = 1025 },
			want: errs(receipt.ErrSignature), proofs: receipt.ErrLogProof},
		{name: "log size * 2", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize *= 2 },
			want: errs(receipt.ErrSignature), proofs: receipt.ErrLogProof},
		{name: "log size / 2", file: "anchored-16", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.LogSize /= 2 },
			want: errs(receipt.ErrSignature), proofs: receipt.ErrRecord},

		// The record.
		{name: "record for another doc hash", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { rec := rec0; r.Record = &rec },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "doc hash, record and log index of another document", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rec := rec0
			r.DocHash, r.Record, r.LogIndex = rec.DocHash, &rec, 0
		}, want: errs(rootErr), proofs: rootErr},
		{name: "record agency changed", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.Agency = "notary-berlin-4" },
			want: errs(rootErr), proofs: rootErr},
		{name: "record height - 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.Height-- },
			want: errs(rootErr), proofs: rootErr},
		{name: "record height beyond the checkpoint", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.Height = r.Checkpoint.Height + 1 },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "record time + 1ns", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.Time = r.Record.Time.Add(1) },
			want: errs(rootErr), proofs: rootErr},
		{name: "record tx index + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.TxIndex++ },
			want: errs(rootErr), proofs: rootErr},
		{name: "record entry + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.Entry++ },
			want: errs(rootErr), proofs: rootErr},
		{name: "record metadata digest removed", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.MetaDigest = nil },
			want: errs(rootErr), proofs: rootErr},
		{name: "record metadata digest added", file: "anchored-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Record.MetaDigest = &[32]byte{1} },
			want: errs(rootErr), proofs: rootErr},

		// The state.
		{name: "state anchored -> unknown, record kept", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.State = receipt.StateUnknown },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "state anchored -> unknown, record and log proof dropped", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.State, r.Record, r.LogIndex, r.LogProof = receipt.StateUnknown, nil, 0, nil
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "state anchored -> unknown with another document's absence proof (other leaf)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.State, r.Record, r.LogIndex, r.LogProof, r.MapProof = receipt.StateUnknown, nil, 0, nil, otherProof
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "state anchored -> unknown with another document's absence proof (empty)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.State, r.Record, r.LogIndex, r.LogProof, r.MapProof = receipt.StateUnknown, nil, 0, nil, emptyProof
		}, want: errs(rootErr), proofs: rootErr},
		{name: "state unknown -> anchored without a record", file: "absent-empty-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.State = receipt.StateAnchored },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "state unknown -> anchored with a forged record (empty terminal)", file: "absent-empty-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rec := rec0
			rec.DocHash = r.DocHash
			r.State, r.Record = receipt.StateAnchored, &rec
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "state unknown -> anchored with a forged record (other leaf)", file: "absent-other-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rec := rec0
			rec.DocHash = r.DocHash
			r.State, r.Record = receipt.StateAnchored, &rec
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "state unknown -> anchored, the other leaf's key claimed", file: "absent-other-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rec := rec0
			rec.DocHash = r.MapProof.Terminal.Key
			r.DocHash, r.State, r.Record = rec.DocHash, receipt.StateAnchored, &rec
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "state 2", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.State = 2 },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "state 255 on an absence receipt", file: "absent-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.State = 255 },
			want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "absence receipt carrying a record", file: "absent-empty-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			rec := rec0
			rec.DocHash = r.DocHash
			r.Record = &rec
		}, want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},
		{name: "absence receipt carrying a log proof", file: "absent-other-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.LogProof = [][32]byte{{1}}
		}, want: errs(receipt.ErrRecord), proofs: receipt.ErrRecord},

		// The map proof.
		{name: "map proof terminal match -> empty", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.MapProof.Terminal.Kind = receipt.TerminalEmpty },
			want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "map proof terminal empty -> match", file: "absent-empty-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.MapProof.Terminal.Kind = receipt.TerminalMatch },
			want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "map proof terminal other -> empty", file: "absent-other-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.MapProof.Terminal = receipt.Terminal{Kind: receipt.TerminalEmpty}
		}, want: errs(rootErr), proofs: rootErr},
		{name: "map proof other leaf is the queried key", file: "absent-other-4", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.MapProof.Terminal.Key = r.DocHash
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "map proof without its top sibling", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.MapProof.Siblings = r.MapProof.Siblings[1:] },
			want: errs(rootErr), proofs: rootErr},
		{name: "map proof with an extra sibling", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.MapProof.Siblings = append(r.MapProof.Siblings, r.Checkpoint.MapRoot)
		}, want: errs(rootErr), proofs: rootErr},
		{name: "map proof with an empty last sibling", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.MapProof.Siblings = append(r.MapProof.Siblings, [32]byte{})
		}, want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},
		{name: "map proof of another document", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.MapProof = otherProof },
			want: errs(receipt.ErrProofShape), proofs: receipt.ErrProofShape},

		// The checkpoint.
		{name: "checkpoint chain ID changed", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.ChainID = "siegel-golden-5" },
			want: errs(receipt.ErrChain), proofs: nil},
		{name: "trust root chain ID changed", file: a4, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) { tr.ChainID = "siegel-golden-5" },
			want: errs(receipt.ErrChain), proofs: nil},
		{name: "chain ID changed in the checkpoint and the trust root", file: a4, mutate: func(r *receipt.Receipt, tr *receipt.TrustRoot) {
			r.Checkpoint.ChainID, tr.ChainID = "siegel-golden-5", "siegel-golden-5"
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "checkpoint height + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.Height++ },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "checkpoint height below the record's", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.Height = r.Record.Height - 1 },
			want: errs(receipt.ErrSignature), proofs: receipt.ErrRecord},
		{name: "checkpoint time + 1ns", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint.Time = r.Checkpoint.Time.Add(1) },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "checkpoint of another height, signatures kept", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Checkpoint = cp9 },
			want: errs(receipt.ErrSignature), proofs: rootErr},
		{name: "checkpoint and signatures of another height", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Checkpoint, r.Signatures = cp9, sigs9
		}, want: errs(rootErr), proofs: rootErr},

		// The signatures.
		{name: "signatures of another height's checkpoint (swapped checkpoint)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures = sigs9 },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "signatures of another height's checkpoint, round kept", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures.Sigs = sigs9.Sigs
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "signatures of another chain", file: "anchored-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures = goldenField(t, "anchored-16", func(r *receipt.Receipt) receipt.Signatures { return r.Signatures })
			r.Signatures.Sigs = r.Signatures.Sigs[:5]
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "round + 1", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Round++ },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "round - 1", file: "absent-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Round-- },
			want: errs(receipt.ErrSignature), proofs: nil},
		{name: "quorum one vote short (2 of 4)", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs = r.Signatures.Sigs[:2] },
			want: errs(receipt.ErrNoQuorum), proofs: nil, msg: "20 of 40"},
		{name: "quorum one vote short (4 of 7)", file: "anchored-7", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs = r.Signatures.Sigs[1:] },
			want: errs(receipt.ErrNoQuorum), proofs: nil, msg: "40 of 70"},
		{name: "quorum one vote short (10 of 16)", file: "anchored-16", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs = r.Signatures.Sigs[:10] },
			want: errs(receipt.ErrNoQuorum), proofs: nil, msg: "100 of 160"},
		{name: "no signatures", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs = nil },
			want: errs(receipt.ErrNoQuorum), proofs: nil},
		{name: "duplicated signer", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs[2] = r.Signatures.Sigs[0] },
			want: errs(receipt.ErrSignature), proofs: nil, msg: "signed twice"},
		{name: "duplicated signer making up the quorum", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures.Sigs = append(r.Signatures.Sigs[:2], r.Signatures.Sigs[1])
		}, want: errs(receipt.ErrSignature), proofs: nil, msg: "signed twice"},
		{name: "validator index out of range", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs[0].Validator = 4 },
			want: errs(receipt.ErrSignature), proofs: nil, msg: "out of range"},
		{name: "validator index 65535", file: "anchored-16", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Signatures.Sigs[3].Validator = 65535 },
			want: errs(receipt.ErrSignature), proofs: nil, msg: "out of range"},
		{name: "signature attributed to another validator", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures.Sigs[0].Validator = uint16(missing(signingSet(t, &r.Checkpoint), r.Signatures))
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "signature from a non-validator key", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures.Sigs[1].Signature = outsiderSig(&r.Checkpoint, r.Signatures.Round)
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "non-validator signature under the missing validator's index", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			i := missing(signingSet(t, &r.Checkpoint), r.Signatures)
			r.Signatures.Sigs = append(r.Signatures.Sigs[:2], receipt.Sig{Validator: uint16(i), Signature: outsiderSig(&r.Checkpoint, r.Signatures.Round)})
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "more signatures than validators", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures.Sigs = append(r.Signatures.Sigs, r.Signatures.Sigs...)
		}, want: errs(receipt.ErrSignature), proofs: nil, msg: "6 signatures for 4 validators"},
		{name: "a validator's signature made in another round", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			s := &r.Signatures.Sigs[1]
			s.Signature = goldenSign(v.keys[s.Validator], &r.Checkpoint, r.Signatures.Round+1)
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "a validator's signature on the checkpoint of another height", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			s := &r.Signatures.Sigs[1]
			s.Signature = goldenSign(v.keys[s.Validator], &cp9, r.Signatures.Round)
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "a validator's signature on the bare checkpoint hash", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			s := &r.Signatures.Sigs[1]
			h := r.Checkpoint.Hash()
			copy(s.Signature[:], ed25519.Sign(v.keys[s.Validator], h[:]))
		}, want: errs(receipt.ErrSignature), proofs: nil},

		// The trust root.
		{name: "trust root of another chain's set", file: a4, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) { tr.Validators = trust7.Validators },
			want: errs(receipt.ErrValidatorSet), proofs: nil},
		{name: "trust root with a power changed", file: a4, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) { tr.Validators[0].Power++ },
			want: errs(receipt.ErrValidatorSet), proofs: nil},
		{name: "trust root not in canonical order", file: a4, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) {
			tr.Validators[0], tr.Validators[1] = tr.Validators[1], tr.Validators[0]
		}, want: errs(receipt.ErrValidatorSet), proofs: nil, msg: "ascending key order"},
		{name: "trust root empty", file: a4, mutate: func(_ *receipt.Receipt, tr *receipt.TrustRoot) { tr.Validators = nil },
			want: errs(receipt.ErrValidatorSet), proofs: nil},

		// The transitions.
		{name: "transition signed by too little power", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			s := &r.Transitions[0].Signatures
			s.Sigs = s.Sigs[:len(s.Sigs)-1]
		}, want: errs(receipt.ErrTransitions, receipt.ErrNoQuorum), proofs: nil},
		{name: "second transition signed by too little power", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			s := &r.Transitions[1].Signatures
			s.Sigs = s.Sigs[1:]
		}, want: errs(receipt.ErrTransitions, receipt.ErrNoQuorum), proofs: nil, msg: "transition 1"},
		{name: "transition without signatures", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Transitions[0].Signatures.Sigs = nil },
			want: errs(receipt.ErrTransitions, receipt.ErrNoQuorum), proofs: nil},
		{name: "transition signed by the new set", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Signatures = r.Transitions[1].Signatures
		}, want: errs(receipt.ErrTransitions, receipt.ErrSignature), proofs: nil},
		{name: "transition whose next set does not match the signed hash (power)", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Next[0].Power++
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "next set does not match the signed hash"},
		{name: "transition whose next set does not match the signed hash (a validator removed)", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Next = r.Transitions[0].Next[1:]
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "next set does not match the signed hash"},
		{name: "transition naming the trusted set instead", file: "transition-1", mutate: func(r *receipt.Receipt, tr *receipt.TrustRoot) {
			r.Transitions[0].Next = tr.Validators
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "next set does not match the signed hash"},
		{name: "transition's next hash re-pointed at the set that follows", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Next = r.Transitions[1].Next
			r.Transitions[0].Checkpoint.NextValidators = r.Transitions[1].Next.Hash()
			r.Transitions = r.Transitions[:1]
		}, want: errs(receipt.ErrTransitions, receipt.ErrSignature), proofs: nil},
		{name: "transitions out of order (swapped)", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0], r.Transitions[1] = r.Transitions[1], r.Transitions[0]
		}, want: errs(receipt.ErrTransitions, receipt.ErrValidatorSet), proofs: nil, msg: "transition 0"},
		{name: "transitions out of order (repeated)", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions = append(r.Transitions, r.Transitions[0])
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "out of order"},
		{name: "transitions out of order (first repeated after the second)", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions = append(r.Transitions, r.Transitions[0])
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "out of order"},
		{name: "transition at the checkpoint's height", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Checkpoint.Height = r.Checkpoint.Height
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "out of order"},
		{name: "transition after the checkpoint", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions = goldenField(t, "transition-2", func(r *receipt.Receipt) []receipt.Transition { return r.Transitions[1:] })
		}, want: errs(receipt.ErrTransitions), proofs: nil, msg: "out of order"},
		{name: "transition of another chain", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Checkpoint.ChainID = "siegel-golden-7"
		}, want: errs(receipt.ErrTransitions, receipt.ErrChain), proofs: nil},
		{name: "transition's checkpoint height changed", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions[0].Checkpoint.Height--
		}, want: errs(receipt.ErrTransitions, receipt.ErrSignature), proofs: nil},
		{name: "transitions dropped", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Transitions = nil },
			want: errs(receipt.ErrValidatorSet), proofs: nil},
		{name: "last transition dropped", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Transitions = r.Transitions[:1] },
			want: errs(receipt.ErrValidatorSet), proofs: nil},
		{name: "first transition dropped", file: "transition-2", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Transitions = r.Transitions[1:] },
			want: errs(receipt.ErrTransitions, receipt.ErrValidatorSet), proofs: nil},
		{name: "checkpoint signatures of the old set after a transition", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Signatures = goldenField(t, a4, func(r *receipt.Receipt) receipt.Signatures { return r.Signatures })
		}, want: errs(receipt.ErrSignature), proofs: nil},
		{name: "too many transitions", file: "transition-1", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) {
			r.Transitions = slices.Repeat(r.Transitions, receipt.MaxTransitions+1)
		}, want: errs(receipt.ErrTransitions), proofs: nil},

		// The version.
		{name: "version 2", file: a4, mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Version = 2 },
			want: errs(receipt.ErrVersion), proofs: receipt.ErrVersion},
		{name: "version 0", file: "absent-16", mutate: func(r *receipt.Receipt, _ *receipt.TrustRoot) { r.Version = 0 },
			want: errs(receipt.ErrVersion), proofs: receipt.ErrVersion},
	}
	// The first bits of an absent document's hash choose the path the proof follows.
	for _, file := range absentGoldens {
		r, _ := loadGolden(t, file)
		want := error(rootErr)
		if r.MapProof.Terminal.Kind == receipt.TerminalOther {
			want = receipt.ErrProofShape // the other leaf no longer shares the key's prefix
		}
		ms = append(ms, flips("absent doc hash", file, []int{0, len(r.MapProof.Siblings) - 1},
			func(r *receipt.Receipt) []byte { return r.DocHash[:] }, errs(want), want)...)
	}
	return ms
}

// TestVerifyRejectsMutations runs every mutation on a fresh copy of its golden receipt.
func TestVerifyRejectsMutations(t *testing.T) {
	var ms []mutation
	for _, f := range append(slices.Clone(anchoredGoldens), absentGoldens...) {
		ms = append(ms, fieldFlips(t, f)...)
	}
	ms = append(ms, structuralMutations(t)...)
	runMutations(t, ms)
}

// runMutations applies each mutation to a fresh copy of its golden receipt and checks Verify's and
// VerifyProofs' errors: each must be rejected with its sentinel.
func runMutations(t *testing.T, ms []mutation) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range ms {
		name := m.file + "/" + m.name
		if seen[name] {
			t.Fatalf("two mutations named %q", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			r, trust := loadGolden(t, m.file)
			orig, origTrust := loadGolden(t, m.file)
			m.mutate(r, &trust)
			if reflect.DeepEqual(r, orig) && reflect.DeepEqual(trust, origTrust) {
				t.Fatalf("the mutation changed nothing")
			}
			res, err := receipt.Verify(r, trust)
			if err == nil {
				t.Fatalf("Verify accepted the mutated receipt: %+v", res)
			}
			for _, w := range m.want {
				if !errors.Is(err, w) {
					t.Errorf("Verify = %v, want an error wrapping %v", err, w)
				}
			}
			if m.msg != "" && !strings.Contains(err.Error(), m.msg) {
				t.Errorf("Verify = %v, want it to say %q", err, m.msg)
			}
			if !reflect.DeepEqual(res, receipt.Result{}) {
				t.Errorf("Verify returned %+v with its error, want the zero Result", res)
			}
			_, perr := receipt.VerifyProofs(r)
			switch {
			case m.proofs == nil && perr != nil:
				t.Errorf("VerifyProofs = %v, want success: the mutation touches only what the signatures cover", perr)
			case m.proofs != nil && !errors.Is(perr, m.proofs):
				t.Errorf("VerifyProofs = %v, want an error wrapping %v", perr, m.proofs)
			}
		})
	}
	t.Logf("%d mutations", len(ms))
}

// TestVerifyAcceptsVariants lists the changes that must NOT break a receipt: they leave what it proves
// as it was.
func TestVerifyAcceptsVariants(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		mutate func(t *testing.T, r *receipt.Receipt, trust *receipt.TrustRoot)
	}{
		{"signatures in another order", "anchored-16", func(t *testing.T, r *receipt.Receipt, _ *receipt.TrustRoot) {
			slices.Reverse(r.Signatures.Sigs)
		}},
		{"every validator signs", "anchored-7", func(t *testing.T, r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			r.Signatures = v.sign(&r.Checkpoint, r.Signatures.Round, seq(0, len(v.set)))
		}},
		{"another quorum signs", "anchored-4", func(t *testing.T, r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			r.Signatures = v.sign(&r.Checkpoint, r.Signatures.Round, []int{1, 2, 3})
		}},
		{"signed in a later round", "anchored-4", func(t *testing.T, r *receipt.Receipt, _ *receipt.TrustRoot) {
			v := signingSet(t, &r.Checkpoint)
			r.Signatures = v.sign(&r.Checkpoint, 7, v.signers(r.Checkpoint.Height))
		}},
		{"trust root with extra fields and validators out of order in the genesis file", "anchored-4", func(t *testing.T, _ *receipt.Receipt, tr *receipt.TrustRoot) {
			b, err := os.ReadFile(filepath.Join(goldenDir, "genesis-4.json"))
			if err != nil {
				t.Fatal(err)
			}
			var g map[string]any
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			vs := g["validators"].([]any)
			slices.Reverse(vs)
			g["consensus_params"] = map[string]any{"block": map[string]any{"max_bytes": "22020096"}}
			b, _ = json.Marshal(g)
			if *tr, err = receipt.TrustRootFromGenesis(b); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, trust := loadGolden(t, tc.file)
			want, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, r, &trust)
			got, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatalf("Verify = %v, want success", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

// TestAbsenceProofCoversItsPrefix documents why a changed document hash can still verify as absent: an
// absence proof shows that the subtree where the walk stopped holds no key but the other leaf's, so it
// shows the absence of every key below the same prefix. The receipt then proves a true statement
// about another document, which the truth check confirms.
func TestAbsenceProofCoversItsPrefix(t *testing.T) {
	for _, file := range absentGoldens {
		t.Run(file, func(t *testing.T) {
			r, trust := loadGolden(t, file)
			flipBit(r.DocHash[:], 255) // the deepest bit: below the depth of any proof of a small map
			if r.MapProof.Terminal.Key == r.DocHash {
				t.Skip("the flip lands on the other leaf's key")
			}
			res, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatalf("Verify = %v, want success: the flipped hash shares the proof's prefix", err)
			}
			if err := goldenOnce().truth(res, trust); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDecodeJSONRejects changes the bytes of a golden receipt file.
func TestDecodeJSONRejects(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(goldenDir, "anchored-4.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := loadGolden(t, "anchored-4")
	// 2^64 ns later, UnixNano (and so every encoding) wraps around to the same value.
	wrapped := func(s string) string {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return time.Unix(tm.Unix()+18446744073, int64(tm.Nanosecond())+709551616).UTC().Format(time.RFC3339Nano)
	}
	recTime := r.Record.Time.Format(time.RFC3339Nano)
	cpTime := r.Checkpoint.Time.Format(time.RFC3339Nano)
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("%q is not in the file", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	docHex := hex.EncodeToString(r.DocHash[:])
	tests := []struct {
		name   string
		change func(string) string
		want   error // of DecodeJSON, or of Verify when DecodeJSON accepts
	}{
		{"trailing garbage", func(s string) string { return s + "x" }, receipt.ErrJSON},
		{"trailing second object", func(s string) string { return s + "{}" }, receipt.ErrJSON},
		{"trailing null", func(s string) string { return s + "null" }, receipt.ErrJSON},
		{"truncated", func(s string) string { return s[:len(s)/2] }, receipt.ErrJSON},
		{"empty", func(string) string { return "" }, receipt.ErrJSON},
		{"unknown field", replace(`"version": 1,`, `"version": 1, "comment": "",`), receipt.ErrJSON},
		{"format changed", replace(`"siegel-receipt"`, `"siegel-receipt2"`), receipt.ErrJSON},
		{"version 2", replace(`"version": 1,`, `"version": 2,`), receipt.ErrVersion},
		{"state misspelt", replace(`"state": "anchored"`, `"state": "Anchored"`), receipt.ErrJSON},
		{"state unknown, record kept", replace(`"state": "anchored"`, `"state": "unknown"`), receipt.ErrRecord},
		{"doc hash one digit short", replace(`"doc_hash": "`+docHex, `"doc_hash": "`+docHex[1:]), receipt.ErrJSON},
		{"doc hash not hex", replace(`"doc_hash": "`+docHex[:1], `"doc_hash": "g`), receipt.ErrJSON},
		{"log without record", func(s string) string {
			i, j := strings.Index(s, `"record": {`), strings.Index(s, `"log": {`)
			return s[:i] + s[j:]
		}, receipt.ErrJSON},
		{"signature of 63 bytes", func(s string) string {
			var j map[string]any
			json.Unmarshal([]byte(s), &j)
			sig := j["signatures"].(map[string]any)["sigs"].([]any)[0].(map[string]any)
			sig["signature"] = sig["signature"].(string)[:84]
			b, _ := json.Marshal(j)
			return string(b)
		}, receipt.ErrJSON},
		{"map proof not base64", replace(`"map_proof": "`, `"map_proof": "*`), receipt.ErrJSON},
		{"map proof with a byte more", func(s string) string {
			b := r.MapProof.Encode()
			return strings.Replace(s, receipt.Base64.EncodeToString(b), receipt.Base64.EncodeToString(append(b, 0)), 1)
		}, receipt.ErrJSON},
		{"empty chain ID", replace(`"chain_id": "siegel-golden-4"`, `"chain_id": ""`), receipt.ErrJSON},
		{"record time wrapped around int64 nanoseconds", replace(recTime, wrapped(recTime)), receipt.ErrJSON},
		{"checkpoint time wrapped around int64 nanoseconds", replace(cpTime, wrapped(cpTime)), receipt.ErrJSON},
		{"record time before 1678", replace(recTime, "1600-01-01T00:00:00Z"), receipt.ErrJSON},
		{"record time not RFC 3339", replace(recTime, "2025-03-03 08:00:30Z"), receipt.ErrJSON},
		{"negative height", replace(`"height": 5,`, `"height": -5,`), receipt.ErrJSON},
		{"log index as a string", replace(`"index": 437,`, `"index": "437",`), receipt.ErrJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.change(string(file)))
			got, err := receipt.DecodeJSON(b)
			if err == nil {
				trust := loadTrust(t, "genesis-4.json")
				var res receipt.Result
				if res, err = receipt.Verify(got, trust); err == nil {
					t.Fatalf("DecodeJSON and Verify accepted the changed file: %+v", res)
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.want)
			}
		})
	}
}

// TestDecodeJSONAcceptsVariants lists the changes to a receipt file that the decoder tolerates; each
// gives the same receipt.
func TestDecodeJSONAcceptsVariants(t *testing.T) {
	file, err := os.ReadFile(filepath.Join(goldenDir, "anchored-4.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := loadGolden(t, "anchored-4")
	docHex := hex.EncodeToString(r.DocHash[:])
	cpTime := r.Checkpoint.Time.Format(time.RFC3339Nano)
	tests := []struct {
		name   string
		change func(string) string
	}{
		{"compacted", func(s string) string {
			var b bytes.Buffer
			json.Compact(&b, []byte(s))
			return b.String()
		}},
		{"trailing white space", func(s string) string { return s + " \n\t" }},
		{"upper-case hex", func(s string) string { return strings.Replace(s, docHex, strings.ToUpper(docHex), 1) }},
		{"time in another zone", func(s string) string {
			return strings.Replace(s, cpTime, r.Checkpoint.Time.In(time.FixedZone("", 3600)).Format(time.RFC3339Nano), 1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := receipt.DecodeJSON([]byte(tc.change(string(file))))
			if err != nil {
				t.Fatalf("DecodeJSON = %v", err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("DecodeJSON = %+v, want %+v", got, r)
			}
		})
	}
}

// compactSentinel returns the error DecodeCompact must give for the compact form of r cut to its first
// cut bytes: that of the field the cut falls in. A cut in the header, the checkpoint, the signatures or
// the transitions gives ErrMalformed, one in the record (with its length) ErrMalformedRecord, and one in
// the log index, the log proof or the map proof ErrMalformedMapProof (the map proof is then read short).
func compactSentinel(r *receipt.Receipt, cut int) error {
	header := 2 + 1 + 1 + 32
	if cut < header {
		return receipt.ErrMalformed
	}
	at := header
	if r.Record != nil {
		at += 2 + len(r.Record.Encode())
		if cut < at {
			return receipt.ErrMalformedRecord
		}
		at += 8 + 1 + 32*len(r.LogProof)
	}
	at += 2 + len(r.MapProof.Encode())
	if cut < at {
		return receipt.ErrMalformedMapProof
	}
	return receipt.ErrMalformed
}

// TestDecodeCompactRejects cuts the compact form of every golden receipt at every length and appends
// garbage: the decoder must fail, with the sentinel of the field the cut falls in.
func TestDecodeCompactRejects(t *testing.T) {
	for _, gr := range goldenOnce().receipts {
		t.Run(gr.Name, func(t *testing.T) {
			r, _ := loadGolden(t, gr.Name)
			b := r.EncodeCompact()
			for n := range len(b) {
				_, err := receipt.DecodeCompact(b[:n])
				if want := compactSentinel(r, n); !errors.Is(err, want) {
					t.Fatalf("DecodeCompact(first %d of %d bytes) = %v, want an error wrapping %v", n, len(b), err, want)
				}
			}
			for _, tail := range [][]byte{{0}, {0xff}, b} {
				if _, err := receipt.DecodeCompact(append(slices.Clone(b), tail...)); !errors.Is(err, receipt.ErrMalformed) {
					t.Fatalf("DecodeCompact(receipt + %d bytes) = %v, want ErrMalformed", len(tail), err)
				}
			}
			bad := slices.Clone(b)
			bad[0] = 'X'
			if _, err := receipt.DecodeCompact(bad); !errors.Is(err, receipt.ErrMalformed) {
				t.Fatalf("DecodeCompact(bad magic) = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestCompactBitFlips flips a bit in every byte of the compact form of golden receipts (bit i mod 8 of
// byte i; FuzzVerify goes further): each changed receipt must fail to decode or to verify, unless what it proves is still
// true of the golden chain (an absence proof covers its prefix; see TestAbsenceProofCoversItsPrefix).
func TestCompactBitFlips(t *testing.T) {
	g := goldenOnce()
	for _, name := range []string{"anchored-4", "absent-other-4", "absent-empty-4", "transition-2"} {
		t.Run(name, func(t *testing.T) {
			r, trust := loadGolden(t, name)
			b := r.EncodeCompact()
			accepted, tried := 0, 0
			for bit := range 8 * len(b) {
				if bit%8 != (bit/8)%8 {
					continue
				}
				tried++
				m := slices.Clone(b)
				flipBit(m, bit)
				mr, err := receipt.DecodeCompact(m)
				if err != nil {
					continue
				}
				res, err := receipt.Verify(mr, trust)
				if err != nil {
					continue
				}
				accepted++
				if err := g.truth(res, trust); err != nil {
					t.Fatalf("bit %d flipped: Verify accepted a false receipt: %v", bit, err)
				}
				if r.State == receipt.StateAnchored {
					t.Fatalf("bit %d flipped: Verify accepted a changed anchor receipt", bit)
				}
			}
			t.Logf("%d bit flips of %d verified, each a true statement", accepted, tried)
		})
	}
}
