package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"strata/agent/backup"
	"strata/agent/proto"
	"strata/agent/storage"
)

// copyChunk is how much of a volume one read and write of a copy move.
const copyChunk = 1 << 20

// CopyVolume writes the data of a volume over another volume of the same
// pool, reporting the bytes read and written as it goes. Into a thin
// volume, runs of zeros are not written, so the copy stays as thin as its
// source; run again after an interruption, it starts over.
func (a *Agent) CopyVolume(ctx context.Context, job proto.VolumeCopy, progress func(backup.Progress)) (backup.Progress, error) {
	prov, err := a.provider(ctx, job.Pool)
	if err != nil {
		return backup.Progress{}, err
	}
	src, dst := storage.VolumeName(job.Source, job.VlmNr), storage.VolumeName(job.Target, job.VlmNr)
	vols, err := prov.Volumes(ctx)
	if err != nil {
		return backup.Progress{}, err
	}
	devices := map[string]storage.VolumeState{}
	for _, v := range vols {
		devices[v.Name] = v
	}
	from, ok := devices[src]
	if !ok {
		return backup.Progress{}, fmt.Errorf("volume %s is not in pool %s", src, job.Pool.Name)
	}
	to, ok := devices[dst]
	if !ok {
		return backup.Progress{}, fmt.Errorf("volume %s is not in pool %s", dst, job.Pool.Name)
	}
	if to.UsableKib < from.UsableKib {
		return backup.Progress{}, fmt.Errorf("volume %s (%d KiB) is smaller than %s (%d KiB)", dst, to.UsableKib, src, from.UsableKib)
	}
	a.Log.Info("volume copy started", "from", src, "to", dst, "pool", job.Pool.Name)
	p, err := copyDevice(ctx, from.DevicePath, to.DevicePath, from.UsableKib<<10, strings.HasSuffix(prov.Kind(), "_THIN"), progress)
	if err == nil {
		a.Log.Info("volume copy done", "from", src, "to", dst, "read_bytes", p.ReadBytes, "written_bytes", p.SentBytes)
	}
	return p, err
}

// copyDevice copies size bytes from one device to another, synced at the
// end; sparse: the holes are not read and zero chunks are not written
// (the target reads zeros there).
func copyDevice(ctx context.Context, from, to string, size int64, sparse bool, progress func(backup.Progress)) (backup.Progress, error) {
	in, err := os.Open(from)
	if err != nil {
		return backup.Progress{}, err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY, 0)
	if err != nil {
		return backup.Progress{}, err
	}
	defer out.Close()
	p := backup.Progress{TotalBytes: size}
	buf, zero := make([]byte, copyChunk), make([]byte, copyChunk)
	copySpan := func(off, n int64) error {
		for end := off + n; off < end; off += copyChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := in.ReadAt(buf[:min(copyChunk, end-off)], off)
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			p.ReadBytes += int64(n)
			if !sparse || !bytes.Equal(buf[:n], zero[:n]) {
				if _, err := out.WriteAt(buf[:n], off); err != nil {
					return err
				}
				p.SentBytes += int64(n)
			}
			p.DoneBytes = off + int64(n)
			progress(p)
			if err != nil {
				return nil // the source ends here
			}
		}
		return nil
	}
	if sparse {
		err = backup.DataSpans(in, size, copySpan)
	} else {
		err = copySpan(0, size)
	}
	if err != nil {
		return p, err
	}
	p.DoneBytes = size
	return p, out.Sync()
}
