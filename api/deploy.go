package api

import (
	"context"
	"fmt"
	"sort"
	"time"

	"strata/apicall"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"strata/store"
	"strata/workflows"
)

// deploy sends the nodes holding resource rd their new state by the
// Deploy workflow and waits up to wait for it. Without Temporal (tests of
// the API alone) the change stays recorded and reaches the nodes at
// their next sync.
func (s *server) deploy(ctx context.Context, op, obj uint64, rd string, nodes []string, wait time.Duration) apicall.RcList {
	if s.Temporal == nil || len(nodes) == 0 {
		return nil
	}
	sort.Strings(nodes)
	id := workflows.DeployWorkflowID(rd, uuid.NewString())
	refs := map[string]string{"RscDfn": rd, "WorkflowId": id}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflows.Deploy, workflows.DeployInput{Resource: rd, Nodes: nodes})
	if err != nil {
		rc := apicall.NewRc(apicall.WarnNodeNotReached, op, obj, fmt.Sprintf("The change to '%s' is recorded but could not be sent to the nodes now.", rd))
		rc.Cause, rc.Correction, rc.ObjRefs = err.Error(), "The nodes get it when they reconnect (node reconnect).", refs
		return apicall.RcList{rc}
	}
	var res workflows.DeployResult
	outcome, err := s.waitFor(ctx, run, &res, wait)
	switch outcome {
	case running:
		rc := apicall.NewRc(apicall.InfoOperationRunning, op, obj, fmt.Sprintf("Deploying '%s' on %d nodes goes on in the background.", rd, len(nodes)))
		rc.Details, rc.ObjRefs = "Follow workflow "+id+" with GET /v1/operations/"+id+".", refs
		return apicall.RcList{rc}
	case failed:
		l := apicall.Failure(apicall.FailUnknownError, op, obj, fmt.Sprintf("Deploying '%s' failed.", rd), err.Error(), "See workflow "+id+".")
		l[0].ObjRefs = refs
		return l
	}
	return s.deployReplies(ctx, op, obj, rd, id, nodes, res)
}

// answerDeployed answers a change to rd: its replies out, then the
// deployment of rd to every node holding it.
func (s *server) answerDeployed(ctx context.Context, out apicall.RcList, op, obj uint64, rd string, wait time.Duration) (*rcOutput, error) {
	return replyOrFail(append(out, s.deploy(ctx, op, obj, rd, s.holders(ctx, rd), wait)...))
}

// deployReplies are the answer to a finished deployment: the workflow
// that made it, nodes that were not reached, and each volume a node
// reported as failed.
func (s *server) deployReplies(ctx context.Context, op, obj uint64, rd, id string, nodes []string, res workflows.DeployResult) apicall.RcList {
	refs := map[string]string{"RscDfn": rd, "WorkflowId": id}
	rc := apicall.NewRc(apicall.InfoDeployed, op, obj, fmt.Sprintf("Resource '%s' deployed on %d nodes.", rd, len(nodes)-len(res.Failed)))
	rc.Details, rc.ObjRefs = "By workflow "+id+".", refs
	out := apicall.RcList{rc}
	for _, n := range nodes {
		if why, ok := res.Failed[n]; ok {
			w := apicall.NewRc(apicall.WarnNodeNotReached, op, obj, fmt.Sprintf("Node '%s' was not reached.", n))
			w.Cause, w.Correction, w.ObjRefs = why, "It gets its state when its agent is back (node list shows it Online).", map[string]string{"Node": n, "WorkflowId": id}
			out = append(out, w)
		}
	}
	rscs, err := s.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{rd}})
	if err != nil {
		return out
	}
	for _, r := range rscs {
		for _, v := range r.Volumes {
			if v.StateError != "" {
				e := stateReport(apicall.MaskVlm, v.StateError, v.StateReport)
				e.Message = fmt.Sprintf("Volume %d of resource '%s' on node '%s' failed: %s", v.VlmNr, r.ResourceDspName, r.NodeDspName, e.Message)
				out = append(out, e)
			}
		}
	}
	return out
}

// holders are the display names of the nodes holding rd.
func (s *server) holders(ctx context.Context, rd string) []string {
	rscs, err := s.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{rd}})
	if err != nil {
		return nil
	}
	out := make([]string, len(rscs))
	for i, r := range rscs {
		out[i] = r.NodeDspName
	}
	return out
}

// quorum applies auto-quorum and the tie-breaker to rd after its
// resources changed, and tells what it did.
func (s *server) quorum(ctx context.Context, op, obj uint64, rd string) apicall.RcList {
	msgs, err := s.Store.ReconcileQuorum(ctx, rd, s.servesDrbd(ctx, rd))
	if err != nil {
		l := apicall.Failure(apicall.FailUnknownError, op, obj, fmt.Sprintf("Auto-quorum of '%s' could not be applied.", rd), err.Error(), "")
		l[0].ObjRefs = map[string]string{"RscDfn": rd}
		return l
	}
	var out apicall.RcList
	for _, m := range msgs {
		rc := apicall.NewRc(apicall.InfoQuorum, op, obj, m)
		rc.ObjRefs = map[string]string{"RscDfn": rd}
		out = append(out, rc)
	}
	return out
}

// union is a and b without repeats.
func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string(nil), a...), b...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// servesDrbd tells whether every node holding rd serves DRBD. Without
// agents to ask (the API alone) it is LINSTOR's default: yes.
func (s *server) servesDrbd(ctx context.Context, rd string) bool {
	if s.Agents == nil {
		return true
	}
	ok, _ := s.Agents.ServesDrbd(ctx, rd)
	return ok
}
