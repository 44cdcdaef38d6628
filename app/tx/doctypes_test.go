package tx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

func TestDocTypesAction(t *testing.T) {
	a := tx.Action{Kind: tx.ActSetDocTypes, Agency: "a", DocTypes: []string{"zeugnis", "urkunde.geburt", "x_1-2"}}
	got, err := tx.DecodeAction(a.Encode())
	if err != nil || got.Agency != "a" || strings.Join(got.DocTypes, ",") != strings.Join(a.DocTypes, ",") {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	none := tx.Action{Kind: tx.ActSetDocTypes, Agency: "a"}
	if got, err := tx.DecodeAction(none.Encode()); err != nil || len(got.DocTypes) != 0 {
		t.Fatalf("empty list: %+v, %v", got, err)
	}
	many := make([]string, tx.MaxDocTypes+1)
	for i := range many {
		many[i] = strings.Repeat("d", i%60+1) + string(rune('a'+i%26))
	}
	for name, types := range map[string][]string{
		"upper case": {"Zeugnis"}, "space": {"a b"}, "empty": {""}, "repeated": {"a", "a"},
		"too long": {strings.Repeat("a", tx.MaxDocTypeLen+1)}, "too many": many,
	} {
		b := (&tx.Action{Kind: tx.ActSetDocTypes, Agency: "a", DocTypes: types}).Encode()
		if _, err := tx.DecodeAction(b); !errors.Is(err, tx.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	full := a.Encode()
	for i := range full {
		if _, err := tx.DecodeAction(full[:i]); err == nil {
			t.Fatalf("a prefix of %d bytes decoded", i)
		}
	}
}
