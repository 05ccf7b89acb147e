// Package nodestate compiles a node's whole desired state from the store
// (its storage pools, the volumes of its resources, their layers, DRBD
// peers, options and paths) and records what the node's agent reports of
// it. Sending it is agentlink's job.
package nodestate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"strata/agent/proto"
	"strata/store"
)

// compiler reads what a node's state is made of.
type compiler struct{ store *store.Store }

// Compile is everything the node should have: its storage pools,
// the volumes of its resources, and the layers above storage.
func Compile(ctx context.Context, st *store.Store, node string) (proto.NodeState, []string, error) {
	return compiler{st}.desiredState(ctx, node)
}

// Pool is one of a node's storage pools as its agent is told of it, for
// a job outside the node's state (a backup's upload or download).
func Pool(ctx context.Context, st *store.Store, node, pool string) (proto.Pool, error) {
	pools, err := st.ListStoragePools(ctx, store.StoragePoolFilter{Nodes: []string{node}, Pools: []string{pool}})
	if err != nil {
		return proto.Pool{}, err
	}
	if len(pools) == 0 {
		return proto.Pool{}, fmt.Errorf("storage pool %s of node %s not found", pool, node)
	}
	props, err := compiler{st}.inheritedStorDriver(ctx, node)
	if err != nil {
		return proto.Pool{}, err
	}
	maps.Copy(props, pools[0].Props)
	return proto.Pool{Name: pools[0].PoolDspName, Provider: pools[0].DriverName, Props: props}, nil
}

// desiredState is DesiredState, and the keys of the definitions whose
// resource on the node is being deleted and so left out of the state.
func (l compiler) desiredState(ctx context.Context, node string) (proto.NodeState, []string, error) {
	pools, err := l.store.ListStoragePools(ctx, store.StoragePoolFilter{Nodes: []string{node}})
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	all, err := l.store.ListResources(ctx, store.ResourceFilter{Nodes: []string{node}})
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
	rds, err := l.store.ListResourceDefinitions(ctx, store.ResourceDefinitionFilter{Names: names, WithVolumeDefinitions: true})
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	rdByName := map[string]store.ResourceDefinition{}
	for _, rd := range rds {
		rdByName[rd.ResourceName] = rd
	}
	snaps, suspended, err := l.store.NodeSnapshots(ctx, node)
	if err != nil {
		return proto.NodeState{}, nil, err
	}
	st.Suspended = suspended
	rollback := map[string]store.NodeSnapshotState{} // definitions being rolled back, by display name
	for _, sn := range snaps {
		if sn.Phase == store.PhaseRollbackDown || sn.Phase == store.PhaseRollbackRestore {
			rollback[sn.Resource] = sn
		}
		for _, v := range sn.Volumes {
			st.Snapshots = append(st.Snapshots, proto.Snapshot{Resource: sn.Resource, Name: sn.Snapshot, VlmNr: v.VlmNr, Pool: v.StorPoolDspName, Take: sn.Take, Receive: sn.Receive})
		}
	}
	view := &pushView{store: l.store, node: node}
	for _, r := range rscs {
		rd := rdByName[r.ResourceName]
		rb, rolling := rollback[r.ResourceDspName]
		if rolling && rb.Phase == store.PhaseRollbackDown {
			continue // down, its storage removed, until it is made again from the snapshot
		}
		res, err := l.layers(ctx, r, rd, view)
		if err != nil {
			return proto.NodeState{}, nil, err
		}
		if res != nil {
			st.Resources = append(st.Resources, *res)
		}
		for _, v := range r.Volumes {
			pv := proto.Volume{Resource: r.ResourceDspName, VlmNr: v.VlmNr, Pool: v.StorPoolDspName, SizeKib: v.SizeKib, CreateOptions: createOptions(rd, v)}
			switch {
			case rolling:
				pv.From = &proto.SnapshotSource{Resource: r.ResourceDspName, Snapshot: rb.Snapshot}
			case v.Props[store.KeyRestoreFromSnapshot] != "":
				pv.From = &proto.SnapshotSource{Resource: v.Props[store.KeyRestoreFromResource], Snapshot: v.Props[store.KeyRestoreFromSnapshot]}
			}
			// A storage-only volume gets its file system from the agent
			// until the agent reported it made; one made from a snapshot
			// brings its own.
			if fs := fileSystemProp(rd, r, v.VlmNr, store.KeyFileSystemType); fs != "" && res == nil && pv.From == nil && v.FileSystem == "" && !r.Flags.Has(store.FlagInactive) {
				pv.FileSystem = &proto.FileSystem{Type: fs, MkfsParams: fileSystemProp(rd, r, v.VlmNr, store.KeyMkfsParams)}
			}
			st.Volumes = append(st.Volumes, pv)
		}
	}
	if st.Files, err = l.files(ctx, rscs, rdByName); err != nil {
		return proto.NodeState{}, nil, err
	}
	return st, deleting, nil
}

