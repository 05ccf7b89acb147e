package store

import (
	"strings"
)

// Rows of the object model (migration 2). Key columns hold upper-cased
// names because LINSTOR compares names case-insensitively; the *DspName
// columns keep the name as the user typed it.

type NodeRow struct {
	NodeName    string `gorm:"primaryKey"`
	NodeDspName string
	UUID        string `gorm:"column:uuid"`
	NodeType    string
	Flags       Flags
	// ServedLayers are the layers the node's agent last said it serves;
	// nil until it first answered.
	ServedLayers *Flags
	// EvictionTimestamp is when the node, offline, is to be evicted
	// (ms since the epoch); nil while no auto-evict timer runs.
	EvictionTimestamp *int64
}

func (NodeRow) TableName() string { return "nodes" }

// Serves tells whether the node's agent serves layer. A node whose agent
// has not answered yet is taken to serve LINSTOR's default stack, DRBD
// over storage: it holds no data yet that a wrong guess could harm, and
// its agent refuses what it cannot build.
func (n NodeRow) Serves(layer string) bool {
	if n.ServedLayers == nil {
		return layer == "DRBD" || layer == "STORAGE"
	}
	return n.ServedLayers.Has(layer)
}

type NetInterfaceRow struct {
	NodeName         string `gorm:"primaryKey"`
	NodeNetName      string `gorm:"primaryKey"`
	NodeNetDspName   string
	UUID             string `gorm:"column:uuid"`
	InetAddress      string
	StltConnPort     *int32
	StltConnEncrType *string
}

func (NetInterfaceRow) TableName() string { return "node_net_interfaces" }

type NodeConnectionRow struct {
	NodeNameSrc string `gorm:"primaryKey"`
	NodeNameDst string `gorm:"primaryKey"`
	UUID        string `gorm:"column:uuid"`
}

func (NodeConnectionRow) TableName() string { return "node_connections" }

type StorPoolDefinitionRow struct {
	PoolName    string `gorm:"primaryKey"`
	PoolDspName string
	UUID        string `gorm:"column:uuid"`
}

func (StorPoolDefinitionRow) TableName() string { return "stor_pool_definitions" }

type StoragePoolRow struct {
	NodeName         string `gorm:"primaryKey"`
	PoolName         string `gorm:"primaryKey"`
	UUID             string `gorm:"column:uuid"`
	DriverName       string
	FreeSpaceMgrName string
	ExternalLocking  bool
	// Capacities in KiB as the node's agent last reported them; nil
	// until it has.
	FreeCapacity  *int64
	TotalCapacity *int64
	// StateError is why the agent cannot use the pool, with the id of its
	// error report.
	StateError  string
	StateReport string
	// SupportsSnapshots is what the agent probed; nil until it reported.
	SupportsSnapshots *bool
}

func (StoragePoolRow) TableName() string { return "storage_pools" }

type ResourceGroupRow struct {
	ResourceGroupName    string `gorm:"primaryKey"`
	ResourceGroupDspName string
	UUID                 string `gorm:"column:uuid"`
	Description          string
	SelectFilter         SelectFilter `gorm:"serializer:json"`
	PeerSlots            *int32
}

func (ResourceGroupRow) TableName() string { return "resource_groups" }

type VolumeGroupRow struct {
	ResourceGroupName string `gorm:"primaryKey"`
	VlmNr             int32  `gorm:"primaryKey;autoIncrement:false"`
	UUID              string `gorm:"column:uuid"`
	Flags             Flags
}

func (VolumeGroupRow) TableName() string { return "volume_groups" }

type ResourceDefinitionRow struct {
	ResourceName         string `gorm:"primaryKey"`
	ResourceDspName      string
	UUID                 string  `gorm:"column:uuid"`
	ResourceExternalName *string // unique when set
	ResourceGroupName    string
	Flags                Flags
	LayerStack           Flags
	DrbdPort             *int32
	DrbdSecret           string
	DrbdPeerSlots        int32
	DrbdTransportType    string
	CreateTimestamp      int64 // ms since the epoch
	// ViewGeneration is the write generation that last changed what the
	// resource view shows of the definition's resources (touchDefinition).
	ViewGeneration int64
}

func (ResourceDefinitionRow) TableName() string { return "resource_definitions" }

type VolumeDefinitionRow struct {
	ResourceName string `gorm:"primaryKey"`
	VlmNr        int32  `gorm:"primaryKey;autoIncrement:false"`
	UUID         string `gorm:"column:uuid"`
	VlmSize      int64  // KiB
	Flags        Flags
	DrbdMinor    *int32
}

func (VolumeDefinitionRow) TableName() string { return "volume_definitions" }

type ResourceRow struct {
	ResourceName    string `gorm:"primaryKey"`
	NodeName        string `gorm:"primaryKey"`
	UUID            string `gorm:"column:uuid"`
	Flags           Flags
	DrbdNodeID      int32 `gorm:"column:drbd_node_id"`
	CreateTimestamp int64 // ms since the epoch
	// InUseSince is when its agent first reported it in use, of the
	// reports that say so since (ms since the epoch; nil: not in use).
	InUseSince *int64
	ResourceActual
}

