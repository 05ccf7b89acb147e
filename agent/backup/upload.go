package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/minio/minio-go/v7"

	"strata/agent/proto/bucket"
)

// Upload is one volume's snapshot to ship.
type Upload struct {
	Bucket Bucket
	// Path is the snapshot's file.
	Path string
	// Base is the manifest of the backup this one is incremental to, and
	// BasePath its snapshot's file on this node ("" when it is gone: then
	// the snapshot is read whole and compared with it).
	Base     *bucket.Manifest
	BasePath string
	// Manifest names the volume; DataKey is where its manifest goes.
	Manifest bucket.Manifest
	DataKey  string
	Progress func(Progress)
}

// source is a file being shipped and what its file system tells of it.
type source struct {
	f      *os.File
	size   int64
	m      []extent
	mapped bool
}

func open(path string) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return source{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return source{}, err
	}
	m, ok := extents(f)
	return source{f: f, size: fi.Size(), m: m, mapped: ok}, nil
}

// read reads a span of the chunk at off.
func (s source) read(off int64, sp span, c *counters) ([]byte, error) {
	buf := make([]byte, sp.length)
	if _, err := s.f.ReadAt(buf, off+sp.off); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", s.f.Name(), off+sp.off, err)
	}
	c.read.Add(sp.length)
	return buf, nil
}

// readChunk reads the chunk at off: where the file system maps the
// file, only the spans that hold data (cur), the holes being zeros.
func (s source) readChunk(off, n int64, cur []extent, c *counters) ([]byte, error) {
	if !s.mapped {
		return s.read(off, span{0, n}, c)
	}
	buf := make([]byte, n)
	for _, e := range cur {
		if _, err := s.f.ReadAt(buf[e.logical:e.logical+e.length], off+e.logical); err != nil {
			return nil, fmt.Errorf("read %s at %d: %w", s.f.Name(), off+e.logical, err)
		}
		c.read.Add(e.length)
	}
	return buf, nil
}

// Run ships the snapshot and writes its manifest; it returns the
// manifest and how much was read and sent. Every chunk the bucket holds
// already, by its content's id, is not sent again.
func (u Upload) Run(ctx context.Context) (bucket.Manifest, Progress, error) {
	src, err := open(u.Path)
	if err != nil {
		return bucket.Manifest{}, Progress{}, fmt.Errorf("open snapshot: %w", err)
	}
	defer src.f.Close()
	var base *source
	baseAt := map[int64][]string{}
	if u.Base != nil && u.Base.SizeBytes == src.size {
		for _, ch := range u.Base.Chunks {
			baseAt[ch.Offset] = ch.Chain
		}
		if u.BasePath != "" {
			if b, err := open(u.BasePath); err == nil {
				defer b.f.Close()
				base = &b
			}
		}
	} else {
		u.Base = nil
	}
	c := &counters{total: src.size, report: u.Progress}
	chunks := make([][]string, (src.size+bucket.ChunkSize-1)/bucket.ChunkSize)
	err = forEach(ctx, len(chunks), func(ctx context.Context, i int) error {
		off := int64(i) * bucket.ChunkSize
		chain, err := u.chunk(ctx, src, base, baseAt[off], off, c)
		chunks[i] = chain
		c.chunkDone(chunkLen(off, src.size))
		return err
	})
	if err != nil {
		return bucket.Manifest{}, c.progress(), err
	}
	man := u.Manifest
	man.Format, man.SizeBytes, man.ChunkSize, man.Chunks = bucket.ManifestFormat, src.size, bucket.ChunkSize, nil
	for i, chain := range chunks {
		if chain != nil {
			man.Chunks = append(man.Chunks, bucket.Chunk{Offset: int64(i) * bucket.ChunkSize, Chain: chain})
		}
	}
	body, err := json.Marshal(man)
	if err != nil {
		return bucket.Manifest{}, c.progress(), err
	}
	if _, err := u.Bucket.Client.PutObject(ctx, u.Bucket.Name, u.DataKey, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return bucket.Manifest{}, c.progress(), fmt.Errorf("upload %s to bucket %s: %w", u.DataKey, u.Bucket.Name, err)
	}
	return man, c.progress(), nil
}

