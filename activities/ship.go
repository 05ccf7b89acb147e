package activities

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"strata/agent/proto"
	"strata/agentlink"
	"strata/apicall"
	"strata/nodestate"
	"strata/store"
)

// Shipping to a LINSTOR remote: the remote is another Strata controller
// (or this one). The sending cluster's workflow drives the exchange
// through the receiving controller's internal API (Internal*Path): it
// asks which of its snapshots the receiver holds (the base), has the
// receiver record the snapshot and listen for each volume, has its own
// agent stream each volume to the receiving agent, and waits until the
// receiver committed them. Data flows from agent to agent only.

// Paths of the receiving controller's internal API.
const (
	InternalBasePath    = "/v1/internal/backups/base"
	InternalReceivePath = "/v1/internal/backups/receive"
)

// ShipRequest is what a backup ship asks of the receiving cluster
// (LINSTOR's BackupShip, less the source's fields).
type ShipRequest struct {
	DstResource      string            `json:"dst_resource"`
	DstSnapshot      string            `json:"dst_snapshot,omitempty"`
	DstNode          string            `json:"dst_node,omitempty"`
	DstNetIf         string            `json:"dst_net_if,omitempty"`
	DstPool          string            `json:"dst_pool,omitempty"`
	PoolRename       map[string]string `json:"pool_rename,omitempty"`
	DownloadOnly     bool              `json:"download_only,omitempty"`
	ForceRestore     bool              `json:"force_restore,omitempty"`
	DstResourceGroup string            `json:"dst_resource_group,omitempty"`
}

// BaseRequest asks the receiving cluster which of the sender's snapshots
// (newest first) it holds as a received snapshot of DstResource.
type BaseRequest struct {
	ClusterID   string   `json:"cluster_id"`
	DstResource string   `json:"dst_resource"`
	Candidates  []string `json:"candidates"`
}

// BaseAnswer is the base chosen, "" for a full shipment.
type BaseAnswer struct {
	Base string `json:"base"`
}

// ReceiveRequest has the receiving cluster receive a snapshot.
type ReceiveRequest struct {
	ClusterID string      `json:"cluster_id"`
	Remote    string      `json:"remote"` // the receiver's name at the sender
	Ship      ShipRequest `json:"ship"`
	Resource  string      `json:"resource"`
	Snapshot  string      `json:"snapshot"`
	StartMs   int64       `json:"start_ms"`
	// Base is the sender's snapshot the receiver holds (BaseAnswer).
	Base                    string            `json:"base,omitempty"`
	Volumes                 []ShippedVolume   `json:"volumes"`
	ResourceDefinitionProps map[string]string `json:"rsc_dfn_props,omitempty"`
}

// ReceiveInput is a snapshot to receive, as the receiving controller
// names it.
type ReceiveInput struct {
	ReceiveRequest
	// Sender is the remote here of the sending cluster ("" when it is
	// this one); Snapshot the name the received snapshot gets, and Base
	// the received snapshot the shipment applies to.
	Sender      string `json:"sender,omitempty"`
	DstSnapshot string `json:"dst_snapshot"`
	DstBase     string `json:"dst_base,omitempty"`
}

// ReceiveState is how a receive goes, for the sender (the receiving
// workflow's ReceiveQuery).
type ReceiveState struct {
	Node     string              `json:"node,omitempty"`
	Snapshot string              `json:"snapshot,omitempty"`
	Listen   map[int32]Listening `json:"listen,omitempty"`
	Received []int32             `json:"received,omitempty"`
	Done     bool                `json:"done,omitempty"`
	Failed   string              `json:"failed,omitempty"`
}

// Listening is where a receiving agent waits for a volume; Session
// changes with every new listener.
type Listening struct {
	VlmNr       int32  `json:"vlm_nr"`
	Session     int32  `json:"session"`
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
	Token       string `json:"token"`
}

// ListeningSignal tells a receiving workflow that a volume's listener
// is up.
const ListeningSignal = "listening"

// peer is another controller's internal API.
type peer struct{ url string }

var peerClient = &http.Client{Timeout: 30 * time.Second}

