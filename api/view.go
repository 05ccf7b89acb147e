package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"strata/store"
)

// resourceView serves GET /v1/view/resources, the list every `resource
// list` and every CSI poll reads, without rebuilding it from the database
// each time. It keeps each resource definition's resources serialised,
// with the view generation they were built at (the store stamps a
// definition with the write that last changed what the view shows of it).
// A list reads the generations of all definitions, rebuilds only those
// that changed and joins the pieces that pass its filters; while the
// database's write generation stays the same, the joined answer itself is
// reused.
type resourceView struct {
	mu      sync.Mutex
	byRD    map[string]rdPiece // by definition key
	answers viewCache
}

type rdPiece struct {
	gen  int64
	rscs []rscPiece // by node
}

// rscPiece is one resource's JSON with what the filters look at.
type rscPiece struct {
	node  string   // key
	pools []string // keys of its volumes' pools
	props map[string]string
	json  []byte
}

// maxNamedRebuild is how many changed definitions are read by name; past
// it, every resource is read in one pass.
const maxNamedRebuild = 500

// viewFilter is what GET /v1/view/resources selects by.
type viewFilter struct {
	store.ResourceFilter
	ListParams
}

func (v *resourceView) list(ctx context.Context, st *store.Store, f viewFilter) ([]byte, error) {
	key := fmt.Sprint(f.Resources, f.Nodes, f.StoragePools, f.Props, f.Offset, f.Limit)
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
func (v *resourceView) refresh(ctx context.Context, st *store.Store, gens []store.DefinitionGeneration) error {
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
	var f store.ResourceFilter
	if len(stale) <= maxNamedRebuild {
		f.Resources = stale
	}
	rscs, err := st.ListResources(ctx, f)
	if err != nil {
		return err
	}
	fresh := make(map[string][]rscPiece, len(stale))
	isStale := make(map[string]bool, len(stale))
	for _, name := range stale {
		isStale[name] = true
	}
	for _, r := range rscs {
		if !isStale[r.ResourceName] {
			continue
		}
		b, err := json.Marshal(resourceJSON(r))
		if err != nil {
			return err
		}
		p := rscPiece{node: r.NodeName, props: r.Props, json: b}
		for _, vlm := range r.Volumes {
			p.pools = append(p.pools, vlm.StorPoolName)
		}
		fresh[r.ResourceName] = append(fresh[r.ResourceName], p)
	}
	for _, name := range stale {
		v.byRD[name] = rdPiece{gen: live[name], rscs: fresh[name]}
	}
	return nil
}

// join writes the JSON array of the resources that pass the filter, in
// the order of definition and node, with offset and limit applied.
func (v *resourceView) join(gens []store.DefinitionGeneration, f viewFilter) []byte {
	rds, nodes, pools := keySet(f.Resources), keySet(f.Nodes), keySet(f.StoragePools)
	buf := []byte{'['}
	skip, n := f.Offset, 0
	for _, g := range gens {
		if rds != nil && !rds[g.ResourceName] {
			continue
		}
		for _, p := range v.byRD[g.ResourceName].rscs {
			if (nodes != nil && !nodes[p.node]) || (pools != nil && !slices.ContainsFunc(p.pools, func(k string) bool { return pools[k] })) ||
				!matchProps(p.props, f.Props) {
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
