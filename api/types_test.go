package api

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseHash(t *testing.T) {
	valid := hexOf(docHash(1))
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"lower-case", valid, true},
		{"upper-case", strings.ToUpper(valid), true},
		{"mixed case", strings.ToUpper(valid[:32]) + valid[32:], true},
		{"zero hash", strings.Repeat("0", 64), true},
		{"empty", "", false},
		{"63 digits", valid[:63], false},
		{"65 digits", valid + "0", false},
		{"128 digits", valid + valid, false},
		{"non-hex letter", "g" + valid[1:], false},
		{"non-hex at end", valid[:63] + "z", false},
		{"0x prefix", "0x" + valid[:62], false},
		{"leading space", " " + valid[1:], false},
		{"trailing newline", valid[:63] + "\n", false},
		{"multi-byte rune", valid[:62] + "é", false}, // 64 bytes, 63 characters
		{"script", "<script>alert(1)</script>" + strings.Repeat("0", 39), false},
		{"NUL", valid[:63] + "\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHash(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseHash(%q) err = %v, want ok %v", tc.in, err, tc.ok)
			}
			if tc.ok {
				if want, _ := hex.DecodeString(tc.in); string(h[:]) != string(want) {
					t.Errorf("ParseHash(%q) = %x", tc.in, h)
				}
				return
			}
			if strings.Contains(err.Error(), "<") || (len(tc.in) > 8 && strings.Contains(err.Error(), tc.in)) {
				t.Errorf("error echoes the input: %v", err)
			}
		})
	}
}

func TestHexBytesJSON(t *testing.T) {
	b, err := json.Marshal(struct{ H HexBytes }{HexBytes{0xDE, 0xAD, 0x00}})
	if err != nil || string(b) != `{"H":"dead00"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var v struct{ H HexBytes }
	if err := json.Unmarshal([]byte(`{"H":"DEAD00"}`), &v); err != nil || hex.EncodeToString(v.H) != "dead00" {
		t.Errorf("unmarshal = %x, %v", v.H, err)
	}
	if err := json.Unmarshal([]byte(`{"H":"xyz"}`), &v); err == nil {
		t.Error("unmarshal of non-hex succeeded")
	}
}

func TestResultOf(t *testing.T) {
	for _, tc := range []struct {
		code         uint32
		status, name string
	}{
		{0, SubmitCommitted, "ok"},
		{7, SubmitRejected, "duplicate_hash"},
		{99, SubmitRejected, "code_99"},
	} {
		r := resultOf(TxOutcome{Hash: docHash(1), Height: 2, Code: tc.code})
		if r.Status != tc.status || r.CodeName != tc.name || r.Code != tc.code || r.TxHash != hexOf(docHash(1)) || r.Height != 2 {
			t.Errorf("resultOf(code %d) = %+v", tc.code, r)
		}
	}
}
