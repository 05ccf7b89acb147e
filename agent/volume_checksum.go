package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"strata/agent/backup"
	"strata/agent/proto"
	"strata/agent/storage"
)

// VolumeChecksum hashes a volume's data, or one of its snapshots', so
// that two volumes holding the same bytes have the same digest however
// their file systems keep them: SHA-256 over the size and each block of
// checksumBlock bytes that is not all zeros, with its offset. The holes
// are not read: a thin volume costs what it holds, not its size. It
// reports the bytes read as it goes.
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
	return checksum(ctx, f, size, progress)
}

// checksum hashes the first size bytes of f as VolumeChecksum tells.
func checksum(ctx context.Context, f *os.File, size int64, progress func(backup.Progress)) (backup.Progress, error) {
	p := backup.Progress{TotalBytes: size}
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(size)))
	buf, zero := make([]byte, copyChunk), make([]byte, checksumBlock)
	var offset [8]byte
	at := int64(0) // hashed up to here
	err := backup.DataSpans(f, size, func(off, n int64) error {
		// Whole blocks, so that both sides cut the data alike.
		lo, hi := max(off/checksumBlock*checksumBlock, at), min((off+n+checksumBlock-1)/checksumBlock*checksumBlock, size)
		for ; lo < hi; lo += copyChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			b := buf[:min(copyChunk, hi-lo)]
			if got, err := f.ReadAt(b, lo); got < len(b) {
				return fmt.Errorf("%s ends at %d bytes, %d asked for: %w", f.Name(), lo+int64(got), size, err)
			}
			for i := 0; i < len(b); i += checksumBlock {
				block := b[i:min(i+checksumBlock, len(b))]
				if !bytes.Equal(block, zero[:len(block)]) {
					binary.BigEndian.PutUint64(offset[:], uint64(lo)+uint64(i))
					h.Write(offset[:])
					h.Write(block)
				}
			}
			p.ReadBytes += int64(len(b))
			p.DoneBytes = lo + int64(len(b))
			progress(p)
		}
		at = max(at, hi)
		return nil
	})
	if err != nil {
		return p, err
	}
	p.DoneBytes = size
	p.Digest = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// checksumBlock is the unit VolumeChecksum tells zeros by: the file
// systems' block.
const checksumBlock = 4096

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
