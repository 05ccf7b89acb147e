// Package agent is the node agent: it serves the controller's protocol
// (agent/proto), makes the node's storage match the desired state it is
// sent, and reports what is there. It keeps no state of its own.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"strata/agent/execrun"
	"strata/agent/proto"
	"strata/agent/storage"
	"strata/agent/storage/file"
	"strata/agent/storage/lvm"
	"strata/agent/storage/zfs"
	"strata/logring"
)

// Agent converges a node.
type Agent struct {
	Version string
	Run     execrun.Runner
	Machine Machine
	Log     *slog.Logger
	// DrbdDir is where DRBD resource files go (DefaultDrbdDir if empty).
	DrbdDir string
	// Files says where external files may be written.
	Files ExternalFiles
	// Level is the log level of Log, changed at run time by the
	// controller (node set-log-level); nil: not changeable.
	Level *slog.LevelVar
	// Trust admits only the cluster's controllers; nil: everybody (an
	// agent inside a test process).
	Trust *Trust
	// LogRing holds the agent's recent log lines for SOS reports; nil:
	// none.
	LogRing *logring.Ring

	mu      sync.Mutex // one apply at a time
	applied int64      // generation of the last state applied

	probeMu  sync.Mutex
	probed   capabilities
	probedAt time.Time

	// snapshotSupport is each pool's probed snapshot support, by pool
	// name, with when it was probed.
	snapshotSupport map[string]probedSupport
	// holds are the resources this agent suspended, each with the timer
	// that resumes it should no state keep it suspended (the controller
	// that suspended it died and did not come back).
	holds map[string]*time.Timer
}

type probedSupport struct {
	ok bool
	at time.Time
}

// SuspendTimeout is how long a resource's I/O stays suspended without a
// state that keeps it so: past the deadline of taking a snapshot, an
// application's writes must not hang on a controller that is gone.
var SuspendTimeout = 3 * time.Minute

// reprobe is how long what the node can serve is trusted: tools get
// installed and modules loaded while the agent runs.
const reprobe = 30 * time.Second

func (a *Agent) capabilities(ctx context.Context) capabilities {
	a.probeMu.Lock()
	defer a.probeMu.Unlock()
	if a.probedAt.IsZero() || time.Since(a.probedAt) > reprobe {
		a.probed, a.probedAt = probe(ctx, a.Machine, a.Run), time.Now()
	}
	return a.probed
}

// bootID names this run of the agent.
var bootID = func() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// Info describes the agent and its node.
func (a *Agent) Info(ctx context.Context) proto.Info {
	var u unix.Utsname
	uname := ""
	if unix.Uname(&u) == nil {
		uname = unix.ByteSliceToString(u.Nodename[:])
	}
	c := a.capabilities(ctx)
	return proto.Info{Version: a.Version, ProtocolVersion: proto.ProtocolVersion, Uname: uname,
		Providers: c.providers, UnsupportedProviders: c.unsupportedProviders, Layers: c.layers, UnsupportedLayers: c.unsupportedLayers,
		ExternalFileDirs: a.Files.Dirs, BootID: bootID}
}

