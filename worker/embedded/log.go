package embedded

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// logger feeds the Temporal server's logs into Strata's slog. The server's
// INFO chatter about its internals is demoted to DEBUG so that Strata's own
// INFO log stays readable.
// While the server starts and stops, its complaints about services not up
// yet or gone already are expected and demoted to DEBUG too.
type logger struct {
	l     *slog.Logger
	quiet *atomic.Bool
}

func newLogger(l *slog.Logger, quiet *atomic.Bool) log.Logger { return logger{l, quiet} }

func (g logger) log(level slog.Level, msg string, tags []tag.Tag) {
	if g.quiet.Load() && level > slog.LevelDebug {
		level = slog.LevelDebug
	}
	g.emit(level, msg, tags)
}

func (g logger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if !g.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		attrs = append(attrs, t.Key(), t.Value())
	}
	g.l.Log(context.Background(), level, msg, attrs...)
}

func (g logger) Debug(msg string, tags ...tag.Tag)  { g.log(slog.LevelDebug-4, msg, tags) }
func (g logger) Info(msg string, tags ...tag.Tag)   { g.log(slog.LevelDebug, msg, tags) }
func (g logger) Warn(msg string, tags ...tag.Tag)   { g.log(slog.LevelWarn, msg, tags) }
func (g logger) Error(msg string, tags ...tag.Tag)  { g.log(slog.LevelError, msg, tags) }
func (g logger) DPanic(msg string, tags ...tag.Tag) { g.log(slog.LevelError, msg, tags) }
func (g logger) Panic(msg string, tags ...tag.Tag) {
	g.log(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal ends the process like the server's own logger does, without a stack
// trace: the message says what failed. It is never quiet, not even before
// Ready: the process ends on it.
func (g logger) Fatal(msg string, tags ...tag.Tag) {
	g.emit(slog.LevelError, msg, tags)
	os.Exit(1)
}