// ResourceActual is a resource's state as its node's agent last reported
// it: whether it is in use (nil: not reported), and for DRBD its role,
// promotion score and connections.
type ResourceActual struct {
	InUse           *bool
	DrbdRole        string
	PromotionScore  int32
	MayPromote      bool
	DrbdConnections map[string]string `gorm:"serializer:json"` // peer node → Connected, Connecting, ...
}

// Used tells whether the agent last reported the resource in use.
func (a ResourceActual) Used() bool { return a.InUse != nil && *a.InUse }

func (ResourceRow) TableName() string { return "resources" }

type VolumeRow struct {
	ResourceName string `gorm:"primaryKey"`
	NodeName     string `gorm:"primaryKey"`
	VlmNr        int32  `gorm:"primaryKey;autoIncrement:false"`
	UUID         string `gorm:"column:uuid"`
	StorPoolName string
	Flags        Flags
	// FileSystem is the file system the agent reported it made on the
	// volume (FileSystem/Type); "" until then.
	FileSystem string
	VolumeActual
}

// VolumeActual is a volume as its node's agent last reported it.
type VolumeActual struct {
	DevicePath    string
	BackingDevice string
	TopLayer      string // DRBD, or empty for STORAGE
	AllocatedKib  *int64
	UsableKib     *int64
	DiskState     string
	StateError    string
	StateReport   string // id of the error report of StateError
	// ReplicationStates is how a DRBD volume replicates to each peer node.
	ReplicationStates map[string]ReplicationState `gorm:"serializer:json"`
}

// ReplicationState is how a DRBD volume replicates to one peer
// (SyncTarget, Established, ...) and, during a sync, how much is done
// (percent; nil otherwise).
type ReplicationState struct {
	State string   `json:"state"`
	Done  *float64 `json:"done,omitempty"`
}

func (VolumeRow) TableName() string { return "volumes" }

type ResourceConnectionRow struct {
	ResourceName string `gorm:"primaryKey"`
	NodeNameSrc  string `gorm:"primaryKey"`
	NodeNameDst  string `gorm:"primaryKey"`
	UUID         string `gorm:"column:uuid"`
	Flags        Flags
	TCPPort      *int32 `gorm:"column:tcp_port"`
}

func (ResourceConnectionRow) TableName() string { return "resource_connections" }

// SelectFilter is a resource group's auto-select filter, LINSTOR's
// AutoSelectFilter object, kept as JSON.
type SelectFilter struct {
	PlaceCount              int32            `json:"place_count,omitempty"`
	AdditionalPlaceCount    int32            `json:"additional_place_count,omitempty"`
	NodeNameList            []string         `json:"node_name_list,omitempty"`
	StoragePool             string           `json:"storage_pool,omitempty"`
	StoragePoolList         []string         `json:"storage_pool_list,omitempty"`
	StoragePoolDisklessList []string         `json:"storage_pool_diskless_list,omitempty"`
	NotPlaceWithRsc         []string         `json:"not_place_with_rsc,omitempty"`
	NotPlaceWithRscRegex    string           `json:"not_place_with_rsc_regex,omitempty"`
	ReplicasOnSame          []string         `json:"replicas_on_same,omitempty"`
	ReplicasOnDifferent     []string         `json:"replicas_on_different,omitempty"`
	XReplicasOnDifferentMap map[string]int32 `json:"x_replicas_on_different_map,omitempty"`
	LayerStack              []string         `json:"layer_stack,omitempty"`
	ProviderList            []string         `json:"provider_list,omitempty"`
	DisklessOnRemaining     *bool            `json:"diskless_on_remaining,omitempty"`
	DisklessType            string           `json:"diskless_type,omitempty"`
}

// Flags is a set of LINSTOR flag names (or a layer stack), stored as one
// comma-separated column.
type Flags string

// NewFlags joins names into a Flags value, keeping their order.
func NewFlags(names ...string) Flags { return Flags(strings.Join(names, ",")) }

// List returns the names; nil when there are none.
func (f Flags) List() []string {
	if f == "" {
		return nil
	}
	return strings.Split(string(f), ",")
}

// Has reports whether name is set.
func (f Flags) Has(name string) bool {
	for _, n := range f.List() {
		if n == name {
			return true
		}
	}
	return false
}

// With returns the set with name added (once).
func (f Flags) With(name string) Flags {
	if f.Has(name) {
		return f
	}
	return NewFlags(append(f.List(), name)...)
}

// Without returns the set with name removed.
func (f Flags) Without(name string) Flags {
	var keep []string
	for _, n := range f.List() {
		if n != name {
			keep = append(keep, n)
		}
	}
	return NewFlags(keep...)
}

// Key is the form of a name that the database keys on.
func Key(name string) string { return strings.ToUpper(name) }
