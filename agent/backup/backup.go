// Package backup ships a snapshot's data to an S3 bucket in Strata's
// chunked format (agent/proto/bucket) and brings it back. The agent runs
// it with credentials it is handed for one job and keeps nowhere else.
package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"strata/agent/proto"
	"strata/agent/proto/bucket"
)

// Bucket is where a job's objects go.
type Bucket struct {
	Client *minio.Client
	Name   string
}

// Progress is how far a job is.
type Progress = proto.JobProgress

// Workers is how many chunks a job moves at once: enough to keep one
// stream to S3 busy while another chunk is read and compressed.
const Workers = 4

// counters are a job's progress, updated by its workers.
type counters struct {
	total            int64
	done, read, sent atomic.Int64
	report           func(Progress)
	mu               sync.Mutex
}

func (c *counters) progress() Progress {
	return Progress{TotalBytes: c.total, DoneBytes: c.done.Load(), ReadBytes: c.read.Load(), SentBytes: c.sent.Load()}
}

func (c *counters) chunkDone(n int64) {
	c.done.Add(n)
	if c.report != nil {
		c.mu.Lock()
		c.report(c.progress())
		c.mu.Unlock()
	}
}

var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(Workers), zstd.WithDecoderMaxMemory(2*bucket.ChunkSize), zstd.WithDecoderLowmem(true))
)

// chunkLen is the length of the chunk at off of a volume of size bytes.
func chunkLen(off, size int64) int64 { return min(bucket.ChunkSize, size-off) }

// exists tells whether the bucket holds key.
func (b Bucket) exists(ctx context.Context, key string) (bool, error) {
	_, err := b.Client.StatObject(ctx, b.Name, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if minio.ToErrorResponse(err).StatusCode == 404 {
		return false, nil
	}
	return false, fmt.Errorf("look for %s in bucket %s: %w", key, b.Name, err)
}

// put stores payload compressed under key unless the bucket has it: the
// key names its content, so an object there is the object wanted, which
// is what lets a job that was interrupted go on where it stopped.
func (b Bucket) put(ctx context.Context, key string, payload []byte, c *counters) error {
	if ok, err := b.exists(ctx, key); err != nil || ok {
		return err
	}
	z := encoder.EncodeAll(payload, make([]byte, 0, len(payload)/2))
	if _, err := b.Client.PutObject(ctx, b.Name, key, bytes.NewReader(z), int64(len(z)), minio.PutObjectOptions{ContentType: "application/zstd"}); err != nil {
		return fmt.Errorf("upload %s to bucket %s: %w", key, b.Name, err)
	}
	c.sent.Add(int64(len(z)))
	return nil
}

// get fetches an object and checks that its content is the one its id
// names.
func (b Bucket) get(ctx context.Context, key, id string, c *counters) ([]byte, error) {
	obj, err := b.Client.GetObject(ctx, b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	defer obj.Close()
	z, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	c.read.Add(int64(len(z)))
	data, err := decoder.DecodeAll(z, make([]byte, 0, bucket.ChunkSize))
	if err != nil {
		return nil, fmt.Errorf("object %s of bucket %s is corrupt: %w", key, b.Name, err)
	}
	if got := bucket.Sum(data); got != id {
		return nil, fmt.Errorf("object %s of bucket %s is corrupt: its content hashes to %s", key, b.Name, got)
	}
	return data, nil
}

// forEach runs fn for 0 ≤ i < n, by Workers at once, and stops at the
// first error.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(Workers)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
