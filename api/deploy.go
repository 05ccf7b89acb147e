package api

import (
	"context"
	"fmt"
	"time"

	"strata/apicall"
	"strata/workflows"
)

// answerDeployed answers a change to definition rd that the request
// recorded itself (a property, a volume definition): its replies out,
// then the deployment of rd to every node holding it (and to nodes, that
// must learn of the change too) by rd's Deploy workflow.
func (s *server) answerDeployed(ctx context.Context, out apicall.RcList, op, obj uint64, rd string, nodes []string, wait time.Duration) (*rcOutput, error) {
	deployed, err := s.signal(ctx, operation{op: op, obj: obj, id: workflows.DeployID(rd), workflow: workflows.Deploy,
		input: workflows.DeployInput{Resource: rd, Nodes: nodes}, what: fmt.Sprintf("Deploying '%s'", rd), refs: map[string]string{"RscDfn": rd}}, nodes, wait)
	if err != nil {
		if l, ok := err.(apicall.RcList); ok {
			return nil, append(out, l...)
		}
		return nil, err
	}
	return replyOrFail(append(out, deployed.Body...))
}

// deployAll answers a change several definitions follow (an external
// file, a node connection): its replies, then the deployment of each
// definition to its nodes.
func (s *server) deployAll(ctx context.Context, out apicall.RcList, op, obj uint64, rds []string, wait time.Duration) (*rcOutput, error) {
	for _, rd := range rds {
		deployed, err := s.answerDeployed(ctx, nil, op, obj, rd, nil, wait)
		if err != nil {
			if l, ok := err.(apicall.RcList); ok {
				return nil, append(out, l...)
			}
			return nil, err
		}
		out = append(out, deployed.Body...)
	}
	return replyOrFail(out)
}
