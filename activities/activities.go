// Package activities holds the Temporal activities: everything a workflow
// does that touches the database, an agent, S3 or the file system. The
// steps of an operation answer in LINSTOR's words (apicall), so that the
// workflow's outcome is the request's answer.
package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"strata/agent/proto"
	"strata/agentlink"
	"strata/apicall"
	"strata/masterkey"
	"strata/metrics"
	"strata/nodestate"
	"strata/store"
)

// Activities carries what the activities need; the worker registers its
// methods, and workflows refer to them through a nil *Activities.
type Activities struct {
	Store *store.Store
	// BackupDir receives database backups of the embedded database.
	BackupDir string
	// Agents reaches the nodes' agents.
	Agents *agentlink.Link
	// Temporal tells whether the holder of a lock still runs.
	Temporal client.Client
	// Keyring opens the remotes' keys for the agents that ship backups.
	Keyring *masterkey.Keyring
	// SOS is where SOS reports go and what the controller's part holds.
	SOS SOSSources

	pushes pushes
}

// ApplyNodeState sends a node its whole desired state and records what
// its agent reports. Sending the same state again changes nothing, so a
// retry after a crash is safe.
func (a *Activities) ApplyNodeState(ctx context.Context, node string) error {
	stop := Heartbeat(ctx)
	defer stop()
	return a.pushes.do(ctx, store.Key(node), func(ctx context.Context) error { return a.applyNodeState(ctx, node) })
}

// applyNodeState is one push of ApplyNodeState. An evicted node gets no
// state: it is gone until node restore.
func (a *Activities) applyNodeState(ctx context.Context, node string) error {
	if n, err := a.Store.GetNode(ctx, node); err == nil && n.Flags.Has(store.FlagEvicted) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("node %s is evicted: it gets its state again once restored", node), NodeNotOnlineErrorType, nil)
	}
	// The generation is read before the state: a state read later is at
	// least as new as its generation says, and agents ignore older ones.
	gen, err := a.Store.Generation(ctx)
	if err != nil {
		return err
	}
	want, deleting, err := nodestate.Compile(ctx, a.Store, node)
	if err != nil {
		return err
	}
	want.Generation = gen
	start := time.Now()
	rep, err := a.Agents.Send(ctx, node, want)
	metrics.AgentPush.WithLabelValues(map[bool]string{true: "ok", false: "error"}[err == nil]).Observe(time.Since(start).Seconds())
	if err != nil {
		// An offline node gets its state when it connects.
		return notOnlineIsFinal(err)
	}
	if rep.Stale {
		// A newer state got there first: one of this database's (a push
		// that crossed this one, read later, so with this change), or
		// one this database never counted to, when it was restored or
		// replaced; then count past it and push again.
		now, err := a.Store.Generation(ctx)
		if err != nil {
			return err
		}
		if rep.Applied > now {
			if err := a.Store.RaiseGeneration(ctx, rep.Applied+1); err != nil {
				return err
			}
			return fmt.Errorf("node %s applied generation %d, this database is at %d (restored?): generation raised, the state is sent again", node, rep.Applied, now)
		}
	}
	if err := nodestate.Record(ctx, a.Store, node, deleting, rep); err != nil {
		return err
	}
	if err := snapshotFailure(node, want, rep); err != nil {
		return err
	}
	return fileFailure(node, rep)
}

// fileFailure is the end of a push whose external files could not all
// be written or deleted: final, as a path outside the agent's allowed
// directories stays outside them.
func fileFailure(node string, rep proto.Report) error {
	if len(rep.FileErrors) == 0 {
		return nil
	}
	var why []string
	for _, path := range slices.Sorted(maps.Keys(rep.FileErrors)) {
		why = append(why, fmt.Sprintf("external file %s: %s", path, rep.FileErrors[path]))
	}
	msg := fmt.Sprintf("node %s: %s", node, strings.Join(why, "; "))
	return temporal.NewNonRetryableApplicationError(msg, "ExternalFileFailed", nil)
}

// snapshotFailure is the end of a push that could not suspend I/O or
// take a snapshot: final, since trying again while I/O is held would
// only hold it longer.
func snapshotFailure(node string, want proto.NodeState, rep proto.Report) error {
	var why []string
	for _, r := range slices.Sorted(maps.Keys(rep.SuspendFailed)) {
		why = append(why, fmt.Sprintf("suspend-io of %s failed: %s", r, rep.SuspendFailed[r]))
	}
	type volumeSnapshot struct {
		resource, name string
		nr             int32
	}
	taking := map[volumeSnapshot]bool{}
	for _, sn := range want.Snapshots {
		if sn.Take {
			taking[volumeSnapshot{sn.Resource, sn.Name, sn.VlmNr}] = true
		}
	}
	for _, sn := range rep.Snapshots {
		if sn.Error != "" && taking[volumeSnapshot{sn.Resource, sn.Name, sn.VlmNr}] {
			why = append(why, fmt.Sprintf("snapshot %s of volume %d of %s failed: %s", sn.Name, sn.VlmNr, sn.Resource, sn.Error))
		}
	}
	if len(why) == 0 {
		return nil
	}
	msg := fmt.Sprintf("node %s: %s", node, strings.Join(why, "; "))
	return temporal.NewNonRetryableApplicationError(msg, "SnapshotFailed", nil)
}

