package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"strata/agent/backup"
	"strata/agent/proto"
	"strata/agent/storage"
)

// VolumeChecksum hashes a volume's data, or one of its snapshots, with
// SHA-256, reporting the bytes read as it goes.
func (a *Agent) VolumeChecksum(ctx context.Context, job proto.VolumeChecksum, progress func(backup.Progress)) (backup.Progress, error) {
	name := storage.VolumeName(job.Resource, job.VlmNr)
	path, err := a.volumeData(ctx, job.Pool, name, job.Snapshot)
	if err != nil {
		return backup.Progress{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return backup.Progress{}, err
	}
	defer f.Close()
	size := job.SizeBytes
	if size == 0 {
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			return backup.Progress{}, err
		}
	}
	p := backup.Progress{TotalBytes: size}
	h := sha256.New()
	buf := make([]byte, copyChunk)
	for p.DoneBytes < size {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		n, err := f.ReadAt(buf[:min(copyChunk, size-p.DoneBytes)], p.DoneBytes)
		if n == 0 {
			return p, fmt.Errorf("%s ends at %d bytes, %d asked for: %w", path, p.DoneBytes, size, err)
		}
		h.Write(buf[:n])
		p.DoneBytes += int64(n)
		p.ReadBytes += int64(n)
		progress(p)
	}
	p.Digest = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// volumeData is the path of a volume's device in a pool, or of one of its
// snapshots' data.
func (a *Agent) volumeData(ctx context.Context, p proto.Pool, name, snapshot string) (string, error) {
	if snapshot != "" {
		files, err := a.snapshotFiles(ctx, p)
		if err != nil {
			return "", err
		}
		return files.SnapshotFile(name, snapshot)
	}
	prov, err := a.provider(ctx, p)
	if err != nil {
		return "", err
	}
	vols, err := prov.Volumes(ctx)
	if err != nil {
		return "", err
	}
	for _, v := range vols {
		if v.Name == name {
			return v.DevicePath, nil
		}
	}
	return "", fmt.Errorf("volume %s is not in pool %s", name, p.Name)
}