// provider opens a pool's provider.
func (a *Agent) provider(ctx context.Context, p proto.Pool) (storage.Provider, error) {
	if why, ok := a.capabilities(ctx).unsupportedProviders[p.Provider]; ok {
		return nil, fmt.Errorf("storage provider %s of pool %s is not served by this agent: %s", p.Provider, p.Name, strings.Join(why, "; "))
	}
	switch p.Provider {
	case "FILE", "FILE_THIN":
		dir := p.Props["StorDriver/FileDir"]
		if dir == "" {
			dir = p.Props["StorDriver/StorPoolName"]
		}
		if dir == "" {
			return nil, fmt.Errorf("storage pool %s has no directory (StorDriver/FileDir)", p.Name)
		}
		return file.New(ctx, dir, p.Provider == "FILE_THIN", a.Run), nil
	case "LVM", "LVM_THIN":
		settings, err := storage.ReadSettings(p.Props, "StorDriver/LvcreateOptions", "StorDriver/LvcreateSnapshotOptions")
		if err != nil {
			return nil, err
		}
		cfg := lvm.Config{VG: p.Props["StorDriver/LvmVg"], ThinPool: p.Props["StorDriver/ThinPool"], Settings: settings, DMStats: p.Props["StorDriver/DMStats"] == "true"}
		if cfg.VG == "" || (p.Provider == "LVM_THIN") != (cfg.ThinPool != "") {
			return nil, fmt.Errorf("storage pool %s names no volume group (StorDriver/LvmVg) or, for LVM_THIN, no thin pool (StorDriver/ThinPool)", p.Name)
		}
		return lvm.New(cfg, a.Run, a.Machine.Exists), nil
	case "ZFS", "ZFS_THIN":
		settings, err := storage.ReadSettings(p.Props, "StorDriver/ZfscreateOptions", "StorDriver/ZfsSnapshotOptions")
		if err != nil {
			return nil, err
		}
		dataset := p.Props["StorDriver/ZPool"]
		if p.Provider == "ZFS_THIN" {
			dataset = p.Props["StorDriver/ZPoolThin"]
		}
		if dataset == "" {
			return nil, fmt.Errorf("storage pool %s names no zpool (StorDriver/ZPool or StorDriver/ZPoolThin)", p.Name)
		}
		return zfs.New(zfs.Config{Dataset: dataset, Thin: p.Provider == "ZFS_THIN", Settings: settings}, a.Run, a.Machine.Exists), nil
	}
	return nil, fmt.Errorf("storage provider %s of pool %s is not served by this agent", p.Provider, p.Name)
}

// Apply makes the node's volumes those of the desired state: it takes
// down the DRBD resources no longer wanted, creates and grows the
// volumes wanted, deletes those of its own naming that are no longer
// wanted, and brings up DRBD over the storage where the resource has a
// DRBD layer. A failing pool, volume or resource is reported and leaves
// the others alone.
func (a *Agent) Apply(ctx context.Context, want proto.NodeState) proto.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	if want.Generation < a.applied {
		a.Log.Info("older state ignored", "generation", want.Generation, "applied", a.applied)
		return proto.Report{Stale: true, Applied: a.applied}
	}
	a.applied = want.Generation
	drbdWanted := drbdResources(want)
	refused := unapplied(want)
	for name := range refused {
		delete(drbdWanted, name)
	}
	suspend := map[string]bool{}
	for _, name := range want.Suspended {
		suspend[name] = true
	}
	var rep proto.Report
	rep.SuspendFailed = a.suspend(ctx, drbdWanted, suspend)
	a.downUnwanted(ctx, drbdWanted)
	snapshots := map[string][]proto.Snapshot{}
	for _, sn := range want.Snapshots {
		snapshots[sn.Pool] = append(snapshots[sn.Pool], sn)
	}
	grown := map[string]bool{} // volumes whose storage grew, by volume name
	byPool := map[string][]proto.Volume{}
	for _, v := range want.Volumes {
		if err, ok := refused[v.Resource]; ok {
			rep.Volumes = append(rep.Volumes, failed(v, err.Error()))
			continue
		}
		byPool[v.Pool] = append(byPool[v.Pool], v)
	}
	for _, p := range want.Pools {
		vols := byPool[p.Name]
		delete(byPool, p.Name)
		if p.Provider == "DISKLESS" {
			for _, v := range vols {
				rep.Volumes = append(rep.Volumes, proto.VolumeReport{Resource: v.Resource, VlmNr: v.VlmNr, Pool: p.Name, DiskState: proto.DiskDiskless})
			}
			rep.Pools = append(rep.Pools, proto.PoolReport{Name: p.Name})
			continue
		}
		pr, vrs, srs := a.applyPool(ctx, p, vols, snapshots[p.Name], grown)
		rep.Pools = append(rep.Pools, pr)
		rep.Volumes = append(rep.Volumes, vrs...)
		rep.Snapshots = append(rep.Snapshots, srs...)
	}
	for pool, vols := range byPool { // volumes in pools the state does not name
		for _, v := range vols {
			rep.Volumes = append(rep.Volumes, failed(v, fmt.Sprintf("storage pool %s is not on this node", pool)))
		}
	}
	sort.Slice(rep.Volumes, func(i, j int) bool {
		a, b := rep.Volumes[i], rep.Volumes[j]
		return a.Resource < b.Resource || (a.Resource == b.Resource && a.VlmNr < b.VlmNr)
	})
	rep.Resources = storageOnly(rep.Volumes, drbdWanted, refused)
	a.applyDrbd(ctx, want.Node, drbdWanted, grown, suspend, a.capabilities(ctx), &rep)
	rep.FileErrors = a.applyFiles(want.Files)
	return rep
}

