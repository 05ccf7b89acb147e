package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"strata/agent/proto"
	"strata/agent/proto/bucket"
	"strata/agentlink"
	"strata/apicall"
	"strata/backups"
	"strata/metrics"
	"strata/nodestate"
	"strata/remotes"
	"strata/store"
)

// BackupCreateInput is a backup to ship, as the request asked for it and
// the controller named it when it came in.
type BackupCreateInput struct {
	Remote   string `json:"remote"`
	Resource string `json:"resource"`
	// Snapshot is the snapshot shipped: the one the user named (taken
	// now when it does not exist), else one named after the backup id.
	Snapshot    string `json:"snapshot"`
	BackupID    string `json:"backup_id"`
	StartMs     int64  `json:"start_ms"`
	Node        string `json:"node,omitempty"` // preferred
	Incremental bool   `json:"incremental,omitempty"`
	// Schedule is the schedule that ships it, if one does.
	Schedule string `json:"schedule,omitempty"`
	// ShipAttempts, when set, bounds the tries of the upload: a
	// schedule's own retry (a minute later) takes over sooner.
	ShipAttempts int32 `json:"ship_attempts,omitempty"`
	// Ship is set for a shipment to a LINSTOR remote (backup ship).
	Ship *ShipRequest `json:"ship,omitempty"`
}

// BackupBase is the backup an incremental one is based on.
type BackupBase struct {
	ID       string           `json:"id"`
	Snapshot string           `json:"snapshot"`
	DataKeys map[int32]string `json:"data_keys"`
	// Full is the snapshot of the chain's full backup.
	Full string `json:"full"`
}

// BackupPlan is what a backup ships: whether its snapshot is taken now,
// its name in the bucket, and its base.
type BackupPlan struct {
	Step
	Take bool        `json:"take,omitempty"`
	Name bucket.Name `json:"name"`
	Base *BackupBase `json:"base,omitempty"`
}

// ShipInput is one backup's shipment from a node.
type ShipInput struct {
	BackupCreateInput
	Plan BackupPlan `json:"plan"`
	Node string     `json:"ship_node"`
}

// ShippedVolume is a volume's data object.
type ShippedVolume struct {
	VlmNr      int32  `json:"vlm_nr"`
	Key        string `json:"key"`
	Pool       string `json:"pool"`
	SizeKib    int64  `json:"size_kib,omitempty"`
	FinishedMs int64  `json:"finished_ms"`
	// What the agent read and sent of the volume's bytes.
	Moved proto.JobProgress `json:"moved"`
}

// ProgressSignal carries a running shipment's progress to its workflow.
const ProgressSignal = "progress"

func (a *Activities) remotes() remotes.Remotes {
	return remotes.Remotes{Store: a.Store, Ring: a.Keyring}
}

// PlanBackup checks a backup request as LINSTOR does and decides what it
// ships: the snapshot to take or the one named, and the base of an
// incremental backup, which must be a successful snapshot whose backup
// is in the bucket and whose volumes have today's sizes (else a full
// backup, with LINSTOR's warning).
func (a *Activities) PlanBackup(ctx context.Context, in BackupCreateInput) (BackupPlan, error) {
	// Kept: run again after a crash, the snapshot this backup took since
	// is not to be mistaken for one that was there.
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (BackupPlan, error) { return a.planBackup(ctx, in) })
}

func (a *Activities) planBackup(ctx context.Context, in BackupCreateInput) (BackupPlan, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskBackup
	refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		s, err := refusal(err, op, obj, map[string]string{"Remote": in.Remote})
		return BackupPlan{Step: s}, err
	}
	plan, rd, err := a.shippedSnapshot(ctx, in)
	if err != nil || plan.Refused() {
		return plan, err
	}
	cp, err := a.Store.Props(ctx, store.CtrlPropsInstance)
	if err != nil {
		return BackupPlan{}, err
	}
	plan.Name.Suffix = cp["BackupShipping/"+store.KeyS3KeySuffix]
	if in.Incremental {
		base, why, err := a.backupBase(ctx, b, rd, in)
		if err != nil {
			return BackupPlan{}, err
		}
		if why != "" {
			rc := apicall.NewRc(apicall.MaskWarn, op, obj, why)
			rc.ObjRefs = refs
			plan.Replies = append(plan.Replies, rc)
		}
		plan.Base = base
	}
	return plan, nil
}

