package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm/logger"
)

// quietCancellation keeps gorm from logging a statement as failed when its
// caller gave up (a request went away, the controller is shutting down): the
// caller sees the error and decides, and an ERROR line for it would read as
// a database fault.
type quietCancellation struct{ logger.Interface }

func newDBLogger(log *slog.Logger) logger.Interface {
	return quietCancellation{logger.NewSlogLogger(log.With("component", "db"), logger.Config{SlowThreshold: time.Second, LogLevel: logger.Warn, IgnoreRecordNotFoundError: true,
		// Slow and failing statements are logged without their values:
		// those are DRBD secrets and the users' properties.
		ParameterizedQueries: true})}
}

func (q quietCancellation) LogMode(level logger.LogLevel) logger.Interface {
	return quietCancellation{q.Interface.LogMode(level)}
}

func (q quietCancellation) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil) {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}

// ParamsFilter passes on the wrapped logger's: it is how gorm leaves the
// values out of a logged statement.
func (q quietCancellation) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	if f, ok := q.Interface.(interface {
		ParamsFilter(context.Context, string, ...any) (string, []any)
	}); ok {
		return f.ParamsFilter(ctx, sql, params...)
	}
	return sql, params
}
