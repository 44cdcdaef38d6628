package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/siegel-notary/siegel/store"
)

// genesisJSON is the valid app_state of testGenesis; the table below edits it with strings.Replace.
func genesisJSON(t *testing.T) string {
	b, err := json.Marshal(testGenesis(testParams))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseGenesis(t *testing.T) {
	base := genesisJSON(t)
	k1, k2, k3 := pubKey(keyA1), pubKey(keyA2), pubKey(keyB)
	hk1, hk2, hk3 := hex.EncodeToString(k1[:]), hex.EncodeToString(k2[:]), hex.EncodeToString(k3[:])
	keysA := `["` + hk1 + `","` + hk2 + `"]`
	edit := func(old, repl string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("genesis has no %q", old)
		}
		return strings.Replace(base, old, repl, 1)
	}
	name := func(n string) string {
		b, _ := json.Marshal(n)
		return edit(`"Agency A"`, string(b))
	}
	id := func(n string) string {
		b, _ := json.Marshal(n)
		return edit(`"agency-a"`, string(b))
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"valid", base, true},
		{"valid, trailing whitespace", base + " \n\t", true},
		{"valid, no agencies", `{"params":{"max_batch":1,"max_ttl":1},"agencies":[]}`, true},
		{"valid, limits", `{"params":{"max_batch":10000,"max_ttl":1000000},"agencies":[]}`, true},
		{"valid, 64-character ID", id(strings.Repeat("a", 64)), true},
		{"valid, 200-byte name", name(strings.Repeat("é", 100)), true},
		{"valid, uppercase hex key", edit(hk1, strings.ToUpper(hk1)), true},

		{"unknown field", edit(`"agencies"`, `"paramz":{},"agencies"`), false},
		{"unknown params field", edit(`"max_ttl"`, `"max_tll":1,"max_ttl"`), false},
		{"unknown agency field", edit(`"name":"Agency A"`, `"name":"Agency A","url":"x"`), false},

		{"empty ID", id(""), false},
		{"uppercase ID", id("Agency-A"), false},
		{"ID starting with a hyphen", id("-agency"), false},
		{"ID with underscore", id("agency_a"), false},
		{"ID with space", id("agency a"), false},
		{"ID with newline", id("agency-a\n"), false},
		{"ID with non-ASCII", id("agència"), false},
		{"65-character ID", id(strings.Repeat("a", 65)), false},
		{"duplicate ID", edit(`"agency-b"`, `"agency-a"`), false},

		{"key of two agencies", edit(hk3, hk1), false},
		{"key twice in one agency", edit(`"`+hk1+`"`, `"`+hk1+`","`+hk1+`"`), false},
		{"no keys", edit(keysA, `[]`), false},
		{"null keys", edit(keysA, `null`), false},
		{"short key", edit(hk1, hk1[:62]), false},
		{"non-hex key", edit(hk1, strings.Repeat("zz", 32)), false},

		{"empty name", name(""), false},
		{"201-byte name", name(strings.Repeat("é", 100) + "x"), false},
		{"name with newline", name("Agency\nA"), false},
		{"name with NUL", name("Agency\x00A"), false},
		{"name with DEL", name("Agency\x7fA"), false},
		{"name with tab", name("Agency\tA"), false},
		{"name with C1 control", name("Agency\u0085A"), false},

		{"no params", `{"agencies":[]}`, false},
		{"max_batch 0", edit(`"max_batch":10`, `"max_batch":0`), false},
		{"max_batch negative", edit(`"max_batch":10`, `"max_batch":-1`), false},
		{"max_batch above tx.MaxEntries", edit(`"max_batch":10`, `"max_batch":10001`), false},
		{"max_batch as string", edit(`"max_batch":10`, `"max_batch":"10"`), false},
		{"max_ttl 0", edit(`"max_ttl":100`, `"max_ttl":0`), false},
		{"max_ttl too large", edit(`"max_ttl":100`, `"max_ttl":1000001`), false},
		{"max_ttl negative", edit(`"max_ttl":100`, `"max_ttl":-1`), false},

		{"trailing value", base + ` {}`, false},
		{"trailing garbage", base + ` x`, false},
		{"trailing brace", base + `}`, false},
		{"trailing bracket", base + `]`, false},
		{"trailing comma", base + `,`, false},
		{"empty", ``, false},
		{"null", `null`, false},
		{"array", `[]`, false},
		{"truncated", base[:len(base)-1], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGenesis([]byte(tc.in))
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrGenesis) {
				t.Fatalf("got %v, want ErrGenesis", err)
			}
			if tc.name == "valid" && !reflect.DeepEqual(g, testGenesis(testParams)) {
				t.Errorf("parsed %+v, want %+v", g, testGenesis(testParams))
			}
		})
	}
}

func TestValidateAgencyNameUTF8(t *testing.T) {
	if err := ValidateAgencyName("Agency \xff"); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

// TestInitChain: the genesis app hash commits to the chain ID and the genesis state, and bad input is
// refused without writing anything.
func TestInitChain(t *testing.T) {
	start := func(chainID string, g Genesis) (*node, []byte, error) {
		n := openNode(t, nil, t.TempDir())
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		res, err := n.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, Time: genesisTime, AppStateBytes: b, Validators: testValidators})
		if err != nil {
			return n, nil, err
		}
		return n, res.AppHash, nil
	}
	_, base, err := start(testChain, testGenesis(testParams))
	if err != nil {
		t.Fatal(err)
	}
	_, again, _ := start(testChain, testGenesis(testParams))
	if !bytes.Equal(base, again) || len(base) != 32 {
		t.Fatalf("genesis hashes %x and %x", base, again)
	}
	renamed := testGenesis(testParams)
	renamed.Agencies[1].Name = "Agency B2"
	for name, g := range map[string]Genesis{"other params": testGenesis(DefaultParams()), "other agency name": renamed} {
		if _, h, _ := start(testChain, g); bytes.Equal(h, base) {
			t.Errorf("%s: same genesis hash", name)
		}
	}
	if _, h, _ := start("other-chain", testGenesis(testParams)); bytes.Equal(h, base) {
		t.Error("other chain ID: same genesis hash")
	}

	bad := testGenesis(testParams)
	bad.Agencies = append(bad.Agencies, store.Agency{ID: "agency-c", Name: "C", Keys: []store.Key{pubKey(keyA1)}})
	for name, tc := range map[string]struct {
		chainID string
		g       Genesis
	}{
		"empty chain ID":   {"", testGenesis(testParams)},
		"long chain ID":    {strings.Repeat("c", 51), testGenesis(testParams)},
		"key of two names": {testChain, bad},
	} {
		n, _, err := start(tc.chainID, tc.g)
		if !errors.Is(err, ErrGenesis) {
			t.Errorf("%s: %v, want ErrGenesis", name, err)
		}
		if info := n.info(); info.LastBlockHeight != 0 || info.LastBlockAppHash != nil || n.app.ChainID() != "" {
			t.Errorf("%s: state after a refused InitChain: %+v chain %q", name, info, n.app.ChainID())
		}
		if _, err := n.st.Params(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: params written: %v", name, err)
		}
	}
}
