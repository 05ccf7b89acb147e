// Package backups is the controller's side of an S3 remote's bucket:
// listing the backups in it as LINSTOR lists them, committing a shipped
// backup with its .meta, deleting backups, and collecting the chunks no
// backup uses any more. The data itself moves between agents and the
// bucket (agent/backup); the format is agent/proto/bucket.
package backups

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"strata/agent/proto/bucket"
	"strata/apicall"
)

// Bucket is a remote's bucket.
type Bucket struct {
	Client *minio.Client
	Name   string
}

// Entry is one backup in the bucket: its name, its data keys by volume
// and, once it is committed, its meta.
type Entry struct {
	Name     bucket.Name
	DataKeys map[int32]string
	Meta     *bucket.Meta
}

// Committed tells whether the backup finished: its meta is there.
func (e Entry) Committed() bool { return e.Meta != nil }

// Restorable tells whether every data object the meta names is there.
func (e Entry) Restorable() bool {
	if e.Meta == nil {
		return false
	}
	have := slices.Collect(maps.Values(e.DataKeys))
	for _, vols := range e.Meta.Backups {
		for _, v := range vols {
			if !slices.Contains(have, v.Name) {
				return false
			}
		}
	}
	return true
}

// Listing is the bucket's backups by id, and the keys that are neither a
// backup's nor Strata's chunks.
type Listing struct {
	Backups map[string]*Entry
	Other   []string
}

// List reads the bucket: every key, and the meta of every backup.
func (b Bucket) List(ctx context.Context) (Listing, error) {
	l := Listing{Backups: map[string]*Entry{}}
	entry := func(n bucket.Name) *Entry {
		e := l.Backups[n.ID()]
		if e == nil {
			e = &Entry{Name: n, DataKeys: map[int32]string{}}
			l.Backups[n.ID()] = e
		}
		return e
	}
	var metas []string
	for obj := range b.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return Listing{}, fmt.Errorf("list bucket %s: %w", b.Name, obj.Err)
		}
		key := obj.Key
		switch {
		case strings.HasPrefix(key, bucket.Prefix):
		case strings.HasSuffix(key, ".meta"):
			if n, ok := bucket.ParseMetaKey(key); ok {
				entry(n)
				metas = append(metas, key)
				continue
			}
			l.Other = append(l.Other, key)
		default:
			if n, nr, ok := bucket.ParseDataKey(key); ok {
				entry(n).DataKeys[nr] = key
				continue
			}
			l.Other = append(l.Other, key)
		}
	}
	for _, key := range metas {
		m, err := b.ReadMeta(ctx, key)
		if err != nil {
			l.Other = append(l.Other, key) // not a meta Strata can read
			continue
		}
		n, _ := bucket.ParseMetaKey(key)
		l.Backups[n.ID()].Meta = &m
	}
	return l, nil
}

// ReadMeta reads a backup's meta.
func (b Bucket) ReadMeta(ctx context.Context, key string) (bucket.Meta, error) {
	var m bucket.Meta
	err := b.readJSON(ctx, key, &m)
	return m, err
}

func (b Bucket) readJSON(ctx context.Context, key string, v any) error {
	obj, err := b.Client.GetObject(ctx, b.Name, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("download %s from bucket %s: %w", key, b.Name, err)
	}
	defer obj.Close()
	if err := json.NewDecoder(obj).Decode(v); err != nil {
		return fmt.Errorf("read %s of bucket %s: %w", key, b.Name, err)
	}
	return nil
}

// Manifest reads a volume's manifest.
func (b Bucket) Manifest(ctx context.Context, key string) (bucket.Manifest, error) {
	var m bucket.Manifest
	err := b.readJSON(ctx, key, &m)
	return m, err
}

// Chain is the backups from the chain's full backup to e, oldest first,
// following basedOn as far as the bucket holds the bases.
func (l Listing) Chain(e *Entry) []*Entry {
	out := []*Entry{e}
	for base := l.base(e); base != nil && !slices.Contains(out, base); base = l.base(base) {
		out = append([]*Entry{base}, out...)
	}
	return out
}

// Commit writes a backup's meta: from then on it is listed as a
// successful backup.
func (b Bucket) Commit(ctx context.Context, n bucket.Name, m bucket.Meta) error {
	m.Format = bucket.MetaFormat
	return b.putJSON(ctx, n.MetaKey(), m)
}

func (b Bucket) putJSON(ctx context.Context, key string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := b.Client.PutObject(ctx, b.Name, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("upload %s to bucket %s: %w", key, b.Name, err)
	}
	return nil
}

// Lease holds off garbage collection while a shipment runs: chunks it
// finds in the bucket and does not send again must stay.
func (b Bucket) Lease(ctx context.Context, holder string) error {
	return b.putJSON(ctx, bucket.LeasePrefix+holder, map[string]int64{"taken": time.Now().UnixMilli()})
}