// shippedSnapshot names a shipment and checks its definition and
// snapshot: one the user named must be successful; one that does not
// exist is taken now.
func (a *Activities) shippedSnapshot(ctx context.Context, in BackupCreateInput) (BackupPlan, store.ResourceDefinition, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskBackup
	refs := map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot}
	rd, err := a.Store.GetResourceDefinition(ctx, in.Resource)
	if err != nil {
		s, err := refusal(err, op, obj, refs)
		return BackupPlan{Step: s}, rd, err
	}
	plan := BackupPlan{Name: bucket.Name{Resource: rd.ResourceDspName, BackupID: in.BackupID, Snapshot: in.Snapshot}}
	if sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot); err == nil {
		if !sn.Successful() || sn.Flags.Has(store.FlagDelete) {
			l := apicall.Failure(apicall.FailInvldSnapshotName, op, obj, "The given snapshot was not successful and can therefore not be shipped", "", "")
			l[0].ObjRefs = refs
			return BackupPlan{Step: Step{Replies: l}}, rd, nil
		}
	} else if _, ok := store.AsError(err); ok {
		plan.Take = true
	} else {
		return BackupPlan{}, rd, err
	}
	return plan, rd, nil
}

// backupBase is the base of an incremental backup, or why there is none
// (empty when there never was one).
func (a *Activities) backupBase(ctx context.Context, b backups.Bucket, rd store.ResourceDefinition, in BackupCreateInput) (*BackupBase, string, error) {
	last := rd.Props[store.BackupSourceKey(in.Remote, store.KeyBackupLastStartedOrQueued)]
	if last == "" || store.Key(last) == store.Key(in.Snapshot) {
		return nil, "", nil
	}
	sn, err := a.Store.GetSnapshot(ctx, in.Resource, last)
	if _, ok := store.AsError(err); ok || (err == nil && (sn.Flags.Has(store.FlagDelete) || !sn.Successful())) {
		return nil, fmt.Sprintf("The previous snapshot %s needed for the incremental backup has already been deleted. Creating a full backup instead.", last), nil
	}
	if err != nil {
		return nil, "", err
	}
	id := sn.Props[store.BackupSourceKey(in.Remote, store.KeyBackupID)]
	l, err := b.List(ctx)
	if err != nil {
		return nil, "", err
	}
	e := l.Backups[id]
	if e == nil || !e.Restorable() || e.Meta.SnapDfnUUID != sn.UUID {
		return nil, fmt.Sprintf("The backup of the previous snapshot %s is not in the remote %s. Creating a full backup instead.", last, in.Remote), nil
	}
	sizes := map[int32]int64{}
	for _, vd := range sn.VolumeDefinitions {
		sizes[vd.VlmNr] = vd.SizeKib
	}
	for _, vd := range rd.VolumeDefinitions {
		if s, ok := sizes[vd.VlmNr]; !ok || s != vd.VlmSize {
			return nil, fmt.Sprintf("The volumes of %s changed in size since the previous snapshot %s. Creating a full backup instead.", rd.ResourceDspName, last), nil
		}
	}
	full := sn.Props[store.BackupSourceKey(in.Remote, store.KeyLastFullBackupTimestamp)]
	if full == "" {
		full = sn.SnapshotDspName
	}
	return &BackupBase{ID: id, Snapshot: sn.SnapshotDspName, DataKeys: e.DataKeys, Full: full}, "", nil
}

