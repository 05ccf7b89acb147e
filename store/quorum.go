package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gorm.io/gorm"
)

// Properties of the DRBD automatisms (guide 2.15.3).
const (
	KeyAutoQuorum       = "DrbdOptions/auto-quorum"
	KeyAutoTiebreaker   = "DrbdOptions/auto-add-quorum-tiebreaker"
	KeyQuorum           = "DrbdOptions/Resource/quorum"
	KeyOnNoQuorum       = "DrbdOptions/Resource/on-no-quorum"
	FlagTieBreaker      = "TIE_BREAKER"
	defaultQuorumPolicy = "io-error"
)

// ReconcileQuorum applies auto-quorum to a resource definition after its
// resources changed: with three diskful replicas, or two and a diskless
// one, quorum is majority and on-no-quorum the policy (io-error unless
// DrbdOptions/auto-quorum says suspend-io); with fewer, both properties
// are removed. Two diskful replicas alone get a diskless tie-breaker on a
// third node (unless DrbdOptions/auto-add-quorum-tiebreaker is false), and
// a tie-breaker no longer needed goes. DrbdOptions/auto-quorum=disabled
// leaves everything to the user. Definitions whose layer stack has no
// DRBD are left alone, as are those with the default stack where DRBD is
// not served (drbd false: they are storage only). It returns what it
// changed, in the guide's words.
func (s *Store) ReconcileQuorum(ctx context.Context, rd string, drbd bool) (messages []string, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		if stack := def.LayerStack.List(); len(stack) > 0 && stack[0] != "DRBD" || len(stack) == 0 && !drbd {
			return nil
		}
		settings, err := quorumSettings(tx, def)
		if err != nil {
			return err
		}
		if settings[KeyAutoQuorum] == "disabled" {
			return nil
		}
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", def.ResourceName).Order("node_name").Find(&rscs).Error; err != nil {
			return err
		}
		diskful, diskless := 0, 0
		var tiebreakers []ResourceRow
		held := map[string]bool{}
		for _, r := range rscs {
			held[r.NodeName] = true
			switch {
			case r.Flags.Has(FlagDelete):
			case r.Flags.Has(FlagTieBreaker):
				tiebreakers = append(tiebreakers, r)
			case Diskless(r.Flags):
				diskless++
			default:
				diskful++
			}
		}
		wantTB := diskful == 2 && diskless == 0 && !strings.EqualFold(settings[KeyAutoTiebreaker], "false")
		switch {
		case wantTB && len(tiebreakers) == 0:
			node, err := tiebreakerNode(tx, held)
			if err != nil {
				return err
			}
			if node != "" {
				var vds []VolumeDefinitionRow
				if err := tx.Where("resource_name = ?", def.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
					return err
				}
				if _, err := createResource(tx, def, ResourceSpec{Node: node, Flags: NewFlags("DRBD_DISKLESS", FlagTieBreaker)}, vds); err != nil {
					return err
				}
				messages = append(messages, fmt.Sprintf("Tie breaker resource '%s' created on %s", def.ResourceDspName, node))
				tiebreakers = append(tiebreakers, ResourceRow{})
			}
		case !wantTB:
			for _, tb := range tiebreakers {
				if _, err := markDeleting(tx, tb); err != nil {
					return err
				}
				n, err := takeNode(tx, tb.NodeName)
				if err != nil {
					return err
				}
				messages = append(messages, fmt.Sprintf("Tie breaker resource '%s' on %s removed as it is no longer needed", def.ResourceDspName, n.NodeDspName))
			}
			tiebreakers = nil
		}
		props, err := readProps(tx, ResourceDefinitionInstance(def.ResourceName))
		if err != nil {
			return err
		}
		policy := settings[KeyAutoQuorum]
		if policy == "" {
			policy = defaultQuorumPolicy
		}
		instance := ResourceDefinitionInstance(def.ResourceName)
		if diskful >= 3 || diskful >= 2 && diskless+len(tiebreakers) >= 1 {
			for _, kv := range [][2]string{{KeyQuorum, "majority"}, {KeyOnNoQuorum, policy}} {
				if props[kv[0]] != kv[1] {
					if err := setProps(tx, instance, map[string]string{kv[0]: kv[1]}); err != nil {
						return err
					}
					messages = append(messages, fmt.Sprintf("Resource-definition property '%s' set to '%s' by auto-quorum", kv[0], kv[1]))
				}
			}
		} else {
			for _, k := range []string{KeyQuorum, KeyOnNoQuorum} {
				if _, ok := props[k]; ok {
					if err := applyProps(tx, instance, PropsModify{DeleteProps: []string{k}}); err != nil {
						return err
					}
					messages = append(messages, fmt.Sprintf("Resource-definition property '%s' was removed as there are not enough resources for quorum", k))
				}
			}
		}
		if len(messages) == 0 {
			return nil // nothing changed: the definition's kept view stays valid
		}
		return touchDefinition(tx, def.ResourceName)
	})
	return messages, err
}

// quorumSettings are the auto-quorum properties that apply to a
// definition: its own, else its group's, else the controller's.
func quorumSettings(tx *gorm.DB, def ResourceDefinitionRow) (map[string]string, error) {
	out := map[string]string{}
	for _, inst := range []string{CtrlPropsInstance, ResourceGroupInstance(def.ResourceGroupName), ResourceDefinitionInstance(def.ResourceName)} {
		props, err := readProps(tx, inst)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{KeyAutoQuorum, KeyAutoTiebreaker} {
			if v, ok := props[k]; ok {
				out[k] = v
			}
		}
	}
	return out, nil
}

// tiebreakerNode is the first node, by name, that does not hold the
// resource, may be autoplaced on and has a diskless pool; "" if none.
func tiebreakerNode(tx *gorm.DB, held map[string]bool) (string, error) {
	var pools []StoragePoolRow
	if err := tx.Where("driver_name = ?", ProviderDiskless).Find(&pools).Error; err != nil {
		return "", err
	}
	var names []string
	for _, p := range pools {
		if held[p.NodeName] {
			continue
		}
		props, err := readProps(tx, NodeInstance(p.NodeName))
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(props["AutoplaceTarget"], "false") {
			names = append(names, p.NodeName)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	sort.Strings(names)
	n, err := takeNode(tx, names[0])
	return n.NodeDspName, err
}