func (a *Activities) peer(ctx context.Context, remote string) (peer, error) {
	row, err := a.Store.GetRemote(ctx, remote)
	if _, ok := store.AsError(err); ok {
		return peer{}, &apicall.Refused{Code: apicall.FailNotFoundRemote, Message: fmt.Sprintf("The remote %s does not exist. Please provide a valid remote or create a new one.", apicall.Clip(remote))}
	}
	if err != nil {
		return peer{}, err
	}
	if row.Kind != store.RemoteLinstor {
		return peer{}, &apicall.Refused{Code: apicall.FailInvldRemoteName, Message: fmt.Sprintf("The remote %s is not a linstor remote.", row.RemoteDspName)}
	}
	u := strings.TrimSuffix(row.URL, "/")
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return peer{url: u}, nil
}

// call sends a request to the peer; an answer that is an ApiCallRc
// list with an error is returned as that refusal.
func (p peer) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := peerClient.Do(req)
	if err != nil {
		return fmt.Errorf("the remote cluster at %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var l apicall.RcList
		if json.NewDecoder(resp.Body).Decode(&l) == nil && l.HasError() {
			for _, rc := range l {
				if rc.IsError() {
					return &apicall.Refused{Code: rc.Bare(), Message: rc.Message, Cause: rc.Cause, Correction: rc.Correction}
				}
			}
		}
		return fmt.Errorf("the remote cluster at %s answered %s %s: %s", p.url, method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// PlanShipment checks a ship request as PlanBackup checks a backup, and
// asks the receiving cluster for the base of an incremental shipment:
// the newest snapshot shipped there before that it still holds, with
// the volumes' sizes of today.
func (a *Activities) PlanShipment(ctx context.Context, in BackupCreateInput) (BackupPlan, error) {
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (BackupPlan, error) { return a.planShipment(ctx, in) })
}

func (a *Activities) planShipment(ctx context.Context, in BackupCreateInput) (BackupPlan, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskBackup
	p, err := a.peer(ctx, in.Remote)
	if err != nil {
		s, err := refusal(err, op, obj, map[string]string{"Remote": in.Remote})
		return BackupPlan{Step: s}, err
	}
	plan, rd, err := a.shippedSnapshot(ctx, in)
	if err != nil || plan.Refused() {
		return plan, err
	}
	cluster, err := a.Store.EnsureClusterID(ctx)
	if err != nil {
		return BackupPlan{}, err
	}
	snaps, err := a.Store.ListSnapshots(ctx, store.SnapshotFilter{Resources: []string{rd.ResourceName}})
	if err != nil {
		return BackupPlan{}, err
	}
	status := store.BackupSourceKey(in.Remote, store.KeyShippingStatus)
	started := func(s store.Snapshot) int64 {
		n, _ := strconv.ParseInt(s.Props[store.BackupSourceKey(in.Remote, store.KeyBackupStartTimestamp)], 10, 64)
		return n
	}
	var shipped []store.Snapshot
	for _, s := range snaps {
		if in.Incremental && s.Props[status] == store.ShippingSuccess && store.Key(s.SnapshotDspName) != store.Key(in.Snapshot) && !s.Flags.Has(store.FlagDelete) {
			shipped = append(shipped, s)
		}
	}
	slices.SortFunc(shipped, func(x, y store.Snapshot) int { return cmp.Compare(started(y), started(x)) })
	req := BaseRequest{ClusterID: cluster, DstResource: in.Ship.DstResource}
	for _, s := range shipped {
		req.Candidates = append(req.Candidates, s.SnapshotDspName)
	}
	// Asked even without candidates: a receiver that does not know this
	// cluster refuses here, before a snapshot is taken.
	var ans BaseAnswer
	if err := p.call(ctx, http.MethodPost, InternalBasePath, req, &ans); err != nil {
		s, err := refusal(err, op, obj, map[string]string{"Remote": in.Remote})
		plan.Step = s
		return plan, err
	}
	for _, s := range shipped {
		if store.Key(s.SnapshotDspName) != store.Key(ans.Base) {
			continue
		}
		if !sameSizes(s, rd) {
			rc := apicall.NewRc(apicall.MaskWarn, op, obj, fmt.Sprintf("The volumes of %s changed size since snapshot %s was shipped. Shipping a full backup instead.", in.Resource, s.SnapshotDspName))
			plan.Replies = append(plan.Replies, rc)
			break
		}
		full := cmp.Or(s.Props[store.BackupSourceKey(in.Remote, store.KeyLastFullBackupTimestamp)], s.SnapshotDspName)
		plan.Base = &BackupBase{Snapshot: s.SnapshotDspName, Full: full}
	}
	return plan, nil
}

// sameSizes tells whether a snapshot's volumes have the definition's
// sizes of today.
func sameSizes(s store.Snapshot, rd store.ResourceDefinition) bool {
	now := map[int32]int64{}
	for _, vd := range rd.VolumeDefinitions {
		now[vd.VlmNr] = vd.VlmSize
	}
	for _, vd := range s.VolumeDefinitions {
		if now[vd.VlmNr] != vd.SizeKib {
			return false
		}
	}
	return len(now) == len(s.VolumeDefinitions)
}

// peerPoll is how often the sender asks how the receiver is.
const peerPoll = 500 * time.Millisecond

// SendShipment has the receiving controller record the snapshot, then,
// volume by volume, this node's agent stream the snapshot to the
// receiving agent, and waits until the receiver committed all of them.
// Run again after an interruption, it joins the receive recorded before
// and sends the volumes not received yet.
func (a *Activities) SendShipment(ctx context.Context, in ShipInput) ([]ShippedVolume, error) {
	stop := Heartbeat(ctx)
	defer stop()
	p, err := a.peer(ctx, in.Remote)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Refused", err)
	}
	sn, err := a.Store.GetSnapshot(ctx, in.Resource, in.Snapshot)
	if err != nil {
		return nil, err
	}
	part := nodePart(sn, in.Node)
	if part == nil {
		return nil, fmt.Errorf("snapshot %s of %s is not on node %s", in.Snapshot, in.Resource, in.Node)
	}
	cluster, err := a.Store.EnsureClusterID(ctx)
	if err != nil {
		return nil, err
	}
	req := ReceiveRequest{ClusterID: cluster, Remote: in.Remote, Ship: *in.Ship, Resource: sn.ResourceDspName, Snapshot: sn.SnapshotDspName, StartMs: in.StartMs,
		ResourceDefinitionProps: sn.ResourceDefinitionProps}
	if in.Plan.Base != nil {
		req.Base = in.Plan.Base.Snapshot
	}
	sizes := map[int32]int64{}
	for _, vd := range sn.VolumeDefinitions {
		sizes[vd.VlmNr] = vd.SizeKib
	}
	for _, v := range part.Volumes {
		req.Volumes = append(req.Volumes, ShippedVolume{VlmNr: v.VlmNr, Pool: v.StorPoolDspName, SizeKib: sizes[v.VlmNr]})
	}
	var accepted apicall.RcList
	if err := p.call(ctx, http.MethodPost, InternalReceivePath, req, &accepted); err != nil {
		var refused *apicall.Refused
		if errors.As(err, &refused) {
			return nil, temporal.NewNonRetryableApplicationError(refused.Message, "Refused", err)
		}
		return nil, err
	}
	id := receiveID(accepted)
	if id == "" {
		return nil, errors.New("the remote cluster did not name the receive it started")
	}
	report := a.progressReporter(ctx, len(part.Volumes))
	var out []ShippedVolume
	for i, v := range part.Volumes {
		job := proto.ShipSend{Resource: sn.ResourceDspName, VlmNr: v.VlmNr, Snapshot: sn.SnapshotDspName}
		if in.Plan.Base != nil {
			job.Base = in.Plan.Base.Snapshot
		}
		if job.Pool, err = nodestate.Pool(ctx, a.Store, in.Node, v.StorPoolDspName); err != nil {
			return nil, err
		}
		moved, err := a.sendVolume(ctx, p, id, in.Node, job, func(pr proto.JobProgress) { report(i, pr) })
		if err != nil {
			return nil, err
		}
		countMoved(moved)
		out = append(out, ShippedVolume{VlmNr: v.VlmNr, Pool: v.StorPoolDspName, FinishedMs: time.Now().UnixMilli(), Moved: moved})
	}
	_, err = p.await(ctx, id, func(st ReceiveState) bool { return st.Done })
	return out, err
}

// receiveID is the receiving workflow an accepted receive names.
func receiveID(l apicall.RcList) string {
	for _, rc := range l {
		if id := rc.ObjRefs["WorkflowId"]; id != "" {
			return id
		}
	}
	return ""
}

// sendVolume streams one volume to the listener the receiver names: a
// listener that fails is replaced by the receiver (a new session), and
// the stream starts again there. While this node's agent cannot be
// reached, the same listener is tried again.
func (a *Activities) sendVolume(ctx context.Context, p peer, id, node string, job proto.ShipSend, progress func(proto.JobProgress)) (proto.JobProgress, error) {
	tried := int32(-1)
	for {
		st, err := p.await(ctx, id, func(st ReceiveState) bool {
			l, ok := st.Listen[job.VlmNr]
			return slices.Contains(st.Received, job.VlmNr) || ok && l.Session != tried
		})
		if err != nil || slices.Contains(st.Received, job.VlmNr) {
			return proto.JobProgress{}, err
		}
		l := st.Listen[job.VlmNr]
		job.Address, job.Fingerprint, job.Token = l.Address, l.Fingerprint, l.Token
		moved, err := a.Agents.Job(ctx, node, proto.PathShipSend, job, progress)
		if err == nil {
			return moved, nil
		}
		if ctx.Err() != nil {
			return proto.JobProgress{}, ctx.Err()
		}
		var failed *agentlink.JobError
		if !errors.As(err, &failed) {
			activity.GetLogger(ctx).Warn("the sending node's agent is out of reach; trying again", "node", node, "error", err)
			if err := sleep(ctx, time.Second); err != nil {
				return proto.JobProgress{}, err
			}
			continue
		}
		activity.GetLogger(ctx).Warn("a volume's stream failed; waiting for the receiver to listen again", "volume", job.VlmNr, "session", l.Session, "error", err)
		tried = l.Session
	}
}

// await polls the receive until ok says it is far enough; a receive
// that failed ends the wait with its reason, which no retry changes.
func (p peer) await(ctx context.Context, id string, ok func(ReceiveState) bool) (ReceiveState, error) {
	for {
		var st ReceiveState
		if err := p.call(ctx, http.MethodGet, InternalReceivePath+"/"+id, nil, &st); err != nil {
			return st, err
		}
		if st.Failed != "" {
			return st, temporal.NewNonRetryableApplicationError("the remote cluster did not receive the snapshot: "+st.Failed, "ReceiveFailed", nil)
		}
		if ok(st) {
			return st, nil
		}
		if err := sleep(ctx, peerPoll); err != nil {
			return st, err
		}
	}
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// FailShipment records a shipment that ended without its snapshot
// arriving, and tells the receiver to give it up (best effort: a
// receiver out of reach gives up by itself when no sender comes).
func (a *Activities) FailShipment(ctx context.Context, in ShipInput, status string) error {
	if err := a.SetShippingStatus(ctx, in, status); err != nil {
		return err
	}
	p, err := a.peer(ctx, in.Remote)
	if err != nil {
		return nil
	}
	cluster, err := a.Store.EnsureClusterID(ctx)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := ReceiveRequest{ClusterID: cluster, Ship: *in.Ship, Resource: in.Resource, Snapshot: in.Snapshot}
	if err := p.call(actx, http.MethodPost, InternalReceivePath+"/abort", req, nil); err != nil {
		activity.GetLogger(ctx).Warn("the receiving cluster was not told to give the shipment up", "error", err)
	}
	return nil
}

// nodePart is a snapshot's part on a node.
func nodePart(sn store.Snapshot, node string) *store.NodeSnapshot {
	for i := range sn.Nodes {
		if store.Key(sn.Nodes[i].NodeDspName) == store.Key(node) {
			return &sn.Nodes[i]
		}
	}
	return nil
}

// Receiving side.

// RecordReceive records a snapshot shipped from another cluster (or
// this one) on the node chosen: the one asked for, else the one holding
// the base, else the online node with the most free space in the pool.
// The definition is created when missing; one with diskful resources
// gets the snapshot only, as a restore does.
func (a *Activities) RecordReceive(ctx context.Context, in ReceiveInput) (RestorePlan, error) {
	return kept(ctx, a.Store, func(ctx context.Context, _, _ string) (RestorePlan, error) {
		const op, obj = apicall.MaskCrt, apicall.MaskBackup
		refs := map[string]string{"RscDfn": in.Ship.DstResource, "Snapshot": in.DstSnapshot}
		d := download{Target: in.Ship.DstResource, ResourceGroup: in.Ship.DstResourceGroup, Node: in.Ship.DstNode, ForceRestore: in.Ship.ForceRestore, DownloadOnly: in.Ship.DownloadOnly,
			Snapshot: store.ReceivedSnapshot{Resource: in.Ship.DstResource, Snapshot: in.DstSnapshot, ResourceDefinitionProps: in.ResourceDefinitionProps}}
		for _, v := range in.Volumes {
			pool := cmp.Or(in.Ship.DstPool, in.Ship.PoolRename[v.Pool], v.Pool)
			d.Snapshot.Volumes = append(d.Snapshot.Volumes, store.ReceivedVolume{VlmNr: v.VlmNr, SizeKib: v.SizeKib, Pool: pool})
		}
		if d.Node == "" && in.DstBase != "" {
			if sn, err := a.Store.GetSnapshot(ctx, in.Ship.DstResource, in.DstBase); err == nil && len(sn.Nodes) > 0 {
				d.Node = sn.Nodes[0].NodeDspName
			}
		}
		if d.Node == "" {
			n, err := a.roomiest(ctx, d.Snapshot.Volumes)
			if err != nil {
				s, err := refusal(err, op, obj, refs)
				return RestorePlan{Step: s}, err
			}
			d.Node = n
		}
		d.Snapshot.Node = d.Node
		plan, err := a.recordDownload(ctx, d, refs)
		if err != nil || plan.Refused() {
			return plan, err
		}
		props := map[string]string{
			store.KeyBackupTargetPrefix + "BackupSrcRemote":       cmp.Or(in.Sender, in.Remote),
			store.KeyBackupTargetPrefix + store.KeyShippingStatus: store.ShippingRunning,
			store.KeyBackupTargetPrefix + "BackupStartTimestamp":  strconv.FormatInt(in.StartMs, 10),
			store.KeyBackupTargetPrefix + "DstNode":               d.Node,
		}
		if in.DstBase != "" {
			props[store.KeyBackupTargetPrefix+store.KeyBackupLastSnapshot] = in.DstBase
		}
		if err := a.Store.SetBackupProps(ctx, in.Ship.DstResource, in.DstSnapshot, props, nil); err != nil {
			return RestorePlan{}, err
		}
		rc := apicall.NewRc(apicall.MaskInfo, op, obj, fmt.Sprintf("Receiving snapshot %s of %s into %s on %s.", in.Snapshot, in.Resource, in.Ship.DstResource, d.Node))
		rc.ObjRefs = refs
		plan.Replies = append(plan.Replies, rc)
		return plan, nil
	})
}

// roomiest is the online node with the most free space in the pools of
// the volumes (all on one node).
func (a *Activities) roomiest(ctx context.Context, vols []store.ReceivedVolume) (string, error) {
	var pools []string
	var need int64
	for _, v := range vols {
		pools = append(pools, v.Pool)
		need += v.SizeKib
	}
	distinct := len(slices.Compact(slices.Sorted(slices.Values(pools))))
	all, err := a.Store.ListStoragePools(ctx, store.StoragePoolFilter{Pools: pools})
	if err != nil {
		return "", err
	}
	free := map[string]int64{}
	count := map[string]int{}
	for _, sp := range all {
		if sp.FreeCapacity == nil || a.Agents.Status(sp.NodeName).Connection != agentlink.Online {
			continue
		}
		free[sp.NodeDspName] += *sp.FreeCapacity
		count[sp.NodeDspName]++
	}
	best := ""
	for n, f := range free {
		if count[n] == distinct && f >= need && (best == "" || f > free[best]) {
			best = n
		}
	}
	if best == "" {
		return "", &apicall.Refused{Code: apicall.FailNotEnoughNodes, Message: fmt.Sprintf("No online node has the storage pool(s) %v with %d KiB free to receive the snapshot.", pools, need),
			Correction: "Name the pool with dst_stor_pool or stor_pool_rename, or the node with dst_node_name."}
	}
	return best, nil
}

// ReceiveVolumeInput is one volume of a receive.
type ReceiveVolumeInput struct {
	ReceiveInput
	Plan  RestorePlan `json:"plan"`
	VlmNr int32       `json:"vlm_nr"`
}

// ReceiveVolume has the node's agent listen for one volume on a port of
// SnapshotShipping/TcpPortRange, with a certificate and a token made for
// this attempt alone, tells the workflow where once the agent listens,
// and returns when the volume is committed. A retry listens anew.
func (a *Activities) ReceiveVolume(ctx context.Context, in ReceiveVolumeInput) (proto.JobProgress, error) {
	stop := Heartbeat(ctx)
	defer stop()
	node := in.Plan.Nodes[0]
	var pool string
	for _, v := range in.Plan.Volumes {
		if v.VlmNr == in.VlmNr {
			pool = v.Pool
		}
	}
	p, err := nodestate.Pool(ctx, a.Store, node, pool)
	if err != nil {
		return proto.JobProgress{}, err
	}
	sl, err := a.newShipListener(ctx, node, in.Ship.DstNetIf)
	if err != nil {
		return proto.JobProgress{}, err
	}
	wait, err := a.receiveWait(ctx, node, in.Ship.DstResource)
	if err != nil {
		return proto.JobProgress{}, err
	}
	job := proto.ShipReceive{Pool: p, Resource: in.Ship.DstResource, VlmNr: in.VlmNr, Snapshot: in.DstSnapshot, Base: in.DstBase,
		Port: sl.Port, CertPEM: sl.Cert.CertPEM, KeyPEM: sl.Cert.KeyPEM, Token: sl.Token, WaitMs: wait}
	info := activity.GetInfo(ctx)
	l := Listening{VlmNr: in.VlmNr, Session: info.Attempt, Address: sl.Address, Fingerprint: sl.Cert.Fingerprint, Token: sl.Token}
	report := a.progressReporter(ctx, 1)
	told := false
	moved, err := a.Agents.Job(ctx, node, proto.PathShipReceive, job, func(pr proto.JobProgress) {
		if !told { // the agent's first report: it listens
			told = a.Temporal.SignalWorkflow(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, ListeningSignal, l) == nil
		}
		report(0, pr)
	})
	if err == nil {
		countMoved(moved)
	}
	return moved, err
}

// shipListener is where a node's agent listens for one volume of a
// shipment: a port of SnapshotShipping/TcpPortRange, with a certificate
// and a token made for this attempt alone.
type shipListener struct {
	Port    int
	Address string // host:port, for the sender
	Cert    proto.ShipCertificate
	Token   string
}

// newShipListener picks a listener on the node's interface named (else
// its agent's).
func (a *Activities) newShipListener(ctx context.Context, node, netIf string) (shipListener, error) {
	lo, hi, err := a.Store.ShipPortRange(ctx)
	if err != nil {
		return shipListener{}, err
	}
	port, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo+1)))
	if err != nil {
		return shipListener{}, err
	}
	cert, err := proto.NewShipCertificate()
	if err != nil {
		return shipListener{}, err
	}
	token := make([]byte, 32)
	_, _ = rand.Read(token)
	host, err := a.nodeAddress(ctx, node, netIf)
	if err != nil {
		return shipListener{}, err
	}
	l := shipListener{Port: int(lo) + int(port.Int64()), Cert: cert, Token: hex.EncodeToString(token)}
	l.Address = net.JoinHostPort(host, strconv.Itoa(l.Port))
	return l, nil
}