// BackupNodes are the nodes that can ship the backup, in the order
// they are tried (store.ShippingNodes).
func (a *Activities) BackupNodes(ctx context.Context, in ShipInput) ([]string, error) {
	sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot)
	if err != nil {
		return nil, err
	}
	var base *store.Snapshot
	if in.Plan.Base != nil {
		if bs, err := a.Store.GetSnapshot(ctx, in.Resource, in.Plan.Base.Snapshot); err == nil {
			base = &bs
		}
	}
	return store.ShippingNodes(sn, base, in.Node), nil
}

// TakeBackupSlot gives the calling workflow a backup shipping slot on
// the first of the nodes that has one free, and names it; it fails with
// SlotsFullErrorType while every slot is taken, which makes the
// workflow wait: the queue is the waiting workflows, durable as they are.
func (a *Activities) TakeBackupSlot(ctx context.Context, nodes []string) (string, error) {
	var last error
	for _, n := range nodes {
		if a.Agents.Status(n).Connection != agentlink.Online {
			continue
		}
		err := a.TakeSlot(ctx, SlotInput{Node: n, Kind: store.BackupShipping})
		if err == nil {
			return n, nil
		}
		last = err
	}
	if last == nil {
		return "", fmt.Errorf("none of the nodes %v that hold the snapshot is online", nodes)
	}
	return "", last
}

// SlotFreedSignal wakes a shipment waiting for a slot: one was given
// back on a node it can ship from.
const SlotFreedSignal = "backup-slot-freed"

// WakeInput names the node where a shipment gave its slot back, and how
// the waiting shipments' workflows are named (the prefix, followed by
// remote, definition and snapshot, lower-cased).
type WakeInput struct {
	Node, IDPrefix string
	// ShipPrefix names the shipments to LINSTOR remotes, which wait in the
	// same queue.
	ShipPrefix string `json:",omitempty"`
}

// wakeAtOnce is how many of the oldest waiting shipments a freed slot
// wakes: one would do, but it may lose the race to one whose own recheck
// came at that moment.
const wakeAtOnce = 2

// WakeQueuedShipments signals the oldest shipments that wait for a slot
// on the node (the snapshots in Prepare Shipping: LINSTOR's per-node
// queue), so that the slot given back is taken at once.
func (a *Activities) WakeQueuedShipments(ctx context.Context, in WakeInput) error {
	snaps, err := a.Store.ListSnapshots(ctx, store.SnapshotFilter{})
	if err != nil {
		return err
	}
	woken := 0
	for _, q := range store.QueuedShipments(snaps) {
		if woken == wakeAtOnce {
			break
		}
		for _, n := range q.Nodes {
			if store.Key(n) == store.Key(in.Node) {
				for _, prefix := range []string{in.IDPrefix, in.ShipPrefix} {
					id := prefix + strings.ToLower(q.Remote+":"+q.Resource+":"+q.Snapshot)
					if prefix != "" && a.Temporal.SignalWorkflow(ctx, id, "", SlotFreedSignal, nil) == nil {
						woken++
						break
					}
				}
				break
			}
		}
	}
	return nil
}

// SetShippingStatus records how a shipment is going on its snapshot,
// and, when it starts, every property LINSTOR sets for it.
func (a *Activities) SetShippingStatus(ctx context.Context, in ShipInput, status string) error {
	key := func(k string) string { return store.BackupSourceKey(in.Remote, k) }
	snap := map[string]string{key(store.KeyShippingStatus): status}
	var rd map[string]string
	if status == store.ShippingPrepare {
		full := in.Snapshot
		if in.Plan.Base != nil {
			full = in.Plan.Base.Full
			snap[key(store.KeyBackupLastSnapshot)] = in.Plan.Base.Snapshot
		}
		snap[key(store.KeyBackupStartTimestamp)] = strconv.FormatInt(in.StartMs, 10)
		snap[key(store.KeyBackupTargetRemote)] = in.Remote
		snap[key(store.KeyS3KeySuffix)] = in.Plan.Name.Suffix
		snap[key(store.KeyLastFullBackupTimestamp)] = full
		snap[key(store.KeyBackupID)] = in.Plan.Name.ID()
		if in.Schedule != "" {
			snap[store.KeyBackupShippedBySchedule] = in.Schedule
		}
		rd = map[string]string{key(store.KeyBackupLastStartedOrQueued): in.Snapshot}
	}
	if in.Node != "" {
		snap[key(store.KeySrcNode)] = in.Node
	}
	return a.Store.SetBackupProps(ctx, in.Resource, in.Snapshot, snap, rd)
}

