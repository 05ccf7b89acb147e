package activities

import (
	"context"
	"fmt"

	"strata/agent/proto"
	"strata/apicall"
	"strata/store"
)

// ListDisks are a node's unused disks, as its agent finds them. A node
// whose agent is offline has none to offer, at once.
func (a *Activities) ListDisks(ctx context.Context, node string) ([]proto.Disk, error) {
	disks, err := a.Agents.Disks(ctx, node)
	return disks, notOnlineIsFinal(err)
}

// DevicePoolInput asks a node's agent for a device pool (an LVM volume
// group, an LVM thin pool or a zpool), and for its storage pool when
// StoragePool is set (its backing is the device pool's).
type DevicePoolInput struct {
	Node        string
	Pool        proto.DevicePool
	StoragePool *store.StoragePoolSpec
}

// CreateDevicePool has the node's agent make the device pool, then
// records its storage pool if one was asked for.
func (a *Activities) CreateDevicePool(ctx context.Context, in DevicePoolInput) (Step, error) {
	stop := Heartbeat(ctx)
	defer stop()
	const op, obj = apicall.MaskCrt, apicall.MaskStorPool
	rep, err := a.Agents.CreateDevicePool(ctx, in.Node, in.Pool)
	if err == nil && rep.Error != "" {
		err = fmt.Errorf("%s", rep.Error)
	}
	if err != nil {
		return Step{Replies: apicall.Failure(apicall.FailUnknownError, op, obj, fmt.Sprintf("Device pool '%s' could not be created on node '%s'.", in.Pool.PoolName, in.Node), err.Error(), "")}, nil
	}
	s := Step{Replies: apicall.Success(apicall.Created, op, obj, fmt.Sprintf("Device pool '%s' of kind %s created on node '%s' (%s).", in.Pool.PoolName, in.Pool.Provider, in.Node, rep.StorPoolName), "",
		map[string]string{"Node": in.Node})}
	if sp := in.StoragePool; sp != nil {
		spec := *sp
		spec.Props = map[string]string{}
		for k, v := range sp.Props {
			spec.Props[k] = v
		}
		spec.Props["StorDriver/StorPoolName"] = rep.StorPoolName
		refs := map[string]string{"Node": in.Node, "StorPoolDfn": spec.Name}
		row, err := a.Store.CreateStoragePool(ctx, in.Node, spec)
		if err != nil {
			r, err := refusal(err, op, obj, refs)
			s.Replies = append(s.Replies, r.Replies...)
			return s, err
		}
		s.Replies = append(s.Replies, apicall.Success(apicall.Created, op, obj, fmt.Sprintf("New storage pool '%s' on node '%s' registered.", spec.Name, in.Node), row.UUID, refs)...)
	}
	return s, nil
}
