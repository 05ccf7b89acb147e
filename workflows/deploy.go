package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
)

// DeployInput names a definition whose change must reach its nodes, and
// nodes beyond its holders that must get their state too.
type DeployInput struct {
	Resource string
	Nodes    []string
}

// deployRounds bounds the rounds of one run; a definition changed that
// often goes on in a new run (continue-as-new), so its history stays
// short.
const deployRounds = 50

// Deploy sends a definition's change to every node holding it, all at
// once, and answers how it went. A request that changes a definition
// signals its Deploy (starting it if none runs), so that changes made
// while it pushes are sent in one more round instead of a second
// workflow per change; it ends when a round saw no new change.
func Deploy(ctx workflow.Context, in DeployInput) (Outcome, error) {
	o, err := begin(ctx, "deploying "+in.Resource)
	if err != nil {
		return Outcome{}, err
	}
	signals := workflow.GetSignalChannel(ctx, DeploySignal)
	nodes := in.Nodes
	for round := 0; ; round++ {
		for more := true; more; {
			var extra []string
			if more = signals.ReceiveAsync(&extra); more {
				nodes = activities.Union(nodes, extra)
			}
		}
		if round == deployRounds {
			return Outcome{}, workflow.NewContinueAsNewError(ctx, Deploy, DeployInput{Resource: in.Resource, Nodes: nodes})
		}
		o.out = nil // the last round's answer is the one that counts
		if err := o.deploy(nodes, in.Resource); err != nil {
			return o.finish(err)
		}
		if signals.Len() == 0 {
			return o.finish(nil)
		}
	}
}