// ShipBackup has the node's agent upload each volume of the snapshot,
// with the remote's keys opened for this job only, and reports the
// progress to the workflow as it goes. Run again after an interruption,
// it sends only what the bucket does not hold yet.
func (a *Activities) ShipBackup(ctx context.Context, in ShipInput) ([]ShippedVolume, error) {
	b, s3, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return nil, err
	}
	holder := activity.GetInfo(ctx).WorkflowExecution.ID
	if err := b.Lease(ctx, holder); err != nil {
		return nil, err
	}
	sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot)
	if err != nil {
		return nil, err
	}
	part := nodePart(sn, in.Node)
	if part == nil {
		return nil, fmt.Errorf("snapshot %s of %s is not on node %s", in.Snapshot, in.Resource, in.Node)
	}
	report := a.progressReporter(ctx, len(part.Volumes))
	var out []ShippedVolume
	for i, v := range part.Volumes {
		pool, err := nodestate.Pool(ctx, a.Store, in.Node, v.StorPoolDspName)
		if err != nil {
			return nil, err
		}
		job := proto.BackupUpload{S3: target(s3), Pool: pool, Resource: sn.ResourceDspName, VlmNr: v.VlmNr, Snapshot: sn.SnapshotDspName, DataKey: in.Plan.Name.DataKey(v.VlmNr)}
		if base := in.Plan.Base; base != nil && base.DataKeys[v.VlmNr] != "" {
			job.Base = &proto.BackupBase{DataKey: base.DataKeys[v.VlmNr], Snapshot: base.Snapshot}
		}
		moved, err := a.Agents.Job(ctx, in.Node, proto.PathBackupUpload, job, func(p proto.JobProgress) { report(i, p) })
		if err != nil {
			return nil, err
		}
		countMoved(moved)
		out = append(out, ShippedVolume{VlmNr: v.VlmNr, Key: job.DataKey, Pool: v.StorPoolDspName, FinishedMs: time.Now().UnixMilli(), Moved: moved})
	}
	return out, nil
}

// countMoved adds a finished job's bytes to the backup metrics.
func countMoved(p proto.JobProgress) {
	metrics.BackupBytes.WithLabelValues("read").Add(float64(p.ReadBytes))
	metrics.BackupBytes.WithLabelValues("sent").Add(float64(p.SentBytes))
}

func target(s remotes.S3) proto.S3Target {
	return proto.S3Target{Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey, UsePathStyle: s.UsePathStyle}
}

// progressInterval is how often a job's progress reaches its workflow.
const progressInterval = 2 * time.Second

// progressReporter heartbeats a job's progress and signals it to the
// workflow, at most every progressInterval; volumes' progress adds up.
func (a *Activities) progressReporter(ctx context.Context, volumes int) func(vol int, p proto.JobProgress) {
	info := activity.GetInfo(ctx)
	var mu sync.Mutex
	each := make([]proto.JobProgress, volumes)
	var last time.Time
	return func(vol int, p proto.JobProgress) {
		mu.Lock()
		defer mu.Unlock()
		each[vol] = p
		activity.RecordHeartbeat(ctx)
		if time.Since(last) < progressInterval {
			return
		}
		last = time.Now()
		var sum proto.JobProgress
		for _, e := range each {
			sum.TotalBytes += e.TotalBytes
			sum.DoneBytes += e.DoneBytes
			sum.ReadBytes += e.ReadBytes
			sum.SentBytes += e.SentBytes
		}
		_ = a.Temporal.SignalWorkflow(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, ProgressSignal, sum)
	}
}

