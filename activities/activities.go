// Package activities holds the Temporal activities: everything a workflow
// does that touches the database, an agent, S3 or the file system.
package activities

import (
	"context"
	"errors"

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
	_, err := a.Agents.Apply(ctx, node)
	var offline *agentlink.NotOnlineError
	if errors.As(err, &offline) {
		// Not worth retrying: the node gets its state when it connects.
		return temporal.NewNonRetryableApplicationError(err.Error(), "NodeNotOnline", err)
	}
	return err
}
