package receipt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
)

// Fuzz tests of the receipt decoders and of Verify, seeded with the golden receipts:
//
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecodeJSON -fuzztime=60s ./receipt
//	go test -tags pebbledb -run='^$' -fuzz=FuzzDecodeCompact -fuzztime=60s ./receipt
//	go test -tags pebbledb -run='^$' -fuzz=FuzzVerify -fuzztime=60s ./receipt
//
// Interesting inputs are kept in testdata/fuzz/<name> and run by plain go test.

// goldenFiles returns the contents of the golden files with the given suffix.
func goldenFiles(f *testing.F, suffix string) [][]byte {
	var out [][]byte
	for _, gr := range goldenOnce().receipts {
		b, err := os.ReadFile(filepath.Join(goldenDir, gr.Name+suffix))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func goldenCompacts() [][]byte {
	var out [][]byte
	for _, gr := range goldenOnce().receipts {
		out = append(out, gr.r.EncodeCompact())
	}
	return out
}

// goldenTrusts are the trust roots of the golden chains.
func goldenTrusts() []receipt.TrustRoot {
	var out []receipt.TrustRoot
	for _, c := range []string{"siegel-golden-4", "siegel-golden-7", "siegel-golden-16"} {
		out = append(out, goldenOnce().chains[c].trust())
	}
	return out
}

// checkAccepted verifies r under every golden trust root and fails t if Verify panics, or accepts r
// while it states something false of the chain (see goldenData.truth), or accepts an anchor receipt
// that is not one of the golden ones, or an absence receipt against a checkpoint no golden absence
// receipt uses. (A changed absence receipt may verify: its proof covers every key below its prefix.)
func checkAccepted(t *testing.T, r *receipt.Receipt) {
	g := goldenOnce()
	for _, trust := range goldenTrusts() {
		res, err := receipt.Verify(r, trust)
		if err != nil {
			continue
		}
		if err := g.truth(res, trust); err != nil {
			t.Fatalf("Verify accepted a false receipt: %v", err)
		}
		known := false
		for _, gr := range g.receipts {
			want := receipt.Result{DocHash: gr.r.DocHash, State: gr.r.State, Record: gr.r.Record, AsOf: gr.r.Checkpoint}
			switch {
			case gr.chain.chainID != trust.ChainID:
			case reflect.DeepEqual(res, want):
				known = true
			case res.State == receipt.StateUnknown && gr.r.State == receipt.StateUnknown &&
				reflect.DeepEqual(res.AsOf, gr.r.Checkpoint):
				known = true
			}
		}
		if !known {
			t.Fatalf("Verify accepted a receipt that differs from every golden one: %+v", res)
		}
	}
}

// compactable reports whether EncodeCompact can carry r: the record goes with the anchored and revoked
// states, the revocation with the revoked state, every next validator set is valid, and the signatures
// fit their 16-bit length field.
func compactable(r *receipt.Receipt) bool {
	withRecord := r.State == receipt.StateAnchored || r.State == receipt.StateRevoked
	if withRecord != (r.Record != nil) || (r.State == receipt.StateRevoked) != (r.Revocation != nil) ||
		len(r.LogProof) > 255 || len(r.Signatures.Sigs) > 900 {
		return false
	}
	for _, tr := range r.Transitions {
		if tr.Next.Validate() != nil || len(tr.Signatures.Sigs) > 900 {
			return false
		}
	}
	return true
}

// FuzzDecodeJSON checks that DecodeJSON never panics, fails only with ErrJSON, and that what it accepts
// survives json.Marshal and DecodeJSON unchanged (and EncodeCompact and DecodeCompact, where the compact
// form can carry it). Verify must not accept anything false.
func FuzzDecodeJSON(f *testing.F) {
	for _, b := range goldenFiles(f, ".json") {
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", `{"format":"siegel-receipt","version":1}`,
		`{"format":"siegel-receipt","version":1,"doc_hash":"` + string(bytes.Repeat([]byte("0"), 64)) + `","state":"unknown","map_proof":"AAAA"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, err := receipt.DecodeJSON(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeJSON modified its input")
		}
		if err != nil {
			if !errors.Is(err, receipt.ErrJSON) {
				t.Fatalf("DecodeJSON = %v, want an error wrapping ErrJSON", err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("json.Marshal(DecodeJSON(b)) = %v", err)
		}
		r2, err := receipt.DecodeJSON(out)
		if err != nil {
			t.Fatalf("DecodeJSON(json.Marshal(DecodeJSON(b))) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(r2, r) {
			t.Fatalf("DecodeJSON(json.Marshal(r)) = %+v, want %+v", r2, r)
		}
		if again, _ := json.Marshal(r2); !bytes.Equal(again, out) {
			t.Fatalf("json.Marshal is not a fixed point:\n%s\n%s", out, again)
		}
		if compactable(r) {
			r3, err := receipt.DecodeCompact(r.EncodeCompact())
			if err != nil {
				t.Fatalf("DecodeCompact(EncodeCompact(r)) = %v", err)
			}
			if !reflect.DeepEqual(r3, r) {
				t.Fatalf("DecodeCompact(EncodeCompact(r)) = %+v, want %+v", r3, r)
			}
		}
		checkAccepted(t, r)
	})
}

// FuzzDecodeCompact checks that DecodeCompact never panics, fails only with the decoders' sentinels, and
// accepts only canonical encodings: EncodeCompact gives back exactly the input.
func FuzzDecodeCompact(f *testing.F) {
	for _, b := range goldenCompacts() {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{"", "SR", "SR\x01\x00", "SR\x01\x01", "SR\x01\x02"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, err := receipt.DecodeCompact(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("DecodeCompact modified its input")
		}
		if err != nil {
			for _, e := range []error{receipt.ErrMalformed, receipt.ErrMalformedRecord, receipt.ErrMalformedMapProof, receipt.ErrValidatorSet} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("DecodeCompact = %v, want an error wrapping a decoding sentinel", err)
		}
		enc := r.EncodeCompact()
		if !bytes.Equal(enc, b) {
			t.Fatalf("DecodeCompact accepted a non-canonical encoding:\n  in %x\n out %x", b, enc)
		}
		r2, err := receipt.DecodeCompact(enc)
		if err != nil {
			t.Fatalf("DecodeCompact(EncodeCompact(DecodeCompact(b))) = %v", err)
		}
		if !reflect.DeepEqual(r2, r) {
			t.Fatalf("DecodeCompact(EncodeCompact(r)) = %+v, want %+v", r2, r)
		}
	})
}

// FuzzVerify mutates the compact forms of the golden receipts: Verify never panics, and whatever it
// accepts is semantically one of the golden receipts (an anchor receipt identical in doc hash, state,
// record and checkpoint; an absence receipt against the same checkpoint, for a document truly absent).
func FuzzVerify(f *testing.F) {
	for _, b := range goldenCompacts() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := receipt.DecodeCompact(b)
		if err != nil {
			return
		}
		checkAccepted(t, r)
		if _, err := receipt.VerifyProofs(r); err == nil {
			// Whatever VerifyProofs accepts, Verify must either accept or reject for want of trust.
			for _, trust := range goldenTrusts() {
				if _, err := receipt.Verify(r, trust); err != nil && !errors.Is(err, receipt.ErrSignature) &&
					!errors.Is(err, receipt.ErrNoQuorum) && !errors.Is(err, receipt.ErrValidatorSet) &&
					!errors.Is(err, receipt.ErrChain) && !errors.Is(err, receipt.ErrTransitions) {
					t.Fatalf("VerifyProofs accepts, Verify = %v", err)
				}
			}
		}
	})
}
