package consensus

import (
	"context"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// slogAdapter lets CometBFT log through slog. CometBFT's info level is chatty (every block, every
// vote); minLevel filters it separately from Siegel's own logs. CometBFT names an error "err" mostly
// and "error" sometimes: the adapter writes "err" always, as Siegel does.
type slogAdapter struct {
	l        *slog.Logger
	minLevel slog.Level
}

// NewLogger adapts l for CometBFT, dropping records below minLevel.
func NewLogger(l *slog.Logger, minLevel slog.Level) cmtlog.Logger {
	return slogAdapter{l: l.With("module", "cometbft"), minLevel: minLevel}
}

func (a slogAdapter) log(level slog.Level, msg string, kv []any) {
	if level < a.minLevel {
		return
	}
	a.l.Log(context.Background(), level, msg, errKey(kv)...)
}

// errKey returns kv with the key "error" renamed "err" (a copy, if it must change).
func errKey(kv []any) []any {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == "error" {
			kv = append([]any(nil), kv...)
			kv[i] = "err"
		}
	}
	return kv
}

func (a slogAdapter) Debug(msg string, kv ...any) { a.log(slog.LevelDebug, msg, kv) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.log(slog.LevelInfo, msg, kv) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.log(slog.LevelWarn, msg, kv) }
func (a slogAdapter) Error(msg string, kv ...any) { a.log(slog.LevelError, msg, kv) }
func (a slogAdapter) With(kv ...any) cmtlog.Logger {
	return slogAdapter{l: a.l.With(errKey(kv)...), minLevel: a.minLevel}
}
