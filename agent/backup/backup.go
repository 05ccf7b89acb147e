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

// Workers is how many chunks a job moves at once. S3 servers answer
// each object after writing it, so several requests must be open to keep
// the link busy: with 8 a 1 GiB full backup ran at 86 % of one PutObject
// of the same bytes (4 at 74 %), at most 8 × 2 chunks in memory.
const Workers = 8

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

// The frames carry no checksum of their own: every object is checked
// against the SHA-256 its key names.
var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(Workers), zstd.WithDecoderMaxMemory(2*bucket.ChunkSize), zstd.WithDecoderLowmem(true))
)

// maxObject bounds what a download reads: a compressed chunk, or a delta
// of every block of one.
var maxObject = int64(encoder.MaxEncodedSize(2 * bucket.ChunkSize))

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

// put stores payload under key unless the bucket has it: the key names
// its content, so an object there is the object wanted, which is what
// lets a job that was interrupted go on where it stopped.
func (b Bucket) put(ctx context.Context, key string, payload []byte, c *counters) error {
	if ok, err := b.exists(ctx, key); err != nil || ok {
		return err
	}
	body, contentType := encode(payload)
	// The key is the content's SHA-256, checked on every restore: signing
	// the payload's own SHA-256 as well would hash each chunk twice more
	// (here and in the server) for nothing; a CRC32C trailer guards the
	// transfer instead.
	if _, err := b.Client.PutObject(ctx, b.Name, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: contentType, DisableContentSha256: true}); err != nil {
		return fmt.Errorf("upload %s to bucket %s: %w", key, b.Name, err)
	}
	c.sent.Add(int64(len(body)))
	return nil
}

// sampleSize is the bytes of each of three samples of an object that
// are compressed to tell whether compressing it pays.
const sampleSize = 16 << 10

// encode compresses payload with zstd unless samples of its start,
// middle and end shrink by less than an eighth: random, encrypted or
// already compressed data is stored as it is, since compressing it costs
// more time than any transfer it saves.
func encode(payload []byte) ([]byte, string) {
	if n := len(payload); n > 3*sampleSize {
		var in, out int
		for _, at := range []int{0, n/2 - sampleSize/2, n - sampleSize} {
			sample := payload[at : at+sampleSize]
			in += len(sample)
			out += len(encoder.EncodeAll(sample, make([]byte, 0, encoder.MaxEncodedSize(sampleSize))))
		}
		if out > in-in/8 {
			return payload, bucket.ContentRaw
		}
	}
	return encoder.EncodeAll(payload, make([]byte, 0, encoder.MaxEncodedSize(len(payload)))), bucket.ContentZstd
}

// get fetches an object into buf (reused when large enough) and checks
// that its content is the one its id names.
func (b Bucket) get(ctx context.Context, key, id string, buf []byte, c *counters) ([]byte, error) {
	obj, err := b.Client.GetObject(ctx, b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	defer obj.Close()
	info, err := obj.Stat() // the GET's own answer: no request more
	if err != nil {
		return nil, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	if info.Size < 0 || info.Size > maxObject {
		return nil, fmt.Errorf("object %s of bucket %s is corrupt: it holds %d bytes, more than any chunk", key, b.Name, info.Size)
	}
	raw := info.ContentType == bucket.ContentRaw
	body := buf[:0]
	if !raw || int64(cap(buf)) < info.Size {
		body = make([]byte, 0, info.Size)
	}
	body = body[:info.Size]
	if _, err := io.ReadFull(obj, body); err != nil {
		return nil, fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	c.read.Add(int64(len(body)))
	data := body
	if !raw {
		if data, err = decoder.DecodeAll(body, buf[:0]); err != nil {
			return nil, fmt.Errorf("object %s of bucket %s is corrupt: %w", key, b.Name, err)
		}
	}
	if got := bucket.Sum(data); got != id {
		return nil, fmt.Errorf("object %s of bucket %s is corrupt: its content hashes to %s", key, b.Name, got)
	}
	return data, nil
}

// chunkBuffers recycles the chunks a restore writes: it moves thousands,
// and a new 4 MiB buffer each time costs its zeroing and the garbage
// collector's work.
var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, bucket.ChunkSize); return &b }}

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
