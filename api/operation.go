package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"strata/apicall"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"strata/activities"
	"strata/workflows"
)

type outcome int

const (
	done outcome = iota
	running
	failed
)

// waitFor waits up to wait for a workflow's result. Only the workflow's
// own failure counts as failed: when the wait ends for any other reason
// (the deadline, a dropped connection) the started workflow goes on
// durably and the caller answers with its id.
func (s *server) waitFor(ctx context.Context, run client.WorkflowRun, result any, wait time.Duration) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
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

// OperationWaitParam is the query parameter of requests that start a long
// operation: wait=false answers at once with the workflow to follow
// (Strata's own; LINSTOR's clients leave it out and are answered when the
// operation ends or the controller's operation_wait passes).
type OperationWaitParam struct {
	Wait string `query:"wait" enum:"true,false,True,False" doc:"false: answer at once with the operation's workflow id, to follow at /v1/operations/{id}"`
}

func (w OperationWaitParam) wait(dflt time.Duration) time.Duration {
	if strings.EqualFold(w.Wait, "false") {
		return 0
	}
	return dflt
}

// replyOrFail answers a reply list, as an error when it holds one.
func replyOrFail(l apicall.RcList) (*rcOutput, error) {
	for _, rc := range l {
		if rc.IsError() {
			return nil, l
		}
	}
	return &rcOutput{l}, nil
}

// Operation is the progress of a long operation, a Temporal workflow
// (Strata's own object; LINSTOR has none). Once it has finished, Replies
// are what the request that started it answers when it waits.
type Operation struct {
	WorkflowID string              `json:"workflow_id"`
	State      string              `json:"state" doc:"the workflow's own word for where it is, such as copying; done or failed at the end"`
	Percent    int                 `json:"percent"`
	Finished   bool                `json:"finished"`
	Replies    []apicall.ApiCallRc `json:"replies,omitempty"`
}

// finishedReplies turn a finished workflow into its request's answer, by
// workflow type.
var finishedReplies = map[string]func(ctx context.Context, run client.WorkflowRun) apicall.RcList{
	"DatabaseBackup": func(ctx context.Context, run client.WorkflowRun) apicall.RcList {
		var res activities.DatabaseBackupResult
		err := run.Get(ctx, &res)
		return databaseBackupReplies(run.GetID(), workflows.DatabaseBackupName(run.GetID()), res, err)
	},
}

func (s *server) registerOperations(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "operationGet", Method: http.MethodGet, Path: "/v1/operations/{workflow_id}",
		Summary: "show the progress of a long operation", Description: "Strata's own: the state and percentage of the workflow a request started, and its answer once finished.", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			WorkflowID string `path:"workflow_id"`
		}) (*struct{ Body Operation }, error) {
			op, err := s.operation(ctx, in.WorkflowID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body Operation }{op}, nil
		})
}

func (s *server) operation(ctx context.Context, id string) (Operation, error) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var missing *serviceerror.NotFound
	if errors.As(err, &missing) {
		return Operation{}, apicall.RcList{apicall.NewRc(apicall.FailOperationNotFound, 0, 0, fmt.Sprintf("Operation '%s' not found.", id))}
	}
	if err != nil {
		return Operation{}, apicall.Failure(apicall.FailNotConnected, 0, 0, "Failed to look up the operation.", err.Error(), "Check that Temporal is reachable (GET /health).")
	}
	info := desc.GetWorkflowExecutionInfo()
	op := Operation{WorkflowID: id}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		var st workflows.Status
		if v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery); err == nil && v.Get(&st) == nil {
			op.State, op.Percent = st.State, st.Percent
		} else {
			op.State = "running" // not yet answering queries, such as before its first task
		}
		return op, nil
	}
	op.Finished, op.State, op.Percent = true, "done", 100
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		op.State, op.Percent = "failed", 0
	}
	if describe, ok := finishedReplies[info.GetType().GetName()]; ok {
		op.Replies = describe(ctx, s.Temporal.GetWorkflow(ctx, id, ""))
	}
	return op, nil
}

// StartNodeSync starts (or joins) the workflow that sends a node its
// state, and returns its id.
func StartNodeSync(ctx context.Context, c client.Client, node string) (string, error) {
	id := workflows.NodeSyncWorkflowID(node)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.NodeSync, node)
	return id, err
}
