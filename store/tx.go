package store

import (
	"context"
	"errors"
	"fmt"
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
// writes are short. A write made for a step of an operation (WithStep)
// is made once.
func (s *Store) Write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.write(ctx, true, fn)
}

// writeBookkeeping is Write for the operations' own records (locks,
// slots): it leaves the change generation alone, which counts changes of
// what the cluster should be, so a refused request that took and gave
// back its locks changes nothing.
func (s *Store) writeBookkeeping(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.write(ctx, false, fn)
}

func (s *Store) write(ctx context.Context, counted bool, fn func(tx *gorm.DB) error) error {
	defer s.queueWriter()()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.Dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7371)").Error; err != nil {
				return err
			}
		}
		if err := beginStep(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil || !counted {
			return err
		}
		return tx.Exec("UPDATE change_generation SET generation = generation + 1 WHERE id = 1").Error
	})
}

// queueWriter waits for this process's other writers on SQLite (see
// Store.writers) and returns what lets the next one go.
func (s *Store) queueWriter() (done func()) {
	if s.Dialect != DialectSQLite {
		return func() {}
	}
	s.writers.Lock()
	return s.writers.Unlock
}

// touchDefinition records that this write changes what the resource view
// shows of definition rdKey: its view generation becomes the generation
// this write commits as (Write counts it up last), so a cached view of it
// is rebuilt, even if the definition is deleted and created again.
func touchDefinition(tx *gorm.DB, rdKey string) error {
	return tx.Exec(`UPDATE resource_definitions SET view_generation = (SELECT generation + 1 FROM change_generation WHERE id = 1)
		WHERE resource_name = ?`, rdKey).Error
}

// DefinitionGeneration is a definition's key and view generation.
type DefinitionGeneration struct {
	ResourceName   string
	ViewGeneration int64
}

// DefinitionGenerations returns every definition's view generation, by
// name: what a cached resource view is checked against.
func (s *Store) DefinitionGenerations(ctx context.Context) ([]DefinitionGeneration, error) {
	var out []DefinitionGeneration
	err := s.DB.WithContext(ctx).Model(&ResourceDefinitionRow{}).Select("resource_name, view_generation").Order("resource_name").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("read view generations: %w", err)
	}
	return out, nil
}

// Generation is the count of write transactions so far; it changes with
// every write by any controller on the database.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var g int64
	err := s.DB.WithContext(ctx).Raw("SELECT generation FROM change_generation WHERE id = 1").Scan(&g).Error
	return g, err
}

// RaiseGeneration puts the change generation above at least, when it is
// not already: after a database restore, agents have applied states of
// generations the restored database has not counted to yet.
func (s *Store) RaiseGeneration(ctx context.Context, atLeast int64) error {
	return s.DB.WithContext(ctx).Exec("UPDATE change_generation SET generation = ? WHERE id = 1 AND generation < ?", atLeast, atLeast).Error
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

// take loads the one row matching the condition, or returns missing.
func take[T any](tx *gorm.DB, missing *Error, query string, args ...any) (T, error) {
	var row T
	ok, err := found(tx.Take(&row, append([]any{query}, args...)...).Error)
	if err == nil && !ok {
		err = missing
	}
	return row, err
}

// absent returns dup when a row matches the condition: the check before
// creating something that must be unique.
func absent[T any](tx *gorm.DB, dup *Error, query string, args ...any) error {
	ok, err := found(tx.Take(new(T), append([]any{query}, args...)...).Error)
	if err != nil {
		return err
	}
	if ok {
		return dup
	}
	return nil
}

// modifyProps applies a property change to the container instance of the
// object that load finds, in one write transaction.
func modifyProps[T any](s *Store, ctx context.Context, kind Kind, m PropsModify, instance string, load func(tx *gorm.DB) (T, error)) (T, error) {
	var row T
	if err := m.Check(kind); err != nil {
		return row, err
	}
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = load(tx); err != nil {
			return err
		}
		return applyProps(tx, instance, m)
	})
	return row, err
}

// found turns gorm's not-found into false and passes other errors on.
func found(err error) (bool, error) {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}
