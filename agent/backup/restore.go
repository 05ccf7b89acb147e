package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"

	"strata/agent/proto/bucket"
)

// ReadManifest fetches a volume's manifest.
func (b Bucket) ReadManifest(ctx context.Context, key string) (bucket.Manifest, error) {
	obj, err := b.Client.GetObject(ctx, b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		return bucket.Manifest{}, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	defer obj.Close()
	var m bucket.Manifest
	if err := json.NewDecoder(obj).Decode(&m); err != nil {
		return bucket.Manifest{}, fmt.Errorf("manifest %s of bucket %s: %w", key, b.Name, err)
	}
	if m.Format != bucket.ManifestFormat || m.ChunkSize != bucket.ChunkSize || m.SizeBytes < 0 {
		return bucket.Manifest{}, fmt.Errorf("manifest %s of bucket %s is not of format %s", key, b.Name, bucket.ManifestFormat)
	}
	return m, nil
}

// Restore writes a volume's backup into a file.
type Restore struct {
	Bucket   Bucket
	Manifest bucket.Manifest
	// Path is the file written; a file there is taken to be an earlier,
	// interrupted restore of the same manifest, whose chunks recorded as
	// written in Path+".done" are not fetched again.
	Path     string
	Progress func(Progress)
}

// Run restores every chunk, checking each object against its id, and
// syncs the file. Holes stay holes.
func (r Restore) Run(ctx context.Context) (Progress, error) {
	man := r.Manifest
	f, err := os.OpenFile(r.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return Progress{}, err
	}
	defer f.Close()
	if err := f.Truncate(man.SizeBytes); err != nil {
		return Progress{}, err
	}
	done, log, err := openDoneLog(r.Path + ".done")
	if err != nil {
		return Progress{}, err
	}
	defer log.Close()
	c := &counters{total: man.SizeBytes, report: r.Progress}
	c.done.Store(man.SizeBytes - chunkBytes(man, func(ch bucket.Chunk) bool { return !done[ch.Offset] }))
	var logMu sync.Mutex
	todo := make([]bucket.Chunk, 0, len(man.Chunks))
	for _, ch := range man.Chunks {
		if !done[ch.Offset] {
			todo = append(todo, ch)
		}
	}
	err = forEach(ctx, len(todo), func(ctx context.Context, i int) error {
		ch := todo[i]
		if ch.Offset < 0 || ch.Offset >= man.SizeBytes || ch.Offset%bucket.ChunkSize != 0 || len(ch.Chain) == 0 {
			return fmt.Errorf("manifest of %s lists a chunk at %d of a %d-byte volume", man.Resource, ch.Offset, man.SizeBytes)
		}
		buf := chunkBuffers.Get().(*[]byte)
		defer chunkBuffers.Put(buf)
		data, err := r.Bucket.chain(ctx, ch.Chain, chunkLen(ch.Offset, man.SizeBytes), *buf, c)
		if err != nil {
			return err
		}
		if err := writeSparse(f, data, ch.Offset); err != nil {
			return err
		}
		logMu.Lock()
		_, err = fmt.Fprintln(log, ch.Offset)
		logMu.Unlock()
		c.chunkDone(int64(len(data)))
		return err
	})
	if err != nil {
		return c.progress(), err
	}
	c.done.Store(man.SizeBytes)
	if err := f.Sync(); err != nil {
		return c.progress(), err
	}
	_ = os.Remove(r.Path + ".done")
	return c.progress(), nil
}

// chunkBytes is the bytes of the chunks that match.
func chunkBytes(m bucket.Manifest, match func(bucket.Chunk) bool) int64 {
	var n int64
	for _, ch := range m.Chunks {
		if match(ch) {
			n += chunkLen(ch.Offset, m.SizeBytes)
		}
	}
	return n
}

// chain rebuilds a chunk, in buf where it fits, from its full object and
// the deltas on it, each checked against its id and its parent.
func (b Bucket) chain(ctx context.Context, chain []string, n int64, buf []byte, c *counters) ([]byte, error) {
	last := len(chain) - 1
	data, err := b.get(ctx, bucket.ChainKey(chain, last), chain[last], buf, c)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != n {
		return nil, fmt.Errorf("object %s of bucket %s holds %d bytes, the chunk has %d", bucket.ChainKey(chain, last), b.Name, len(data), n)
	}
	for i := last - 1; i >= 0; i-- {
		key := bucket.ChainKey(chain, i)
		payload, err := b.get(ctx, key, chain[i], nil, c)
		if err != nil {
			return nil, err
		}
		d, err := bucket.DecodeDelta(payload)
		if err == nil && d.Parent != chain[i+1] {
			err = errors.New("it is a delta on another object")
		}
		if err == nil {
			err = d.Apply(data)
		}
		if err != nil {
			return nil, fmt.Errorf("object %s of bucket %s: %w", key, b.Name, err)
		}
	}
	return data, nil
}

// writeSparse writes data at off, leaving zero blocks unwritten: the file
// is new or holds the same data from an interrupted restore.
func writeSparse(f *os.File, data []byte, off int64) error {
	for at := 0; at < len(data); at += bucket.BlockSize {
		end := min(at+bucket.BlockSize, len(data))
		if zero(data[at:end]) {
			continue
		}
		run := end
		for run < len(data) && !zero(data[run:min(run+bucket.BlockSize, len(data))]) {
			run = min(run+bucket.BlockSize, len(data))
		}
		if _, err := f.WriteAt(data[at:run], off+int64(at)); err != nil {
			return err
		}
		at = run - bucket.BlockSize
	}
	return nil
}

// openDoneLog reads the offsets an interrupted restore wrote and opens
// the log for more.
func openDoneLog(path string) (map[int64]bool, *os.File, error) {
	done := map[int64]bool{}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if off, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64); err == nil {
				done[off] = true
			}
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	log, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return done, log, nil
}