// NodeNotOnlineErrorType is the error type of a call to a node whose
// agent is not online.
const NodeNotOnlineErrorType = "NodeNotOnline"

// notOnlineIsFinal makes a call to a node whose agent is not online fail
// without retries: it is not worth retrying.
func notOnlineIsFinal(err error) error {
	var offline *agentlink.NotOnlineError
	if errors.As(err, &offline) {
		return temporal.NewNonRetryableApplicationError(err.Error(), NodeNotOnlineErrorType, err)
	}
	return err
}

// ReconcileQuorum applies auto-quorum and the tie-breaker to a definition
// after its resources changed, and says what it changed.
func (a *Activities) ReconcileQuorum(ctx context.Context, rd string) (apicall.RcList, error) {
	drbd, err := a.Store.ServesLayer(ctx, rd, "DRBD")
	if err != nil {
		return nil, err
	}
	msgs, err := a.Store.ReconcileQuorum(ctx, rd, drbd)
	if err != nil {
		if _, ok := store.AsError(err); ok {
			return nil, nil // the definition is gone
		}
		return nil, err
	}
	var out apicall.RcList
	for _, m := range msgs {
		rc := apicall.NewRc(apicall.InfoQuorum, 0, apicall.MaskRscDfn, m)
		rc.ObjRefs = map[string]string{"RscDfn": rd}
		out = append(out, rc)
	}
	return out, nil
}

// ReconcileNodeQuorum applies auto-quorum to every resource on a node. A
// node sync runs it, so that quorum catches up with changes the node
// missed.
func (a *Activities) ReconcileNodeQuorum(ctx context.Context, node string) error {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Nodes: []string{node}})
	if err != nil {
		return err
	}
	for _, r := range rscs {
		if _, err := a.ReconcileQuorum(ctx, r.ResourceName); err != nil {
			return err
		}
	}
	return nil
}

// DeployReportInput is a finished deployment of a definition: its
// workflow, the nodes it pushed, those it could not reach and those
// whose agent could not apply their state, with why.
type DeployReportInput struct {
	Resource, WorkflowID string
	Nodes                []string
	Failed               map[string]string
	Refused              map[string]string
}

// DeployReport answers a finished deployment: the workflow that made it,
// nodes that were not reached, and each volume a node reported as failed.
func (a *Activities) DeployReport(ctx context.Context, in DeployReportInput) (apicall.RcList, error) {
	refs := map[string]string{"RscDfn": in.Resource, "WorkflowId": in.WorkflowID}
	rc := apicall.NewRc(apicall.InfoDeployed, 0, apicall.MaskRscDfn, fmt.Sprintf("Resource '%s' deployed on %d nodes.", in.Resource, len(in.Nodes)-len(in.Failed)-len(in.Refused)))
	rc.Details, rc.ObjRefs = "By workflow "+in.WorkflowID+".", refs
	out := apicall.RcList{rc}
	for _, n := range in.Nodes {
		if why, ok := in.Failed[n]; ok {
			w := apicall.NewRc(apicall.WarnNodeNotReached, 0, apicall.MaskRscDfn, fmt.Sprintf("Node '%s' was not reached.", n))
			w.Cause, w.Correction, w.ObjRefs = why, "It gets its state when its agent is back (node list shows it Online).", map[string]string{"Node": n, "WorkflowId": in.WorkflowID}
			out = append(out, w)
		}
		if why, ok := in.Refused[n]; ok {
			e := apicall.NewRc(apicall.FailUnknownError, 0, apicall.MaskRscDfn, fmt.Sprintf("Node '%s' could not apply its state.", n))
			e.Cause, e.ObjRefs = why, map[string]string{"Node": n, "WorkflowId": in.WorkflowID}
			out = append(out, e)
		}
	}
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{in.Resource}})
	if err != nil {
		return nil, err
	}
	for _, r := range rscs {
		for _, v := range r.Volumes {
			if v.StateError != "" {
				e := apicall.NewRc(apicall.FailUnknownError, 0, apicall.MaskVlm, fmt.Sprintf("Volume %d of resource '%s' on node '%s' failed: %s", v.VlmNr, r.ResourceDspName, r.NodeDspName, v.StateError))
				if v.StateReport != "" {
					e.ErrorReportIDs = []string{v.StateReport}
				}
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// HeartbeatInterval is how often a running activity tells Temporal it is
// alive; with a heartbeat timeout of a few intervals, the activity of a
// controller that died is retried by another worker within seconds
// instead of after its whole start-to-close timeout.
const HeartbeatInterval = 2 * time.Second

// Heartbeat records heartbeats of a (non-local) activity until stop is
// called; in a local activity it does nothing.
func Heartbeat(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) || activity.GetInfo(ctx).IsLocalActivity {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
