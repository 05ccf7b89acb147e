package activities

import (
	"context"
	"fmt"
	"sync"

	"go.temporal.io/sdk/temporal"

	"strata/agent/proto"
	"strata/apicall"
	"strata/nodestate"
	"strata/store"
)

// A storage-only resource (no DRBD to replicate it) is moved by Strata
// itself: a snapshot on the evacuated node is shipped to the new node,
// then, once the resource is not in use, a second snapshot's changes;
// the new resource is made from that snapshot, its data compared with
// it, and only then the old resource goes.

// MovedSnapshotInput is a snapshot of a moving resource on the node it
// leaves (From) that the new node (To) receives into Pool, as the
// changes since Base when that is set.
type MovedSnapshotInput struct {
	Resource, Snapshot, Base string
	From, To, Pool           string
	Volumes                  []MovedVolume
}

// ReceiveMovedSnapshot records that the new node receives the snapshot.
func (a *Activities) ReceiveMovedSnapshot(ctx context.Context, in MovedSnapshotInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		if err := a.Store.ReceiveSnapshotPart(ctx, in.Resource, in.Snapshot, in.To, in.Pool); err != nil {
			return refusal(err, apicall.MaskCrt, apicall.MaskSnapshot, map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot, "Node": in.To})
		}
		return Step{Nodes: []string{in.To}}, nil
	})
}

// ShipMovedSnapshot streams each volume of the snapshot from the old
// node's agent to the new node's, which commits it; only allocated
// extents travel, and with a base only what changed since. A volume the
// new node has committed before is not sent again.
func (a *Activities) ShipMovedSnapshot(ctx context.Context, in MovedSnapshotInput) ([]proto.JobProgress, error) {
	stop := Heartbeat(ctx)
	defer stop()
	def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
	if err != nil {
		return nil, err
	}
	report := a.progressReporter(ctx, len(in.Volumes))
	var out []proto.JobProgress
	for i, v := range in.Volumes {
		from, err := nodestate.Pool(ctx, a.Store, in.From, v.FromPool)
		if err != nil {
			return nil, err
		}
		to, err := nodestate.Pool(ctx, a.Store, in.To, in.Pool)
		if err != nil {
			return nil, err
		}
		l, err := a.newShipListener(ctx, in.To, "")
		if err != nil {
			return nil, err
		}
		recv := proto.ShipReceive{Pool: to, Resource: def.ResourceDspName, VlmNr: v.VlmNr, Snapshot: in.Snapshot, Base: in.Base,
			Port: l.Port, CertPEM: l.Cert.CertPEM, KeyPEM: l.Cert.KeyPEM, Token: l.Token, WaitMs: 60_000}
		send := proto.ShipSend{Pool: from, Resource: def.ResourceDspName, VlmNr: v.VlmNr, Snapshot: in.Snapshot, Base: in.Base,
			Address: l.Address, Fingerprint: l.Cert.Fingerprint, Token: l.Token}
		moved, err := a.shipBetween(ctx, in.From, in.To, recv, send, func(p proto.JobProgress) { report(i, p) })
		if err != nil {
			return nil, err
		}
		countMoved(moved)
		out = append(out, moved)
	}
	return out, nil
}

// shipBetween has the receiving agent listen and, once it does, the
// sending agent stream to it; it returns what the sender moved. A
// receiver that ends without listening has the snapshot already.
func (a *Activities) shipBetween(ctx context.Context, from, to string, recv proto.ShipReceive, send proto.ShipSend, progress func(proto.JobProgress)) (proto.JobProgress, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listening := make(chan struct{})
	var once sync.Once
	received := make(chan error, 1)
	go func() {
		_, err := a.Agents.Job(ctx, to, proto.PathShipReceive, recv, func(proto.JobProgress) { once.Do(func() { close(listening) }) })
		received <- err
	}()
	select {
	case <-listening:
	case err := <-received:
		return proto.JobProgress{}, err // there already, or the receiver failed
	}
	moved, err := a.Agents.Job(ctx, from, proto.PathShipSend, send, progress)
	if err != nil {
		return moved, err
	}
	return moved, <-received
}

