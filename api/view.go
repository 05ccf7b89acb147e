package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"strata/store"
)

// definitionView serves a list that every client polls (GET
// /v1/view/resources, /v1/view/snapshots) without rebuilding it from the
// database each time. It keeps each resource definition's part of the
// list serialised, with the view generation it was built at (the store
// stamps a definition with the write that last changed what the views
// show of it: its resources and its snapshots). A list reads the
// generations of all definitions, rebuilds only those that changed and
// joins the pieces that pass its filters; while the database's write
// generation stays the same, the joined answer itself is reused.
type definitionView struct {
	// build reads and serialises the pieces of the definitions named, by
	// definition key; nil names: every definition.
	build func(ctx context.Context, st *store.Store, rds []string) (map[string][]piece, error)

	mu      sync.Mutex
	byRD    map[string]rdPiece // by definition key
	answers viewCache
}

type rdPiece struct {
	gen    int64
	pieces []piece
}

// piece is one object's JSON with what the filters look at.
type piece struct {
	nodes []string // keys of the nodes it is on
	pools []string // keys of its volumes' pools
	name  string   // key of its own name (a snapshot's)
	props map[string]string
	json  []byte
}

// maxNamedRebuild is how many changed definitions are read by name; past
// it, everything is read in one pass.
const maxNamedRebuild = 500

// viewFilter is what the views select by.
type viewFilter struct {
	Resources, Nodes, StoragePools, Names []string
	ListParams
}

func (v *definitionView) list(ctx context.Context, st *store.Store, f viewFilter) ([]byte, error) {
	key := fmt.Sprint(f.Resources, f.Nodes, f.StoragePools, f.Names, f.Props, f.Offset, f.Limit)
	gen, err := st.Generation(ctx)
	if err != nil {
		return nil, err
	}
	if body, ok := v.answers.get(key, gen); ok {
		return body, nil
	}
	// Generations are read before the data, so a piece is never labelled
	// newer than what it holds; a write in between only costs a rebuild.
	gens, err := st.DefinitionGenerations(ctx)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.refresh(ctx, st, gens); err != nil {
		return nil, err
	}
	body := v.join(gens, f)
	v.answers.put(key, gen, body)
	return body, nil
}

// refresh rebuilds the pieces of the definitions whose generation moved
// and forgets those of deleted definitions.
func (v *definitionView) refresh(ctx context.Context, st *store.Store, gens []store.DefinitionGeneration) error {
	if v.byRD == nil {
		v.byRD = map[string]rdPiece{}
	}
	live := make(map[string]int64, len(gens))
	var stale []string
	for _, g := range gens {
		live[g.ResourceName] = g.ViewGeneration
		if p, ok := v.byRD[g.ResourceName]; !ok || p.gen != g.ViewGeneration {
			stale = append(stale, g.ResourceName)
		}
	}
	for name := range v.byRD {
		if _, ok := live[name]; !ok {
			delete(v.byRD, name)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	var named []string
	if len(stale) <= maxNamedRebuild {
		named = stale
	}
	fresh, err := v.build(ctx, st, named)
	if err != nil {
		return err
	}
	for _, name := range stale {
		v.byRD[name] = rdPiece{gen: live[name], pieces: fresh[name]}
	}
	return nil
}

// join writes the JSON array of the pieces that pass the filter, in the
// order of definition and of their building, with offset and limit
// applied.
func (v *definitionView) join(gens []store.DefinitionGeneration, f viewFilter) []byte {
	rds, nodes, pools, names := keySet(f.Resources), keySet(f.Nodes), keySet(f.StoragePools), keySet(f.Names)
	in := func(set map[string]bool, keys []string) bool {
		return set == nil || slices.ContainsFunc(keys, func(k string) bool { return set[k] })
	}
	buf := []byte{'['}
	skip, n := f.Offset, 0
	for _, g := range gens {
		if rds != nil && !rds[g.ResourceName] {
			continue
		}
		for _, p := range v.byRD[g.ResourceName].pieces {
			if !in(nodes, p.nodes) || !in(pools, p.pools) || (names != nil && !names[p.name]) || !matchProps(p.props, f.Props) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if f.Limit > 0 && n == f.Limit {
				return append(buf, ']')
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, p.json...)
			n++
		}
	}
	return append(buf, ']')
}

// resourcePieces are the resources of the definitions named, serialised.
func resourcePieces(ctx context.Context, st *store.Store, rds []string) (map[string][]piece, error) {
	rscs, err := st.ListResources(ctx, store.ResourceFilter{Resources: rds})
	if err != nil {
		return nil, err
	}
	out := map[string][]piece{}
	for _, r := range rscs {
		b, err := json.Marshal(resourceJSON(r))
		if err != nil {
			return nil, err
		}
		p := piece{nodes: []string{r.NodeName}, props: r.Props, json: b}
		for _, vlm := range r.Volumes {
			p.pools = append(p.pools, vlm.StorPoolName)
		}
		out[r.ResourceName] = append(out[r.ResourceName], p)
	}
	return out, nil
}

// snapshotPieces are the snapshots of the definitions named, serialised.
func snapshotPieces(ctx context.Context, st *store.Store, rds []string) (map[string][]piece, error) {
	snaps, err := st.ListSnapshots(ctx, store.SnapshotFilter{Resources: rds})
	if err != nil {
		return nil, err
	}
	out := map[string][]piece{}
	for _, sn := range snaps {
		b, err := json.Marshal(snapshotJSON(sn))
		if err != nil {
			return nil, err
		}
		p := piece{name: sn.SnapshotName, props: sn.Props, json: b}
		for _, n := range sn.Nodes {
			p.nodes = append(p.nodes, n.NodeName)
			for _, v := range n.Volumes {
				p.pools = append(p.pools, v.StorPoolName)
			}
		}
		out[sn.ResourceName] = append(out[sn.ResourceName], p)
	}
	return out, nil
}

// keySet is the set of the names' keys; nil for no names (no filter).
func keySet(names []string) map[string]bool {
	if len(names) == 0 {
		return nil
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[store.Key(n)] = true
	}
	return set
}
