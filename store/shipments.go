package store

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"

	"strata/apicall"
)

// Shipments between clusters (LINSTOR remotes): the receiving cluster
// knows the sending one by its cluster id (Cluster/LocalID), names the
// snapshots it receives after the sender's with a short id of the sender
// (none when a cluster ships to itself), and picks the base of an
// incremental shipment among the sender's candidates.

// KeyClusterRemotePrefix holds, per sending cluster's id, the short id
// its snapshots' names get here (LINSTOR's Cluster/Remote/<uuid>).
const KeyClusterRemotePrefix = "Cluster/Remote/"

// Sender is a cluster shipping to this one: the remote here whose
// cluster id it has (none when it is this cluster), and the suffix of
// the snapshots received from it.
type Sender struct {
	Remote, Suffix string
	Self           bool
}

// ShipmentSender finds the cluster with the id among this cluster's
// LINSTOR remotes, or refuses it as LINSTOR does.
func (s *Store) ShipmentSender(ctx context.Context, clusterID string) (Sender, error) {
	own, err := s.EnsureClusterID(ctx)
	if err != nil {
		return Sender{}, err
	}
	if strings.EqualFold(own, clusterID) {
		return Sender{Self: true}, nil
	}
	rs, err := s.ListRemotes(ctx)
	if err != nil {
		return Sender{}, err
	}
	for _, r := range rs {
		if r.Kind == RemoteLinstor && clusterID != "" && strings.EqualFold(r.ClusterID, clusterID) {
			short, err := s.ensureProp(ctx, CtrlPropsInstance, KeyClusterRemotePrefix+strings.ToLower(clusterID), shortID())
			return Sender{Remote: r.RemoteDspName, Suffix: "_" + short}, err
		}
	}
	return Sender{}, &apicall.Refused{Code: apicall.FailBackupUnknownCluster, Message: "Unknown Cluster",
		Cause:      "No LINSTOR remote of this cluster has the sending cluster's id " + apicall.Clip(clusterID) + ".",
		Correction: "Create a LINSTOR remote for the sending cluster with --cluster-id set to its Cluster/LocalID."}
}

// shortID is base36 of 5 random bytes, as LINSTOR's.
func shortID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return new(big.Int).SetBytes(b).Text(36)
}

// ShipmentBase is the newest of the candidates (the sender's snapshot
// names, newest first) whose received snapshot of rd here is successful,
// and the node holding it; "" when none is.
func (s *Store) ShipmentBase(ctx context.Context, rd, suffix string, candidates []string) (base, node string, err error) {
	for _, c := range candidates {
		sn, err := s.GetSnapshot(ctx, rd, c+suffix)
		if _, ok := AsError(err); ok {
			continue
		}
		if err != nil {
			return "", "", err
		}
		if sn.Successful() && !sn.Flags.Has(FlagDelete) && len(sn.Nodes) > 0 {
			return c, sn.Nodes[0].NodeDspName, nil
		}
	}
	return "", "", nil
}

// KeyShipPortRange is the controller's range of the ports receiving
// agents listen on, LINSTOR's; its default is LINSTOR's too.
const (
	KeyShipPortRange     = "SnapshotShipping/TcpPortRange"
	DefaultShipPortRange = "12000-12999"
)

// ShipPortRange is the range of ports shipments are received on.
func (s *Store) ShipPortRange(ctx context.Context) (lo, hi int32, err error) {
	return numberRange(s.DB.WithContext(ctx), KeyShipPortRange, DefaultShipPortRange)
}