// nodeAddress is the address of the node's interface named (else its
// agent's) that senders connect to.
func (a *Activities) nodeAddress(ctx context.Context, node, netIf string) (string, error) {
	n, err := a.Store.GetNode(ctx, node)
	if err != nil {
		return "", err
	}
	active := cmp.Or(store.Key(netIf), store.Key(n.Props[store.KeyCurStltConnName]))
	for _, nif := range n.NetInterfaces {
		if active == "" && nif.StltConnPort != nil || active != "" && nif.NodeNetName == active {
			return nif.InetAddress, nil
		}
	}
	return "", fmt.Errorf("node %s has no net interface %q to receive on", node, netIf)
}

// receiveWait is BackupShipping/L2LReceiveStartedTimeout (definition >
// node > controller; LINSTOR's default 5 minutes), 0 for -1 (forever).
func (a *Activities) receiveWait(ctx context.Context, node, rd string) (int64, error) {
	var chain []map[string]string
	for _, inst := range []string{store.ResourceDefinitionInstance(rd), store.NodeInstance(node), store.CtrlPropsInstance} {
		props, err := a.Store.Props(ctx, inst)
		if err != nil {
			return 0, err
		}
		chain = append(chain, props)
	}
	ms, err := strconv.ParseInt(cmp.Or(store.Inherited("BackupShipping/L2LReceiveStartedTimeout", chain...), "300000"), 10, 64)
	if err != nil || ms < 0 {
		return 0, nil
	}
	return ms, nil
}

// SetReceiveStatus records how a receive ended on its snapshot
// (BackupShipping/Target/ShippingStatus, which linstor-csi reads).
func (a *Activities) SetReceiveStatus(ctx context.Context, in ReceiveInput, status string) error {
	err := a.Store.SetBackupProps(ctx, in.Ship.DstResource, in.DstSnapshot, map[string]string{store.KeyBackupTargetPrefix + store.KeyShippingStatus: status}, nil)
	if _, ok := store.AsError(err); ok {
		return nil // never recorded
	}
	return err
}
