package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"strata/agent/backup"
	"strata/agent/proto"
	"strata/agent/proto/bucket"
	"strata/agent/storage"
)

// jobReportInterval is how often a job's answer carries its progress.
const jobReportInterval = time.Second

// s3Bucket opens a job's bucket with the credentials it carries.
func s3Bucket(t proto.S3Target) (backup.Bucket, error) {
	c, err := bucket.Client(t.Endpoint, t.Region, t.AccessKey, t.SecretKey, t.UsePathStyle)
	return backup.Bucket{Client: c, Name: t.Bucket}, err
}

// snapshotFiles opens a job's pool as one whose snapshots are files.
func (a *Agent) snapshotFiles(ctx context.Context, p proto.Pool) (storage.SnapshotFiles, error) {
	prov, err := a.provider(ctx, p)
	if err != nil {
		return nil, err
	}
	files, ok := prov.(storage.SnapshotFiles)
	if !ok {
		return nil, fmt.Errorf("storage pool %s (%s) cannot ship backups on this agent: only FILE and FILE_THIN pools can", p.Name, p.Provider)
	}
	return files, nil
}

// Upload ships a volume's snapshot; progress is called as it goes.
func (a *Agent) Upload(ctx context.Context, job proto.BackupUpload, progress func(backup.Progress)) (backup.Progress, error) {
	files, err := a.snapshotFiles(ctx, job.Pool)
	if err != nil {
		return backup.Progress{}, err
	}
	b, err := s3Bucket(job.S3)
	if err != nil {
		return backup.Progress{}, err
	}
	name := storage.VolumeName(job.Resource, job.VlmNr)
	path, err := files.SnapshotFile(name, job.Snapshot)
	if err != nil {
		return backup.Progress{}, err
	}
	up := backup.Upload{Bucket: b, Path: path, DataKey: job.DataKey, Progress: progress,
		Manifest: bucket.Manifest{Resource: job.Resource, VlmNr: job.VlmNr, Snapshot: job.Snapshot}}
	if job.Base != nil {
		base, err := b.ReadManifest(ctx, job.Base.DataKey)
		if err != nil {
			return backup.Progress{}, fmt.Errorf("base of the incremental backup: %w", err)
		}
		up.Base = &base
		if p, err := files.SnapshotFile(name, job.Base.Snapshot); err == nil {
			up.BasePath = p
		}
	}
	a.Log.Info("backup upload started", "volume", name, "snapshot", job.Snapshot, "bucket", job.S3.Bucket, "key", job.DataKey, "incremental", job.Base != nil)
	_, p, err := up.Run(ctx)
	if err == nil {
		a.Log.Info("backup upload done", "volume", name, "snapshot", job.Snapshot, "read_bytes", p.ReadBytes, "sent_bytes", p.SentBytes)
	}
	return p, err
}

// toReceive opens the pool a volume's snapshot is received into and
// names the volume; files is nil when the snapshot is there already
// (received before).
func (a *Agent) toReceive(ctx context.Context, p proto.Pool, resource string, vlm int32, snapshot string) (storage.SnapshotFiles, string, error) {
	files, err := a.snapshotFiles(ctx, p)
	if err != nil {
		return nil, "", err
	}
	name := storage.VolumeName(resource, vlm)
	if _, err := files.SnapshotFile(name, snapshot); err == nil {
		return nil, name, nil
	}
	return files, name, nil
}

// Download brings a volume of a backup back as a snapshot of the pool.
func (a *Agent) Download(ctx context.Context, job proto.BackupDownload, progress func(backup.Progress)) (backup.Progress, error) {
	files, name, err := a.toReceive(ctx, job.Pool, job.Resource, job.VlmNr, job.Snapshot)
	if err != nil || files == nil {
		return backup.Progress{}, err
	}
	b, err := s3Bucket(job.S3)
	if err != nil {
		return backup.Progress{}, err
	}
	man, err := b.ReadManifest(ctx, job.DataKey)
	if err != nil {
		return backup.Progress{}, err
	}
	path, err := files.PartialSnapshotFile(name, job.Snapshot)
	if err != nil {
		return backup.Progress{}, err
	}
	a.Log.Info("backup download started", "volume", name, "snapshot", job.Snapshot, "bucket", job.S3.Bucket, "key", job.DataKey)
	p, err := backup.Restore{Bucket: b, Manifest: man, Path: path, Progress: progress}.Run(ctx)
	if err == nil {
		err = files.CommitSnapshot(name, job.Snapshot)
	}
	if err == nil {
		a.Log.Info("backup download done", "volume", name, "snapshot", job.Snapshot, "read_bytes", p.ReadBytes)
	}
	return p, err
}

