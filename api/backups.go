package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/agent/proto/bucket"
	"strata/apicall"
	"strata/backups"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// RemotePath names a remote in a backup path.
type RemotePath struct {
	Remote string `path:"remote_name" doc:"Remote name"`
}

func (s *server) registerBackups(h huma.API) {
	base := "/v1/remotes/{remote_name}/backups"
	reg := func(id, method, path, summary string, status int) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"developers"}, DefaultStatus: status}
	}
	huma.Register(h, reg("backupCreate", http.MethodPost, base, "create a backup", http.StatusCreated),
		func(ctx context.Context, in *struct {
			RemotePath
			OperationWaitParam
			Body restapi.BackupCreate
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskBackup
			b := in.Body
			if b.RscName == "" {
				return nil, invalid(apicall.FailInvldRscName, op, obj, "The resource name is required.", "", "Name the resource to back up in rsc_name.")
			}
			backupID := bucket.BackupID(time.Now())
			snap := b.SnapName
			if snap == "" {
				snap = backupID
			} else if err := snapshotNameRule.check(snap, op, obj); err != nil {
				return nil, err
			}
			input := activities.BackupCreateInput{Remote: in.Remote, Resource: b.RscName, Snapshot: snap, BackupID: backupID, StartMs: time.Now().UnixMilli(), Node: b.NodeName, Incremental: b.Incremental}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: workflows.BackupCreateID(in.Remote, b.RscName, snap), workflow: workflows.BackupCreate, input: input,
				what: fmt.Sprintf("Backup of '%s' to '%s'", b.RscName, in.Remote), refs: map[string]string{"RscDfn": b.RscName, "Snapshot": snap, "Remote": in.Remote}}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("backupList", http.MethodGet, base, "list the backups of a remote", 0),
		func(ctx context.Context, in *struct {
			RemotePath
			RscName  string `query:"rsc_name"`
			SnapName string `query:"snap_name"`
		}) (*struct{ Body restapi.BackupList }, error) {
			l, err := s.listBackups(ctx, in.Remote, in.RscName, in.SnapName)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, map[string]string{"Remote": in.Remote})
			}
			return &struct{ Body restapi.BackupList }{l}, nil
		})
	huma.Register(h, reg("backupDelete", http.MethodDelete, base, "delete backups", 0),
		func(ctx context.Context, in *struct {
			RemotePath
			OperationWaitParam
			ID              string `query:"id"`
			IDPrefix        string `query:"id_prefix"`
			Cascading       bool   `query:"cascading"`
			Timestamp       string `query:"timestamp"`
			ResourceName    string `query:"resource_name"`
			NodeName        string `query:"node_name"`
			AllLocalCluster bool   `query:"all_local_cluster"`
			All             bool   `query:"all"`
			S3Key           string `query:"s3key"`
			S3KeyForce      string `query:"s3key_force" doc:"golinstor sends it; ignored, as by LINSTOR"`
			DryRun          bool   `query:"dryrun"`
			KeepSnaps       bool   `query:"keep_snaps"`
		}) (*rcOutput, error) {
			q := backups.DeleteQuery{ID: in.ID, IDPrefix: in.IDPrefix, Cascading: in.Cascading, Timestamp: in.Timestamp, ResourceName: in.ResourceName, NodeName: in.NodeName,
				AllLocalCluster: in.AllLocalCluster, All: in.All, S3Key: in.S3Key, DryRun: in.DryRun, KeepSnaps: in.KeepSnaps}
			const op, obj = apicall.MaskDel, apicall.MaskBackup
			if err := q.Check(); err != nil {
				return nil, failure(err, op, obj, map[string]string{"Remote": in.Remote})
			}
			return s.run(ctx, operation{op: op, obj: obj, id: workflows.BackupDeleteID(in.Remote, q), workflow: workflows.BackupDelete,
				input: activities.BackupDeleteInput{Remote: in.Remote, Query: q}, what: "Deleting backups of " + in.Remote, refs: map[string]string{"Remote": in.Remote}}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("backupRestore", http.MethodPost, base+"/restore", "restore a backup", http.StatusCreated),
		func(ctx context.Context, in *struct {
			RemotePath
			OperationWaitParam
			Body restapi.BackupRestore
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskBackup
			b := in.Body
			switch {
			case b.TargetRscName == "" || b.NodeName == "":
				return nil, invalid(apicall.FailInvldRequest, op, obj, "target_rsc_name and node_name are required.", "", "")
			case b.LastBackup == "" && b.SrcRscName == "" && b.SrcSnapName == "":
				return nil, invalid(apicall.FailInvldRequest, op, obj, "One of backup ID, resource name or snapshot name is required, but none was given", "", "")
			case b.DownloadOnly && b.ForceRestore:
				return nil, invalid(apicall.FailInvldRequest, op, obj, "--download-only and --force-restore are mutually exclusive, use at most one of them.", "", "")
			}
			if err := rscNameRule.check(b.TargetRscName, op, obj); err != nil {
				return nil, err
			}
			input := activities.BackupRestoreInput{Remote: in.Remote, SrcResource: b.SrcRscName, SrcSnapshot: b.SrcSnapName, LastBackup: b.LastBackup, PoolMap: b.StorPoolMap,
				Target: b.TargetRscName, Node: b.NodeName, DownloadOnly: b.DownloadOnly, ForceRestore: b.ForceRestore, ResourceGroup: b.DstRscGrp}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: workflows.BackupRestoreID(in.Remote, b.TargetRscName), workflow: workflows.BackupRestore, input: input,
				what: fmt.Sprintf("Restore of a backup of '%s' into '%s'", in.Remote, b.TargetRscName), refs: map[string]string{"RscDfn": b.TargetRscName, "Remote": in.Remote}}, in.wait(s.OperationWait))
		})
	huma.Register(h, reg("backupInfo", http.MethodPost, base+"/info", "what restoring a backup takes", 0),
		func(ctx context.Context, in *struct {
			RemotePath
			Body restapi.BackupInfoRequest
		}) (*struct{ Body restapi.BackupInfo }, error) {
			info, err := s.backupInfo(ctx, in.Remote, in.Body)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, map[string]string{"Remote": in.Remote})
			}
			return &struct{ Body restapi.BackupInfo }{info}, nil
		})
	huma.Register(h, reg("backupQueue", http.MethodGet, "/v1/view/backup/queue", "list the shipments waiting for a slot", 0),
		func(ctx context.Context, in *struct {
			Nodes      []string `query:"nodes,explode"`
			Snapshots  []string `query:"snapshots,explode"`
			Resources  []string `query:"resources,explode"`
			Remotes    []string `query:"remotes,explode"`
			SnapToNode bool     `query:"snap_to_node"`
		}) (*struct{ Body restapi.BackupQueues }, error) {
			snaps, err := s.Store.ListSnapshots(ctx, store.SnapshotFilter{})
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, nil)
			}
			queued := store.QueuedShipments(snaps)
			return &struct{ Body restapi.BackupQueues }{backupQueues(queued, in.Nodes, in.Snapshots, in.Resources, in.Remotes, in.SnapToNode)}, nil
		})
	huma.Register(h, reg("backupAbort", http.MethodPost, base+"/abort", "abort a resource's shipments and restores", 0),
		func(ctx context.Context, in *struct {
			RemotePath
			Body restapi.BackupAbort
		}) (*rcOutput, error) {
			return s.abortBackups(ctx, in.Remote, in.Body)
		})
}

