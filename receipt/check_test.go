package receipt_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
)

// TestCheckGolden: Check agrees with the golden manifest on every valid receipt (state, document, as-of
// height), and reports a named failure for a receipt under the wrong genesis, a flipped byte and
// garbage. The web page runs this same function compiled to WebAssembly (receipt/wasm).
func TestCheckGolden(t *testing.T) {
	dir := filepath.Join("testdata", "receipts")
	var m struct {
		Receipts []struct {
			Name, Genesis, State string
			DocHash              string `json:"doc_hash"`
			Height               uint64 `json:"checkpoint_height"`
		} `json:"receipts"`
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := json.Unmarshal(read("manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Receipts) == 0 {
		t.Fatal("empty manifest")
	}
	for _, g := range m.Receipts {
		rj, gj := read(g.Name+".json"), read(g.Genesis)
		s := receipt.Check(rj, gj)
		if !s.Valid || s.State != g.State || s.DocHash != g.DocHash || s.AsOfHeight != g.Height {
			t.Errorf("%s: %+v, want valid %s of %s at %d", g.Name, s, g.State, g.DocHash, g.Height)
		}
		if g.State != "unknown" && (s.Agency == "" || s.Time == nil || s.Height == 0) {
			t.Errorf("%s: no record in the summary: %+v", g.Name, s)
		}
		other := "genesis-16.json"
		if g.Genesis == other {
			other = "genesis-4.json"
		}
		if s := receipt.Check(rj, read(other)); s.Valid || s.ErrorKind != "chain" {
			t.Errorf("%s under %s: %+v, want a chain error", g.Name, other, s)
		}
	}
	rj, gj := read("anchored-4.json"), read("genesis-4.json")
	// A signature byte changed: the receipt decodes but the quorum fails.
	var raw map[string]any
	if err := json.Unmarshal(rj, &raw); err != nil {
		t.Fatal(err)
	}
	sig := raw["signatures"].(map[string]any)["sigs"].([]any)[0].(map[string]any)
	b := []byte(sig["signature"].(string))
	if b[0] = 'A'; sig["signature"] == "A"+string(b[1:]) { // another base64 character
		b[0] = 'B'
	}
	sig["signature"] = string(b)
	bad, _ := json.Marshal(raw)
	if s := receipt.Check(bad, gj); s.Valid || s.ErrorKind != "signatures" {
		t.Errorf("flipped signature: %+v, want a signatures error", s)
	}
	for _, c := range []struct{ r, g, kind string }{
		{"not json", string(gj), "decode"},
		{string(rj), "{}", "genesis"},
		{"", "", "decode"},
	} {
		if s := receipt.Check([]byte(c.r), []byte(c.g)); s.Valid || s.ErrorKind != c.kind || s.Error == "" {
			t.Errorf("Check(%.20q, %.20q) = %+v, want %s", c.r, c.g, s, c.kind)
		}
	}
}
