// Package activities holds the Temporal activities: everything a workflow
// does that touches the database, an agent, S3 or the file system.
package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"strata/agentlink"
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
}

// ApplyNodeState sends a node its whole desired state and records what
// its agent reports. Sending the same state again changes nothing, so a
// retry after a crash is safe.
func (a *Activities) ApplyNodeState(ctx context.Context, node string) error {
	stop := heartbeat(ctx)
	defer stop()
	_, err := a.Agents.Apply(ctx, node)
	var offline *agentlink.NotOnlineError
	if errors.As(err, &offline) {
		// Not worth retrying: the node gets its state when it connects.
		return temporal.NewNonRetryableApplicationError(err.Error(), "NodeNotOnline", err)
	}
	return err
}

// ReconcileQuorum applies auto-quorum to every resource on a node. A node
// sync runs it, so that a controller that died between a change and its
// quorum update catches up when the agents reconnect.
func (a *Activities) ReconcileQuorum(ctx context.Context, node string) error {
	rscs, err := a.Store.ListResources(ctx, store.ResourceFilter{Nodes: []string{node}})
	if err != nil {
		return err
	}
	for _, r := range rscs {
		drbd, err := a.Agents.ServesDrbd(ctx, r.ResourceName)
		if err != nil {
			return err
		}
		if _, err := a.Store.ReconcileQuorum(ctx, r.ResourceName, drbd); err != nil {
			return err
		}
	}
	return nil
}

// HeartbeatInterval is how often a running activity tells Temporal it is
// alive; with a heartbeat timeout of a few intervals, the activity of a
// controller that died is retried by another worker within seconds
// instead of after its whole start-to-close timeout.
const HeartbeatInterval = 2 * time.Second

// heartbeat records heartbeats until stop is called.
func heartbeat(ctx context.Context) (stop func()) {
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
