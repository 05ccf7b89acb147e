package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"strata/activities"
	"strata/agent/proto/bucket"
	"strata/apicall"
	"strata/restapi"
	"strata/workflows"
)

// registerShip serves backup ship to LINSTOR remotes and, for the
// clusters that ship here, the internal API their workflows drive the
// receive with (activities.Internal*Path). Receivers know a sender by its
// cluster id, among their LINSTOR remotes, as LINSTOR does.
func (s *server) registerShip(h huma.API) {
	reg := func(id, method, path, summary string, status int, tag string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag}, DefaultStatus: status}
	}
	huma.Register(h, reg("backupShip", http.MethodPost, "/v1/remotes/{remote_name}/backups/ship", "ship a backup to a LINSTOR remote", http.StatusCreated, "developers"),
		func(ctx context.Context, in *struct {
			RemotePath
			OperationWaitParam
			Body restapi.BackupShip
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskBackup
			b := in.Body
			switch {
			case b.SrcRscName == "" || b.DstRscName == "":
				return nil, invalid(apicall.FailInvldRequest, op, obj, "src_rsc_name and dst_rsc_name are required.", "", "")
			case b.DownloadOnly && b.ForceRestore:
				return nil, invalid(apicall.FailInvldRequest, op, obj, "--download-only and --force-restore are mutually exclusive, use at most one of them.", "", "")
			}
			if err := rscNameRule.check(b.DstRscName, op, obj); err != nil {
				return nil, err
			}
			now := time.Now()
			backupID := bucket.BackupID(now)
			snap := cmp.Or(b.SrcSnapName, backupID)
			for _, name := range []string{b.SrcSnapName, b.DstSnapName} {
				if name == "" {
					continue
				}
				if err := snapshotNameRule.check(name, op, obj); err != nil {
					return nil, err
				}
			}
			input := activities.BackupCreateInput{Remote: in.Remote, Resource: b.SrcRscName, Snapshot: snap, BackupID: backupID, StartMs: now.UnixMilli(), Node: b.SrcNodeName,
				Incremental: b.AllowIncremental == nil || *b.AllowIncremental,
				Ship: &activities.ShipRequest{DstResource: b.DstRscName, DstSnapshot: b.DstSnapName, DstNode: b.DstNodeName, DstNetIf: b.DstNetIfName, DstPool: b.DstStorPool,
					PoolRename: b.StorPoolRename, DownloadOnly: b.DownloadOnly, ForceRestore: b.ForceRestore, DstResourceGroup: b.DstRscGrp}}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: workflows.BackupShipID(in.Remote, b.SrcRscName, snap), workflow: workflows.BackupShip, input: input,
				what: fmt.Sprintf("Shipment of '%s' to '%s'", b.SrcRscName, in.Remote), refs: map[string]string{"RscDfn": b.SrcRscName, "Snapshot": snap, "Remote": in.Remote}}, in.wait(s.OperationWait))
		})

	const internal = "internal"
	huma.Register(h, reg("internalShipmentBase", http.MethodPost, activities.InternalBasePath, "which of a sending cluster's snapshots this cluster holds", 0, internal),
		func(ctx context.Context, in *struct{ Body activities.BaseRequest }) (*struct{ Body activities.BaseAnswer }, error) {
			sender, err := s.Store.ShipmentSender(ctx, in.Body.ClusterID)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, nil)
			}
			base, _, err := s.Store.ShipmentBase(ctx, in.Body.DstResource, sender.Suffix, in.Body.Candidates)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, nil)
			}
			return &struct{ Body activities.BaseAnswer }{activities.BaseAnswer{Base: base}}, nil
		})
	huma.Register(h, reg("internalReceive", http.MethodPost, activities.InternalReceivePath, "receive a snapshot another cluster ships", http.StatusCreated, internal),
		func(ctx context.Context, in *struct{ Body activities.ReceiveRequest }) (*rcOutput, error) {
			const op, obj = apicall.MaskCrt, apicall.MaskBackup
			r, err := s.receiveInput(ctx, in.Body)
			if err != nil {
				return nil, failure(err, op, obj, nil)
			}
			if err := rscNameRule.check(r.Ship.DstResource, op, obj); err != nil {
				return nil, err
			}
			if err := snapshotNameRule.check(r.DstSnapshot, op, obj); err != nil {
				return nil, err
			}
			id := workflows.BackupReceiveID(r.ClusterID, r.Ship.DstResource, r.DstSnapshot)
			// A receive that ended well is not started again: the sender
			// asking again (after a crash of its own) is told it is there.
			if d, err := s.Temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil && d.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Snapshot %s of %s was received before.", r.DstSnapshot, r.Ship.DstResource))
				rc.ObjRefs = map[string]string{"WorkflowId": id, "RscDfn": r.Ship.DstResource, "Snapshot": r.DstSnapshot}
				return &rcOutput{apicall.RcList{rc}}, nil
			}
			return s.runUntilAccepted(ctx, operation{op: op, obj: obj, id: id, workflow: workflows.BackupReceive, input: r,
				what: fmt.Sprintf("Receive of '%s' into '%s'", r.Resource, r.Ship.DstResource), refs: map[string]string{"RscDfn": r.Ship.DstResource, "Snapshot": r.DstSnapshot}}, s.OperationWait)
		})
	huma.Register(h, reg("internalReceiveState", http.MethodGet, activities.InternalReceivePath+"/{id}", "how a receive goes", 0, internal),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*struct{ Body activities.ReceiveState }, error) {
			v, err := s.Temporal.QueryWorkflow(ctx, in.ID, "", workflows.ReceiveQuery)
			var missing *serviceerror.NotFound
			if errors.As(err, &missing) {
				return nil, apicall.RcList{apicall.NewRc(apicall.FailNotFound, 0, apicall.MaskBackup, fmt.Sprintf("No receive %s.", in.ID))}
			}
			if err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, nil)
			}
			var st activities.ReceiveState
			if err := v.Get(&st); err != nil {
				return nil, failure(err, 0, apicall.MaskBackup, nil)
			}
			return &struct{ Body activities.ReceiveState }{st}, nil
		})
	huma.Register(h, reg("internalReceiveAbort", http.MethodPost, activities.InternalReceivePath+"/abort", "give a receive up", 0, internal),
		func(ctx context.Context, in *struct{ Body activities.ReceiveRequest }) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskBackup
			r, err := s.receiveInput(ctx, in.Body)
			if err != nil {
				return nil, failure(err, op, obj, nil)
			}
			id := workflows.BackupReceiveID(r.ClusterID, r.Ship.DstResource, r.DstSnapshot)
			err = s.Temporal.CancelWorkflow(ctx, id, "")
			var missing *serviceerror.NotFound
			if err != nil && !errors.As(err, &missing) {
				return nil, notStarted(operation{op: op, obj: obj}, err)
			}
			rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Aborting operation %s.", id))
			rc.ObjRefs = map[string]string{"WorkflowId": id}
			return &rcOutput{apicall.RcList{rc}}, nil
		})
}

// receiveInput names a receive as this cluster does: the sender must be
// known here (LINSTOR's "Unknown Cluster"), and the snapshot is named
// after the sender's with the sender's short id.
func (s *server) receiveInput(ctx context.Context, r activities.ReceiveRequest) (activities.ReceiveInput, error) {
	sender, err := s.Store.ShipmentSender(ctx, r.ClusterID)
	if err != nil {
		return activities.ReceiveInput{}, err
	}
	in := activities.ReceiveInput{ReceiveRequest: r, Sender: sender.Remote, DstSnapshot: cmp.Or(r.Ship.DstSnapshot, r.Snapshot+sender.Suffix)}
	if r.Base != "" {
		in.DstBase = r.Base + sender.Suffix
	}
	return in, nil
}
