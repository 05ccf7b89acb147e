// Package store keeps Strata's desired state in SQLite (embedded default) or
// PostgreSQL through gorm, behind versioned migrations.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	// modernc's pure-Go SQLite registers the database/sql driver "sqlite";
	// gorm's dialector is pointed at it instead of the cgo driver.
	_ "modernc.org/sqlite"
)

// Dialects the store speaks.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Config selects the database. An empty ConnectionURL means the embedded
// SQLite file at SQLitePath.
type Config struct {
	ConnectionURL string // postgres://, postgresql:// or LINSTOR's jdbc:postgresql://
	User          string
	Password      string
	SQLitePath    string
}

// Store is the controller's handle on its database.
type Store struct {
	DB         *gorm.DB
	Dialect    string
	sqlitePath string
	// writers queues this process's write transactions on SQLite: a
	// writer that finds the database locked otherwise waits in SQLite's
	// busy handler, which sleeps and polls (up to 100 ms a turn), where a
	// queue hands over at once.
	writers sync.Mutex
}

// Open connects, checks the connection, migrates the schema to the version
// this binary knows and creates the objects every cluster starts with.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	s, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, log); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	if err := s.EnsureDefaults(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("create default objects: %w", err)
	}
	return s, nil
}

func connect(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	gormCfg := &gorm.Config{
		Logger:                 newDBLogger(log),
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
	}
	var (
		s   = &Store{}
		err error
	)
	if cfg.ConnectionURL == "" {
		if cfg.SQLitePath == "" {
			return nil, errors.New("no database: neither a connection_url nor an SQLite file is configured")
		}
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		s.Dialect, s.sqlitePath = DialectSQLite, cfg.SQLitePath
		// SQLite parses every statement anew unless it is prepared; the
		// same few hundred statements run all the time (pgx already keeps
		// PostgreSQL's prepared).
		gormCfg.PrepareStmt, gormCfg.PrepareStmtMaxSize, gormCfg.PrepareStmtTTL = true, 512, time.Hour
		s.DB, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: sqliteDSN(cfg.SQLitePath)}), gormCfg)
	} else {
		dsn, derr := postgresDSN(cfg)
		if derr != nil {
			return nil, derr
		}
		s.Dialect = DialectPostgres
		s.DB, err = gorm.Open(postgres.Open(dsn), gormCfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", s.Dialect, err)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", s.Dialect, s.Describe(cfg), err)
	}
	return s, nil
}

// sqliteDSN turns on WAL (readers never block the writer), waits for a busy
// writer instead of failing, and starts write transactions immediately so
// that concurrent writers queue rather than deadlock on lock upgrades.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

func postgresDSN(cfg Config) (string, error) {
	raw := strings.TrimPrefix(cfg.ConnectionURL, "jdbc:")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", fmt.Errorf("invalid [db] connection_url %q: want postgres://host[:port]/database", redact(cfg.ConnectionURL))
	}
	if u.User == nil && cfg.User != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Describe names the database for messages, without its password.
func (s *Store) Describe(cfg Config) string {
	if s.Dialect == DialectSQLite {
		return s.sqlitePath
	}
	return redact(cfg.ConnectionURL)
}

func redact(raw string) string {
	u, err := url.Parse(strings.TrimPrefix(raw, "jdbc:"))
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	db, err := s.DB.DB()
	if err != nil {
		return err
	}
	return db.PingContext(ctx)
}

// Close releases the connection pool.
func (s *Store) Close() error {
	db, err := s.DB.DB()
	if err != nil {
		return err
	}
	return db.Close()
}
