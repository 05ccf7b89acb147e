// Package agentlink is the controller's link to the nodes' agents: it
// watches every node's agent and knows whether it is online, and it sends
// a node its whole desired state and records what the agent reports.
package agentlink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"strata/agent/proto"
	"strata/store"
)

// Connection states, as LINSTOR's node list shows them.
const (
	Online          = "ONLINE"
	Offline         = "OFFLINE"
	VersionMismatch = "VERSION_MISMATCH"
)

// Status is what the link knows of a node's agent.
type Status struct {
	Connection string
	Info       proto.Info
	Err        string
}

// Link watches the agents.
type Link struct {
	Store    *store.Store
	Log      *slog.Logger
	Interval time.Duration // how often each agent is asked; a change shows within it
	// OnConnect is called when a node's agent comes online, to send it
	// its state.
	OnConnect func(node string)

	client    *http.Client // plain agents
	tlsClient *http.Client // agents of SSL nodes; nil: none configured
	mu        sync.Mutex
	status    map[string]Status // by node key
}

// New makes a link that asks every agent every interval. tlsConfig is the
// controller's side of mutual TLS with agents of SSL nodes (nil: such
// nodes stay OFFLINE).
func New(st *store.Store, log *slog.Logger, interval time.Duration, tlsConfig *tls.Config) *Link {
	// No client timeout: a poll is bounded by the interval, an apply by
	// its activity's deadline.
	l := &Link{Store: st, Log: log, Interval: interval, client: &http.Client{}, status: map[string]Status{}}
	if tlsConfig != nil {
		l.tlsClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	}
	return l
}

// NotOnlineError is a push to a node whose agent is not online; the node
// gets its state when its agent comes (back) online.
type NotOnlineError struct{ Node, Connection string }

func (e *NotOnlineError) Error() string {
	return fmt.Sprintf("No active connection to satellite '%s' (%s).", e.Node, e.Connection)
}

// Status is the node's connection state; OFFLINE until its agent answered.
func (l *Link) Status(node string) Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.status[store.Key(node)]; ok {
		return s
	}
	return Status{Connection: Offline}
}

// Run watches the agents until ctx ends.
func (l *Link) Run(ctx context.Context) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		l.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll asks every node's agent for its info, all at once.
func (l *Link) poll(ctx context.Context) {
	nodes, err := l.Store.ListNodes(ctx, nil)
	if err != nil {
		l.Log.Warn("list nodes for the agent link", "error", err)
		return
	}
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n.NodeName] = true
		wg.Go(func() { l.check(ctx, n) })
	}
	wg.Wait()
	l.mu.Lock()
	for k := range l.status {
		if !seen[k] {
			delete(l.status, k)
		}
	}
	l.mu.Unlock()
}

func (l *Link) check(ctx context.Context, n store.Node) {
	ctx, cancel := context.WithTimeout(ctx, l.Interval)
	defer cancel()
	s := Status{Connection: Offline}
	var info proto.Info
	if base, err := agentURL(n); err != nil {
		s.Err = err.Error()
	} else if err := l.call(ctx, http.MethodGet, base+proto.PathInfo, nil, &info); err != nil {
		s.Err = err.Error()
	} else if info.ProtocolVersion != proto.ProtocolVersion {
		s = Status{Connection: VersionMismatch, Info: info,
			Err: fmt.Sprintf("the agent speaks protocol %d, the controller %d", info.ProtocolVersion, proto.ProtocolVersion)}
	} else {
		s = Status{Connection: Online, Info: info}
	}
	l.mu.Lock()
	before := l.status[n.NodeName]
	l.status[n.NodeName] = s
	l.mu.Unlock()
	if s.Connection == before.Connection {
		return
	}
	l.Log.Info("node connection", "node", n.NodeDspName, "state", s.Connection, "reason", s.Err)
	if s.Connection == Online {
		if err := l.Store.SetNodeAgentInfo(ctx, n.NodeDspName, info.Uname, info.Layers); err != nil {
			l.Log.Warn("record what the node's agent serves", "node", n.NodeDspName, "error", err)
		}
		if l.OnConnect != nil {
			l.OnConnect(n.NodeDspName)
		}
	}
}

