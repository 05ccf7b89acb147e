package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Write runs fn in one transaction that no other writer interleaves with.
// SQLite already serialises writers (immediate transactions); on
// PostgreSQL an advisory lock does the same across every controller on the
// database. Like LINSTOR's reconfiguration lock, this keeps check-then-act
// rules (free numbers, "still in use") true without retry loops, and
// writes are short.
func (s *Store) Write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.Dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7371)").Error; err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// nowMs is the creation time stamp LINSTOR reports: ms since the epoch.
func nowMs() int64 { return time.Now().UnixMilli() }

// isUniqueViolation reports a duplicate key from either database.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// found turns gorm's not-found into false and passes other errors on.
func found(err error) (bool, error) {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}
