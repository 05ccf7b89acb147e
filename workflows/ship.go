package workflows

import (
	"go.temporal.io/sdk/workflow"

	"strata/activities"
	"strata/store"
)

// BackupShip ships a snapshot of a definition to another cluster (a
// LINSTOR remote, possibly this cluster): as BackupCreate, but the base
// is what the receiver holds, and the data goes from this node's agent
// to the receiving agent, which the receiving controller's BackupReceive
// sets up. The receiver's commit ends it.
func BackupShip(ctx workflow.Context, in activities.BackupCreateInput) (Outcome, error) {
	var a *activities.Activities
	return shipment(ctx, in, shipSteps{plan: a.PlanShipment, fail: a.FailShipment, move: (*operation).send})
}

// send has the receiver record the snapshot and this node's agent stream
// it there, and waits for the receiver's commit.
func (o *operation) send(ship *activities.ShipInput) error {
	var a *activities.Activities
	var vols []activities.ShippedVolume
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, moveOptions(ship)), a.SendShipment, *ship).Get(o.ctx, &vols); err != nil {
		return err
	}
	if err := workflow.ExecuteLocalActivity(o.ctx, a.SetShippingStatus, *ship, store.ShippingSuccess).Get(o.ctx, nil); err != nil {
		return err
	}
	o.shipped(ship, vols, "Snapshot "+ship.Snapshot)
	return nil
}

// ReceiveQuery answers a receive's activities.ReceiveState.
const ReceiveQuery = "receive"

// BackupReceive receives a snapshot shipped by another cluster (or this
// one) on one node: it records the snapshot (and the definition, when
// missing), has the node's agent listen for each volume while the
// sender's agent streams it, marks the snapshot successful once every
// volume is committed, and then restores the definition's resource from
// it as a backup restore does (unless the definition is deployed or
// only the snapshot is asked for). The sender follows it through
// ReceiveQuery and gives it up by cancelling it.
func BackupReceive(ctx workflow.Context, in activities.ReceiveInput) (Outcome, error) {
	state := activities.ReceiveState{Listen: map[int32]activities.Listening{}}
	if err := workflow.SetQueryHandler(ctx, ReceiveQuery, func() (activities.ReceiveState, error) { return state, nil }); err != nil {
		return Outcome{}, err
	}
	out, err := locked(ctx, "checking the shipment", []string{store.ResourceDefinitionLock(in.Ship.DstResource)}, func(o *operation) error {
		var a *activities.Activities
		var plan activities.RestorePlan
		if err := workflow.ExecuteLocalActivity(o.ctx, a.RecordReceive, in).Get(o.ctx, &plan); err != nil {
			return err
		}
		o.out = append(o.out, plan.Replies...)
		if plan.Refused() {
			state.Failed = o.out.Error()
			return nil
		}
		o.status.Accepted = o.out
		state.Node, state.Snapshot = plan.Nodes[0], plan.Snapshot
		listening := workflow.GetSignalChannel(o.ctx, activities.ListeningSignal)
		workflow.Go(o.ctx, func(ctx workflow.Context) {
			for {
				var l activities.Listening
				if !listening.Receive(ctx, &l) {
					return
				}
				state.Listen[l.VlmNr] = l
			}
		})
		o.status.State = "receiving on " + state.Node
		o.followProgress()
		for _, v := range plan.Volumes {
			vin := activities.ReceiveVolumeInput{ReceiveInput: in, Plan: plan, VlmNr: v.VlmNr}
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(o.ctx, shipOptions), a.ReceiveVolume, vin).Get(o.ctx, nil); err != nil {
				state.Failed = err.Error()
				o.downloadFailed(in.Ship.DstResource, plan)
				dctx, _ := workflow.NewDisconnectedContext(o.ctx)
				_ = workflow.ExecuteLocalActivity(dctx, a.SetReceiveStatus, in, store.ShippingFailed).Get(dctx, nil)
				return err
			}
			state.Received = append(state.Received, v.VlmNr)
		}
		if err := workflow.ExecuteLocalActivity(o.ctx, a.SetReceiveStatus, in, store.ShippingSuccess).Get(o.ctx, nil); err != nil {
			return err
		}
		if err := o.downloaded(in.Ship.DstResource, plan); err != nil {
			return err
		}
		state.Done = true
		return o.restoreFrom(in.Ship.DstResource, state.Node, plan)
	})
	if err != nil && state.Failed == "" {
		state.Failed = err.Error()
	}
	return out, err
}