// Unlease ends a shipment's lease.
func (b Bucket) Unlease(ctx context.Context, holder string) error {
	return b.remove(ctx, bucket.LeasePrefix+holder)
}

func (b Bucket) remove(ctx context.Context, key string) error {
	if err := b.Client.RemoveObject(ctx, b.Name, key, minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).StatusCode != 404 {
		return fmt.Errorf("delete %s of bucket %s: %w", key, b.Name, err)
	}
	return nil
}

// Delete removes backups: the meta first, so that a backup is never
// listed as successful without all of its data, then the manifests.
func (b Bucket) Delete(ctx context.Context, entries []*Entry) error {
	for _, e := range entries {
		if err := b.remove(ctx, e.Name.MetaKey()); err != nil {
			return err
		}
		for _, key := range e.DataKeys {
			if err := b.remove(ctx, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// LeaseExpiry is how long a lease holds off garbage collection: past it,
// its shipment is taken to have died without ending it.
const LeaseExpiry = 24 * time.Hour

// CollectGarbage deletes the chunks and deltas no manifest in the bucket
// names, unless a shipment holds a lease; it reports how many it deleted.
// A lease is looked for before and after the manifests are read, so a
// shipment that starts meanwhile stops the collection.
func (b Bucket) CollectGarbage(ctx context.Context) (int, error) {
	if busy, err := b.leased(ctx); err != nil || busy {
		return 0, err
	}
	l, err := b.List(ctx)
	if err != nil {
		return 0, err
	}
	used := map[string]bool{}
	for _, e := range l.Backups {
		for _, key := range e.DataKeys {
			m, err := b.Manifest(ctx, key)
			if err != nil {
				return 0, fmt.Errorf("no garbage collected: %w", err)
			}
			for _, ch := range m.Chunks {
				for _, id := range ch.Chain {
					used[id] = true
				}
			}
		}
	}
	var unused []string
	for _, prefix := range []string{bucket.ChunkPrefix, bucket.DeltaPrefix} {
		for obj := range b.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				return 0, obj.Err
			}
			if id, ok := bucket.ObjectID(obj.Key); ok && !used[id] {
				unused = append(unused, obj.Key)
			}
		}
	}
	if busy, err := b.leased(ctx); err != nil || busy {
		return 0, err
	}
	for _, key := range unused {
		if err := b.remove(ctx, key); err != nil {
			return 0, err
		}
	}
	return len(unused), nil
}

// leased tells whether a shipment holds an unexpired lease.
func (b Bucket) leased(ctx context.Context) (bool, error) {
	for obj := range b.Client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Prefix: bucket.LeasePrefix, Recursive: true}) {
		if obj.Err != nil {
			return false, obj.Err
		}
		if time.Since(obj.LastModified) < LeaseExpiry {
			return true, nil
		}
	}
	return false, nil
}

// Latest is the backup a restore or info names: the id given, else the
// newest successful backup of the resource (of its snapshot, when
// named), with LINSTOR's refusals.
func (l Listing) Latest(id, rsc, snap string) (*Entry, error) {
	if id == "" && rsc == "" && snap == "" {
		return nil, &apicall.Refused{Code: apicall.FailInvldRequest, Message: "One of backup ID, resource name or snapshot name is required, but none was given"}
	}
	if id != "" {
		if _, ok := bucket.ParseID(id); !ok {
			return nil, &apicall.Refused{Code: apicall.FailInvldRequest, Message: fmt.Sprintf("The target backup %s is invalid since it does not match the pattern of '<rscName>_back_YYYYMMDD_HHMMSS[optional-backup-s3-suffix][^snapshot-name][.meta]'. Please provide a valid target backup, or provide only the source resource name to restore to the latest backup of that resource.", id)}
		}
		e := l.Backups[strings.TrimSuffix(id, ".meta")]
		if e == nil || !e.Restorable() {
			return nil, &apicall.Refused{Code: apicall.FailNotFoundBackup, Message: fmt.Sprintf("The target backup %s does not exist in the given remote. Please provide a valid target backup.", id)}
		}
		return e, nil
	}
	var best *Entry
	for _, e := range l.Backups {
		if !e.Restorable() || (rsc != "" && !strings.EqualFold(e.Name.Resource, rsc)) || (snap != "" && !strings.EqualFold(e.Name.SnapshotName(), snap)) {
			continue
		}
		if best == nil || e.Meta.StartTimestamp > best.Meta.StartTimestamp {
			best = e
		}
	}
	if best == nil {
		return nil, &apicall.Refused{Code: apicall.FailNotFoundBackup, Message: fmt.Sprintf("No successful backup of resource %s%s exists in the given remote.", rsc, map[bool]string{true: " snapshot " + snap}[snap != ""])}
	}
	return best, nil
}