// CommitInput is a shipped backup to commit.
type CommitInput struct {
	ShipInput
	Volumes []ShippedVolume `json:"volumes"`
}

// CommitBackup writes the backup's meta, the last object of a backup:
// from then on it is listed as successful. Then the snapshot says
// Success and the shipment's lease goes.
func (a *Activities) CommitBackup(ctx context.Context, in CommitInput) error {
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return err
	}
	sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot)
	if err != nil {
		return err
	}
	cluster, err := a.Store.EnsureClusterID(ctx)
	if err != nil {
		return err
	}
	m := bucket.Meta{RscName: sn.ResourceDspName, NodeName: in.Node, StartTimestamp: in.StartMs, FinishTimestamp: time.Now().UnixMilli(),
		ClusterID: cluster, SnapDfnUUID: sn.UUID, Backups: map[string][]bucket.MetaBackup{},
		RscDfn: bucket.MetaRscDfn{SnapDfnProps: sn.Props, RscDfnProps: sn.ResourceDefinitionProps, VlmDfns: map[string]bucket.MetaVlmDfn{}}}
	if base := in.Plan.Base; base != nil {
		n, _ := bucket.ParseID(base.ID)
		key := n.MetaKey()
		m.BasedOn = &key
	}
	for _, vd := range sn.VolumeDefinitions {
		m.RscDfn.VlmDfns[strconv.Itoa(int(vd.VlmNr))] = bucket.MetaVlmDfn{Size: vd.SizeKib, VlmDfnProps: vd.VolumeDefinitionProps, SnapVlmDfnProps: map[string]string{}}
	}
	for _, v := range in.Volumes {
		nr := strconv.Itoa(int(v.VlmNr))
		m.Backups[nr] = append(m.Backups[nr], bucket.MetaBackup{Name: v.Key, FinishedTimestamp: v.FinishedMs, Node: in.Node, StorPool: v.Pool})
	}
	if err := b.Commit(ctx, in.Plan.Name, m); err != nil {
		return err
	}
	if err := a.SetShippingStatus(ctx, in.ShipInput, store.ShippingSuccess); err != nil {
		return err
	}
	return b.Unlease(ctx, activity.GetInfo(ctx).WorkflowExecution.ID)
}

// FailBackup records a shipment that ended without its backup: the
// snapshot says Failed (or Aborted), and the lease goes.
func (a *Activities) FailBackup(ctx context.Context, in ShipInput, status string) error {
	if err := a.SetShippingStatus(ctx, in, status); err != nil {
		return err
	}
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return nil // without the keys the lease expires by itself
	}
	// What was shipped goes, so that no half backup is listed; its chunks
	// are collected by the next delete. Best effort: a remote that is
	// gone must not hold the workflow, and what stays is listed as failed.
	if sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot); err == nil {
		e := &backups.Entry{Name: in.Plan.Name, DataKeys: map[int32]string{}}
		for _, vd := range sn.VolumeDefinitions {
			e.DataKeys[vd.VlmNr] = in.Plan.Name.DataKey(vd.VlmNr)
		}
		if err := b.Delete(ctx, []*backups.Entry{e}); err != nil {
			activity.GetLogger(ctx).Warn("a failed backup's objects stay in the bucket", "backup", in.Plan.Name.ID(), "error", err)
		}
	}
	return b.Unlease(ctx, activity.GetInfo(ctx).WorkflowExecution.ID)
}

// BackupDeleteInput is a backup delete request.
type BackupDeleteInput struct {
	Remote string              `json:"remote"`
	Query  backups.DeleteQuery `json:"query"`
}

// BackupDeletion is what a backup delete did, and the local snapshots
// the deleted backups were shipped from, which go too unless the request
// keeps them (LINSTOR's keep_snaps).
type BackupDeletion struct {
	Step
	Snapshots []store.SnapshotRef `json:"snapshots,omitempty"`
}