// abortBackups cancels the workflows of a resource's running shipments
// to the remote (those its snapshots say are queued or shipping) and of
// its restore from it; each ends Aborted, its slot and lease given back.
func (s *server) abortBackups(ctx context.Context, remote string, req restapi.BackupAbort) (*rcOutput, error) {
	const op, obj = apicall.MaskDel, apicall.MaskBackup
	refs := map[string]string{"RscDfn": req.RscName, "Remote": remote}
	both := req.Create == nil && req.Restore == nil
	var ids []string
	if both || (req.Create != nil && *req.Create) {
		snaps, err := s.Store.ListSnapshots(ctx, store.SnapshotFilter{Resources: []string{req.RscName}})
		if err != nil {
			return nil, failure(err, op, obj, refs)
		}
		for _, sn := range snaps {
			st := sn.Props[store.BackupSourceKey(remote, store.KeyShippingStatus)]
			if (st == store.ShippingPrepare || st == store.ShippingRunning) && (req.Snapshot == "" || strings.EqualFold(req.Snapshot, sn.SnapshotDspName)) {
				ids = append(ids, workflows.BackupCreateID(remote, req.RscName, sn.SnapshotDspName), workflows.BackupShipID(remote, req.RscName, sn.SnapshotDspName))
			}
		}
	}
	if both || (req.Restore != nil && *req.Restore) {
		ids = append(ids, workflows.BackupRestoreID(remote, req.RscName))
	}
	var out apicall.RcList
	for _, id := range ids {
		err := s.Temporal.CancelWorkflow(ctx, id, "")
		var missing *serviceerror.NotFound
		if errors.As(err, &missing) {
			continue // a restore that does not run
		}
		if err != nil {
			return nil, notStarted(operation{op: op, obj: obj}, err)
		}
		rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Aborting operation %s.", id))
		rc.ObjRefs = map[string]string{"RscDfn": req.RscName, "Remote": remote, "WorkflowId": id}
		out = append(out, rc)
	}
	if len(out) == 0 {
		rc := apicall.NewRc(apicall.MaskWarn, op, obj, fmt.Sprintf("No shipment or restore of resource %s with remote %s is running.", req.RscName, remote))
		rc.ObjRefs = refs
		out = append(out, rc)
	}
	return &rcOutput{out}, nil
}

