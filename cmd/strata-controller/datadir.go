package main

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// privateFiles makes everything the controller writes from now on (the
// databases, their journals, backups) readable by its user alone, and
// takes group and other access away from what the data directory already
// holds, saying so: a database holds the DRBD secrets and every
// property.
func privateFiles(dataDir string, log *slog.Logger) error {
	syscall.Umask(0o077)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if mode := info.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(path, mode&0o700); err != nil {
				return err
			}
			log.Warn("data file was readable by others; now by the controller's user only", "path", path, "was", mode.String())
		}
		return nil
	})
}