// DeleteBackups deletes the backups the query chooses, with LINSTOR's
// rules, and then the chunks no backup uses; a dry run only tells which.
// A backup based on one that goes is based on the nearest that stays.
// Its answer is kept: run again after a crash, it does not forget the
// local snapshots of what it deleted.
func (a *Activities) DeleteBackups(ctx context.Context, in BackupDeleteInput) (BackupDeletion, error) {
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (BackupDeletion, error) {
		return a.deleteBackups(ctx, in)
	})
}

func (a *Activities) deleteBackups(ctx context.Context, in BackupDeleteInput) (BackupDeletion, error) {
	const op, obj = apicall.MaskDel, apicall.MaskBackup
	refs := map[string]string{"Remote": in.Remote}
	refused := func(err error) (BackupDeletion, error) {
		s, err := refusal(err, op, obj, refs)
		return BackupDeletion{Step: s}, err
	}
	if err := in.Query.Check(); err != nil {
		return refused(err)
	}
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return refused(err)
	}
	l, err := b.List(ctx)
	if err != nil {
		return BackupDeletion{}, err
	}
	cluster, err := a.Store.EnsureClusterID(ctx)
	if err != nil {
		return BackupDeletion{}, err
	}
	chosen, err := l.Select(in.Query, cluster)
	if err != nil {
		return refused(err)
	}
	var out BackupDeletion
	reply := func(msg, backup string) {
		rc := apicall.NewRc(apicall.MaskInfo|apicall.Deleted, op, obj, msg)
		rc.ObjRefs = map[string]string{"Remote": in.Remote, "Backup": backup}
		out.Replies = append(out.Replies, rc)
	}
	relinked := l.Relinked(chosen)
	for _, e := range chosen {
		if in.Query.DryRun {
			reply(fmt.Sprintf("Would delete backup %s (%s and %d volume objects) from remote %s.", e.Name.ID(), e.Name.MetaKey(), len(e.DataKeys), in.Remote), e.Name.ID())
		} else {
			reply(fmt.Sprintf("Backup %s deleted from remote %s.", e.Name.ID(), in.Remote), e.Name.ID())
		}
	}
	for _, e := range relinked {
		base := "no other: it is a full backup now"
		if e.Meta.BasedOn != nil {
			base = strings.TrimSuffix(*e.Meta.BasedOn, ".meta")
		}
		reply(fmt.Sprintf("Backup %s is based on %s.", e.Name.ID(), base), e.Name.ID())
	}
	if in.Query.DryRun || len(chosen) == 0 {
		return out, nil
	}
	if !in.Query.KeepSnaps {
		if out.Snapshots, err = a.shippedFrom(ctx, in.Remote, chosen); err != nil {
			return BackupDeletion{}, err
		}
	}
	// The dependants' metas first: a crash in between leaves a chain
	// that is whole either way.
	for _, e := range relinked {
		if err := b.Commit(ctx, e.Name, *e.Meta); err != nil {
			return BackupDeletion{}, err
		}
	}
	if err := b.Delete(ctx, chosen); err != nil {
		return BackupDeletion{}, err
	}
	n, err := b.CollectGarbage(ctx)
	if err != nil {
		return BackupDeletion{}, err
	}
	rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("%d objects no backup uses any more were deleted from remote %s.", n, in.Remote))
	rc.ObjRefs = refs
	out.Replies = append(out.Replies, rc)
	return out, nil
}

// shippedFrom are this cluster's snapshots that the backups were shipped
// from, but for those a shipment (to any remote) uses now.
func (a *Activities) shippedFrom(ctx context.Context, remote string, entries []*backups.Entry) ([]store.SnapshotRef, error) {
	ids := map[string]bool{}
	var rds []string
	for _, e := range entries {
		ids[e.Name.ID()] = true
		rds = append(rds, e.Name.Resource)
	}
	snaps, err := a.Store.ListSnapshots(ctx, store.SnapshotFilter{Resources: rds})
	if err != nil {
		return nil, err
	}
	var out []store.SnapshotRef
	for _, sn := range snaps {
		if ids[sn.Props[store.BackupSourceKey(remote, store.KeyBackupID)]] && !store.Shipping(sn) {
			out = append(out, store.SnapshotRef{Resource: sn.ResourceDspName, Snapshot: sn.SnapshotDspName})
		}
	}
	return out, nil
}

