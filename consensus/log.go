package consensus

import (
	"context"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// slogAdapter lets CometBFT log through slog. CometBFT's info level is chatty (every block, every
// vote); minLevel filters it separately from Siegel's own logs.
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
	a.l.Log(context.Background(), level, msg, kv...)
}

func (a slogAdapter) Debug(msg string, kv ...any) { a.log(slog.LevelDebug, msg, kv) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.log(slog.LevelInfo, msg, kv) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.log(slog.LevelWarn, msg, kv) }
func (a slogAdapter) Error(msg string, kv ...any) { a.log(slog.LevelError, msg, kv) }
func (a slogAdapter) With(kv ...any) cmtlog.Logger {
	return slogAdapter{l: a.l.With(kv...), minLevel: a.minLevel}
}
