package store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// eachDialect runs test on a fresh, migrated database of each dialect: the
// embedded SQLite file and a database on the test PostgreSQL server.
func eachDialect(t *testing.T, test func(t *testing.T, cfg Config, s *Store)) {
	configs := map[string]func(t *testing.T) Config{
		DialectSQLite: func(t *testing.T) Config {
			return Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}
		},
		DialectPostgres: func(t *testing.T) Config {
			return Config{ConnectionURL: harness.PostgresDatabase(t)}
		},
	}
	for name, cfgFor := range configs {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFor(t)
			s, err := Open(context.Background(), cfg, quiet)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			require.Equal(t, name, s.Dialect)
			test(t, cfg, s)
		})
	}
}

func TestOpenMigratesAndReopens(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg Config, s *Store) {
		ctx := context.Background()
		v, err := s.CurrentVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, SchemaVersion(), v)
		id, err := s.EnsureClusterID(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Close())

		s, err = Open(ctx, cfg, quiet)
		require.NoError(t, err)
		defer s.Close()
		again, err := s.EnsureClusterID(ctx)
		require.NoError(t, err)
		require.Equal(t, id, again, "the cluster id survives a reopen")
		props, err := s.Props(ctx, CtrlPropsInstance)
		require.NoError(t, err)
		require.Equal(t, map[string]string{KeyClusterLocalID: id}, props)
		var applied int64
		require.NoError(t, s.DB.Model(&schemaMigration{}).Count(&applied).Error)
		require.EqualValues(t, len(migrations), applied, "no migration runs twice")
	})
}

func TestConcurrentFirstStartsAgreeOnClusterID(t *testing.T) {
	eachDialect(t, func(t *testing.T, _ Config, s *Store) {
		ctx := context.Background()
		const n = 20
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { ids[i], errs[i] = s.EnsureClusterID(ctx) })
		}
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i])
		}
	})
}

func TestNewerSchemaIsRefused(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg Config, s *Store) {
		ctx := context.Background()
		require.NoError(t, s.DB.Create(&schemaMigration{Version: SchemaVersion() + 1, Description: "from the future", AppliedAt: time.Now()}).Error)
		require.NoError(t, s.Close())
		_, err := Open(ctx, cfg, quiet)
		require.ErrorContains(t, err, "newer than this Strata")
	})
}

// An older database is brought forward by the migrations it lacks; on
// SQLite a copy of it is kept aside first.
func TestUpgradeFromOlderSchema(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg Config, s *Store) {
		ctx := context.Background()
		id, err := s.EnsureClusterID(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Close())

		saved := migrations
		t.Cleanup(func() { migrations = saved })
		migrations = append(append([]migration(nil), saved...), migration{SchemaVersion() + 1, "upgrade test", []string{
			"CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY)",
		}})

		s, err = Open(ctx, cfg, quiet)
		require.NoError(t, err)
		defer s.Close()
		v, err := s.CurrentVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, SchemaVersion(), v)
		require.True(t, s.DB.Migrator().HasTable("upgrade_probe"))
		got, err := s.EnsureClusterID(ctx)
		require.NoError(t, err)
		require.Equal(t, id, got, "data survives the upgrade")

		if s.Dialect == DialectSQLite {
			copies, _ := filepath.Glob(cfg.SQLitePath + ".v*.bak")
			require.Len(t, copies, 1, "one copy aside")
			aside, err := Open(ctx, Config{SQLitePath: copies[0]}, quiet)
			require.NoError(t, err, "the copy is a usable database")
			defer aside.Close()
			props, err := aside.Props(ctx, CtrlPropsInstance)
			require.NoError(t, err)
			require.Equal(t, id, props[KeyClusterLocalID])
		}
	})
}

func TestOpenFailsClearly(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unreachable postgres", Config{ConnectionURL: "postgres://strata:secret@127.0.0.1:1/strata"}, "connect to postgres database postgres://strata:xxxxx@127.0.0.1:1/strata"},
		{"not a postgres URL", Config{ConnectionURL: "mysql://localhost/x"}, "invalid [db] connection_url"},
		{"no database at all", Config{}, "no database"},
		{"sqlite in a file's place", Config{SQLitePath: filepath.Join(notADir(t), "strata.db")}, "create database directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Open(ctx, tt.cfg, quiet)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "secret", "passwords never reach messages")
			require.Less(t, time.Since(start), 30*time.Second)
		})
	}
}

func notADir(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	return f
}

func TestJDBCURLIsAccepted(t *testing.T) {
	dsn, err := postgresDSN(Config{ConnectionURL: "jdbc:postgresql://db.example/linstor", User: "linstor", Password: "pw"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(dsn, "postgresql://linstor:pw@db.example/linstor?"), dsn)
	require.Contains(t, dsn, "connect_timeout=5")
}

// A failing statement is logged without its values: they hold DRBD
// secrets and the users' properties.
func TestFailingStatementsAreLoggedWithoutTheirValues(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg Config, _ *Store) {
		var logged bytes.Buffer
		s, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(&logged, nil)))
		require.NoError(t, err)
		defer s.Close()
		require.Error(t, s.DB.Exec("INSERT INTO no_such_table (secret) VALUES (?)", "Xq9-drbd-secret").Error)
		require.Contains(t, logged.String(), "no_such_table", "the statement is logged")
		require.NotContains(t, logged.String(), "Xq9-drbd-secret")

		// A statement whose caller gave up is the caller's business, not
		// a database fault: a shutdown cancelling a poll logs no ERROR.
		logged.Reset()
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		require.Error(t, s.DB.WithContext(cancelled).Exec("SELECT 1").Error)
		require.Empty(t, logged.String())
	})
}
