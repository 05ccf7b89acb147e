package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"strata/apicall"
	"strata/restapi"
	"strata/workflows"
)

// An operation is a request carried out by a workflow: the request
// validates what it can without the database and starts the workflow
// under the operation's deterministic id; the workflow records the intent
// and does everything that follows from it. A repeated request joins the
// running workflow instead of doubling its work.
type operation struct {
	op, obj  uint64
	id       string
	workflow any
	input    any
	// what is a few words on the operation for the answer that it goes
	// on in the background ("Toggling the disk of 'r' on 'n'").
	what string
	refs map[string]string
}

// operationID keeps an operation's id, made of the names in the request,
// short and printable: a name no LINSTOR rule allows (which the workflow's
// first step refuses) still makes an id that Temporal and the lock and step
// records take. The same request makes the same id, so it still joins.
func operationID(id string) string {
	unprintable := func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }
	if len(id) <= 200 && utf8.ValidString(id) && !strings.ContainsFunc(id, unprintable) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	prefix := strings.Map(func(r rune) rune {
		if unprintable(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(id[:min(len(id), 100)], ""))
	return prefix + "~" + hex.EncodeToString(sum[:8])
}

// run starts (or joins) the operation's workflow and waits up to wait for
// its outcome.
func (s *server) run(ctx context.Context, o operation, wait time.Duration) (*rcOutput, error) {
	o.id = operationID(o.id)
	r, err := s.start(ctx, o.id, o.workflow, o.input)
	if err != nil {
		return nil, notStarted(o, err)
	}
	return s.answer(ctx, o, r, wait)
}

// start starts the workflow under id, or joins the one running under it.
func (s *server) start(ctx context.Context, id string, workflow, input any) (client.WorkflowRun, error) {
	return startOrJoin(ctx, s.Temporal, s.taskQueue(), id, workflow, input)
}

func startOrJoin(ctx context.Context, c client.Client, taskQueue, id string, workflow, input any) (client.WorkflowRun, error) {
	id = operationID(id)
	noteWorkflow(ctx, id)
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// The controller's own worker takes the first workflow task from
		// the start's answer, without a trip through the task queue.
		EnableEagerStart: true,
	}, workflow, input)
}

// signal sends a definition's running Deploy more nodes, starting it when
// none runs, and waits up to wait for its outcome.
func (s *server) signal(ctx context.Context, o operation, nodes []string, wait time.Duration) (*rcOutput, error) {
	o.id = operationID(o.id)
	noteWorkflow(ctx, o.id)
	r, err := s.Temporal.SignalWithStartWorkflow(ctx, o.id, workflows.DeploySignal, nodes, client.StartWorkflowOptions{
		ID: o.id, TaskQueue: s.taskQueue(), WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, o.workflow, o.input)
	if err != nil {
		return nil, notStarted(o, err)
	}
	return s.answer(ctx, o, r, wait)
}

func notStarted(o operation, err error) error {
	return apicall.Failure(apicall.FailNotConnected, o.op, o.obj, "Failed to start the operation.", err.Error(), "Check that Temporal is reachable (GET /health).")
}

// answer waits up to wait for a workflow's outcome and answers with it.
// Only the workflow's own failure counts as failed: when the wait ends
// for any other reason (the deadline, a dropped connection) the started
// workflow goes on durably and the answer names it.
func (s *server) answer(ctx context.Context, o operation, r client.WorkflowRun, wait time.Duration) (*rcOutput, error) {
	refs := map[string]string{"WorkflowId": o.id}
	for k, v := range o.refs {
		refs[k] = v
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var out workflows.Outcome
	err := r.Get(wctx, &out)
	var wfErr *temporal.WorkflowExecutionError
	switch {
	case err == nil:
		return replyOrFail(namingWorkflow(out.Replies, o.id))
	case errors.As(err, &wfErr):
		l := apicall.Failure(apicall.FailUnknownError, o.op, o.obj, o.what+" failed.", err.Error(), "See workflow "+o.id+" in the Temporal UI.")
		l[0].ObjRefs = refs
		return nil, l
	}
	rc := apicall.NewRc(apicall.InfoOperationRunning, o.op, o.obj, o.what+" goes on in the background.")
	rc.Details, rc.ObjRefs = "Follow workflow "+o.id+" with GET /v1/operations/"+o.id+" or in the Temporal UI.", refs
	return &rcOutput{apicall.RcList{rc}}, nil
}

// namingWorkflow makes sure an answer names the workflow that made it:
// the first entry gets its id when no entry has it.
func namingWorkflow(l apicall.RcList, id string) apicall.RcList {
	for _, rc := range l {
		if rc.ObjRefs["WorkflowId"] != "" {
			return l
		}
	}
	if len(l) > 0 {
		refs := map[string]string{"WorkflowId": id}
		for k, v := range l[0].ObjRefs {
			refs[k] = v
		}
		l[0].ObjRefs = refs
	}
	return l
}

func (s *server) taskQueue() string {
	if s.TaskQueue != "" {
		return s.TaskQueue
	}
	return workflows.TaskQueue
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
	if l.HasError() {
		return nil, l
	}
	return &rcOutput{l}, nil
}

func (s *server) registerOperations(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "operationGet", Method: http.MethodGet, Path: "/v1/operations/{workflow_id}",
		Summary: "show the progress of a long operation", Description: "Strata's own: the state and percentage of the workflow a request started, and its answer once finished.", Tags: []string{"developers"}},
		func(ctx context.Context, in *struct {
			WorkflowID string `path:"workflow_id"`
		}) (*struct{ Body restapi.Operation }, error) {
			op, err := s.operation(ctx, in.WorkflowID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body restapi.Operation }{op}, nil
		})
}

