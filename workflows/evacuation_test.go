package workflows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/agent/proto"
	"strata/apicall"
	"strata/store"
)

// An evacuation records the node's flag, answers the request with it,
// and moves each resource in its own workflow, at most as many at once
// as the node's evacuation slots: one not needed is deleted at once, a
// DRBD one waits for its new replica before the old one goes, one that
// cannot move stays with LINSTOR's warning.
func TestNodeEvacuateMovesEachResourceInItsOwnWorkflow(t *testing.T) {
	r := newRecorder(t, "alpha", "bravo", "charlie")
	r.env.RegisterWorkflow(ResourceEvacuate)
	var a *activities.Activities
	in := activities.EvacuateInput{Node: "alpha"}
	r.env.OnActivity(a.RecordEvacuation, mockCtx, in).Return(activities.Step{Replies: apicall.RcList{{Message: "Node 'alpha' is being evacuated: 3 resources to move."}},
		Definitions: []string{"extra", "data", "local"}}, nil)
	r.env.OnActivity(a.MoveWindow, mockCtx, "alpha").Return(2, nil)
	running, most := 0, 0
	r.env.OnActivity(a.PlanMove, mockCtx, mockCtx).Return(func(_ context.Context, in activities.MoveInput) (activities.Move, error) {
		r.add("plan " + in.Resource)
		running++
		most = max(most, running)
		switch in.Resource {
		case "extra":
			running--
			return activities.Move{Kind: activities.MoveDelete, Step: activities.Step{Replies: apicall.RcList{{Message: "Resource 'extra' on node 'alpha' deleted."}}}}, nil
		case "data":
			return activities.Move{Kind: activities.MoveSync, To: "charlie", Step: activities.Step{Replies: apicall.RcList{{Message: "New resource 'data' on node 'charlie' replaces the one on node 'alpha'."}}}}, nil
		}
		running--
		return activities.Move{Step: activities.Step{Replies: apicall.RcList{{Message: "Resource 'local' cannot be evacuated as it is not a DRBD resource"}}}}, nil
	})
	polls := 0
	r.env.OnActivity(a.MigrationState, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Migration, error) {
		polls++
		return activities.Migration{Done: polls == 3, State: "waiting for the replica on charlie to be UpToDate"}, nil
	})
	r.env.OnActivity(a.SnapshotCopies, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return([]activities.MovedSnapshotInput(nil), nil)
	r.env.OnActivity(a.FinishMove, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Step, error) {
		r.add("finish data")
		running--
		return activities.Step{Replies: apicall.RcList{{Message: "Resource 'data' on node 'alpha' deleted: it moved to node 'charlie'."}}}, nil
	})
	r.env.ExecuteWorkflow(NodeEvacuate, in)
	msgs := r.outcome(t)
	require.Equal(t, "Node 'alpha' is being evacuated: 3 resources to move.", msgs[0])
	for _, want := range []string{"Resource 'extra' on node 'alpha' deleted.", "Resource 'local' cannot be evacuated as it is not a DRBD resource",
		"Resource 'data' on node 'alpha' deleted: it moved to node 'charlie'."} {
		require.Contains(t, msgs, want)
	}
	require.Equal(t, 3, polls, "the old replica goes once the new one is ready")
	require.LessOrEqual(t, most, 2, "no more moves at once than the node's slots")
	require.Less(t, slices.Index(r.order, "plan data"), slices.Index(r.order, "finish data"))
}

