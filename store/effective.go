package store

import (
	"context"
	"sort"
)

// A PropsLevel is one object in a chain of property inheritance.
type PropsLevel struct {
	Type  string // the object, as LINSTOR names it: "Resource", "ResourceDefinition", ...
	Props map[string]string
}

// EffectiveProp is the value of a key that applies, where it is set, and
// the values it overrides further down the chain.
type EffectiveProp struct {
	Type, Value string
	Overridden  []PropsLevelValue
}

// PropsLevelValue is a value set on one level.
type PropsLevelValue struct{ Type, Value string }

// Effective resolves a chain ordered from the closest object to the most
// general: the closest value wins, as the guide's rule says ("the value
// closer to the resource or volume wins").
func Effective(chain []PropsLevel) map[string]EffectiveProp {
	out := map[string]EffectiveProp{}
	for _, lvl := range chain {
		keys := make([]string, 0, len(lvl.Props))
		for k := range lvl.Props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := lvl.Props[k]
			if e, ok := out[k]; ok {
				e.Overridden = append(e.Overridden, PropsLevelValue{lvl.Type, v})
				out[k] = e
				continue
			}
			out[k] = EffectiveProp{Type: lvl.Type, Value: v}
		}
	}
	return out
}

// ResourcePropsChain returns the inheritance chain of a resource:
// resource, resource definition, resource group, controller.
func (s *Store) ResourcePropsChain(ctx context.Context, rd, node string) ([]PropsLevel, error) {
	db := s.DB.WithContext(ctx)
	r, err := takeResourceDefinition(db, rd)
	if err != nil {
		return nil, err
	}
	if _, err := takeResource(db, rd, node); err != nil {
		return nil, err
	}
	var chain []PropsLevel
	for _, lvl := range []struct{ typ, inst string }{
		{"Resource", ResourceInstance(rd, node)},
		{"ResourceDefinition", ResourceDefinitionInstance(rd)},
		{"ResourceGroup", ResourceGroupInstance(r.ResourceGroupName)},
		{"Controller", CtrlPropsInstance},
	} {
		props, err := readProps(db, lvl.inst)
		if err != nil {
			return nil, err
		}
		chain = append(chain, PropsLevel{lvl.typ, props})
	}
	return chain, nil
}

// Inherited is the value of key on the closest level of chain (ordered
// from the closest object to the most general) that sets it, as
// Effective resolves it; "" when none does.
func Inherited(key string, chain ...map[string]string) string {
	for _, props := range chain {
		if v, ok := props[key]; ok {
			return v
		}
	}
	return ""
}
