package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"strata/placement"
)

// Properties of the DRBD automatisms (guide 2.15.3).
const (
	KeyAutoQuorum     = "DrbdOptions/auto-quorum"
	KeyAutoTiebreaker = "DrbdOptions/auto-add-quorum-tiebreaker"
	FlagTieBreaker    = "TIE_BREAKER"
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
		var rscs []ResourceRow
		if err := tx.Where("resource_name = ?", def.ResourceName).Order("node_name").Find(&rscs).Error; err != nil {
			return err
		}
		replicas := placement.Replicas{Policy: settings[KeyAutoQuorum], NoTieBreaker: strings.EqualFold(settings[KeyAutoTiebreaker], "false")}
		tiebreakers := map[string]ResourceRow{}
		for _, r := range rscs {
			switch {
			case r.Flags.Has(FlagDelete):
			case r.Flags.Has(FlagTieBreaker):
				tiebreakers[r.NodeName] = r
				replicas.TieBreakers = append(replicas.TieBreakers, r.NodeName)
			case Diskless(r.Flags):
				replicas.Diskless++
			default:
				replicas.Diskful++
			}
		}
		if replicas.Props, err = readProps(tx, ResourceDefinitionInstance(def.ResourceName)); err != nil {
			return err
		}
		// Where a tie-breaker would go is asked only when one is wanted.
		var tbNode, tbPool string
		if change := placement.AutoQuorum(replicas, true); change.AddTieBreaker {
			view, err := s.PlacementView(ctx)
			if err != nil {
				return err
			}
			tbNode, tbPool = placement.TieBreaker(view.Cluster, view.Holders(def.ResourceName).All, view.Weights)
		}
		change := placement.AutoQuorum(replicas, tbNode != "")
		if change.AddTieBreaker {
			var vds []VolumeDefinitionRow
			if err := tx.Where("resource_name = ?", def.ResourceName).Order("vlm_nr").Find(&vds).Error; err != nil {
				return err
			}
			spec := ResourceSpec{Node: tbNode, Props: map[string]string{KeyStorPoolName: tbPool}, Flags: NewFlags("DRBD_DISKLESS", FlagTieBreaker)}
			if _, err := createResource(tx, def, spec, vds); err != nil {
				return err
			}
			messages = append(messages, fmt.Sprintf("Tie breaker resource '%s' created on %s", def.ResourceDspName, tbNode))
		}
		for _, key := range change.RemoveTieBreakers {
			tb := tiebreakers[key]
			if _, err := markDeleting(tx, tb); err != nil {
				return err
			}
			n, err := takeNode(tx, tb.NodeName)
			if err != nil {
				return err
			}
			messages = append(messages, fmt.Sprintf("Tie breaker resource '%s' on %s removed as it is no longer needed", def.ResourceDspName, n.NodeDspName))
		}
		instance := ResourceDefinitionInstance(def.ResourceName)
		for _, k := range []string{placement.KeyQuorum, placement.KeyOnNoQuorum} {
			if v, ok := change.Set[k]; ok {
				if err := setProps(tx, instance, map[string]string{k: v}); err != nil {
					return err
				}
				messages = append(messages, fmt.Sprintf("Resource-definition property '%s' set to '%s' by auto-quorum", k, v))
			}
		}
		for _, k := range change.Delete {
			if err := applyProps(tx, instance, PropsModify{DeleteProps: []string{k}}); err != nil {
				return err
			}
			messages = append(messages, fmt.Sprintf("Resource-definition property '%s' was removed as there are not enough resources for quorum", k))
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
	var chain []map[string]string
	for _, inst := range []string{ResourceDefinitionInstance(def.ResourceName), ResourceGroupInstance(def.ResourceGroupName), CtrlPropsInstance} {
		props, err := readProps(tx, inst)
		if err != nil {
			return nil, err
		}
		chain = append(chain, props)
	}
	return map[string]string{KeyAutoQuorum: Inherited(KeyAutoQuorum, chain...), KeyAutoTiebreaker: Inherited(KeyAutoTiebreaker, chain...)}, nil
}
