package store

import (
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
)

// The guide's rule: the value closer to the resource or volume wins.
func TestEffectivePrecedence(t *testing.T) {
	ctrl := PropsLevel{"Controller", map[string]string{"k": "ctrl", "only-ctrl": "c"}}
	rg := PropsLevel{"ResourceGroup", map[string]string{"k": "rg"}}
	rd := PropsLevel{"ResourceDefinition", map[string]string{"k": "rd", "verify-alg": "sha256"}}
	rsc := PropsLevel{"Resource", map[string]string{"k": "rsc"}}
	vg := PropsLevel{"VolumeGroup", map[string]string{"k": "vg"}}
	vd := PropsLevel{"VolumeDefinition", map[string]string{"k": "vd"}}
	tests := []struct {
		name      string
		chain     []PropsLevel
		key       string
		value     string
		from      string
		overrides []PropsLevelValue
	}{
		{"controller alone", []PropsLevel{ctrl}, "k", "ctrl", "Controller", nil},
		{"group over controller", []PropsLevel{rg, ctrl}, "k", "rg", "ResourceGroup", []PropsLevelValue{{"Controller", "ctrl"}}},
		{"definition over group", []PropsLevel{rd, rg, ctrl}, "k", "rd", "ResourceDefinition", []PropsLevelValue{{"ResourceGroup", "rg"}, {"Controller", "ctrl"}}},
		{"resource over all", []PropsLevel{rsc, rd, rg, ctrl}, "k", "rsc", "Resource", []PropsLevelValue{{"ResourceDefinition", "rd"}, {"ResourceGroup", "rg"}, {"Controller", "ctrl"}}},
		{"volume definition over volume group", []PropsLevel{vd, vg}, "k", "vd", "VolumeDefinition", []PropsLevelValue{{"VolumeGroup", "vg"}}},
		{"inherited when not set closer", []PropsLevel{rsc, rd, rg, ctrl}, "only-ctrl", "c", "Controller", nil},
		{"the guide's verify-alg on the definition", []PropsLevel{rsc, rd, rg, ctrl}, "verify-alg", "sha256", "ResourceDefinition", nil},
		{"empty levels are skipped", []PropsLevel{{"Resource", nil}, rg}, "k", "rg", "ResourceGroup", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Effective(tt.chain)[tt.key]
			require.Equal(t, EffectiveProp{Type: tt.from, Value: tt.value, Overridden: tt.overrides}, got)
		})
	}
	require.NotContains(t, Effective([]PropsLevel{rg}), "only-ctrl")
}

func TestCheckProp(t *testing.T) {
	tests := []struct {
		kind       Kind
		key, value string
		ok         bool
	}{
		{KindNode, "Aux/anything/at/all", "x", true},
		{KindResourceDefinition, "DrbdOptions/Net/protocol", "C", true},
		{KindResourceDefinition, "DrbdOptions/Net/protocol", "", false},
		{KindStorPoolDefinition, "DrbdOptions/Disk/al-extents", "6007", false},
		{KindResourceGroup, "DrbdOptions/Resource/quorum", "majority", true},
		{KindNodeConnection, "DrbdOptions/Net/max-buffers", "8192", true},
		{KindResourceConnection, "Paths/path1/alpha", "data", true},
		{KindResourceConnection, "StorPoolName", "pool1", false},
		{KindNode, "NoSuchKey", "1", false},
		{KindNode, "", "1", false},
		{KindNode, "Aux//x", "1", false},
		{KindController, "TcpPortAutoRange", "7000-7999", true},
		{KindController, "TcpPortAutoRange", "7000", false},
		{KindController, "AutoplaceTarget", "False", true},
		{KindNode, "AutoplaceTarget", "maybe", false},
		{KindController, "Autoplacer/Weights/MaxFreeSpace", "1.5", true},
		{KindController, "MaxOversubscriptionRatio", "20", true},
		{KindController, "MaxOversubscriptionRatio", "1001", false},
		{KindResourceDefinition, "PeerSlotsNewResource", "31", true},
		{KindResourceDefinition, "PeerSlotsNewResource", "32", false},
		{KindVolumeDefinition, "FileSystem/Type", "xfs", true},
		{KindVolumeDefinition, "FileSystem/Type", "btrfs", false},
		{KindResourceGroup, "FileSystem/Type", "ext4", true},
		{KindVolumeGroup, "StorPoolName", "pool_ssd", true},
		{KindVolumeDefinition, "StorPoolName", "p", false},
		{KindNode, "PeerSlotsNewResource", "3", false},
		{KindController, "Autoplacer/MinThinFreeSpace", "50GB", true},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			err := CheckProp(tt.kind, tt.key, tt.value)
			if tt.ok {
				require.Nil(t, err)
			} else {
				require.NotNil(t, err)
				require.Equal(t, apicall.FailInvldProp, err.Code)
			}
		})
	}
}