// storageOnly reports the resources without layers above their storage
// whose volumes are all there (vols sorted by resource).
func storageOnly(vols []proto.VolumeReport, drbd map[string]proto.Resource, refused map[string]error) []proto.ResourceReport {
	var out []proto.ResourceReport
	for i := 0; i < len(vols); {
		name, there, inUse := vols[i].Resource, true, false
		for ; i < len(vols) && vols[i].Resource == name; i++ {
			there = there && vols[i].DevicePath != "" && vols[i].Error == ""
			inUse = inUse || vols[i].DevicePath != "" && storage.DeviceInUse(vols[i].DevicePath)
		}
		_, isDrbd := drbd[name]
		if _, no := refused[name]; there && !isDrbd && !no {
			out = append(out, proto.ResourceReport{Name: name, InUse: inUse})
		}
	}
	return out
}

func failed(v proto.Volume, why string) proto.VolumeReport {
	return proto.VolumeReport{Resource: v.Resource, VlmNr: v.VlmNr, Pool: v.Pool, DiskState: proto.DiskFailed, Error: why}
}

func (a *Agent) applyPool(ctx context.Context, p proto.Pool, vols []proto.Volume, snaps []proto.Snapshot, grown map[string]bool) (proto.PoolReport, []proto.VolumeReport, []proto.SnapshotReport) {
	pr := proto.PoolReport{Name: p.Name}
	var out []proto.VolumeReport
	prov, err := a.provider(ctx, p)
	if err == nil {
		var c storage.Capacity
		if c, err = prov.Capacity(ctx); err == nil {
			pr.FreeKib, pr.TotalKib = c.FreeKib, c.TotalKib
		}
	}
	var existing []storage.VolumeState
	if err == nil {
		existing, err = prov.Volumes(ctx)
	}
	if err != nil {
		pr.Error = err.Error()
		for _, v := range vols {
			out = append(out, failed(v, err.Error()))
		}
		return pr, out, failedSnapshots(snaps, p.Name, err)
	}
	pr.SupportsSnapshots = a.supportsSnapshots(ctx, p.Name, prov)
	before := make(map[string]int64, len(existing))
	for _, st := range existing {
		before[st.Name] = st.UsableKib
	}
	wanted := map[string]bool{}
	for _, v := range vols {
		name := storage.VolumeName(v.Resource, v.VlmNr)
		wanted[name] = true
		sv := storage.Volume{Name: name, SizeKib: v.SizeKib}
		if v.CreateOptions != nil {
			sv.CreateOptions = strings.Fields(*v.CreateOptions)
		}
		var st storage.VolumeState
		var err error
		if _, ok := before[name]; !ok && v.From != nil {
			st, err = prov.Clone(ctx, storage.VolumeName(v.From.Resource, v.VlmNr), v.From.Snapshot, name)
			if err == nil {
				a.Log.Info("volume made from snapshot", "volume", name, "snapshot", v.From.Snapshot, "of", v.From.Resource)
			}
		} else {
			st, err = prov.Create(ctx, sv)
		}
		if err == nil && st.UsableKib < v.SizeKib {
			st, err = prov.Resize(ctx, sv)
		}
		if err != nil {
			a.Log.Error("volume failed", "volume", name, "pool", p.Name, "error", err)
			out = append(out, failed(v, err.Error()))
			continue
		}
		old, existed := before[name]
		if existed && old < st.UsableKib {
			grown[name] = true
		}
		vr := proto.VolumeReport{Resource: v.Resource, VlmNr: v.VlmNr, Pool: p.Name, DevicePath: st.DevicePath, BackingPath: st.BackingPath,
			AllocatedKib: st.AllocatedKib, UsableKib: st.UsableKib, DiskState: proto.DiskUpToDate}
		if v.FileSystem != nil {
			fresh := !existed || strings.HasSuffix(p.Provider, "_THIN") && st.AllocatedKib == 0
			if vr.FileSystem, err = a.fileSystem(ctx, st.DevicePath, *v.FileSystem, fresh); err != nil {
				a.Log.Error("file system failed", "volume", name, "error", err)
				vr.DiskState, vr.Error = proto.DiskFailed, "file system: "+err.Error()
			}
		}
		out = append(out, vr)
	}
	srs, serr := a.applySnapshots(ctx, p.Name, prov, snaps)
	if serr != nil {
		pr.Error = serr.Error()
	}
	for _, st := range existing {
		if !wanted[st.Name] {
			if err := prov.Delete(ctx, st.Name); err != nil {
				a.Log.Error("delete failed", "volume", st.Name, "pool", p.Name, "error", err)
				pr.Error = err.Error()
			} else {
				a.Log.Info("volume deleted", "volume", st.Name, "pool", p.Name)
			}
		}
	}
	if c, err := prov.Capacity(ctx); err == nil {
		pr.FreeKib, pr.TotalKib = c.FreeKib, c.TotalKib
	}
	return pr, out, srs
}

