package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/temporal"

	"strata/apicall"
)

// DatabaseBackupResult describes a finished database backup.
type DatabaseBackupResult struct {
	Path  string
	Bytes int64
}

// Replies are the answer to a finished database backup.
func (r DatabaseBackupResult) Replies(workflowID, name string) apicall.RcList {
	rc := apicall.NewRc(apicall.Created, apicall.MaskCrt, apicall.MaskCtrlConf, fmt.Sprintf("Database backup '%s' created.", name))
	rc.Details = fmt.Sprintf("Written to %s (%d bytes) by workflow %s.", r.Path, r.Bytes, workflowID)
	rc.ObjRefs = map[string]string{"WorkflowId": workflowID}
	return apicall.RcList{rc}
}

// BackupDatabase writes a consistent copy of the embedded SQLite database to
// BackupDir/name. It is safe to retry after a crash at any point: the copy is
// written under a temporary name and renamed when complete, so a finished
// file is always whole, and a finished file from an earlier attempt counts as
// done.
func (a *Activities) BackupDatabase(ctx context.Context, name string) (DatabaseBackupResult, error) {
	final := filepath.Join(a.BackupDir, name)
	if fi, err := os.Stat(final); err == nil {
		return DatabaseBackupResult{Path: final, Bytes: fi.Size()}, nil
	}
	if err := os.MkdirAll(a.BackupDir, 0o700); err != nil {
		return DatabaseBackupResult{}, fmt.Errorf("create backup directory: %w", err)
	}
	partial := final + ".partial"
	if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return DatabaseBackupResult{}, fmt.Errorf("remove stale %s: %w", partial, err)
	}

	// VACUUM INTO is one statement; heartbeat beside it so that Temporal
	// notices a dead worker within the heartbeat timeout, not the start-to-close one.
	stop := Heartbeat(ctx)
	defer stop()

	if err := a.Store.DB.WithContext(ctx).Exec("VACUUM INTO ?", partial).Error; err != nil {
		return DatabaseBackupResult{}, fmt.Errorf("copy database to %s: %w", partial, err)
	}
	if err := syncFile(partial); err != nil {
		return DatabaseBackupResult{}, err
	}
	if err := os.Rename(partial, final); err != nil {
		return DatabaseBackupResult{}, fmt.Errorf("rename %s: %w", partial, err)
	}
	fi, err := os.Stat(final)
	if err != nil {
		return DatabaseBackupResult{}, temporal.NewNonRetryableApplicationError("backup vanished after rename", "BackupVanished", err)
	}
	return DatabaseBackupResult{Path: final, Bytes: fi.Size()}, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