// A storage-only resource is copied in an evacuation slot of both nodes
// (taken in name order): a first snapshot is shipped, then, once the
// resource is not in use, the second one's changes; the new resource is
// made from it, compared, and the old one goes; the move's snapshots go
// in every case; a snapshot refused as its node is not connected is
// taken again once it is. The user's snapshots on the old node are copied before
// the old resource goes, and their old parts deleted. When the data
// differs, the new resource goes instead and the old one stays.
func TestCopyOffMovesTheDataBeforeTheResource(t *testing.T) {
	for _, differs := range []bool{false, true} {
		r := newSnapshotRecorder(t)
		// The first snapshot finds its node not connected yet (as right
		// after the controller's restart): the move waits for it.
		r.refusals = []apicall.RcList{apicall.Failure(apicall.FailNotConnected, apicall.MaskCrt, apicall.MaskSnapshot, "No diskful connected satellite for snapshot or no resources.", "", "")}
		var a *activities.Activities
		in := activities.MoveInput{EvacuateInput: activities.EvacuateInput{Node: "charlie"}, Resource: "data"}
		vols := []activities.MovedVolume{{VlmNr: 0, FromPool: "pool1"}}
		r.env.OnActivity(a.PlanMove, mockCtx, in).Return(activities.Move{Kind: activities.MoveCopy, To: "bravo", Pool: "pool1", Volumes: vols}, nil)
		r.env.OnActivity(a.TakeSlot, mockCtx, mockCtx).Return(func(_ context.Context, s activities.SlotInput) error {
			require.Equal(t, store.EvacuationMoving, s.Kind)
			r.add("slot " + s.Node)
			return nil
		})
		r.env.OnActivity(a.ReceiveMovedSnapshot, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) (activities.Step, error) {
			r.add("receive " + m.Snapshot + " on " + m.To)
			return activities.Step{Nodes: []string{m.To}}, nil
		})
		r.env.OnActivity(a.ShipMovedSnapshot, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) ([]proto.JobProgress, error) {
			r.add(fmt.Sprintf("ship %s base %q", m.Snapshot, m.Base))
			return nil, nil
		})
		inUse := 2
		r.env.OnActivity(a.InUse, mockCtx, activities.ResourceInput{Resource: "data", Node: "charlie"}).Return(func(context.Context, activities.ResourceInput) (bool, error) {
			inUse--
			r.add("in use?")
			return inUse > 0, nil
		})
		r.env.OnActivity(a.MoveResource, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) (activities.Step, error) {
			r.add("move from " + m.Snapshot)
			return activities.Step{Nodes: []string{"bravo"}}, nil
		})
		r.env.OnActivity(a.FinishRestore, mockCtx, "data").Return(nil)
		r.env.OnActivity(a.CompareMoved, mockCtx, mockCtx).Return(func(context.Context, activities.MovedSnapshotInput) error {
			r.add("compare")
			if differs {
				return temporal.NewNonRetryableApplicationError("volume 0 of data on bravo differs", "ChecksumMismatch", nil)
			}
			return nil
		})
		// The user's snapshot on charlie goes with the resource.
		r.env.OnActivity(a.SnapshotCopies, mockCtx, activities.MigrationInput{Resource: "data", From: "charlie", To: "bravo"}).Return(
			[]activities.MovedSnapshotInput{{Resource: "data", Snapshot: "user-1", From: "charlie", To: "bravo", Pool: "pool1", Volumes: vols}}, nil)
		r.env.OnActivity(a.FinishSnapshotCopy, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) (activities.Step, error) {
			r.add("keep " + m.Snapshot + " on " + m.To)
			return activities.Step{Nodes: []string{m.To}}, nil
		})
		r.env.OnActivity(a.FinishMove, mockCtx, activities.MigrationInput{Resource: "data", From: "charlie", To: "bravo"}).Return(func(context.Context, activities.MigrationInput) (activities.Step, error) {
			r.add("remove the old one")
			return activities.Step{}, nil
		})
		r.env.OnActivity(a.MarkResourceDeleting, mockCtx, activities.ResourceInput{Resource: "data", Node: "bravo"}).Return(func(context.Context, activities.ResourceInput) (activities.Step, error) {
			r.add("remove the new one")
			return activities.Step{}, nil
		})
		r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, mockCtx).Return(func(_ context.Context, d activities.SnapshotDeleteInput) (activities.Step, error) {
			r.add(strings.TrimSpace("delete " + d.Snapshot + " " + strings.Join(d.Nodes, " ")))
			return activities.Step{}, nil
		})
		r.env.ExecuteWorkflow(ResourceEvacuate, in)
		msgs := r.outcome(t)
		var steps []string
		for _, s := range r.order {
			if !slices.Contains([]string{"report", "release"}, s) && !slices.Contains([]string{"push", "phase", "finish", "quorum", "lock"}, firstWord(s)) {
				steps = append(steps, s)
			}
		}
		s1, s2 := store.EvacuationSnapshot(1), store.EvacuationSnapshot(2)
		want := []string{"slot bravo", "slot charlie", "record " + s1, "record " + s1, "receive " + s1 + " on bravo", fmt.Sprintf("ship %s base \"\"", s1),
			"in use?", "in use?", "record " + s2, "receive " + s2 + " on bravo", fmt.Sprintf("ship %s base %q", s2, s1), "move from " + s2, "compare"}
		if differs {
			want = append(want, "remove the new one", "delete "+s1, "delete "+s2)
			require.Contains(t, msgs, "Moving the data of resource 'data' from node 'charlie' to node 'bravo' failed; it stays on node 'charlie'.")
		} else {
			want = append(want, "receive user-1 on bravo", `ship user-1 base ""`, "keep user-1 on bravo", "delete user-1 charlie", "remove the old one", "delete "+s1, "delete "+s2)
		}
		require.Equal(t, want, steps, "differs=%v", differs)
		require.Equal(t, "release", r.order[len(r.order)-1])
	}
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// evictionTimer mocks alpha's auto-evict settings (60 minutes) and
// returns the eviction times the timer records.
func evictionTimer(r *recorder) *[]int64 {
	var a *activities.Activities
	r.env.OnActivity(a.AutoEvictSettings, mockCtx, "alpha").Return(activities.AutoEvictState{AutoEvictSettings: store.AutoEvictSettings{AfterMinutes: 60, Allowed: true, MaxDisconnectedPercent: 34}}, nil)
	var stamps []int64
	r.env.OnActivity(a.SetEvictionTimestamp, mockCtx, "alpha", mockCtx).Return(func(_ context.Context, _ string, at int64) error {
		stamps = append(stamps, at)
		return nil
	})
	return &stamps
}