// agentURL is the agent's address: the node's controller link interface.
func agentURL(n store.Node) (string, error) {
	active := store.Key(n.Props[store.KeyCurStltConnName])
	for _, nif := range n.NetInterfaces {
		if nif.StltConnPort != nil && (active == "" || nif.NodeNetName == active) {
			scheme := "http"
			if nif.StltConnEncrType != nil && *nif.StltConnEncrType == "SSL" {
				scheme = "https"
			}
			return scheme + "://" + net.JoinHostPort(nif.InetAddress, strconv.Itoa(int(*nif.StltConnPort))), nil
		}
	}
	return "", fmt.Errorf("node %s has no net interface with an agent port", n.NodeDspName)
}

func (l *Link) call(ctx context.Context, method, url string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := l.client
	if req.URL.Scheme == "https" {
		if l.tlsClient == nil {
			return fmt.Errorf("the node's agent speaks TLS (communication type SSL), and the controller has no [agents] tls_cert, tls_key and tls_ca")
		}
		client = l.tlsClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s answered %s", method, url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// DesiredState is everything the node should have: its storage pools,
// the volumes of its resources, and the layers above storage.
func (l *Link) DesiredState(ctx context.Context, node string) (proto.NodeState, error) {
	st, _, err := l.desiredState(ctx, node)
	return st, err
}

// desiredState is DesiredState, and the keys of the definitions whose
// resource on the node is being deleted and so left out of the state.
func (l *Link) desiredState(ctx context.Context, node string) (proto.NodeState, []string, error) {
	pools, err := l.Store.ListStoragePools(ctx, store.StoragePoolFilter{Nodes: []string{node}})
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	all, err := l.Store.ListResources(ctx, store.ResourceFilter{Nodes: []string{node}})
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	var rscs []store.Resource
	var deleting []string
	for _, r := range all {
		if r.Flags.Has(store.FlagDelete) {
			deleting = append(deleting, r.ResourceName)
			continue
		}
		rscs = append(rscs, r)
	}
	inherited, err := l.inheritedStorDriver(ctx, node)
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	st := proto.NodeState{Node: node, Pools: []proto.Pool{}, Volumes: []proto.Volume{}}
	for _, p := range pools {
		props := maps.Clone(inherited)
		maps.Copy(props, p.Props)
		st.Pools = append(st.Pools, proto.Pool{Name: p.PoolDspName, Provider: p.DriverName, Props: props})
	}
	names := make([]string, len(rscs))
	for i, r := range rscs {
		names[i] = r.ResourceName
	}
	rds, err := l.Store.ListResourceDefinitions(ctx, store.ResourceDefinitionFilter{Names: names, WithVolumeDefinitions: true})
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	rdByName := map[string]store.ResourceDefinition{}
	for _, rd := range rds {
		rdByName[rd.ResourceName] = rd
	}
	view := &pushView{store: l.Store, node: node}
	for _, r := range rscs {
		rd := rdByName[r.ResourceName]
		for _, v := range r.Volumes {
			st.Volumes = append(st.Volumes, proto.Volume{Resource: r.ResourceDspName, VlmNr: v.VlmNr, Pool: v.StorPoolDspName, SizeKib: v.SizeKib,
				CreateOptions: createOptions(rd, v)})
		}
		res, err := l.layers(ctx, r, rd, view)
		if err != nil {
			return proto.NodeState{}, nil, err
		}
		if res != nil {
			st.Resources = append(st.Resources, *res)
		}
	}
	return st, deleting, nil
}

// pushView keeps what one node state reads for every DRBD resource: the
// cluster's nodes and the node's node connections, each read once and
// only when a resource needs them.
type pushView struct {
	store     *store.Store
	node      string
	nodes     map[string]store.Node // by key
	conns     []store.NodeConnection
	connsRead bool
}

func (v *pushView) nodeByKey(ctx context.Context, key string) (store.Node, error) {
	if v.nodes == nil {
		all, err := v.store.ListNodes(ctx, nil)
		if err != nil {
			return store.Node{}, err
		}
		v.nodes = make(map[string]store.Node, len(all))
		for _, n := range all {
			v.nodes[n.NodeName] = n
		}
	}
	n, ok := v.nodes[key]
	if !ok {
		return store.Node{}, fmt.Errorf("node %s is gone", key)
	}
	return n, nil
}

func (v *pushView) nodeConnections(ctx context.Context) ([]store.NodeConnection, error) {
	if !v.connsRead {
		conns, err := v.store.ListNodeConnections(ctx, v.node, "")
		if err != nil {
			return nil, err
		}
		v.conns, v.connsRead = conns, true
	}
	return v.conns, nil
}

// inheritedStorDriver are the StorDriver/* properties a node's pools
// inherit: the controller's, overridden by the node's.
func (l *Link) inheritedStorDriver(ctx context.Context, node string) (map[string]string, error) {
	ctrl, err := l.Store.Props(ctx, store.CtrlPropsInstance)
	if err != nil {
		return nil, err
	}
	n, err := l.Store.GetNode(ctx, node)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, props := range []map[string]string{ctrl, n.Props} {
		for k, v := range props {
			if strings.HasPrefix(k, "StorDriver/") {
				out[k] = v
			}
		}
	}
	return out, nil
}

// createOptions is the provider's create options property set on a
// volume's definition or its resource definition (the closer wins), nil
// where neither sets it.
func createOptions(rd store.ResourceDefinition, v store.Volume) *string {
	key := map[string]string{store.ProviderLVM: "StorDriver/LvcreateOptions", store.ProviderLVMThin: "StorDriver/LvcreateOptions",
		store.ProviderZFS: "StorDriver/ZfscreateOptions", store.ProviderZFSThin: "StorDriver/ZfscreateOptions"}[v.ProviderKind]
	if key == "" {
		return nil
	}
	for _, vd := range rd.VolumeDefinitions {
		if o, ok := vd.Props[key]; ok && vd.VlmNr == v.VlmNr {
			return &o
		}
	}
	if o, ok := rd.Props[key]; ok {
		return &o
	}
	return nil
}

// layers is a resource's stack above storage, nil for storage only.
// Without a stack set on the definition, a resource is DRBD over
// storage where every node holding it serves DRBD, and storage only
// otherwise: a cluster without DRBD still gets its volumes.
func (l *Link) layers(ctx context.Context, r store.Resource, rd store.ResourceDefinition, view *pushView) (*proto.Resource, error) {
	if r.Flags.Has(store.FlagInactive) {
		return nil, nil // deactivated: its storage stays, DRBD goes down
	}
	stack := rd.LayerStack.List()
	self, err := view.nodeByKey(ctx, r.NodeName)
	if err != nil {
		return nil, err
	}
	if len(stack) == 0 && !self.Serves("DRBD") {
		return nil, nil // storage only, without asking about the peers
	}
	all, err := l.Store.ListResources(ctx, store.ResourceFilter{Resources: []string{r.ResourceName}})
	if err != nil {
		return nil, err
	}
	var peers []store.Resource
	for _, p := range all {
		if !p.Flags.Has(store.FlagDelete) {
			peers = append(peers, p)
		}
	}
	if len(stack) == 0 {
		stack = []string{"DRBD", "STORAGE"}
		for _, p := range peers {
			n, err := view.nodeByKey(ctx, p.NodeName)
			if err != nil {
				return nil, err
			}
			if !n.Serves("DRBD") {
				stack = []string{"STORAGE"}
			}
		}
	}
	if len(stack) == 1 && stack[0] == "STORAGE" {
		return nil, nil
	}
	res := &proto.Resource{Name: r.ResourceDspName, Layers: stack}
	if stack[0] != "DRBD" {
		return res, nil
	}
	chain, err := l.Store.ResourcePropsChain(ctx, r.ResourceName, r.NodeName)
	if err != nil {
		return nil, err
	}
	d := &proto.Drbd{Secret: rd.DrbdSecret, PeerSlots: rd.DrbdPeerSlots, Options: map[string]string{}}
	if rd.DrbdPort != nil {
		d.Port = *rd.DrbdPort
	}
	for k, e := range store.Effective(chain) {
		if strings.HasPrefix(k, "DrbdOptions/") {
			d.Options[k] = e.Value
		}
	}
	for _, p := range peers {
		n, err := view.nodeByKey(ctx, p.NodeName)
		if err != nil {
			return nil, err
		}
		host := n.Props[store.KeyNodeUname]
		if host == "" {
			host = n.NodeDspName
		}
		d.Nodes = append(d.Nodes, proto.DrbdNode{Name: n.NodeDspName, Host: host, NodeID: p.DrbdNodeID, Address: drbdAddress(n), Diskless: p.Flags.Has("DRBD_DISKLESS") || p.Flags.Has("DISKLESS")})
	}
	for _, vd := range rd.VolumeDefinitions {
		if vd.DrbdMinor != nil {
			d.Volumes = append(d.Volumes, proto.DrbdVolume{VlmNr: vd.VlmNr, Minor: *vd.DrbdMinor})
		}
	}
	if err := l.connections(ctx, r, d, view); err != nil {
		return nil, err
	}
	res.Drbd = d
	return res, nil
}

// connections fills a DRBD resource's per-peer options and paths from the
// node connections of its node, overridden by its resource connections:
// DrbdOptions/Net/* and DrbdOptions/PeerDevice/*, and
// Paths/<path>/<node> = <net interface> for each end.
func (l *Link) connections(ctx context.Context, r store.Resource, d *proto.Drbd, view *pushView) error {
	nodeConns, err := view.nodeConnections(ctx)
	if err != nil {
		return err
	}
	rscConns, err := l.Store.ListResourceConnections(ctx, r.ResourceName, "", "")
	if err != nil {
		return err
	}
	peerProps := map[string]map[string]string{} // by peer node key
	add := func(a, b string, props map[string]string) {
		peer := b
		switch r.NodeName {
		case a:
		case b:
			peer = a
		default:
			return
		}
		if peerProps[peer] == nil {
			peerProps[peer] = map[string]string{}
		}
		maps.Copy(peerProps[peer], props)
	}
	for _, c := range nodeConns {
		add(c.NodeNameSrc, c.NodeNameDst, c.Props)
	}
	for _, c := range rscConns {
		add(c.NodeNameSrc, c.NodeNameDst, c.Props)
	}
	d.PeerOptions, d.Paths = map[string]map[string]string{}, map[string][]proto.DrbdPath{}
	local, err := view.nodeByKey(ctx, r.NodeName)
	if err != nil {
		return err
	}
	for peerKey, props := range peerProps {
		peer, err := view.nodeByKey(ctx, peerKey)
		if err != nil {
			return err
		}
		paths := map[string]map[string]string{} // path → node key → interface
		for k, v := range props {
			switch {
			case strings.HasPrefix(k, "DrbdOptions/"):
				if d.PeerOptions[peer.NodeDspName] == nil {
					d.PeerOptions[peer.NodeDspName] = map[string]string{}
				}
				d.PeerOptions[peer.NodeDspName][k] = v
			case strings.HasPrefix(k, "Paths/"):
				parts := strings.SplitN(k, "/", 3)
				if len(parts) == 3 {
					if paths[parts[1]] == nil {
						paths[parts[1]] = map[string]string{}
					}
					paths[parts[1]][store.Key(parts[2])] = v
				}
			}
		}
		names := slices.Sorted(maps.Keys(paths))
		for _, name := range names {
			ends := paths[name]
			la, pa := interfaceAddress(local, ends[local.NodeName]), interfaceAddress(peer, ends[peer.NodeName])
			if la != "" && pa != "" {
				d.Paths[peer.NodeDspName] = append(d.Paths[peer.NodeDspName], proto.DrbdPath{Local: la, Peer: pa})
			}
		}
	}
	return nil
}

// interfaceAddress is the address of a node's net interface by name.
func interfaceAddress(n store.Node, iface string) string {
	for _, nif := range n.NetInterfaces {
		if nif.NodeNetName == store.Key(iface) {
			return nif.InetAddress
		}
	}
	return ""
}

// drbdAddress is where a node's DRBD listens: the interface its PrefNic
// property names, else the controller's link to it.
func drbdAddress(n store.Node) string {
	want := store.Key(n.Props["PrefNic"])
	if want == "" {
		want = store.Key(n.Props[store.KeyCurStltConnName])
	}
	for _, nif := range n.NetInterfaces {
		if want == "" || nif.NodeNetName == want {
			return nif.InetAddress
		}
	}
	if len(n.NetInterfaces) > 0 {
		return n.NetInterfaces[0].InetAddress
	}
	return ""
}

// Apply sends the node its desired state and records the agent's report:
// pool capacities and each volume's device, sizes and state.
func (l *Link) Apply(ctx context.Context, node string) (proto.Report, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.Report{}, err
	}
	// The generation is read before the state: a state read later is at
	// least as new as its generation says.
	gen, err := l.Store.Generation(ctx)
	if err != nil {
		return proto.Report{}, err
	}
	want, deleting, err := l.desiredState(ctx, node)
	if err != nil {
		return proto.Report{}, err
	}
	want.Generation = gen
	var rep proto.Report
	if err := l.call(ctx, http.MethodPut, base+proto.PathNodeState, want, &rep); err != nil {
		return proto.Report{}, fmt.Errorf("send node %s its state: %w", node, err)
	}
	if rep.Stale {
		return rep, nil // a newer state got there first and was recorded by its own push
	}
	for _, p := range rep.Pools {
		var err error
		switch {
		case p.Error != "":
			err = l.Store.SetStoragePoolError(ctx, node, p.Name, p.Error)
		case p.TotalKib > 0:
			err = l.Store.SetStoragePoolCapacity(ctx, node, p.Name, p.FreeKib, p.TotalKib)
		}
		if err != nil {
			return rep, err
		}
	}
	actual := map[string]map[int32]store.VolumeActual{}
	for _, v := range rep.Volumes {
		rd := store.Key(v.Resource)
		if actual[rd] == nil {
			actual[rd] = map[int32]store.VolumeActual{}
		}
		allocated, usable := v.AllocatedKib, v.UsableKib
		actual[rd][v.VlmNr] = store.VolumeActual{DevicePath: v.DevicePath, BackingDevice: v.BackingPath, TopLayer: v.Layer, AllocatedKib: &allocated, UsableKib: &usable, DiskState: v.DiskState, StateError: v.Error}
	}
	if err := l.Store.SetVolumeActual(ctx, node, actual); err != nil {
		return rep, err
	}
	drbd := map[string]store.ResourceActual{}
	for _, r := range rep.Resources {
		drbd[store.Key(r.Name)] = store.ResourceActual{DrbdRole: r.Role, DrbdConnections: r.Connections}
	}
	if err := l.Store.SetResourceActual(ctx, node, drbd); err != nil {
		return rep, err
	}
	// The agent has removed what the state left out, so its rows can go.
	return rep, l.Store.PurgeDeleted(ctx, node, deleting)
}

// agentOf is the base URL of an online node's agent.
func (l *Link) agentOf(ctx context.Context, node string) (string, error) {
	n, err := l.Store.GetNode(ctx, node)
	if err != nil {
		return "", err
	}
	if st := l.Status(n.NodeName); st.Connection != Online {
		return "", &NotOnlineError{Node: n.NodeDspName, Connection: st.Connection}
	}
	return agentURL(n)
}

// Disks are the node's unused disks, as its agent finds them.
func (l *Link) Disks(ctx context.Context, node string) ([]proto.Disk, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return nil, err
	}
	var disks []proto.Disk
	return disks, l.call(ctx, http.MethodGet, base+proto.PathPhysicalStorage, nil, &disks)
}

// CreateDevicePool has the node's agent make a device pool.
func (l *Link) CreateDevicePool(ctx context.Context, node string, req proto.DevicePool) (proto.DevicePoolReport, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.DevicePoolReport{}, err
	}
	var rep proto.DevicePoolReport
	return rep, l.call(ctx, http.MethodPost, base+proto.PathPhysicalStorage, req, &rep)
}