// backupInfo tells what restoring a backup takes: its chain, the bytes
// to download and the pools they go to (with their free space on the
// node, when one is named).
func (s *server) backupInfo(ctx context.Context, remote string, req restapi.BackupInfoRequest) (restapi.BackupInfo, error) {
	if len(req.StorPoolMap) > 0 && req.NodeName == "" {
		return restapi.BackupInfo{}, &apicall.Refused{Code: apicall.FailInvldRequest, Message: "A storage pool map needs the node to restore on (node_name)."}
	}
	b, _, err := s.remotes().OpenBucket(ctx, remote)
	if err != nil {
		return restapi.BackupInfo{}, err
	}
	l, err := b.List(ctx)
	if err != nil {
		return restapi.BackupInfo{}, err
	}
	e, err := l.Latest(req.LastBackup, req.SrcRscName, req.SrcSnapName)
	if err != nil {
		return restapi.BackupInfo{}, err
	}
	chain := l.Chain(e)
	out := restapi.BackupInfo{Rsc: e.Name.Resource, Full: chain[0].Name.ID(), Snap: e.Name.SnapshotName(), Latest: e.Name.ID(), Count: int32(len(chain)), Storpools: []restapi.BackupInfoStorPool{}}
	pools := map[string]*restapi.BackupInfoStorPool{}
	var order []string
	for _, nr := range slices.Sorted(maps.Keys(e.DataKeys)) {
		m, err := b.Manifest(ctx, e.DataKeys[nr])
		if err != nil {
			return restapi.BackupInfo{}, err
		}
		var kib int64
		for _, ch := range m.Chunks {
			kib += min(m.ChunkSize, m.SizeBytes-ch.Offset) / 1024
		}
		name := ""
		for _, v := range e.Meta.Backups[fmt.Sprint(nr)] {
			name = v.StorPool
		}
		p := pools[name]
		if p == nil {
			target := name
			if to, ok := req.StorPoolMap[name]; ok {
				target = to
			}
			p = &restapi.BackupInfoStorPool{Name: name, TargetName: target, Vlms: []restapi.BackupInfoVolume{}}
			if req.NodeName != "" {
				sps, err := s.Store.ListStoragePools(ctx, store.StoragePoolFilter{Nodes: []string{req.NodeName}, Pools: []string{target}})
				if err != nil {
					return restapi.BackupInfo{}, err
				}
				if len(sps) > 0 {
					p.ProviderKind = sps[0].DriverName
					if sps[0].FreeCapacity != nil {
						p.RemainingSpaceKib = *sps[0].FreeCapacity - kib
					}
				}
			}
			pools[name] = p
			order = append(order, name)
		} else {
			p.RemainingSpaceKib -= kib
		}
		p.Vlms = append(p.Vlms, restapi.BackupInfoVolume{Name: e.DataKeys[nr], LayerType: "STORAGE", DlSizeKib: kib, AllocSizeKib: kib, UsableSizeKib: m.SizeBytes / 1024})
		out.DlSizeKib += kib
		out.AllocSizeKib += kib
	}
	for _, name := range order {
		out.Storpools = append(out.Storpools, *pools[name])
	}
	return out, nil
}

