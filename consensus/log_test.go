package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestLoggerAdapter checks that CometBFT's lines go through slog with their attributes, below-level
// lines are dropped, and an error is always under the key "err" (CometBFT uses "error" now and then).
func TestLoggerAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), slog.LevelInfo)
	l.Debug("dropped", "height", 1)
	kv := []any{"height", int64(7), "error", errors.New("boom")}
	l.Info("committed state", kv...)
	l.With("error", "w").Error("failed", "err", errors.New("bang"))
	if kv[2] != "error" {
		t.Error("the caller's key-value slice was changed")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "committed state" || first["height"] != 7.0 || first["err"] != "boom" || first["module"] != "cometbft" || first["error"] != nil {
		t.Errorf("first line: %v", first)
	}
	if second["level"] != "ERROR" || second["err"] != "bang" || second["error"] != nil {
		t.Errorf("second line: %v", second)
	}
}
