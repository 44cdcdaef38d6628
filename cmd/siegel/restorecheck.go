package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/siegel-notary/siegel/consensus"
)

// restoredRecord is HOME/restored.json, which restore writes.
type restoredRecord struct {
	Restored time.Time       `json:"restored"`
	From     string          `json:"from"`
	Manifest *backupManifest `json:"manifest"`
	// DoubleSignCheck is set when restore set double_sign_check_height in config.toml.
	DoubleSignCheck *doubleSignCheckRecord `json:"double_sign_check,omitempty"`
}

// doubleSignCheckRecord is the one-shot double-sign check of a restored validator. restore sets
// double_sign_check_height = Height and records the sign state the home starts with; at a later start,
// once the sign state is past that one, the node sets double_sign_check_height back to 0 and records
// when (Cleared).
//
// Why that is safe: CometBFT runs the check when its consensus starts, before it signs anything in that
// run, and the validator's sign state (priv_validator_state.json) moves only when it signs. A sign state
// past the restored one therefore means that this home has passed the check at least once, which is all
// the check is for: a signature found after that may be this node's own, so the check could only stop a
// healthy validator (on a halted chain, at every restart, keeping the chain halted).
type doubleSignCheckRecord struct {
	Height    int64               `json:"height"`
	SignState consensus.SignState `json:"sign_state"`
	// Cleared is when the node found the sign state past SignState, at ClearedAt, and set
	// double_sign_check_height back to 0, unless the operator had changed it: then Kept holds the
	// operator's value (0 included) and the node left it.
	Cleared   *time.Time           `json:"cleared,omitempty"`
	ClearedAt *consensus.SignState `json:"cleared_at_sign_state,omitempty"`
	Kept      *int64               `json:"kept_height,omitempty"`
}

func readRestoredRecord(home string) (*restoredRecord, error) {
	b, err := os.ReadFile(filepath.Join(home, restoredName))
	if err != nil {
		return nil, err
	}
	var r restoredRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", restoredName, err)
	}
	return &r, nil
}

// writeRestoredRecord replaces HOME/restored.json atomically.
func writeRestoredRecord(home string, r *restoredRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(home, restoredName)
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err := errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(home)
	return nil
}

// finishRestoreCheck ends the one-shot double-sign check of a restored validator (doubleSignCheckRecord)
// once its sign state shows that it has signed since the restore. The node calls it at start, before
// CometBFT reads config.toml. It changes nothing in any other case, and a failure only leaves the check
// on (logged): it never stops the start.
func finishRestoreCheck(home string, logger *slog.Logger) {
	rec, err := readRestoredRecord(home)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		logger.Warn("restored home: cannot read the restore record; double_sign_check_height stays as config.toml has it", "err", err)
		return
	}
	dc := rec.DoubleSignCheck
	if dc == nil || dc.Cleared != nil {
		return
	}
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		return // the start fails on it next, with the error
	}
	cur, err := consensus.ReadSignState(cc.PrivValidatorStateFile())
	if err != nil {
		logger.Warn("restored validator: cannot read its sign state; double_sign_check_height stays", "err", err)
		return
	}
	if !dc.SignState.Before(cur) {
		logger.Info("restored validator: it has not signed since the restore, so CometBFT checks the last commits for its signature first",
			"double_sign_check_height", cc.Consensus.DoubleSignCheckHeight, "sign_state_height", cur.Height)
		return
	}
	now := time.Now().UTC()
	dc.Cleared, dc.ClearedAt = &now, &cur
	if h := cc.Consensus.DoubleSignCheckHeight; h != dc.Height {
		dc.Kept = &h // the operator's own setting: not ours to change
	} else if err := consensus.SetDoubleSignCheckHeight(home, 0); err != nil {
		logger.Warn("restored validator: cannot set double_sign_check_height back to 0; set it yourself", "err", err)
		return
	}
	if err := writeRestoredRecord(home, rec); err != nil {
		logger.Warn("restored validator: cannot update the restore record", "err", err)
	}
	if dc.Kept != nil {
		logger.Info("restored validator has signed since the restore (its double-sign check passed); double_sign_check_height left as set by hand",
			"double_sign_check_height", *dc.Kept, "sign_state_height", cur.Height)
		return
	}
	logger.Info("restored validator has signed since the restore (its double-sign check passed): double_sign_check_height set back to 0 in config.toml",
		"was", dc.Height, "sign_state_height", cur.Height, "restored_at_height", dc.SignState.Height)
}
