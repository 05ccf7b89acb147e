package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/apicall"
	"strata/store"
)

// snapshotRecorder mocks the snapshot steps of definition data held by
// alpha, bravo (diskful, taking) and charlie (diskless); failPush, when
// set, fails the pushes it names in the phase it names.
type snapshotRecorder struct {
	*recorder
	phase    string
	failPush map[string]error // by phase:node
	// recorded are the snapshots recorded; onPhase runs at each phase.
	recorded []store.SnapshotSpec
	onPhase  func(activities.SnapshotPhaseInput)
	stale    apicall.RcList // CheckUpToDate's answer
	// refusals are RecordSnapshots' first answers, one per call.
	refusals []apicall.RcList
}

func newSnapshotRecorder(t *testing.T) *snapshotRecorder {
	r := &snapshotRecorder{recorder: newRecorder(t, "alpha", "bravo", "charlie"), phase: store.PhaseSuspend, failPush: map[string]error{}}
	var a *activities.Activities
	r.env.OnActivity(a.RecordSnapshots, mockCtx, mockCtx).Return(func(_ context.Context, in activities.SnapshotCreateInput) (activities.SnapshotStep, error) {
		r.add("record " + in.Snapshots[0].Name)
		if len(r.refusals) > 0 {
			refused := r.refusals[0]
			r.refusals = r.refusals[1:]
			return activities.SnapshotStep{Step: activities.Step{Replies: refused}}, nil
		}
		r.recorded = append(r.recorded, in.Snapshots...)
		r.phase = store.PhaseSuspend
		return activities.SnapshotStep{Step: activities.Step{Replies: apicall.RcList{{Message: "New snapshot '" + in.Snapshots[0].Name + "' of resource 'data' registered."}},
			Nodes: []string{"alpha", "bravo", "charlie"}}, Taking: map[string][]string{"data": {"alpha", "bravo"}}}, nil
	})
	r.env.OnActivity(a.CheckUpToDate, mockCtx, mockCtx).Return(func(context.Context, activities.SnapshotCreateInput) (apicall.RcList, error) { return r.stale, nil })
	r.env.OnActivity(a.SetSnapshotPhase, mockCtx, mockCtx).Return(func(_ context.Context, in activities.SnapshotPhaseInput) error {
		r.phase = in.Phase
		if r.onPhase != nil {
			r.onPhase(in)
		}
		r.add("phase " + in.Phase + " " + strings.SplitN(in.Snapshots[0].Snapshot, "-", 2)[0])
		return nil
	})
	r.env.OnActivity(a.FinishSnapshots, mockCtx, mockCtx).Return(func(_ context.Context, in activities.FinishSnapshotsInput) error {
		r.phase = "done"
		r.add("finish " + in.Flag)
		return nil
	})
	r.pushErr = func(node string) error { return r.failPush[r.phase+":"+node] }
	return r
}

func snapshotInput(name string) activities.SnapshotCreateInput {
	return activities.SnapshotCreateInput{Snapshots: []store.SnapshotSpec{{Resource: "data", Name: name}}}
}

// The four phases, in order: suspend on every node (the diskless one
// too), the UpToDate check, take on the diskful nodes, resume everywhere.
func TestSnapshotCreateRunsLinstorsFourPhases(t *testing.T) {
	r := newSnapshotRecorder(t)
	r.env.ExecuteWorkflow(SnapshotCreate, snapshotInput("s1"))
	msgs := r.outcome(t)
	require.Equal(t, []string{"lock " + store.ResourceDefinitionLock("data"), "record s1", "push alpha bravo charlie", "phase take s1", "push alpha bravo",
		"finish SUCCESSFUL", "push alpha bravo charlie", "release"}, r.order)
	require.Contains(t, msgs, "Suspended IO of 'data' on 'charlie' for snapshot")
	require.Contains(t, msgs, "Took snapshot of 'data' on 'bravo'")
	require.Contains(t, msgs, "Resumed IO of 'data' on 'alpha' after snapshot")
	require.NotContains(t, msgs, "Took snapshot of 'data' on 'charlie'", "a diskless resource has nothing to take")
}