// serveJob decodes a job, runs it, and streams its progress and end as
// JobEvent lines.
func serveJob[J any](a *Agent, run func(context.Context, J, func(backup.Progress)) (backup.Progress, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var job J
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&job); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable job: " + err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		flusher, _ := w.(http.Flusher)
		var mu sync.Mutex
		send := func(ev proto.JobEvent) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(ev)
			if flusher != nil {
				flusher.Flush()
			}
		}
		var last time.Time
		p, err := run(r.Context(), job, func(p backup.Progress) {
			if time.Since(last) >= jobReportInterval {
				last = time.Now()
				send(proto.JobEvent{Progress: &p})
			}
		})
		if err != nil {
			a.Log.Error("backup job failed", "path", r.URL.Path, "error", err)
			send(proto.JobEvent{Error: err.Error()})
			return
		}
		send(proto.JobEvent{Done: &p})
	}
}

// Send streams a volume's snapshot to another node's agent.
func (a *Agent) Send(ctx context.Context, job proto.ShipSend, progress func(backup.Progress)) (backup.Progress, error) {
	files, err := a.snapshotFiles(ctx, job.Pool)
	if err != nil {
		return backup.Progress{}, err
	}
	name := storage.VolumeName(job.Resource, job.VlmNr)
	s := backup.Send{Address: job.Address, Token: job.Token, Fingerprint: job.Fingerprint, Progress: progress}
	if s.Path, err = files.SnapshotFile(name, job.Snapshot); err != nil {
		return backup.Progress{}, err
	}
	if job.Base != "" {
		if s.BasePath, err = files.SnapshotFile(name, job.Base); err != nil {
			return backup.Progress{}, fmt.Errorf("base of the incremental shipment: %w", err)
		}
	}
	a.Log.Info("snapshot send started", "volume", name, "snapshot", job.Snapshot, "to", job.Address, "base", job.Base)
	p, err := s.Run(ctx)
	if err == nil {
		a.Log.Info("snapshot send done", "volume", name, "snapshot", job.Snapshot, "read_bytes", p.ReadBytes, "sent_bytes", p.SentBytes)
	}
	return p, err
}

// Receive listens for a volume's snapshot from another node's agent and
// commits it.
func (a *Agent) Receive(ctx context.Context, job proto.ShipReceive, progress func(backup.Progress)) (backup.Progress, error) {
	files, name, err := a.toReceive(ctx, job.Pool, job.Resource, job.VlmNr, job.Snapshot)
	if err != nil || files == nil {
		return backup.Progress{}, err
	}
	cert, err := tls.X509KeyPair([]byte(job.CertPEM), []byte(job.KeyPEM))
	if err != nil {
		return backup.Progress{}, fmt.Errorf("the shipment's certificate: %w", err)
	}
	r := backup.Receive{Token: job.Token, Wait: time.Duration(job.WaitMs) * time.Millisecond, Log: a.Log, Progress: progress,
		Commit: func() error { return files.CommitSnapshot(name, job.Snapshot) }}
	if r.Path, err = files.PartialSnapshotFile(name, job.Snapshot); err != nil {
		return backup.Progress{}, err
	}
	if job.Base != "" {
		if r.BasePath, err = files.SnapshotFile(name, job.Base); err != nil {
			return backup.Progress{}, fmt.Errorf("base of the incremental shipment: %w", err)
		}
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort("", strconv.Itoa(job.Port)), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		return backup.Progress{}, fmt.Errorf("listen for the snapshot: %w", err)
	}
	a.Log.Info("snapshot receive listening", "volume", name, "snapshot", job.Snapshot, "port", job.Port, "base", job.Base)
	progress(backup.Progress{}) // the first report says it listens
	p, err := r.Run(ctx, ln)
	if err == nil {
		a.Log.Info("snapshot receive done", "volume", name, "snapshot", job.Snapshot, "read_bytes", p.ReadBytes)
	}
	return p, err
}
