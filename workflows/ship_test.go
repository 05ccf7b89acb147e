package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/agent/proto"
	"strata/agent/proto/bucket"
	"strata/store"
)

// newShipRecorder mocks a shipment to a LINSTOR remote up to the send,
// which sendErr, when set, fails.
func newShipRecorder(t *testing.T, sendErr error) *backupRecorder {
	r := newBackupRecorder(t)
	var a *activities.Activities
	r.env.OnActivity(a.PlanShipment, mockCtx, mockCtx).Return(activities.BackupPlan{Name: bucket.Name{Resource: "data", BackupID: "back_20260101_000000", Snapshot: "s1"},
		Base: &activities.BackupBase{Snapshot: "s0", Full: "s0"}}, nil)
	r.env.OnActivity(a.SendShipment, mockCtx, mockCtx).Return(func(_ context.Context, in activities.ShipInput) ([]activities.ShippedVolume, error) {
		r.add("send from " + in.Node + " to " + in.Ship.DstResource)
		return []activities.ShippedVolume{{VlmNr: 0}}, sendErr
	})
	r.env.OnActivity(a.FailShipment, mockCtx, mockCtx, mockCtx).Return(func(_ context.Context, _ activities.ShipInput, status string) error {
		r.add("fail " + status)
		return nil
	})
	return r
}

var shipInput = activities.BackupCreateInput{Remote: "lr", Resource: "data", Snapshot: "s1", Incremental: true, Ship: &activities.ShipRequest{DstResource: "copy"}}

// A shipment to another cluster waits for a slot, sends, records
// Success once the receiver committed, and gives the slot back.
func TestBackupShipSendsInASlot(t *testing.T) {
	r := newShipRecorder(t, nil)
	r.env.ExecuteWorkflow(BackupShip, shipInput)
	msgs := r.outcome(t)
	require.Equal(t, []string{"status " + store.ShippingPrepare, "status " + store.ShippingRunning, "send from alpha to copy", "status " + store.ShippingSuccess, "release", "wake alpha"}, r.order)
	require.Contains(t, msgs, "Shipping of resource data to remote lr in progress.")
}

// A send the receiver refused ends Failed, and the receiver is told to
// give the shipment up.
func TestBackupShipThatFailsTellsTheReceiver(t *testing.T) {
	r := newShipRecorder(t, temporal.NewNonRetryableApplicationError("the remote cluster did not receive the snapshot", "ReceiveFailed", nil))
	r.env.ExecuteWorkflow(BackupShip, shipInput)
	require.True(t, r.env.IsWorkflowCompleted())
	require.Error(t, r.env.GetWorkflowError())
	require.Equal(t, []string{"status " + store.ShippingPrepare, "status " + store.ShippingRunning, "send from alpha to copy", "fail " + store.ShippingFailed, "release", "wake alpha"}, r.order)
}

// receiveInput is a receive of one volume into a deployed definition.
var receiveInput = activities.ReceiveInput{ReceiveRequest: activities.ReceiveRequest{ClusterID: "c1", Resource: "data", Snapshot: "s1", Ship: activities.ShipRequest{DstResource: "copy"}},
	DstSnapshot: "s1_abc"}

// newReceiveRecorder mocks a receive whose volume arrives, or fails with
// receiveErr.
func newReceiveRecorder(t *testing.T, receiveErr error) *snapshotRecorder {
	r := newSnapshotRecorder(t)
	var a *activities.Activities
	plan := activities.RestorePlan{Step: activities.Step{Nodes: []string{"alpha"}}, Snapshot: "s1_abc", Volumes: []activities.ShippedVolume{{VlmNr: 0, Pool: "pool1"}}, DownloadOnly: true}
	r.env.OnActivity(a.RecordReceive, mockCtx, receiveInput).Return(plan, nil)
	r.env.OnActivity(a.ReceiveVolume, mockCtx, mockCtx).Return(func(_ context.Context, in activities.ReceiveVolumeInput) (proto.JobProgress, error) {
		r.add("receive " + in.Plan.Nodes[0])
		return proto.JobProgress{}, receiveErr
	})
	r.env.OnActivity(a.SetReceiveStatus, mockCtx, mockCtx, mockCtx).Return(func(_ context.Context, _ activities.ReceiveInput, status string) error {
		r.add("target status " + status)
		return nil
	})
	return r
}

// A receive has its node listen (the listener it signals is in the
// query the sender polls), marks the snapshot successful once the volume
// is committed, and tells the sender it is done.
func TestBackupReceiveCommitsAndAnswersTheSender(t *testing.T) {
	r := newReceiveRecorder(t, nil)
	r.env.RegisterDelayedCallback(func() {
		r.env.SignalWorkflow(activities.ListeningSignal, activities.Listening{VlmNr: 0, Session: 1, Address: "127.0.0.1:12000"})
	}, 0)
	r.env.ExecuteWorkflow(BackupReceive, receiveInput)
	r.outcome(t)
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("copy"), "receive alpha", "target status " + store.ShippingSuccess, "finish " + store.SnapshotSuccessful, "release"}, r.order)
	v, err := r.env.QueryWorkflow(ReceiveQuery)
	require.NoError(t, err)
	var st activities.ReceiveState
	require.NoError(t, v.Get(&st))
	require.True(t, st.Done)
	require.Equal(t, []int32{0}, st.Received)
	require.Equal(t, "alpha", st.Node)
	require.Equal(t, "127.0.0.1:12000", st.Listen[0].Address)
}

// A receive whose volume never arrives marks its snapshot failed and
// says why to the sender.
func TestBackupReceiveThatFailsSaysWhy(t *testing.T) {
	r := newReceiveRecorder(t, temporal.NewNonRetryableApplicationError("no sender connected within 5m0s", "", errors.New("closed")))
	r.env.ExecuteWorkflow(BackupReceive, receiveInput)
	require.True(t, r.env.IsWorkflowCompleted())
	require.Error(t, r.env.GetWorkflowError())
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("copy"), "receive alpha", "finish " + store.SnapshotFailedDeployment, "target status " + store.ShippingFailed, "release"}, r.order)
	v, err := r.env.QueryWorkflow(ReceiveQuery)
	require.NoError(t, err)
	var st activities.ReceiveState
	require.NoError(t, v.Get(&st))
	require.Contains(t, st.Failed, "no sender connected")
	require.False(t, st.Done)
}