// applySnapshots takes the pool's snapshots to take, deletes those of its
// naming that are not wanted, and reports the snapshots there and those
// it could not take or keep.
func (a *Agent) applySnapshots(ctx context.Context, pool string, prov storage.Provider, snaps []proto.Snapshot) ([]proto.SnapshotReport, error) {
	have, err := prov.Snapshots(ctx)
	if err != nil {
		return failedSnapshots(snaps, pool, err), err
	}
	present := map[storage.SnapshotID]bool{}
	for _, id := range have {
		present[id] = true
	}
	var out []proto.SnapshotReport
	keep := map[storage.SnapshotID]bool{}
	for _, sn := range snaps {
		id := storage.SnapshotID{Volume: storage.VolumeName(sn.Resource, sn.VlmNr), Snapshot: sn.Name}
		keep[id] = true
		r := proto.SnapshotReport{Resource: sn.Resource, Name: sn.Name, VlmNr: sn.VlmNr, Pool: pool}
		switch {
		case present[id], sn.Receive:
		case sn.Take:
			if err := prov.Snapshot(ctx, id.Volume, id.Snapshot); err != nil {
				a.Log.Error("snapshot failed", "volume", id.Volume, "snapshot", id.Snapshot, "error", err)
				r.Error = err.Error()
			} else {
				a.Log.Info("snapshot taken", "volume", id.Volume, "snapshot", id.Snapshot)
			}
		default:
			r.Error = fmt.Sprintf("snapshot %s of volume %s is not in pool %s", id.Snapshot, id.Volume, pool)
		}
		out = append(out, r)
	}
	var failed error
	if files, ok := prov.(storage.SnapshotFiles); ok {
		receiving := map[storage.SnapshotID]bool{}
		for _, sn := range snaps {
			if sn.Receive {
				receiving[storage.SnapshotID{Volume: storage.VolumeName(sn.Resource, sn.VlmNr), Snapshot: sn.Name}] = true
			}
		}
		if err := files.DropPartialSnapshots(receiving); err != nil {
			a.Log.Error("removing abandoned received snapshots failed", "pool", pool, "error", err)
			failed = err
		}
	}
	for _, id := range have {
		if keep[id] {
			continue
		}
		rsc, nr, _ := storage.ParseVolumeName(id.Volume)
		if err := prov.DeleteSnapshot(ctx, id.Volume, id.Snapshot); err != nil {
			a.Log.Error("snapshot delete failed", "volume", id.Volume, "snapshot", id.Snapshot, "error", err)
			out = append(out, proto.SnapshotReport{Resource: rsc, Name: id.Snapshot, VlmNr: nr, Pool: pool, Error: err.Error()})
			failed = err
			continue
		}
		a.Log.Info("snapshot deleted", "volume", id.Volume, "snapshot", id.Snapshot)
	}
	return out, failed
}

