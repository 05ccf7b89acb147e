package agent

import (
	"context"
	"fmt"
	"strings"

	"strata/agent/execrun"
	"strata/agent/proto"
)

// fileSystems are the file systems the agent makes (FileSystem/Type).
var fileSystems = map[string]bool{"ext4": true, "xfs": true}

// fileSystem gives a volume the file system its state asks for, as
// LINSTOR's satellites do, and never over data: only a fresh volume (made
// by this apply, or thin and never written) without any signature is
// formatted. It answers the file system on the volume afterwards.
func (a *Agent) fileSystem(ctx context.Context, dev string, fs proto.FileSystem, fresh bool) (string, error) {
	found, err := a.fileSystemOn(ctx, dev)
	if err != nil || found != "" || !fresh {
		return found, err
	}
	if !fileSystems[fs.Type] {
		return "", fmt.Errorf("file system %q is not one the agent makes (ext4, xfs)", fs.Type)
	}
	if signed, err := a.hasSignature(ctx, dev); err != nil || signed {
		return "", err // another signature (a partition table, LVM, ...): left alone
	}
	if _, err := a.Run.Run(ctx, "mkfs."+fs.Type, append(strings.Fields(fs.MkfsParams), dev)...); err != nil {
		return "", err
	}
	a.Log.Info("file system created", "device", dev, "type", fs.Type)
	return a.fileSystemOn(ctx, dev)
}

// fileSystemOn is the type of the file system on dev, "" for none.
func (a *Agent) fileSystemOn(ctx context.Context, dev string) (string, error) {
	out, err := a.Run.Run(ctx, "blkid", "-p", "-o", "value", "-s", "TYPE", dev)
	if code, ok := execrun.ExitCode(err); ok && code == 2 {
		return "", nil // nothing found
	}
	return strings.TrimSpace(string(out)), err
}
