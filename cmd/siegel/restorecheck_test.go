package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siegel-notary/siegel/consensus"
)

// TestRestoreCheckOneShot: the double-sign check that restore sets stays on while the restored
// validator has not signed (every start checks the last commits), and is set back to 0 at the first
// start after its sign state moved past the restored one; a value the operator set by hand is left.
func TestRestoreCheckOneShot(t *testing.T) {
	home, _ := newDevHome(t)
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	stateFile := cc.PrivValidatorStateFile()
	writeState := func(h int64, r int32, s int8) consensus.SignState {
		t.Helper()
		b := fmt.Sprintf(`{"height": "%d", "round": %d, "step": %d}`, h, r, s)
		if err := os.WriteFile(stateFile, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return consensus.SignState{Height: h, Round: r, Step: s}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	checkHeight := func() int64 {
		t.Helper()
		cc, err := consensus.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		return cc.Consensus.DoubleSignCheckHeight
	}

	// Not a restored home: nothing happens.
	finishRestoreCheck(home, logger)
	if _, err := os.Stat(filepath.Join(home, restoredName)); err == nil || checkHeight() != 0 {
		t.Fatalf("a home without %s was changed", restoredName)
	}

	restored := writeState(40, 0, 3)
	if err := consensus.SetDoubleSignCheckHeight(home, restoreDoubleSignCheck); err != nil {
		t.Fatal(err)
	}
	if err := writeRestoredRecord(home, &restoredRecord{From: "x", DoubleSignCheck: &doubleSignCheckRecord{Height: restoreDoubleSignCheck, SignState: restored}}); err != nil {
		t.Fatal(err)
	}
	// Started, failed the check (or stopped before it signed): the sign state did not move.
	for range 2 {
		finishRestoreCheck(home, logger)
		if h := checkHeight(); h != restoreDoubleSignCheck {
			t.Fatalf("before the restored validator signed: double_sign_check_height %d, want %d", h, restoreDoubleSignCheck)
		}
	}
	// It signed a prevote at the next height: the check passed once, and is switched off.
	signed := writeState(41, 0, 2)
	finishRestoreCheck(home, logger)
	if h := checkHeight(); h != 0 {
		t.Fatalf("after the restored validator signed: double_sign_check_height %d, want 0\n%s", h, logs.String())
	}
	rec, err := readRestoredRecord(home)
	if err != nil || rec.DoubleSignCheck.Cleared == nil || *rec.DoubleSignCheck.ClearedAt != signed || rec.DoubleSignCheck.SignState != restored {
		t.Fatalf("restore record after clearing: %+v, %v", rec.DoubleSignCheck, err)
	}
	if !strings.Contains(logs.String(), "set back to 0") {
		t.Fatalf("no log of the change:\n%s", logs.String())
	}
	// Done once: an operator who sets the check again keeps it.
	if err := consensus.SetDoubleSignCheckHeight(home, 3); err != nil {
		t.Fatal(err)
	}
	writeState(50, 0, 3)
	finishRestoreCheck(home, logger)
	if h := checkHeight(); h != 3 {
		t.Fatalf("after the check was cleared once, the operator's double_sign_check_height 3 became %d", h)
	}

	// A value the operator changed before the validator signed is the operator's: left, and recorded.
	rec.DoubleSignCheck.Cleared, rec.DoubleSignCheck.ClearedAt = nil, nil
	if err := writeRestoredRecord(home, rec); err != nil {
		t.Fatal(err)
	}
	finishRestoreCheck(home, logger)
	if rec, err := readRestoredRecord(home); err != nil || checkHeight() != 3 || rec.DoubleSignCheck.Kept == nil || *rec.DoubleSignCheck.Kept != 3 || rec.DoubleSignCheck.Cleared == nil {
		t.Fatalf("operator's value: height %d, record %+v (%v)", checkHeight(), rec.DoubleSignCheck, err)
	}

	// An operator who set it to 0 by hand is recorded as such, not as the node's own clearing.
	if err := consensus.SetDoubleSignCheckHeight(home, 0); err != nil {
		t.Fatal(err)
	}
	rec.DoubleSignCheck.Cleared, rec.DoubleSignCheck.ClearedAt, rec.DoubleSignCheck.Kept = nil, nil, nil
	if err := writeRestoredRecord(home, rec); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	finishRestoreCheck(home, logger)
	if rec, err := readRestoredRecord(home); err != nil || rec.DoubleSignCheck.Kept == nil || *rec.DoubleSignCheck.Kept != 0 ||
		!strings.Contains(logs.String(), "left as set by hand") || strings.Contains(logs.String(), "set back to 0") {
		t.Fatalf("operator's 0: record %+v (%v)\n%s", rec.DoubleSignCheck, err, logs.String())
	}
}