// failedSnapshots reports each of a pool's snapshots as failed for err.
func failedSnapshots(snaps []proto.Snapshot, pool string, err error) []proto.SnapshotReport {
	out := make([]proto.SnapshotReport, len(snaps))
	for i, sn := range snaps {
		out[i] = proto.SnapshotReport{Resource: sn.Resource, Name: sn.Name, VlmNr: sn.VlmNr, Pool: pool, Error: err.Error()}
	}
	return out
}

// supportsSnapshots is the pool's snapshot support, probed at most every
// reprobe interval.
func (a *Agent) supportsSnapshots(ctx context.Context, pool string, prov storage.Provider) bool {
	a.probeMu.Lock()
	defer a.probeMu.Unlock()
	if p, ok := a.snapshotSupport[pool]; ok && time.Since(p.at) < reprobe {
		return p.ok
	}
	if a.snapshotSupport == nil {
		a.snapshotSupport = map[string]probedSupport{}
	}
	ok := prov.SupportsSnapshots(ctx)
	a.snapshotSupport[pool] = probedSupport{ok: ok, at: time.Now()}
	return ok
}

// Handler serves the protocol and /health.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET "+proto.PathInfo, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.Info(r.Context())) })
	mux.HandleFunc("PUT "+proto.PathNodeState, func(w http.ResponseWriter, r *http.Request) {
		var want proto.NodeState
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable node state: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, a.Apply(r.Context(), want))
	})
	mux.HandleFunc("GET "+proto.PathLogLevel, func(w http.ResponseWriter, _ *http.Request) {
		if a.Level == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "the log level is fixed"})
			return
		}
		writeJSON(w, http.StatusOK, proto.LogLevel{Level: int(a.Level.Level())})
	})
	mux.HandleFunc("PUT "+proto.PathLogLevel, func(w http.ResponseWriter, r *http.Request) {
		var l proto.LogLevel
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil || a.Level == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable log level, or the level is fixed"})
			return
		}
		a.Level.Set(slog.Level(l.Level))
		a.Log.Info("log level changed", "level", slog.Level(l.Level).String())
		writeJSON(w, http.StatusOK, l)
	})
	mux.HandleFunc("GET "+proto.PathSOSReport, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.SOSReport(r.Context())) })
	mux.HandleFunc("GET "+proto.PathExternalFile, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		st, err := ExternalFileStatus(q.Get("path"), q["alt"])
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST "+proto.PathBackupUpload, serveJob(a, a.Upload))
	mux.HandleFunc("POST "+proto.PathBackupDownload, serveJob(a, a.Download))
	mux.HandleFunc("POST "+proto.PathShipSend, serveJob(a, a.Send))
	mux.HandleFunc("POST "+proto.PathShipReceive, serveJob(a, a.Receive))
	mux.HandleFunc("POST "+proto.PathVolumeCopy, serveJob(a, a.CopyVolume))
	mux.HandleFunc("POST "+proto.PathVolumeChecksum, serveJob(a, a.VolumeChecksum))
	mux.HandleFunc("GET "+proto.PathPhysicalStorage, func(w http.ResponseWriter, r *http.Request) {
		disks, err := a.Disks(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, disks)
	})
	mux.HandleFunc("POST "+proto.PathPhysicalStorage, func(w http.ResponseWriter, r *http.Request) {
		var req proto.DevicePool
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable device pool: " + err.Error()})
			return
		}
		a.mu.Lock() // not while an apply runs
		defer a.mu.Unlock()
		name, err := a.CreateDevicePool(r.Context(), req)
		rep := proto.DevicePoolReport{StorPoolName: name}
		if err != nil {
			a.Log.Error("device pool failed", "pool", req.PoolName, "error", err)
			rep = proto.DevicePoolReport{Error: err.Error()}
		}
		writeJSON(w, http.StatusOK, rep)
	})
	return limitBodies(a.trusted(mux))
}

// MaxStateBytes bounds a request to the agent: a node's state with its
// external files, or a job.
const MaxStateBytes = 64 << 20

// limitBodies bounds every request body to MaxStateBytes.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxStateBytes)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