// CompareMoved compares the data of each volume of the resource on the
// new node with the snapshot it was made from on the old one; a
// difference is final.
func (a *Activities) CompareMoved(ctx context.Context, in MovedSnapshotInput) error {
	stop := Heartbeat(ctx)
	defer stop()
	def, err := a.Store.GetResourceDefinition(ctx, in.Resource)
	if err != nil {
		return err
	}
	for _, v := range in.Volumes {
		from, err := nodestate.Pool(ctx, a.Store, in.From, v.FromPool)
		if err != nil {
			return err
		}
		to, err := nodestate.Pool(ctx, a.Store, in.To, in.Pool)
		if err != nil {
			return err
		}
		was, err := a.Agents.Job(ctx, in.From, proto.PathVolumeChecksum, proto.VolumeChecksum{Pool: from, Resource: def.ResourceDspName, VlmNr: v.VlmNr, Snapshot: in.Snapshot}, func(proto.JobProgress) {})
		if err != nil {
			return err
		}
		is, err := a.Agents.Job(ctx, in.To, proto.PathVolumeChecksum, proto.VolumeChecksum{Pool: to, Resource: def.ResourceDspName, VlmNr: v.VlmNr, SizeBytes: was.TotalBytes}, func(proto.JobProgress) {})
		if err != nil {
			return err
		}
		if was.Digest != is.Digest {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("volume %d of %s on %s (sha256 %s) differs from snapshot %s on %s (sha256 %s)",
				v.VlmNr, def.ResourceDspName, in.To, is.Digest, in.Snapshot, in.From, was.Digest), "ChecksumMismatch", nil)
		}
	}
	return nil
}

// MoveResource records the resource on the new node, made from the
// snapshot it received.
func (a *Activities) MoveResource(ctx context.Context, in MovedSnapshotInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskRsc
		refs := map[string]string{"RscDfn": in.Resource, "Node": in.To}
		row, err := a.Store.MoveResource(ctx, in.Resource, in.Snapshot, in.From, in.To)
		if err != nil {
			return refusal(err, op, obj, refs)
		}
		return Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Resource '%s' on node '%s' made from its data on node '%s'.", in.Resource, in.To, in.From), row.UUID, refs),
			Nodes: []string{in.To}}, nil
	})
}

// SnapshotCopies are the snapshots of a moved resource that its old node
// holds and its new one lacks, as copies to make (CopyAllSnapsOnEvacuate),
// oldest first: each is sent as the changes since the one before it that
// both nodes hold, into the pool of the new replica.
func (a *Activities) SnapshotCopies(ctx context.Context, in MigrationInput) ([]MovedSnapshotInput, error) {
	_, to, err := a.pair(ctx, in.Resource, in.From, in.To)
	if err != nil || to == nil || store.Diskless(to.Flags) || len(to.Volumes) == 0 {
		return nil, err
	}
	snaps, err := a.Store.SnapshotsToCopy(ctx, in.Resource, in.From, in.To)
	if err != nil {
		return nil, err
	}
	var out []MovedSnapshotInput
	base := ""
	for _, sn := range snaps {
		if !sn.OnTarget {
			c := MovedSnapshotInput{Resource: in.Resource, Snapshot: sn.Snapshot, Base: base, From: in.From, To: in.To, Pool: to.Volumes[0].StorPoolDspName}
			for _, v := range sn.Volumes {
				c.Volumes = append(c.Volumes, MovedVolume{VlmNr: v.VlmNr, FromPool: v.StorPoolDspName})
			}
			out = append(out, c)
		}
		base = sn.Snapshot
	}
	return out, nil
}

// FinishSnapshotCopy records that the new node holds its copy of the
// snapshot.
func (a *Activities) FinishSnapshotCopy(ctx context.Context, in MovedSnapshotInput) (Step, error) {
	return a.once(ctx, func(ctx context.Context) (Step, error) {
		if err := a.Store.FinishSnapshotPart(ctx, in.Resource, in.Snapshot, in.To); err != nil {
			return Step{}, err
		}
		rc := apicall.NewRc(apicall.Created, apicall.MaskCrt, apicall.MaskSnapshot, fmt.Sprintf("Snapshot '%s' of resource '%s' copied from node '%s' to node '%s'.", in.Snapshot, in.Resource, in.From, in.To))
		rc.ObjRefs = map[string]string{"RscDfn": in.Resource, "Snapshot": in.Snapshot, "Node": in.To}
		return Step{Replies: apicall.RcList{rc}, Nodes: []string{in.To}}, nil
	})
}
