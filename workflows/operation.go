package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/apicall"
)

// Outcome is the answer of an operation in LINSTOR's words: what the
// request that started it answers when it waits, and what
// GET /v1/operations/{id} shows once it has finished. Every workflow a
// request starts returns one.
type Outcome struct {
	Replies apicall.RcList `json:"replies"`
}

// Timeouts and retries of the steps. Steps are local activities: they
// run in the worker that runs the workflow, without a round trip through
// Temporal's task queues per step; a step that a crash interrupted runs
// again when the workflow resumes, which is why steps that record intent
// run once (the activities' once) and the others are idempotent.
var (
	stepOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: 5 * time.Second, MaximumAttempts: 10},
	}
	// A lock or slot held by another operation is waited for, as long as
	// operations take.
	waitOptions = workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 24 * time.Hour,
		StartToCloseTimeout:    time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 1.5, MaximumInterval: 5 * time.Second},
	}
	// An agent that does not answer is retried for a while and then
	// reported; an offline one at once (it gets its state when it
	// connects).
	pushOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 6},
	}
)

// operation carries an operation's progress and answer through its
// steps.
type operation struct {
	ctx    workflow.Context
	status Status
	out    apicall.RcList
	locked bool
}

// begin starts an operation: its progress answers StatusQuery.
func begin(ctx workflow.Context, state string) (*operation, error) {
	o := &operation{ctx: workflow.WithLocalActivityOptions(ctx, stepOptions), status: Status{State: state}}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return o.status, nil }); err != nil {
		return nil, err
	}
	return o, nil
}

// locked runs an operation: its progress answers StatusQuery, its body
// runs under the locks of objects (waiting while another operation holds
// one of them), and the locks are given back on every path.
func locked(ctx workflow.Context, state string, objects []string, body func(o *operation) error) (Outcome, error) {
	o, err := begin(ctx, state)
	if err != nil {
		return Outcome{}, err
	}
	if err := o.lock(objects...); err != nil {
		return o.finish(err)
	}
	return o.finish(body(o))
}

// lock takes the operation's locks, waiting while another operation holds
// one of them; finish gives them back.
func (o *operation) lock(objects ...string) error {
	o.status.State = "waiting for " + fmt.Sprint(objects)
	var a *activities.Activities
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(o.ctx, waitOptions), a.TakeLocks, objects).Get(o.ctx, nil); err != nil {
		return err
	}
	o.locked = true
	return nil
}

// unlock gives back the operation's locks before it ends, for the part
// of it that no longer needs them.
func (o *operation) unlock() error {
	o.locked = false
	var a *activities.Activities
	return workflow.ExecuteLocalActivity(o.ctx, a.Release).Get(o.ctx, nil)
}

// step runs a step that records the request's intent; its replies join
// the answer. It reports false when the step refused the request.
func (o *operation) step(state string, activity, input any) (activities.Step, bool, error) {
	o.status.State = state
	var s activities.Step
	if err := workflow.ExecuteLocalActivity(o.ctx, activity, input).Get(o.ctx, &s); err != nil {
		return s, false, err
	}
	o.out = append(o.out, s.Replies...)
	return s, !s.Refused(), nil
}

// quorum applies auto-quorum to a definition and tells what it changed.
func (o *operation) quorum(rd string) error {
	o.status.State = "auto-quorum of " + rd
	var a *activities.Activities
	var replies apicall.RcList
	if err := workflow.ExecuteLocalActivity(o.ctx, a.ReconcileQuorum, rd).Get(o.ctx, &replies); err != nil {
		return err
	}
	o.out = append(o.out, replies...)
	return nil
}

// deploy sends every node holding one of the definitions, and the nodes
// given (those that held one before), its whole desired state, each node
// once and all at once, records what the agents report, and answers how
// it went for each definition.
func (o *operation) deploy(nodes []string, rds ...string) error {
	var a *activities.Activities
	for _, rd := range rds {
		var holders []string
		if err := workflow.ExecuteLocalActivity(o.ctx, a.Holders, rd).Get(o.ctx, &holders); err != nil {
			return err
		}
		nodes = activities.Union(holders, nodes)
	}
	if len(nodes) == 0 {
		return nil
	}
	failed, refused := byAgent(push(workflow.WithLocalActivityOptions(o.ctx, pushOptions), nodes, &o.status))
	for _, rd := range rds {
		var replies apicall.RcList
		in := activities.DeployReportInput{Resource: rd, WorkflowID: workflow.GetInfo(o.ctx).WorkflowExecution.ID, Nodes: nodes, Failed: failed, Refused: refused}
		if err := workflow.ExecuteLocalActivity(o.ctx, a.DeployReport, in).Get(o.ctx, &replies); err != nil {
			return err
		}
		o.out = append(o.out, replies...)
	}
	return nil
}

// push sends each node its state in parallel and returns those that could
// not be reached, with why.
func push(ctx workflow.Context, nodes []string, status *Status) map[string]error {
	var a *activities.Activities
	status.State = fmt.Sprintf("deploying on %d nodes", len(nodes))
	futures := make([]workflow.Future, len(nodes))
	for i, n := range nodes {
		futures[i] = workflow.ExecuteLocalActivity(ctx, a.ApplyNodeState, n)
	}
	var failed map[string]error
	for i, n := range nodes {
		if err := futures[i].Get(ctx, nil); err != nil {
			if failed == nil {
				failed = map[string]error{}
			}
			failed[n] = err
		}
		status.Percent = 100 * (i + 1) / len(nodes)
	}
	return failed
}

// finish gives back the operation's locks, even when it was cancelled
// or failed, and returns its answer.
func (o *operation) finish(err error) (Outcome, error) {
	if o.locked {
		ctx, _ := workflow.NewDisconnectedContext(o.ctx)
		var a *activities.Activities
		if rerr := workflow.ExecuteLocalActivity(ctx, a.Release).Get(ctx, nil); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		o.status.State = "failed"
		return Outcome{Replies: o.out}, err
	}
	o.status = Status{State: "done", Percent: 100}
	return Outcome{Replies: o.out}, nil
}

// byAgent splits failed pushes into the nodes that were not reached and
// those whose agent answered that it could not apply the state (a final
// failure, such as an external file outside its allowed directories),
// each with why.
func byAgent(failed map[string]error) (notReached, refused map[string]string) {
	for n, err := range failed {
		var app *temporal.ApplicationError
		m := &notReached
		if errors.As(err, &app) && app.NonRetryable() && app.Type() != activities.NodeNotOnlineErrorType {
			m = &refused
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[n] = cause(err)
	}
	return notReached, refused
}

// notOnline tells whether a push failed because the node's agent is not
// online.
func notOnline(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.NodeNotOnlineErrorType
}

// cause is an activity's own error message, without the activity
// wrapping.
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