// chunk ships the chunk at off and returns its chain (nil: zeros).
// Against a base whose snapshot is on this node, the file systems' maps
// of both tell what changed without reading; only the changed blocks are
// read and shipped, as a delta on the base's chain.
func (u Upload) chunk(ctx context.Context, src source, base *source, baseChain []string, off int64, c *counters) ([]string, error) {
	n := chunkLen(off, src.size)
	cur := within(src.m, off, n)
	if u.Base == nil && src.mapped && len(cur) == 0 {
		return nil, nil // a hole
	}
	if base != nil && src.mapped && base.mapped {
		diff := changed(cur, within(base.m, off, n), n)
		if len(diff) == 0 {
			return baseChain, nil
		}
		if d, ok := deltaWorth(diff, baseChain, n); ok {
			var r []bucket.Range
			for _, sp := range d {
				data, zero := holes(cur, sp)
				for _, z := range zero {
					r = append(r, bucket.Range{Offset: z.off, Zero: z.length})
				}
				for _, ds := range data {
					buf, err := src.read(off, ds, c)
					if err != nil {
						return nil, err
					}
					r = append(r, bucket.Range{Offset: ds.off, Data: buf})
				}
			}
			return u.putDelta(ctx, baseChain, r, c)
		}
	}
	data, err := src.readChunk(off, n, cur, c)
	if err != nil {
		return nil, err
	}
	if base != nil && baseChain != nil && !(src.mapped && base.mapped) {
		// No map to tell: compare with the base's snapshot block by block.
		old, err := base.read(off, span{0, n}, c)
		if err != nil {
			return nil, err
		}
		diff := differing(data, old)
		if len(diff) == 0 {
			return baseChain, nil
		}
		if d, ok := deltaWorth(diff, baseChain, n); ok {
			r := make([]bucket.Range, len(d))
			for i, sp := range d {
				r[i] = bucket.Range{Offset: sp.off, Data: data[sp.off : sp.off+sp.length]}
			}
			return u.putDelta(ctx, baseChain, r, c)
		}
	}
	if zero(data) {
		return nil, nil
	}
	id := bucket.Sum(data)
	return []string{id}, u.Bucket.put(ctx, bucket.ChunkKey(id), data, c)
}

// deltaWorth tells whether changes are shipped as a delta: while the
// chain is short and less than half of the chunk changed.
func deltaWorth(diff []span, chain []string, n int64) ([]span, bool) {
	if chain == nil || len(chain) >= bucket.MaxChain {
		return nil, false
	}
	var total int64
	for _, sp := range diff {
		total += sp.length
	}
	return diff, total <= n/2
}

func (u Upload) putDelta(ctx context.Context, chain []string, r []bucket.Range, c *counters) ([]string, error) {
	payload := bucket.Delta{Parent: chain[0], Ranges: r}.Encode()
	id := bucket.Sum(payload)
	if err := u.Bucket.put(ctx, bucket.DeltaKey(id), payload, c); err != nil {
		return nil, err
	}
	return append([]string{id}, chain...), nil
}

// differing are the blocks where two chunks differ.
func differing(a, b []byte) []span {
	var out []span
	for off := 0; off < len(a); off += bucket.BlockSize {
		end := min(off+bucket.BlockSize, len(a))
		if bytes.Equal(a[off:end], b[off:end]) {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].off+out[k].length == int64(off) {
			out[k].length += int64(end - off)
		} else {
			out = append(out, span{int64(off), int64(end - off)})
		}
	}
	return out
}

var zeros = make([]byte, bucket.BlockSize)

func zero(data []byte) bool {
	for off := 0; off < len(data); off += bucket.BlockSize {
		if !bytes.Equal(data[off:min(off+bucket.BlockSize, len(data))], zeros[:min(bucket.BlockSize, len(data)-off)]) {
			return false
		}
	}
	return true
}
