package store

import (
	"context"
	"strconv"
	"strings"

	"strata/placement"
)

// Placement properties: the oversubscription ratios, looked up on the
// pool, its definition and the controller (the specific ratios default to
// MaxOversubscriptionRatio); the node's AutoplaceTarget; the pool's
// Autoplacer/MaxThroughput; the controller's weights of the strategies.
const (
	KeyMaxOversubscription      = "MaxOversubscriptionRatio"
	KeyMaxFreeOversubscription  = "MaxFreeCapacityOversubscriptionRatio"
	KeyMaxTotalOversubscription = "MaxTotalCapacityOversubscriptionRatio"
	KeyAutoplaceTarget          = "AutoplaceTarget"
	KeyMaxThroughput            = "Autoplacer/MaxThroughput"
	keyWeightsPrefix            = "Autoplacer/Weights/"
)

// defaultPlaceCount is LINSTOR's place count when a filter sets none.
const defaultPlaceCount = 2

// PlacementView is the cluster as the autoplacer and the size queries see
// it, read from the store in one go.
type PlacementView struct {
	Cluster placement.Cluster
	// DefaultRatio is the controller's MaxOversubscriptionRatio (or
	// placement's default).
	DefaultRatio float64
	Weights      placement.Weights
	resources    []Resource
}

// PlacementView reads the cluster as the autoplacer needs it: the
// capacity view, with what each pool's volumes use (their count and
// throughput) and each node's resources.
func (s *Store) PlacementView(ctx context.Context) (PlacementView, error) {
	v, err := s.CapacityView(ctx)
	if err != nil {
		return PlacementView{}, err
	}
	if v.resources, err = s.ListResources(ctx, ResourceFilter{}); err != nil {
		return PlacementView{}, err
	}
	type poolKey struct{ node, pool string }
	counts := map[poolKey]int{}
	throttle := map[poolKey]float64{}
	held := map[string][]string{}
	for _, r := range v.resources {
		if r.Flags.Has(FlagTieBreaker) && !r.Flags.Has(FlagDelete) {
			continue // a replica placed there replaces the tie-breaker
		}
		held[r.NodeDspName] = append(held[r.NodeDspName], r.ResourceDspName)
		for _, vl := range r.Volumes {
			k := poolKey{r.NodeDspName, vl.StorPoolDspName}
			counts[k]++
			for _, t := range []string{"sys/fs/blkio_throttle_read", "sys/fs/blkio_throttle_write"} {
				if x, err := strconv.ParseFloat(vl.Props[t], 64); err == nil {
					throttle[k] += x
				}
			}
		}
	}
	for i := range v.Cluster.Pools {
		p := &v.Cluster.Pools[i]
		k := poolKey{p.Node, p.Name}
		p.ResourceCount = counts[k]
		p.Throughput -= throttle[k] // what its volumes may still use of Autoplacer/MaxThroughput
	}
	for i := range v.Cluster.Nodes {
		v.Cluster.Nodes[i].Resources = held[v.Cluster.Nodes[i].Name]
	}
	return v, nil
}

// CapacityView reads what the size queries need: every storage pool with
// its reported capacity, what its volumes reserve and its
// oversubscription ratios, and every node with the layers its agent said
// it serves and whether the autoplacer may use it. It reads no resource.
func (s *Store) CapacityView(ctx context.Context) (PlacementView, error) {
	pools, err := s.ListStoragePools(ctx, StoragePoolFilter{})
	if err != nil {
		return PlacementView{}, err
	}
	spds, err := s.ListStorPoolDefinitions(ctx, nil)
	if err != nil {
		return PlacementView{}, err
	}
	nodes, err := s.ListNodes(ctx, nil)
	if err != nil {
		return PlacementView{}, err
	}
	ctrl, err := s.Props(ctx, CtrlPropsInstance)
	if err != nil {
		return PlacementView{}, err
	}
	reserved, err := s.ReservedPerPool(ctx)
	if err != nil {
		return PlacementView{}, err
	}
	v := PlacementView{Weights: placement.DefaultWeights()}
	spdProps := map[string]map[string]string{}
	for _, d := range spds {
		spdProps[d.PoolName] = d.Props
	}
	nodeProps := map[string]map[string]string{}
	usable := map[string]bool{}
	for _, n := range nodes {
		nodeProps[n.NodeName] = n.Props
		usable[n.NodeName] = placeable(n.NodeRow)
	}
	ratio := func(chain []map[string]string, key string) float64 {
		for _, k := range []string{key, KeyMaxOversubscription} {
			if r, err := strconv.ParseFloat(Inherited(k, chain...), 64); err == nil {
				return r
			}
		}
		return placement.DefaultOversubscriptionRatio
	}
	for _, p := range pools {
		chain := []map[string]string{p.Props, spdProps[p.PoolName], ctrl}
		throughput, _ := strconv.ParseFloat(p.Props[KeyMaxThroughput], 64)
		v.Cluster.Pools = append(v.Cluster.Pools, placement.Pool{Node: p.NodeDspName, Name: p.PoolDspName, Provider: p.DriverName,
			FreeKib: p.FreeCapacity, TotalKib: p.TotalCapacity, ReservedKib: reserved[[2]string{p.NodeName, p.PoolName}],
			FreeRatio: ratio(chain, KeyMaxFreeOversubscription), TotalRatio: ratio(chain, KeyMaxTotalOversubscription),
			AutoplaceTarget: usable[p.NodeName] && autoplaceTarget(nodeProps[p.NodeName], ctrl), Throughput: throughput})
	}
	for _, n := range nodes {
		pn := placement.Node{Name: n.NodeDspName, Props: n.Props, AutoplaceTarget: placeable(n.NodeRow) && autoplaceTarget(n.Props, ctrl)}
		if n.ServedLayers != nil {
			pn.Layers = n.ServedLayers.List()
		}
		v.Cluster.Nodes = append(v.Cluster.Nodes, pn)
	}
	v.DefaultRatio = ratio([]map[string]string{ctrl}, KeyMaxOversubscription)
	for name := range v.Weights {
		if w, err := strconv.ParseFloat(ctrl[keyWeightsPrefix+name], 64); err == nil {
			v.Weights[name] = w
		}
	}
	return v, nil
}

