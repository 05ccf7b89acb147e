package store

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// BackupSourceKey is a shipment's property on the snapshot shipped (and,
// for BackupLastStartedOrQueued, on its definition): LINSTOR's
// BackupShipping/Source/<remote>/<key>, which linstor-csi reads.
func BackupSourceKey(remote, key string) string { return "BackupShipping/Source/" + remote + "/" + key }

// KeyBackupTargetPrefix is the namespace of a received snapshot's
// shipment properties (LINSTOR's BackupShipping/Target/).
const KeyBackupTargetPrefix = "BackupShipping/Target/"

// Keys under BackupSourceKey.
const (
	KeyShippingStatus            = "ShippingStatus"
	KeyBackupStartTimestamp      = "BackupStartTimestamp"
	KeyBackupTargetRemote        = "BackupTargetRemote"
	KeyLastFullBackupTimestamp   = "LastFullBackupTimestamp"
	KeyBackupLastSnapshot        = "BackupLastSnapshot"
	KeySrcNode                   = "SrcNode"
	KeyS3KeySuffix               = "S3KeySuffix"
	KeyBackupLastStartedOrQueued = "BackupLastStartedOrQueued"
	// KeyBackupID is Strata's: the id the snapshot's backup has in the
	// bucket.
	KeyBackupID = "BackupId"
)

// ShippingStatus values, LINSTOR's.
const (
	ShippingPrepare = "Prepare Shipping"
	ShippingRunning = "Shipping"
	ShippingSuccess = "Success"
	ShippingFailed  = "Failed"
	ShippingAborted = "Aborted"
)

// Shipping tells whether a shipment to some remote waits for or uses the
// snapshot.
func Shipping(sn Snapshot) bool {
	for _, status := range shippingStatuses(sn) {
		if status == ShippingPrepare || status == ShippingRunning {
			return true
		}
	}
	return false
}

// shippingStatuses are the ShippingStatus of each remote sn was (or is
// being) shipped to, by remote.
func shippingStatuses(sn Snapshot) map[string]string {
	out := map[string]string{}
	for k, v := range sn.Props {
		rest, ok1 := strings.CutPrefix(k, "BackupShipping/Source/")
		remote, ok2 := strings.CutSuffix(rest, "/"+KeyShippingStatus)
		if ok1 && ok2 {
			out[remote] = v
		}
	}
	return out
}

// ShippingNodes are the nodes that can ship a backup of sn, in the order
// they are tried: the preferred node, then those holding the base's
// snapshot too (whose file systems then tell what changed), then the
// rest.
func ShippingNodes(sn Snapshot, base *Snapshot, preferred string) []string {
	baseNodes := map[string]bool{}
	if base != nil {
		for _, n := range base.Nodes {
			baseNodes[n.NodeName] = true
		}
	}
	var first, withBase, rest []string
	for _, n := range sn.Nodes {
		switch {
		case Key(n.NodeDspName) == Key(preferred):
			first = append(first, n.NodeDspName)
		case baseNodes[n.NodeName]:
			withBase = append(withBase, n.NodeDspName)
		default:
			rest = append(rest, n.NodeDspName)
		}
	}
	return append(append(first, withBase...), rest...)
}

// QueuedShipment is a backup waiting for a shipping slot: its snapshot
// says Prepare Shipping.
type QueuedShipment struct {
	Remote, Resource, Snapshot string
	// BasedOn is the base's snapshot of an incremental backup.
	BasedOn  string
	StartMs  int64
	PrefNode string
	// Nodes are those it waits for, in ShippingNodes' order.
	Nodes []string
}

// QueuedShipments are the shipments among snaps that wait for a slot,
// oldest first. The queue is this state itself: each waiting workflow
// took its place by writing it, so it survives any restart.
func QueuedShipments(snaps []Snapshot) []QueuedShipment {
	byName := map[[2]string]*Snapshot{}
	for i := range snaps {
		byName[[2]string{snaps[i].ResourceName, snaps[i].SnapshotName}] = &snaps[i]
	}
	var out []QueuedShipment
	for _, sn := range snaps {
		for remote, status := range shippingStatuses(sn) {
			if status != ShippingPrepare {
				continue
			}
			prop := func(key string) string { return sn.Props[BackupSourceKey(remote, key)] }
			q := QueuedShipment{Remote: remote, Resource: sn.ResourceDspName, Snapshot: sn.SnapshotDspName, BasedOn: prop(KeyBackupLastSnapshot), PrefNode: prop(KeySrcNode)}
			q.StartMs = BackupStartMs(sn, remote)
			var base *Snapshot
			if q.BasedOn != "" {
				base = byName[[2]string{sn.ResourceName, Key(q.BasedOn)}]
			}
			q.Nodes = ShippingNodes(sn, base, q.PrefNode)
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b QueuedShipment) int {
		return cmp.Or(cmp.Compare(a.StartMs, b.StartMs), strings.Compare(a.Resource, b.Resource), strings.Compare(a.Snapshot, b.Snapshot), strings.Compare(a.Remote, b.Remote))
	})
	return out
}

