package activities

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"strata/store"
)

func newActivities(t *testing.T) (*Activities, *testsuite.TestActivityEnvironment) {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), store.Config{SQLitePath: filepath.Join(dir, "strata.db")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	a := &Activities{Store: s, BackupDir: filepath.Join(dir, "backups")}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return a, env
}

func TestBackupDatabaseWritesAUsableCopy(t *testing.T) {
	a, env := newActivities(t)
	ctx := context.Background()
	id, err := a.Store.EnsureClusterID(ctx)
	require.NoError(t, err)
	// A crash during an earlier attempt left a partial file behind.
	require.NoError(t, os.MkdirAll(a.BackupDir, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(a.BackupDir, "b1.partial"), []byte("half a copy"), 0o600))

	val, err := env.ExecuteActivity(a.BackupDatabase, "b1")
	require.NoError(t, err)
	var res DatabaseBackupResult
	require.NoError(t, val.Get(&res))
	require.Equal(t, filepath.Join(a.BackupDir, "b1"), res.Path)
	require.Positive(t, res.Bytes)
	require.NoFileExists(t, filepath.Join(a.BackupDir, "b1.partial"))

	copyStore, err := store.Open(ctx, store.Config{SQLitePath: res.Path}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer copyStore.Close()
	props, err := copyStore.Props(ctx, store.CtrlPropsInstance)
	require.NoError(t, err)
	require.Equal(t, id, props[store.KeyClusterLocalID])
}

// A retry after the rename but before Temporal heard of it finds the
// finished file and reports it instead of failing or copying again.
func TestBackupDatabaseIsIdempotent(t *testing.T) {
	a, env := newActivities(t)
	first, err := env.ExecuteActivity(a.BackupDatabase, "b1")
	require.NoError(t, err)
	var r1, r2 DatabaseBackupResult
	require.NoError(t, first.Get(&r1))
	stat1, err := os.Stat(r1.Path)
	require.NoError(t, err)

	second, err := env.ExecuteActivity(a.BackupDatabase, "b1")
	require.NoError(t, err)
	require.NoError(t, second.Get(&r2))
	require.Equal(t, r1, r2)
	stat2, err := os.Stat(r2.Path)
	require.NoError(t, err)
	require.Equal(t, stat1.ModTime(), stat2.ModTime(), "the finished backup is not rewritten")
}