// autoplaceTarget tells whether the autoplacer may use a node: its
// AutoplaceTarget, inherited from the controller, is not false.
func autoplaceTarget(node, ctrl map[string]string) bool {
	return !strings.EqualFold(Inherited(KeyAutoplaceTarget, node, ctrl), "false")
}

// Holders are the nodes holding a resource, as the autoplacer counts
// them.
type Holders struct {
	Diskful []string // diskful replicas
	Other   []string // diskless replicas and those being deleted, but tie-breakers
	All     []string // every node holding it, for the create's check
}

// Holders of definition rd in the view.
func (v PlacementView) Holders(rd string) Holders {
	var h Holders
	for _, r := range v.resources {
		if r.ResourceName != Key(rd) {
			continue
		}
		h.All = append(h.All, r.NodeDspName)
		switch {
		case r.Flags.Has(FlagTieBreaker) && !r.Flags.Has(FlagDelete):
		case Diskless(r.Flags), r.Flags.Has(FlagDelete):
			h.Other = append(h.Other, r.NodeDspName)
		default:
			h.Diskful = append(h.Diskful, r.NodeDspName)
		}
	}
	return h
}

// PlacementRequest is the autoplacer's request for the replicas of def
// by filter f.
func (v PlacementView) PlacementRequest(def ResourceDefinition, f SelectFilter) placement.Request {
	h := v.Holders(def.ResourceName)
	pf, count := f.Placement()
	var size int64
	for _, vd := range def.VolumeDefinitions {
		size += vd.VlmSize
	}
	x := map[string]int{}
	for k, n := range f.XReplicasOnDifferentMap {
		x[k] = int(n)
	}
	layers := f.LayerStack
	if len(layers) > 0 && layers[len(layers)-1] == "STORAGE" {
		layers = layers[:len(layers)-1] // every node serves STORAGE
	}
	return placement.Request{Resource: def.ResourceDspName, Count: count, Additional: int(f.AdditionalPlaceCount), Existing: h.Diskful, Held: h.Other, SizeKib: size,
		Filter: pf, ReplicasOnSame: f.ReplicasOnSame, ReplicasOnDifferent: f.ReplicasOnDifferent, XReplicasOnDifferent: x,
		DoNotPlaceWith: f.NotPlaceWithRsc, DoNotPlaceWithRegex: f.NotPlaceWithRscRegex, LayerStack: layers,
		DisklessOnRemaining: f.DisklessOnRemaining != nil && *f.DisklessOnRemaining, Weights: v.Weights}
}

// Placement is the pool part of an auto-select filter, with its place
// count.
func (f SelectFilter) Placement() (placement.Filter, int) {
	names := f.StoragePoolList
	if f.StoragePool != "" {
		names = append([]string{f.StoragePool}, names...)
	}
	count := int(f.PlaceCount)
	if count == 0 {
		count = defaultPlaceCount
	}
	return placement.Filter{StoragePools: names, Providers: f.ProviderList, Nodes: f.NodeNameList}, count
}

// Merge overwrites the fields src sets.
func (f *SelectFilter) Merge(src SelectFilter) {
	if src.PlaceCount != 0 {
		f.PlaceCount = src.PlaceCount
	}
	if src.AdditionalPlaceCount != 0 {
		f.AdditionalPlaceCount = src.AdditionalPlaceCount
	}
	if src.StoragePool != "" {
		f.StoragePool = src.StoragePool
	}
	if src.NotPlaceWithRscRegex != "" {
		f.NotPlaceWithRscRegex = src.NotPlaceWithRscRegex
	}
	if src.DisklessType != "" {
		f.DisklessType = src.DisklessType
	}
	if src.DisklessOnRemaining != nil {
		f.DisklessOnRemaining = src.DisklessOnRemaining
	}
	if src.XReplicasOnDifferentMap != nil {
		f.XReplicasOnDifferentMap = src.XReplicasOnDifferentMap
	}
	for _, l := range []struct{ dst, src *[]string }{{&f.NodeNameList, &src.NodeNameList}, {&f.StoragePoolList, &src.StoragePoolList},
		{&f.StoragePoolDisklessList, &src.StoragePoolDisklessList}, {&f.NotPlaceWithRsc, &src.NotPlaceWithRsc},
		{&f.ReplicasOnSame, &src.ReplicasOnSame}, {&f.ReplicasOnDifferent, &src.ReplicasOnDifferent},
		{&f.LayerStack, &src.LayerStack}, {&f.ProviderList, &src.ProviderList}} {
		if len(*l.src) > 0 {
			*l.dst = *l.src
		}
	}
}