// SetBackupProps writes a shipment's properties on the snapshot and its
// definition: internal keys, set by the controller and not checked
// against the user's whitelist.
func (s *Store) SetBackupProps(ctx context.Context, rd, snap string, snapProps, rdProps map[string]string) error {
	return s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeSnapshotDefinition(tx, rd, snap)
		if err != nil {
			return err
		}
		if err := setProps(tx, SnapshotDefinitionInstance(rd, snap), snapProps); err != nil {
			return err
		}
		if err := setProps(tx, ResourceDefinitionInstance(rd), rdProps); err != nil {
			return err
		}
		return touchDefinition(tx, def.ResourceName)
	})
}

// ReceivedSnapshot is a backup to download as a snapshot of a
// definition on one node.
type ReceivedSnapshot struct {
	Resource, Snapshot, Node string
	// ResourceDefinitionProps are the backed-up definition's.
	ResourceDefinitionProps map[string]string
	Volumes                 []ReceivedVolume
}

// ReceivedVolume is a volume of a received snapshot, in a pool of the
// node.
type ReceivedVolume struct {
	VlmNr   int32
	SizeKib int64
	Pool    string
}

// RecordReceivedSnapshot records a snapshot being downloaded, in phase
// PhaseReceive: the node keeps what arrives. It reports the nodes where
// the definition has diskful resources already (then the backup is only
// downloaded, or forced onto the one there is). The definition must
// exist. A download recorded before is joined.
func (s *Store) RecordReceivedSnapshot(ctx context.Context, r ReceivedSnapshot) (diskful []string, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		rd, err := takeResourceDefinition(tx, r.Resource)
		if err != nil {
			return err
		}
		var found []SnapshotDefinitionRow
		if err := tx.Where("resource_name = ? AND snapshot_name = ?", rd.ResourceName, Key(r.Snapshot)).Find(&found).Error; err != nil {
			return err
		}
		if len(found) > 0 && found[0].Phase != PhaseReceive {
			return exists(KindSnapshot, "The requested backup has already been downloaded to this cluster. Please use 'snapshot resource restore' to get a resource.")
		}
		node, err := take[NodeRow](tx, notFound(KindNode, "Node '%s' not found.", r.Node), "node_name = ?", Key(r.Node))
		if err != nil {
			return err
		}
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", rd.ResourceName).Find(&rscs).Error; err != nil {
			return err
		}
		for _, x := range rscs {
			if !Diskless(x.Flags) && !x.Flags.Has(FlagDelete) {
				diskful = append(diskful, x.NodeName)
			}
		}
		if len(found) > 0 {
			return nil // recorded before: the download goes on
		}
		def := SnapshotDefinitionRow{ResourceName: rd.ResourceName, SnapshotName: Key(r.Snapshot), SnapshotDspName: r.Snapshot, UUID: uuid.NewString(),
			Phase: PhaseReceive, ResourceDefinitionProps: r.ResourceDefinitionProps}
		if err := tx.Create(&def).Error; err != nil {
			return err
		}
		if err := tx.Create(&SnapshotRow{ResourceName: rd.ResourceName, SnapshotName: def.SnapshotName, NodeName: node.NodeName, UUID: uuid.NewString()}).Error; err != nil {
			return err
		}
		for _, v := range r.Volumes {
			missing := notFound(KindStoragePool, "Storage pool '%s' not found on node '%s'.", v.Pool, node.NodeDspName)
			if _, err := take[StoragePoolRow](tx, missing, "node_name = ? AND pool_name = ?", node.NodeName, Key(v.Pool)); err != nil {
				return err
			}
			if err := tx.Create(&SnapshotVolumeDefinitionRow{ResourceName: rd.ResourceName, SnapshotName: def.SnapshotName, VlmNr: v.VlmNr, UUID: uuid.NewString(), SizeKib: v.SizeKib}).Error; err != nil {
				return err
			}
			if err := tx.Create(&SnapshotVolumeRow{ResourceName: rd.ResourceName, SnapshotName: def.SnapshotName, NodeName: node.NodeName, VlmNr: v.VlmNr, UUID: uuid.NewString(), StorPoolName: Key(v.Pool)}).Error; err != nil {
				return err
			}
		}
		return touchDefinition(tx, rd.ResourceName)
	})
	return diskful, err
}
