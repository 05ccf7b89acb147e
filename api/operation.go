package api

import (
	"context"
	"errors"

	"go.temporal.io/sdk/client"
)

type outcome int

const (
	done outcome = iota
	running
	failed
)

// waitFor waits up to OperationWait for a workflow's result. A workflow that
// is still running goes on durably; the caller answers with its id.
func (s *server) waitFor(ctx context.Context, run client.WorkflowRun, result any) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, s.OperationWait)
	defer cancel()
	err := run.Get(ctx, result)
	switch {
	case err == nil:
		return done, nil
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return running, nil
	default:
		return failed, err
	}
}