// files are the external files attached to the definitions of the
// node's resources.
func (l compiler) files(ctx context.Context, rscs []store.Resource, rdByName map[string]store.ResourceDefinition) ([]proto.ExternalFile, error) {
	var paths []string
	for _, r := range rscs {
		paths = append(paths, store.AttachedFiles(rdByName[r.ResourceName].Props)...)
	}
	if len(paths) == 0 {
		return nil, nil
	}
	slices.Sort(paths)
	files, err := l.store.ListExternalFiles(ctx, slices.Compact(paths)...)
	if err != nil {
		return nil, err
	}
	out := make([]proto.ExternalFile, len(files))
	for i, f := range files {
		out[i] = proto.ExternalFile{Path: f.Path, Content: f.Content, AltSuffixes: f.AltSuffixes}
	}
	return out, nil
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
func (l compiler) inheritedStorDriver(ctx context.Context, node string) (map[string]string, error) {
	ctrl, err := l.store.Props(ctx, store.CtrlPropsInstance)
	if err != nil {
		return nil, err
	}
	n, err := l.store.GetNode(ctx, node)
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
	return volumeProp(rd, v.VlmNr, key)
}

// formatsFileSystems says whether r is the resource of its definition
// that makes the file systems of DRBD volumes, on its DRBD device, for
// all replicas: the diskful one with the lowest DRBD node id.
func formatsFileSystems(r store.Resource, peers []store.Resource) bool {
	first := -1
	for i, p := range peers {
		if store.Diskless(p.Flags) || p.Flags.Has(store.FlagInactive) {
			continue
		}
		if first < 0 || p.DrbdNodeID < peers[first].DrbdNodeID {
			first = i
		}
	}
	return first >= 0 && peers[first].NodeName == r.NodeName
}

// fileSystemMade says whether a replica of volume nr reported its file
// system: it is made once, and replicated.
func fileSystemMade(rscs []store.Resource, nr int32) bool {
	for _, r := range rscs {
		for _, v := range r.Volumes {
			if v.VlmNr == nr && v.FileSystem != "" {
				return true
			}
		}
	}
	return false
}

// fileSystemProp is a FileSystem/* property of a volume: its volume
// definition's, else its resource's, else its definition's.
func fileSystemProp(rd store.ResourceDefinition, r store.Resource, nr int32, key string) string {
	if v, ok := r.Props[key]; ok && volumeDefinitionProp(rd, nr, key) == nil {
		return v
	}
	if p := volumeProp(rd, nr, key); p != nil {
		return *p
	}
	return ""
}

// volumeDefinitionProp is a property of volume definition nr of rd.
func volumeDefinitionProp(rd store.ResourceDefinition, nr int32, key string) *string {
	for _, vd := range rd.VolumeDefinitions {
		if o, ok := vd.Props[key]; ok && vd.VlmNr == nr {
			return &o
		}
	}
	return nil
}

// volumeProp is a property of volume definition nr of rd, else of rd.
func volumeProp(rd store.ResourceDefinition, nr int32, key string) *string {
	if o := volumeDefinitionProp(rd, nr, key); o != nil {
		return o
	}
	if o, ok := rd.Props[key]; ok {
		return &o
	}
	return nil
}

// storageOnly tells a layer stack without layers above storage.
func storageOnly(stack []string) bool {
	return len(stack) == 1 && stack[0] == "STORAGE"
}

// layers is a resource's stack above storage, nil for storage only.
// Without a stack set on the definition, a resource is DRBD over
// storage where every node holding it serves DRBD, and storage only
// otherwise: a cluster without DRBD still gets its volumes.
func (l compiler) layers(ctx context.Context, r store.Resource, rd store.ResourceDefinition, view *pushView) (*proto.Resource, error) {
	if r.Flags.Has(store.FlagInactive) {
		return nil, nil // deactivated: its storage stays, DRBD goes down
	}
	stack := rd.LayerStack.List()
	if storageOnly(stack) {
		return nil, nil // without asking about the peers
	}
	self, err := view.nodeByKey(ctx, r.NodeName)
	if err != nil {
		return nil, err
	}
	if len(stack) == 0 && !self.Serves("DRBD") {
		return nil, nil // storage only, without asking about the peers
	}
	all, err := l.store.ListResources(ctx, store.ResourceFilter{Resources: []string{r.ResourceName}})
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
	if storageOnly(stack) {
		return nil, nil
	}
	res := &proto.Resource{Name: r.ResourceDspName, Layers: stack}
	if stack[0] != "DRBD" {
		return res, nil
	}
	chain, err := l.store.ResourcePropsChain(ctx, r.ResourceName, r.NodeName)
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
		if k == store.KeyDrbdProxyCompressionType {
			d.ProxyCompression = e.Value
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
	formats := formatsFileSystems(r, peers)
	for _, vd := range rd.VolumeDefinitions {
		if vd.DrbdMinor == nil {
			continue
		}
		dv := proto.DrbdVolume{VlmNr: vd.VlmNr, Minor: *vd.DrbdMinor}
		if fs := fileSystemProp(rd, r, vd.VlmNr, store.KeyFileSystemType); fs != "" && formats && !fileSystemMade(peers, vd.VlmNr) {
			dv.FileSystem = &proto.FileSystem{Type: fs, MkfsParams: fileSystemProp(rd, r, vd.VlmNr, store.KeyMkfsParams)}
		}
		d.Volumes = append(d.Volumes, dv)
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
func (l compiler) connections(ctx context.Context, r store.Resource, d *proto.Drbd, view *pushView) error {
	nodeConns, err := view.nodeConnections(ctx)
	if err != nil {
		return err
	}
	rscConns, err := l.store.ListResourceConnections(ctx, r.ResourceName, "", "")
	if err != nil {
		return err
	}
	peerProps := map[string]map[string]string{} // by peer node key
	add := func(a, b string, props map[string]string) {
		peer, ok := peerOf(r.NodeName, a, b)
		if !ok {
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
	proxied := map[string]int32{} // port, by peer node key
	for _, c := range rscConns {
		add(c.NodeNameSrc, c.NodeNameDst, c.Props)
		if c.Flags.Has(store.FlagLocalDrbdProxy) && c.TCPPort != nil {
			if peer, ok := peerOf(r.NodeName, c.NodeNameSrc, c.NodeNameDst); ok {
				proxied[peer] = *c.TCPPort
			}
		}
	}
	d.PeerOptions, d.Paths = map[string]map[string]string{}, map[string][]proto.DrbdPath{}
	local, err := view.nodeByKey(ctx, r.NodeName)
	if err != nil {
		return err
	}
	for peerKey, port := range proxied {
		peer, err := view.nodeByKey(ctx, peerKey)
		if err != nil {
			return err
		}
		if d.Proxy == nil {
			d.Proxy = map[string]int32{}
		}
		d.Proxy[peer.NodeDspName] = port
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

// peerOf is the other end of connection a-b seen from node, if node is
// one of its ends.
func peerOf(node, a, b string) (string, bool) {
	switch node {
	case a:
		return b, true
	case b:
		return a, true
	}
	return "", false
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