// Whatever fails after I/O was suspended, the snapshot is flagged failed
// and every node gets a state that resumes I/O; the answer names the
// node and why.
func TestSnapshotFailuresAlwaysResume(t *testing.T) {
	for _, tc := range []struct {
		name, phase, node string
		err               error
		flag              string
		code              uint64
	}{
		{"agent offline at suspend", store.PhaseSuspend, "bravo", temporal.NewNonRetryableApplicationError("No active connection to satellite 'bravo' (OFFLINE).", activities.NodeNotOnlineErrorType, nil), store.SnapshotFailedDisconnect, apicall.FailNotConnected},
		{"take fails", store.PhaseTake, "alpha", temporal.NewNonRetryableApplicationError("node alpha: snapshot s1 of volume 0 of data failed: no space", "SnapshotFailed", nil), store.SnapshotFailedDeployment, apicall.FailUnknownError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSnapshotRecorder(t)
			r.failPush[tc.phase+":"+tc.node] = tc.err
			r.env.ExecuteWorkflow(SnapshotCreate, snapshotInput("s1"))
			require.True(t, r.env.IsWorkflowCompleted())
			require.NoError(t, r.env.GetWorkflowError())
			var out Outcome
			require.NoError(t, r.env.GetWorkflowResult(&out))
			require.Contains(t, r.order, "finish "+tc.flag)
			require.Equal(t, "push alpha bravo charlie", r.order[len(r.order)-2], "every node resumes")
			require.Equal(t, "release", r.order[len(r.order)-1])
			require.True(t, out.Replies.HasError())
			var failure apicall.ApiCallRc
			for _, rc := range out.Replies {
				if rc.IsError() {
					failure = rc
				}
			}
			require.Equal(t, tc.code|apicall.MaskCrt|apicall.MaskSnapshot, uint64(failure.RetCode))
			require.Contains(t, failure.Message, "node '"+tc.node+"'")
			require.NotEmpty(t, failure.Cause)
		})
	}
}

// A node that cannot be reached to resume is reported with LINSTOR's
// warning; the others resume.
func TestSnapshotResumeReportsUnreachableNodes(t *testing.T) {
	r := newSnapshotRecorder(t)
	r.failPush["done:charlie"] = temporal.NewNonRetryableApplicationError("No active connection to satellite 'charlie' (OFFLINE).", activities.NodeNotOnlineErrorType, nil)
	r.env.ExecuteWorkflow(SnapshotCreate, snapshotInput("s1"))
	msgs := r.outcome(t)
	require.Contains(t, msgs, "Unable to abort snapshot process on disconnected satellite 'charlie'")
	require.Contains(t, msgs, "Resumed IO of 'data' on 'bravo' after snapshot")
}

// Replicas that are not UpToDate refuse the take: nothing is taken, the
// snapshot fails and I/O resumes.
func TestSnapshotOfStaleReplicasIsRefused(t *testing.T) {
	r := newSnapshotRecorder(t)
	r.stale = apicall.RcList{apicall.NewRc(apicall.FailSnapshotNotUpToDate, apicall.MaskCrt, apicall.MaskSnapshot, "Cannot take snapshot from non-UpToDate DRBD device. Snapshot creation aborted")}
	r.env.ExecuteWorkflow(SnapshotCreate, snapshotInput("s1"))
	msgs := r.outcome(t)
	require.Contains(t, msgs, "Cannot take snapshot from non-UpToDate DRBD device. Snapshot creation aborted")
	require.NotContains(t, r.order, "phase take s1")
	require.Contains(t, r.order, "finish FAILED_DEPLOYMENT")
}