// BackupRestoreInput is a restore request.
type BackupRestoreInput struct {
	Remote        string            `json:"remote"`
	SrcResource   string            `json:"src_rsc_name,omitempty"`
	SrcSnapshot   string            `json:"src_snap_name,omitempty"`
	LastBackup    string            `json:"last_backup,omitempty"`
	PoolMap       map[string]string `json:"stor_pool_map,omitempty"`
	Target        string            `json:"target_rsc_name"`
	Node          string            `json:"node_name"`
	DownloadOnly  bool              `json:"download_only,omitempty"`
	ForceRestore  bool              `json:"force_restore,omitempty"`
	ResourceGroup string            `json:"dst_rsc_grp,omitempty"`
}

// RestorePlan is the backup a restore downloads and where to.
type RestorePlan struct {
	Step
	Snapshot string `json:"snapshot"`
	// Volumes are the data keys by volume, each with the pool it goes to.
	Volumes      []ShippedVolume `json:"volumes"`
	DownloadOnly bool            `json:"download_only,omitempty"`
	// ForceRestore rolls the target's one diskful resource back to the
	// downloaded snapshot.
	ForceRestore bool `json:"force_restore,omitempty"`
}

// RecordBackupRestore finds the backup (the id given, else the newest
// successful backup of the resource, or of its snapshot) and records its
// download (recordDownload). Run again (a crash), it finds the download
// it recorded.
func (a *Activities) RecordBackupRestore(ctx context.Context, in BackupRestoreInput) (RestorePlan, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskBackup
	refs := map[string]string{"RscDfn": in.Target, "Remote": in.Remote}
	b, _, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		s, err := refusal(err, op, obj, refs)
		return RestorePlan{Step: s}, err
	}
	l, err := b.List(ctx)
	if err != nil {
		return RestorePlan{}, err
	}
	e, err := l.Latest(in.LastBackup, in.SrcResource, in.SrcSnapshot)
	if err != nil {
		s, err := refusal(err, op, obj, refs)
		return RestorePlan{Step: s}, err
	}
	d := download{Target: in.Target, ResourceGroup: in.ResourceGroup, Node: in.Node, ForceRestore: in.ForceRestore, DownloadOnly: in.DownloadOnly,
		Snapshot: store.ReceivedSnapshot{Resource: in.Target, Snapshot: e.Name.SnapshotName(), Node: in.Node, ResourceDefinitionProps: e.Meta.RscDfn.RscDfnProps}}
	keys := map[int32]string{}
	for nr, key := range e.DataKeys {
		pool := ""
		for _, v := range e.Meta.Backups[strconv.Itoa(int(nr))] {
			pool = v.StorPool
		}
		if to, ok := in.PoolMap[pool]; ok {
			pool = to
		}
		d.Snapshot.Volumes = append(d.Snapshot.Volumes, store.ReceivedVolume{VlmNr: nr, SizeKib: e.Meta.RscDfn.VlmDfns[strconv.Itoa(int(nr))].Size, Pool: pool})
		keys[nr] = key
	}
	plan, err := a.recordDownload(ctx, d, refs)
	if err != nil || plan.Refused() {
		return plan, err
	}
	for i := range plan.Volumes {
		plan.Volumes[i].Key = keys[plan.Volumes[i].VlmNr]
	}
	rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Restoring backup %s of remote %s into %s on %s in progress.", e.Name.ID(), in.Remote, in.Target, in.Node))
	rc.ObjRefs = map[string]string{"RscDfn": in.Target, "Snapshot": d.Snapshot.Snapshot, "Remote": in.Remote}
	plan.Replies = append(plan.Replies, rc)
	return plan, nil
}