// An offline node's auto-evict timer shows its eviction time, waits
// AutoEvictAfterTime (durably; the test's clock skips), checks again
// every minute while too many nodes are disconnected, and then evicts
// the node: its evicted DRBD replica is replaced and marked deleted at
// once. The eviction time goes in the end.
func TestAutoEvictWaitsThenEvicts(t *testing.T) {
	r := newRecorder(t, "alpha", "bravo", "charlie")
	r.env.RegisterWorkflow(NodeEvacuate)
	r.env.RegisterWorkflow(ResourceEvacuate)
	var a *activities.Activities
	stamps := evictionTimer(r)
	r.env.OnActivity(a.PeersOf, mockCtx, "alpha").Return([]string{"bravo"}, nil)
	checks := 0
	var checkedAt []time.Time
	r.env.OnActivity(a.CheckEviction, mockCtx, "alpha").Return(func(context.Context, string) (activities.EvictionCheck, error) {
		checks++
		checkedAt = append(checkedAt, r.env.Now())
		if checks < 3 {
			return activities.EvictionCheck{Why: "2 of 5 nodes are disconnected"}, nil
		}
		return activities.EvictionCheck{Evict: true}, nil
	})
	r.env.OnActivity(a.RecordEvacuation, mockCtx, activities.EvacuateInput{Node: "alpha", Evict: true}).Return(activities.Step{Definitions: []string{"data"}}, nil)
	r.env.OnActivity(a.MoveWindow, mockCtx, "alpha").Return(8, nil)
	r.env.OnActivity(a.PlanMove, mockCtx, mockCtx).Return(activities.Move{Kind: activities.MoveReplace, To: "charlie",
		Step: activities.Step{Replies: apicall.RcList{{Message: "New resource 'data' on node 'charlie' replaces the one on node 'alpha'."}}}}, nil)
	r.env.OnActivity(a.FinishMove, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Step, error) {
		r.add("evicted replica deleted")
		return activities.Step{}, nil
	})
	start := r.env.Now()
	r.env.ExecuteWorkflow(AutoEvict, AutoEvictInput{Node: "alpha", Minute: time.Minute})
	msgs := r.outcome(t)
	require.Contains(t, msgs, "New resource 'data' on node 'charlie' replaces the one on node 'alpha'.")
	require.Contains(t, r.order, "evicted replica deleted")
	require.Contains(t, r.order, "push bravo bravo bravo", "at each of the three checks, the peers' DRBD states are read fresh for the check")
	require.Len(t, checkedAt, 3)
	require.GreaterOrEqual(t, checkedAt[0].Sub(start), 60*time.Minute, "not before AutoEvictAfterTime")
	require.Equal(t, time.Minute, checkedAt[1].Sub(checkedAt[0]), "checked again each minute")
	require.Len(t, *stamps, 2)
	require.Equal(t, start.Add(60*time.Minute).UnixMilli(), (*stamps)[0], "the node shows when it is evicted")
	require.Zero(t, (*stamps)[1], "and no more once it is")
}

