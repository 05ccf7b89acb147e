package activities

import (
	"context"
	"encoding/json"
	"errors"

	"go.temporal.io/sdk/activity"

	"strata/apicall"
	"strata/store"
)

// Step is what one step of an operation did: its replies, in LINSTOR's
// words (an error among them is a refusal: it changed nothing and ends
// the operation), and the nodes whose desired state it changed.
type Step struct {
	Replies apicall.RcList `json:"replies,omitempty"`
	Nodes   []string       `json:"nodes,omitempty"`
	// Definitions are the resource definitions the step changed, where
	// that is not only the operation's own (a node's delete).
	Definitions []string `json:"definitions,omitempty"`
}

// Refused tells whether the step refused the request.
func (s Step) Refused() bool { return s.Replies.HasError() }

// refusal is the step's answer to a store error (or another package's
// apicall.Refused): a refusal becomes the
// step's LINSTOR error (and the step succeeds, so that it is not
// retried); anything else is the step's failure, which is retried.
func refusal(err error, op, obj uint64, refs map[string]string) (Step, error) {
	var refused *apicall.Refused
	if _, ok := store.AsError(err); ok || errors.As(err, &refused) {
		return Step{Replies: apicall.FromError(err, op, obj, refs)}, nil
	}
	return Step{}, err
}

// once runs the step that records an operation's intent exactly once:
// its write is marked with the step's key (the workflow run and the
// activity's place in it), and its answer is kept. A step run again,
// after a crash of the controller before the workflow recorded the step,
// answers what it answered the first time and writes nothing.
func (a *Activities) once(ctx context.Context, step func(ctx context.Context) (Step, error)) (Step, error) {
	info := activity.GetInfo(ctx)
	key := info.WorkflowExecution.RunID + "/" + info.ActivityID
	holder := info.WorkflowExecution.ID
	if kept, ok, err := a.Store.StepResult(ctx, key); err != nil {
		return Step{}, err
	} else if ok {
		var s Step
		return s, json.Unmarshal([]byte(kept), &s)
	}
	s, err := step(store.WithStep(ctx, key, holder))
	if errors.Is(err, store.ErrStepDone) {
		// Written, and the controller died before keeping the answer.
		rc := apicall.NewRc(apicall.InfoOperationRunning, 0, 0, "This step of the operation was done before the controller restarted.")
		s, err = Step{Replies: apicall.RcList{rc}}, nil
	}
	if err != nil {
		return s, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	return s, a.Store.RecordStepResult(ctx, key, holder, string(b))
}
