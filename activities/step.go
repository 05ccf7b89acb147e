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
	return kept(ctx, a.Store, func(ctx context.Context, key, holder string) (Step, error) {
		s, err := step(store.WithStep(ctx, key, holder))
		if errors.Is(err, store.ErrStepDone) {
			// Written, and the controller died before keeping the answer.
			rc := apicall.NewRc(apicall.InfoOperationRunning, 0, 0, "This step of the operation was done before the controller restarted.")
			s, err = Step{Replies: apicall.RcList{rc}}, nil
		}
		return s, err
	})
}

// kept runs a local activity whose answer must not change when the
// workflow runs it again after a crash of the controller (a decision
// that what later steps write would change): the answer is kept under
// the step's key, and a run again answers it.
func kept[T any](ctx context.Context, st *store.Store, run func(ctx context.Context, key, holder string) (T, error)) (T, error) {
	info := activity.GetInfo(ctx)
	key := info.WorkflowExecution.RunID + "/" + info.ActivityID
	holder := info.WorkflowExecution.ID
	var out T
	if kept, ok, err := st.StepResult(ctx, key); err != nil {
		return out, err
	} else if ok {
		return out, json.Unmarshal([]byte(kept), &out)
	}
	out, err := run(ctx, key, holder)
	if err != nil {
		return out, err
	}
	// A refusal is not kept: it wrote nothing, so answering it again from
	// the database as it then is does no harm, and a refused request
	// leaves no trace there.
	if r, ok := any(out).(interface{ Refused() bool }); ok && r.Refused() {
		return out, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return out, err
	}
	return out, st.RecordStepResult(ctx, key, holder, string(b))
}
