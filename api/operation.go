package api

import (
	"context"
	"errors"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

type outcome int

const (
	done outcome = iota
	running
	failed
)

// waitFor waits up to OperationWait for a workflow's result. Only the
// workflow's own failure counts as failed: when the wait ends for any other
// reason (the deadline, a dropped connection) the started workflow goes on
// durably and the caller answers with its id.
func (s *server) waitFor(ctx context.Context, run client.WorkflowRun, result any) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, s.OperationWait)
	defer cancel()
	err := run.Get(ctx, result)
	var wfErr *temporal.WorkflowExecutionError
	switch {
	case err == nil:
		return done, nil
	case errors.As(err, &wfErr):
		return failed, err
	default:
		return running, nil
	}
}