// A node that comes back cancels its timer: nothing is evicted, and its
// eviction time goes.
func TestAutoEvictEndsWhenTheNodeComesBack(t *testing.T) {
	r := newRecorder(t)
	stamps := evictionTimer(r)
	r.env.RegisterDelayedCallback(r.env.CancelWorkflow, 20*time.Minute)
	r.env.ExecuteWorkflow(AutoEvict, AutoEvictInput{Node: "alpha", Minute: time.Minute})
	require.True(t, r.env.IsWorkflowCompleted())
	require.Error(t, r.env.GetWorkflowError(), "cancelled")
	require.Len(t, *stamps, 2)
	require.Zero(t, (*stamps)[1])
	require.NotContains(t, r.order, "evicted replica deleted")
}

// A migrate-disk records the new disk under the definition's lock, waits
// for it without the lock, and removes the old disk's resource; a
// refused one ends at once.
func TestMigrateDiskSyncsThenRemovesTheOldOne(t *testing.T) {
	for _, refused := range []bool{false, true} {
		r := newRecorder(t, "alpha", "bravo", "charlie")
		var a *activities.Activities
		in := activities.MigrateDiskInput{Resource: "data", Node: "charlie", From: "alpha"}
		mv := activities.Move{Kind: activities.MoveSync, To: "charlie", Step: activities.Step{Nodes: []string{"alpha", "bravo", "charlie"}}}
		if refused {
			mv = activities.Move{Step: activities.Step{Replies: apicall.Failure(apicall.FailInvldRequest, 0, 0, "Toggle disk is only supported in combination with DRBD", "", "")}}
		}
		r.env.OnActivity(a.StartDiskMigration, mockCtx, in).Return(func(context.Context, activities.MigrateDiskInput) (activities.Move, error) {
			r.add("give charlie a disk")
			return mv, nil
		})
		polls := 0
		r.env.OnActivity(a.MigrationState, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Migration, error) {
			polls++
			r.add("ready?")
			return activities.Migration{Done: polls == 2}, nil
		})
		r.env.OnActivity(a.FinishMove, mockCtx, activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}).Return(func(context.Context, activities.MigrationInput) (activities.Step, error) {
			r.add("remove alpha's")
			return activities.Step{}, nil
		})
		r.env.ExecuteWorkflow(MigrateDisk, in)
		msgs := r.outcome(t)
		var steps []string
		for _, s := range r.order {
			if !slices.Contains([]string{"report", "push", "quorum"}, firstWord(s)) {
				steps = append(steps, s)
			}
		}
		lock := "lock " + store.ResourceDefinitionLock("data")
		if refused {
			require.Equal(t, []string{lock, "give charlie a disk", "release"}, steps)
			require.Equal(t, []string{"Toggle disk is only supported in combination with DRBD"}, msgs)
			continue
		}
		require.Equal(t, []string{lock, "give charlie a disk", "release", "ready?", "ready?", lock, "remove alpha's", "release"}, steps, "the lock is not held while the disk syncs")
	}
}