// operation reports any workflow's progress, and its outcome once it has
// finished.
func (s *server) operation(ctx context.Context, id string) (restapi.Operation, error) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var missing *serviceerror.NotFound
	if errors.As(err, &missing) {
		return restapi.Operation{}, apicall.RcList{apicall.NewRc(apicall.FailOperationNotFound, 0, 0, fmt.Sprintf("Operation '%s' not found.", id))}
	}
	if err != nil {
		return restapi.Operation{}, apicall.Failure(apicall.FailNotConnected, 0, 0, "Failed to look up the operation.", err.Error(), "Check that Temporal is reachable (GET /health).")
	}
	info := desc.GetWorkflowExecutionInfo()
	op := restapi.Operation{WorkflowID: id}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		var st workflows.Status
		if v, err := s.Temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery); err == nil && v.Get(&st) == nil {
			op.State, op.Percent = st.State, st.Percent
			op.DoneBytes, op.TotalBytes, op.BytesPerSecond = st.DoneBytes, st.TotalBytes, st.BytesPerSecond
			op.ItemsDone, op.ItemsTotal, op.Current = st.ItemsDone, st.ItemsTotal, st.Current
		} else {
			op.State = "running" // not yet answering queries, such as before its first task
		}
		return op, nil
	}
	op.Finished, op.State, op.Percent = true, "done", 100
	var out workflows.Outcome
	if err := s.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		op.State, op.Percent = "failed", 0
		l := apicall.Failure(apicall.FailUnknownError, 0, 0, fmt.Sprintf("Operation '%s' failed.", id), err.Error(), "See the workflow in the Temporal UI.")
		l[0].ObjRefs = map[string]string{"WorkflowId": id}
		out.Replies = l
	}
	op.Replies = out.Replies
	return op, nil
}

// StartNodeSync starts (or joins) the workflow that sends a node its
// state, and returns its id.
func StartNodeSync(ctx context.Context, c client.Client, taskQueue, node string) (string, error) {
	id := workflows.NodeSyncID(node)
	_, err := startOrJoin(ctx, c, taskQueue, id, workflows.NodeSync, node)
	return id, err
}

// StartAutoEvict starts the auto-evict timer of a node whose agent is
// offline; minute is how long a minute of DrbdOptions/AutoEvictAfterTime
// lasts. A timer that runs when the connection drops is from before the
// node was last online (it looks only every minute): it is replaced, the
// timer starting now. A node found offline at the controller's start
// (join) joins a timer that runs: it kept running across the restart.
func StartAutoEvict(ctx context.Context, c client.Client, taskQueue, node string, minute time.Duration, join bool) error {
	id := operationID(workflows.AutoEvictID(node))
	noteWorkflow(ctx, id)
	conflict := enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
	if join {
		conflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, WorkflowIDConflictPolicy: conflict,
	}, workflows.AutoEvict, workflows.AutoEvictInput{Node: node, Minute: minute})
	return err
}

// StartAutoDiskfulWatch starts the watch of the diskless Primaries
// (DrbdOptions/auto-diskful), a minute lasting minute; one that runs is
// replaced, so that a changed minute applies (the AutoDiskful operations
// it started go on).
func StartAutoDiskfulWatch(ctx context.Context, c client.Client, taskQueue string, minute time.Duration) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.AutoDiskfulWatchID, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
	}, workflows.AutoDiskfulWatch, workflows.AutoDiskfulWatchInput{Minute: minute})
	return err
}