// runUntilAccepted starts a long operation and answers once it has
// accepted the request (its status carries the answer), or when it ended
// before, or when wait passes.
func (s *server) runUntilAccepted(ctx context.Context, o operation, wait time.Duration) (*rcOutput, error) {
	r, err := s.start(ctx, o.id, o.workflow, o.input)
	if err != nil {
		return nil, notStarted(o, err)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		var out workflows.Outcome
		err := r.Get(pctx, &out)
		cancel()
		var wfErr *temporal.WorkflowExecutionError
		if err == nil || errors.As(err, &wfErr) {
			return s.answer(ctx, o, r, time.Second)
		}
		if st, err := queryStatus(ctx, s.Temporal, o.id); err == nil && st.Accepted != nil {
			return replyOrFail(namingWorkflow(st.Accepted, o.id))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return s.answer(ctx, o, r, 0)
}

func queryStatus(ctx context.Context, c client.Client, id string) (workflows.Status, error) {
	v, err := c.QueryWorkflow(ctx, id, "", workflows.StatusQuery)
	if err != nil {
		return workflows.Status{}, err
	}
	var st workflows.Status
	return st, v.Get(&st)
}

// listBackups lists a remote's bucket as LINSTOR does: committed
// backups are successful; the others are shipping while a snapshot of
// this cluster says so, and failed otherwise.
func (s *server) listBackups(ctx context.Context, remote, rsc, snap string) (restapi.BackupList, error) {
	b, _, err := s.remotes().OpenBucket(ctx, remote)
	if err != nil {
		return restapi.BackupList{}, err
	}
	l, err := b.List(ctx)
	if err != nil {
		return restapi.BackupList{}, &apicall.Refused{Code: apicall.FailInvldBackupConfig, Message: fmt.Sprintf("The bucket of remote %s could not be listed.", remote), Cause: err.Error()}
	}
	shipping := map[string]bool{}
	snaps, err := s.Store.ListSnapshots(ctx, store.SnapshotFilter{})
	if err != nil {
		return restapi.BackupList{}, err
	}
	key := func(k string) string { return store.BackupSourceKey(remote, k) }
	for _, sn := range snaps {
		if st := sn.Props[key(store.KeyShippingStatus)]; st == store.ShippingPrepare || st == store.ShippingRunning {
			id := sn.Props[key(store.KeyBackupID)]
			shipping[id] = true
			if n, ok := bucket.ParseID(id); ok && l.Backups[id] == nil {
				l.Backups[id] = &backups.Entry{Name: n, DataKeys: map[int32]string{}}
			}
		}
	}
	out := restapi.BackupList{Linstor: map[string]restapi.Backup{}, Other: restapi.BackupOther{Files: append([]string{}, l.Other...)}}
	slices.Sort(out.Other.Files)
	for id, e := range l.Backups {
		if (rsc != "" && !strings.EqualFold(e.Name.Resource, rsc)) || (snap != "" && !strings.EqualFold(e.Name.SnapshotName(), snap)) {
			continue
		}
		out.Linstor[id] = backupJSON(e, shipping[id])
	}
	return out, nil
}

// backupQueues shows the waiting shipments that match every filter
// given, by node or by snapshot.
func backupQueues(queued []store.QueuedShipment, nodes, snaps, rscs, remotes []string, snapToNode bool) restapi.BackupQueues {
	match := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	out := restapi.BackupQueues{}
	byNode := map[string]int{}
	for _, q := range queued {
		if !match(snaps, q.Snapshot) || !match(rscs, q.Resource) || !match(remotes, q.Remote) {
			continue
		}
		item := restapi.SnapQueue{ResourceName: q.Resource, SnapshotName: q.Snapshot, RemoteName: q.Remote, Incremental: q.BasedOn != "", BasedOn: q.BasedOn,
			StartTimestamp: q.StartMs, PrefNode: q.PrefNode}
		var on []restapi.NodeQueue
		for _, n := range q.Nodes {
			if !match(nodes, n) {
				continue
			}
			on = append(on, restapi.NodeQueue{NodeName: n})
			if !snapToNode {
				i, ok := byNode[n]
				if !ok {
					i = len(out.NodeQueues)
					byNode[n] = i
					out.NodeQueues = append(out.NodeQueues, restapi.NodeQueue{NodeName: n})
				}
				out.NodeQueues[i].Queue = append(out.NodeQueues[i].Queue, item)
			}
		}
		if snapToNode && len(on) > 0 {
			item.Queue = on
			out.SnapQueues = append(out.SnapQueues, item)
		}
	}
	return out
}

func backupJSON(e *backups.Entry, shipping bool) restapi.Backup {
	n := e.Name
	out := restapi.Backup{ID: n.ID(), OriginRsc: n.Resource, OriginSnap: n.SnapshotName(), Vlms: []restapi.BackupVolumes{}, Success: e.Committed(), Shipping: shipping && !e.Committed(),
		Restorable: e.Restorable(), S3: &restapi.BackupS3{MetaName: n.MetaKey()}}
	if at, err := n.Time(time.Local); err == nil {
		out.StartTime, out.StartTimestamp = at.Format(bucket.BackupIDFormat), at.UnixMilli()
	}
	for _, nr := range slices.Sorted(maps.Keys(e.DataKeys)) {
		out.Vlms = append(out.Vlms, restapi.BackupVolumes{VlmNr: int64(nr), S3: &restapi.BackupVolumesS3{Key: e.DataKeys[nr]}})
	}
	if m := e.Meta; m != nil {
		out.OriginNode = m.NodeName
		out.StartTimestamp = m.StartTimestamp
		out.StartTime = time.UnixMilli(m.StartTimestamp).Format(bucket.BackupIDFormat)
		out.FinishedTimestamp = m.FinishTimestamp
		out.FinishedTime = time.UnixMilli(m.FinishTimestamp).Format(bucket.BackupIDFormat)
		if m.BasedOn != nil {
			out.BasedOnID = *m.BasedOn
		}
		for i := range out.Vlms {
			for _, v := range m.Backups[fmt.Sprint(out.Vlms[i].VlmNr)] {
				out.Vlms[i].FinishedTimestamp, out.Vlms[i].FinishedTime = v.FinishedTimestamp, time.UnixMilli(v.FinishedTimestamp).Format(bucket.BackupIDFormat)
			}
		}
	}
	return out
}