// download is a snapshot to bring onto a node, from a backup or from
// another cluster, and what is to become of it.
type download struct {
	Target, ResourceGroup, Node string
	ForceRestore, DownloadOnly  bool
	Snapshot                    store.ReceivedSnapshot
}

// recordDownload creates the target definition when it is missing and
// records the snapshot being received on the node. A target with
// diskful resources gets the snapshot only, with LINSTOR's warning,
// unless the restore is forced onto the one it has on that node.
func (a *Activities) recordDownload(ctx context.Context, d download, refs map[string]string) (RestorePlan, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskBackup
	if _, err := a.Store.GetResourceDefinition(ctx, d.Target); err != nil {
		if _, ok := store.AsError(err); !ok {
			return RestorePlan{}, err
		}
		if _, err := a.Store.CreateResourceDefinition(ctx, store.ResourceDefinitionSpec{Name: d.Target, ResourceGroup: d.ResourceGroup}); err != nil {
			s, err := refusal(err, op, obj, refs)
			return RestorePlan{Step: s}, err
		}
	}
	plan := RestorePlan{Snapshot: d.Snapshot.Snapshot}
	for _, v := range d.Snapshot.Volumes {
		plan.Volumes = append(plan.Volumes, ShippedVolume{VlmNr: v.VlmNr, Pool: v.Pool, SizeKib: v.SizeKib})
	}
	diskful, err := a.Store.RecordReceivedSnapshot(ctx, d.Snapshot)
	if err != nil {
		s, err := refusal(err, op, obj, refs)
		return RestorePlan{Step: s}, err
	}
	switch {
	case len(diskful) == 1 && diskful[0] == store.Key(d.Node) && d.ForceRestore:
		plan.ForceRestore = true
	case len(diskful) > 0:
		plan.DownloadOnly = true
		rc := apicall.NewRc(apicall.WarnBackupDlOnly, op, obj, "The target resource-definition is already deployed on nodes. After downloading the Backup Linstor will NOT restore the data to prevent unintentional data-loss.")
		if d.ForceRestore {
			rc.Cause = fmt.Sprintf("A forced restore replaces the data of exactly one diskful resource, on the node restored to; %s has %d, on %s.", d.Target, len(diskful), strings.Join(diskful, ", "))
		}
		rc.ObjRefs = refs
		plan.Replies = append(plan.Replies, rc)
	case d.DownloadOnly:
		plan.DownloadOnly = true
	}
	plan.Nodes = []string{d.Node}
	return plan, nil
}

// DownloadBackup has the node's agent download each volume of the
// backup into the snapshot recorded for it; run again after an
// interruption, it fetches only the chunks not written yet.
func (a *Activities) DownloadBackup(ctx context.Context, in BackupRestoreInput, plan RestorePlan) error {
	_, s3, err := a.remotes().OpenBucket(ctx, in.Remote)
	if err != nil {
		return err
	}
	report := a.progressReporter(ctx, len(plan.Volumes))
	for i, v := range plan.Volumes {
		pool, err := nodestate.Pool(ctx, a.Store, in.Node, v.Pool)
		if err != nil {
			return err
		}
		job := proto.BackupDownload{S3: target(s3), Pool: pool, Resource: in.Target, VlmNr: v.VlmNr, Snapshot: plan.Snapshot, DataKey: v.Key}
		moved, err := a.Agents.Job(ctx, in.Node, proto.PathBackupDownload, job, func(p proto.JobProgress) { report(i, p) })
		if err != nil {
			return err
		}
		countMoved(moved)
	}
	return nil
}

// RestoreVolumeDefinitions gives a definition the volume definitions of
// its snapshot, unless it has them.
func (a *Activities) RestoreVolumeDefinitions(ctx context.Context, rd, snap string) error {
	_, err := a.Store.RestoreVolumeDefinitions(ctx, rd, snap, rd)
	if e, ok := store.AsError(err); ok && e.Problem == store.Exists {
		return nil
	}
	return err
}