// A rollback takes a safety snapshot, takes the resources down, makes
// them again from the snapshot, brings them up, and deletes the safety
// snapshot; if making them again fails, it does the same from the safety
// snapshot and says so.
func TestRollbackRestoresTheSafetySnapshotOnFailure(t *testing.T) {
	for _, fail := range []bool{false, true} {
		r := newSnapshotRecorder(t)
		var a *activities.Activities
		in := activities.RollbackInput{Resource: "data", Snapshot: "s1"}
		r.env.OnActivity(a.CheckRollback, mockCtx, in).Return(activities.Step{Nodes: []string{"alpha", "bravo", "charlie"}}, nil)
		r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, mockCtx).Return(func(_ context.Context, d activities.SnapshotDeleteInput) (activities.Step, error) {
			r.add("delete " + strings.SplitN(d.Snapshot, "-", 3)[0] + "-" + strings.SplitN(d.Snapshot, "-", 3)[1])
			return activities.Step{Nodes: []string{"alpha", "bravo"}}, nil
		})
		r.env.OnActivity(a.SnapshotDeleteReport, mockCtx, mockCtx).Return(apicall.RcList(nil), nil)
		if fail {
			r.failPush[store.PhaseRollbackRestore+":bravo"] = errors.New("clone failed")
			r.onPhase = func(p activities.SnapshotPhaseInput) {
				if p.Phase == store.PhaseRollbackRestore && p.Snapshots[0].Snapshot != "s1" {
					delete(r.failPush, store.PhaseRollbackRestore+":bravo") // the safety snapshot restores
				}
			}
		}
		r.env.ExecuteWorkflow(SnapshotRollback, in)
		msgs := r.outcome(t)
		require.Contains(t, r.order, "record safety-snap-"+r.order[1][len("record safety-snap-"):], "a safety snapshot first")
		require.Equal(t, "delete safety-snap", r.order[len(r.order)-3], "the safety snapshot goes at the end")
		if !fail {
			require.Contains(t, msgs, "Resource 'data' rolled back to snapshot 's1'.")
			continue
		}
		require.Contains(t, r.order, "phase rollback-restore safety")
		require.Contains(t, strings.Join(msgs, "\n"), "Rollback of 'data' aborted; its data is as before the rollback.")
		require.NotContains(t, msgs, "Resource 'data' rolled back to snapshot 's1'.")
	}
}

// An automatic snapshot takes the next name, flagged AUTO_SNAPSHOT, and
// deletes the oldest automatic ones beyond Keep.
func TestAutoSnapshotTakesTheNextAndCleansUp(t *testing.T) {
	r := newSnapshotRecorder(t)
	var a *activities.Activities
	r.env.RegisterWorkflow(SnapshotCreate)
	r.env.RegisterWorkflow(SnapshotDelete)
	r.env.OnActivity(a.AutoSnapshotSettings, mockCtx, "data").Return(activities.AutoSnapshotPlan{AutoSnapshotSettings: store.AutoSnapshotSettings{RunEveryMinutes: 15, Keep: 2, Prefix: "autoSnap"}}, nil)
	r.env.OnActivity(a.NextAutoSnapshotName, mockCtx, activities.AutoSnapshotNameInput{Resource: "data", Prefix: "autoSnap"}).Return("autoSnap00003", nil)
	r.env.OnActivity(a.AutoSnapshotsBeyondKeep, mockCtx, activities.AutoSnapshotCleanupInput{Resource: "data", Prefix: "autoSnap", Keep: 2}).Return([]string{"autoSnap00001"}, nil)
	r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, activities.SnapshotDeleteInput{Resource: "data", Snapshot: "autoSnap00001"}).Return(func(context.Context, activities.SnapshotDeleteInput) (activities.Step, error) {
		r.add("delete autoSnap00001")
		return activities.Step{}, nil
	})
	r.env.ExecuteWorkflow(AutoSnapshot, "data")
	msgs := r.outcome(t)
	require.True(t, r.recorded[0].Flags.Has(store.SnapshotAuto))
	require.Contains(t, r.order, "record autoSnap00003")
	require.Contains(t, r.order, "delete autoSnap00001")
	require.Contains(t, msgs, "AutoSnapshot cleanup: deleting snapshot autoSnap00001")
}

// An automatic snapshot is skipped while a node of the definition is
// offline, as LINSTOR skips it.
func TestAutoSnapshotSkipsWhileANodeIsOffline(t *testing.T) {
	r := newSnapshotRecorder(t)
	var a *activities.Activities
	r.env.OnActivity(a.AutoSnapshotSettings, mockCtx, "data").Return(activities.AutoSnapshotPlan{AutoSnapshotSettings: store.AutoSnapshotSettings{RunEveryMinutes: 15, Keep: 2, Prefix: "autoSnap"},
		Offline: []string{"charlie"}}, nil)
	r.env.ExecuteWorkflow(AutoSnapshot, "data")
	require.Equal(t, []string{"AutoSnapshot of 'data' skipped: node 'charlie' is offline."}, r.outcome(t))
	require.Empty(t, r.recorded, "nothing is taken")
}