// A DRBD move copies the old node's snapshots once the new replica is
// UpToDate, in evacuation slots it takes only then; a copy that fails is
// warned about, its part on the new node goes, no more are copied, and
// the old replica still goes (its snapshots stay on its node).
func TestSyncOffCopiesSnapshotsUntilOneFails(t *testing.T) {
	r := newRecorder(t, "alpha", "bravo", "charlie")
	var a *activities.Activities
	in := activities.MoveInput{EvacuateInput: activities.EvacuateInput{Node: "alpha"}, Resource: "data"}
	mig := activities.MigrationInput{Resource: "data", From: "alpha", To: "charlie"}
	r.env.OnActivity(a.PlanMove, mockCtx, in).Return(activities.Move{Kind: activities.MoveSync, To: "charlie", Step: activities.Step{Nodes: []string{"alpha", "bravo", "charlie"}}}, nil)
	r.env.OnActivity(a.MigrationState, mockCtx, mig).Return(func(context.Context, activities.MigrationInput) (activities.Migration, error) {
		r.add("ready?")
		return activities.Migration{Done: true}, nil
	})
	vols := []activities.MovedVolume{{VlmNr: 0, FromPool: "pool1"}}
	r.env.OnActivity(a.SnapshotCopies, mockCtx, mig).Return([]activities.MovedSnapshotInput{
		{Resource: "data", Snapshot: "s1", From: "alpha", To: "charlie", Pool: "pool1", Volumes: vols},
		{Resource: "data", Snapshot: "s2", Base: "s1", From: "alpha", To: "charlie", Pool: "pool1", Volumes: vols}}, nil)
	r.env.OnActivity(a.TakeSlot, mockCtx, mockCtx).Return(func(_ context.Context, s activities.SlotInput) error {
		r.add("slot " + s.Node)
		return nil
	})
	r.env.OnActivity(a.ReceiveMovedSnapshot, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) (activities.Step, error) {
		r.add("receive " + m.Snapshot)
		return activities.Step{Nodes: []string{m.To}}, nil
	})
	r.env.OnActivity(a.ShipMovedSnapshot, mockCtx, mockCtx).Return(func(_ context.Context, m activities.MovedSnapshotInput) ([]proto.JobProgress, error) {
		r.add("ship " + m.Snapshot)
		return nil, temporal.NewNonRetryableApplicationError("pool full", "ShipFailed", nil)
	})
	r.env.OnActivity(a.MarkSnapshotDeleting, mockCtx, mockCtx).Return(func(_ context.Context, d activities.SnapshotDeleteInput) (activities.Step, error) {
		r.add("delete " + d.Snapshot + " " + strings.Join(d.Nodes, " "))
		return activities.Step{}, nil
	})
	r.env.OnActivity(a.FinishMove, mockCtx, mig).Return(func(context.Context, activities.MigrationInput) (activities.Step, error) {
		r.add("remove the old one")
		return activities.Step{}, nil
	})
	r.env.ExecuteWorkflow(ResourceEvacuate, in)
	msgs := r.outcome(t)
	var steps []string
	for _, s := range r.order {
		if !slices.Contains([]string{"report", "release"}, s) && !slices.Contains([]string{"push", "quorum", "lock"}, firstWord(s)) {
			steps = append(steps, s)
		}
	}
	require.Equal(t, []string{"ready?", "slot alpha", "slot charlie", "receive s1", "ship s1", "delete s1 charlie", "remove the old one"}, steps)
	require.Contains(t, msgs, "Snapshot 's1' of resource 'data' was not copied to node 'charlie'; it stays on node 'alpha'.")
}
