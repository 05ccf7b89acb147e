// Package restapi holds the objects of LINSTOR's REST API v1 as they go
// over the wire, field for field: what the controller's API answers and
// takes, and what the strata client reads. It links neither the
// controller nor Temporal.
package restapi

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
)

// LINSTOR's JSON objects, field for field (linstor-rest-v1-openapi.yaml).
// Empty values are omitted, as LINSTOR's serialisation does.

// PropsModify is LINSTOR's generic change of properties, embedded in
// every modify request.
type PropsModify struct {
	OverrideProps    map[string]string `json:"override_props,omitempty"`
	DeleteProps      []string          `json:"delete_props,omitempty"`
	DeleteNamespaces []string          `json:"delete_namespaces,omitempty"`
}

type NetInterface struct {
	Name                    string `json:"name"`
	Address                 string `json:"address"`
	SatellitePort           *int32 `json:"satellite_port,omitempty"`
	SatelliteEncryptionType string `json:"satellite_encryption_type,omitempty"`
	IsActive                bool   `json:"is_active,omitempty"`
	UUID                    string `json:"uuid,omitempty"`
}

// NetInterfaceModify changes a net interface: what it leaves out stays
// (linstor node interface modify --active sends no address).
type NetInterfaceModify struct {
	Name                    string `json:"name,omitempty"`
	Address                 string `json:"address,omitempty"`
	SatellitePort           *int32 `json:"satellite_port,omitempty"`
	SatelliteEncryptionType string `json:"satellite_encryption_type,omitempty"`
	IsActive                bool   `json:"is_active,omitempty"`
}

type Node struct {
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	Flags            []string          `json:"flags,omitempty"`
	Props            map[string]string `json:"props,omitempty"`
	NetInterfaces    []NetInterface    `json:"net_interfaces,omitempty"`
	ConnectionStatus string            `json:"connection_status,omitempty"`
	UUID             string            `json:"uuid,omitempty"`
	// What the node's agent serves, and why not the rest (node info).
	StorageProviders     []string            `json:"storage_providers,omitempty"`
	ResourceLayers       []string            `json:"resource_layers,omitempty"`
	UnsupportedProviders map[string][]string `json:"unsupported_providers,omitempty"`
	UnsupportedLayers    map[string][]string `json:"unsupported_layers,omitempty"`
	// EvictionTimestamp is when the offline node is to be evicted (ms
	// since the epoch), while its auto-evict timer runs.
	EvictionTimestamp *int64 `json:"eviction_timestamp,omitempty"`
}

type NodeModify struct {
	NodeType string `json:"node_type,omitempty"`
	PropsModify
}

type NodeRestore struct {
	DeleteResources *bool `json:"delete_resources,omitempty"`
	DeleteSnapshots *bool `json:"delete_snapshots,omitempty"`
}

type StoragePoolDefinition struct {
	StoragePoolName string            `json:"storage_pool_name,omitempty"`
	Props           map[string]string `json:"props,omitempty"`
}

type StoragePool struct {
	StoragePoolName   string              `json:"storage_pool_name"`
	NodeName          string              `json:"node_name,omitempty"`
	ProviderKind      string              `json:"provider_kind"`
	Props             map[string]string   `json:"props,omitempty"`
	StaticTraits      map[string]string   `json:"static_traits,omitempty"`
	FreeCapacity      *int64              `json:"free_capacity,omitempty"`
	TotalCapacity     *int64              `json:"total_capacity,omitempty"`
	FreeSpaceMgrName  string              `json:"free_space_mgr_name,omitempty"`
	UUID              string              `json:"uuid,omitempty"`
	Reports           []apicall.ApiCallRc `json:"reports,omitempty"`
	SupportsSnapshots bool                `json:"supports_snapshots" required:"false"`
	SharedSpace       string              `json:"shared_space,omitempty"`
	ExternalLocking   bool                `json:"external_locking" required:"false"`
}

// FlexInt is a number that LINSTOR's clients also send as a string
// ("place_count": "2").
type FlexInt int32

func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return err
	}
	*n = FlexInt(v)
	return nil
}

// Schema admits both forms in requests and documents an integer.
func (FlexInt) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{OneOf: []*huma.Schema{{Type: huma.TypeInteger, Format: "int32"}, {Type: huma.TypeString, Pattern: `^-?[0-9]+$`}}}
}

func (n FlexInt) MarshalJSON() ([]byte, error) { return json.Marshal(int32(n)) }

// AutoSelectFilter is LINSTOR's filter of the autoplacer. It has the JSON
// fields of the store's filter (the API converts between them) and also
// takes place counts as strings.
type AutoSelectFilter struct {
	PlaceCount              FlexInt          `json:"place_count,omitempty"`
	AdditionalPlaceCount    FlexInt          `json:"additional_place_count,omitempty"`
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

type ResourceGroup struct {
	Name         string            `json:"name,omitempty"`
	Description  string            `json:"description,omitempty"`
	Props        map[string]string `json:"props,omitempty"`
	SelectFilter *AutoSelectFilter `json:"select_filter,omitempty"`
	UUID         string            `json:"uuid,omitempty"`
	PeerSlots    *int32            `json:"peer_slots,omitempty"`
}

type ResourceGroupModify struct {
	Description  *string           `json:"description,omitempty"`
	SelectFilter *AutoSelectFilter `json:"select_filter,omitempty"`
	PeerSlots    *int32            `json:"peer_slots,omitempty"`
	PropsModify
}

type VolumeGroup struct {
	VolumeNumber *int32            `json:"volume_number,omitempty"`
	Props        map[string]string `json:"props,omitempty"`
	UUID         string            `json:"uuid,omitempty"`
	Flags        []string          `json:"flags,omitempty"`
}

type VolumeGroupModify struct {
	Flags []string `json:"flags,omitempty"`
	PropsModify
}

type DrbdResourceDefinitionLayer struct {
	ResourceNameSuffix string `json:"resource_name_suffix,omitempty"`
	PeerSlots          int32  `json:"peer_slots,omitempty"`
	AlStripes          int64  `json:"al_stripes,omitempty"`
	AlStripeSizeKib    int64  `json:"al_stripe_size_kib,omitempty"`
	Port               int32  `json:"port,omitempty"`
	TransportType      string `json:"transport_type,omitempty"`
	Secret             string `json:"secret,omitempty"`
	Down               bool   `json:"down" required:"false"`
}

type ResourceDefinitionLayer struct {
	Type string                       `json:"type,omitempty"`
	Data *DrbdResourceDefinitionLayer `json:"data,omitempty"`
}

type ResourceDefinition struct {
	Name              string                    `json:"name,omitempty"`
	ExternalName      string                    `json:"external_name,omitempty"`
	Props             map[string]string         `json:"props,omitempty"`
	Flags             []string                  `json:"flags,omitempty"`
	LayerData         []ResourceDefinitionLayer `json:"layer_data,omitempty"`
	UUID              string                    `json:"uuid,omitempty"`
	ResourceGroupName string                    `json:"resource_group_name,omitempty"`
	VolumeDefinitions []VolumeDefinition        `json:"volume_definitions,omitempty"`
}

type ResourceDefinitionCreate struct {
	DrbdPort           *int32             `json:"drbd_port,omitempty"`
	DrbdSecret         string             `json:"drbd_secret,omitempty"`
	DrbdPeerSlots      *int32             `json:"drbd_peer_slots,omitempty"`
	DrbdTransportType  string             `json:"drbd_transport_type,omitempty"`
	ResourceDefinition ResourceDefinition `json:"resource_definition"`
}

type ResourceDefinitionModify struct {
	DrbdPort      *int32   `json:"drbd_port,omitempty"`
	DrbdPeerSlots *int32   `json:"drbd_peer_slots,omitempty"`
	LayerStack    []string `json:"layer_stack,omitempty"`
	ResourceGroup string   `json:"resource_group,omitempty"`
	PropsModify
}

type DrbdVolumeDefinition struct {
	ResourceNameSuffix string `json:"resource_name_suffix"`
	VolumeNumber       *int32 `json:"volume_number,omitempty"`
	MinorNumber        *int32 `json:"minor_number,omitempty"`
}

type VolumeDefinitionLayer struct {
	Type string                `json:"type"`
	Data *DrbdVolumeDefinition `json:"data,omitempty"`
}

type VolumeDefinition struct {
	VolumeNumber *int32                  `json:"volume_number,omitempty"`
	SizeKib      int64                   `json:"size_kib"`
	Props        map[string]string       `json:"props,omitempty"`
	Flags        []string                `json:"flags,omitempty"`
	LayerData    []VolumeDefinitionLayer `json:"layer_data,omitempty"`
	UUID         string                  `json:"uuid,omitempty"`
}

type VolumeDefinitionCreate struct {
	VolumeDefinition VolumeDefinition `json:"volume_definition"`
	DrbdMinorNumber  *int32           `json:"drbd_minor_number,omitempty"`
}

type VolumeDefinitionModify struct {
	SizeKib int64    `json:"size_kib,omitempty"`
	Flags   []string `json:"flags,omitempty"`
	PropsModify
}

// PropertyWithDescription is one value of a property and where it is set.
type PropertyWithDescription struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	Descr string `json:"descr,omitempty"`
}

// EffectiveProperty is the value that applies, with those it overrides.
type EffectiveProperty struct {
	PropertyWithDescription
	Other []PropertyWithDescription `json:"other,omitempty"`
}

type ResourceState struct {
	InUse *bool `json:"in_use,omitempty"`
}

type Resource struct {
	Name            string                       `json:"name,omitempty"`
	NodeName        string                       `json:"node_name,omitempty"`
	Props           map[string]string            `json:"props,omitempty"`
	EffectiveProps  map[string]EffectiveProperty `json:"effective_props,omitempty"`
	Flags           []string                     `json:"flags,omitempty"`
	State           *ResourceState               `json:"state,omitempty"`
	LayerObject     *ResourceLayer               `json:"layer_object,omitempty"`
	UUID            string                       `json:"uuid,omitempty"`
	CreateTimestamp int64                        `json:"create_timestamp,omitempty"`
}

// ResourceLayer is a layer of a resource, top down: DRBD over its STORAGE
// child, or STORAGE alone.
type ResourceLayer struct {
	Children           []ResourceLayer `json:"children,omitempty"`
	ResourceNameSuffix string          `json:"resource_name_suffix"`
	Type               string          `json:"type"`
	Drbd               *DrbdResource   `json:"drbd,omitempty"`
	Storage            *StorageLayer   `json:"storage,omitempty"`
}

// DrbdResource is a resource's DRBD layer.
type DrbdResource struct {
	NodeID         int32                     `json:"node_id"`
	Connections    map[string]DrbdConnection `json:"connections,omitempty"`
	PromotionScore int32                     `json:"promotion_score,omitempty"`
	MayPromote     bool                      `json:"may_promote,omitempty"`
	DrbdVolumes    []DrbdVolume              `json:"drbd_volumes,omitempty"`
}

// StorageLayer is a resource's STORAGE layer (LINSTOR's StorageResource).
type StorageLayer struct {
	StorageVolumes []StorageVolume `json:"storage_volumes"`
}

// DrbdConnection is DRBD's connection to one peer node.
type DrbdConnection struct {
	Connected bool   `json:"connected"`
	Message   string `json:"message,omitempty"`
}

type ResourceWithVolumes struct {
	Resource
	Volumes []Volume `json:"volumes,omitempty"`
}

type VolumeState struct {
	DiskState         string                      `json:"disk_state,omitempty"`
	ReplicationStates map[string]ReplicationState `json:"replication_states,omitempty"`
}

// ReplicationState is how a DRBD volume replicates to one peer node, and
// how much of a sync is done.
type ReplicationState struct {
	ReplicationState string   `json:"replication_state,omitempty"`
	DonePercentage   *float64 `json:"done_percentage,omitempty"`
}

type Volume struct {
	VolumeNumber     *int32              `json:"volume_number,omitempty"`
	StoragePoolName  string              `json:"storage_pool_name,omitempty"`
	ProviderKind     string              `json:"provider_kind,omitempty"`
	DevicePath       string              `json:"device_path,omitempty"`
	AllocatedSizeKib *int64              `json:"allocated_size_kib,omitempty"`
	UsableSizeKib    *int64              `json:"usable_size_kib,omitempty"`
	Props            map[string]string   `json:"props,omitempty"`
	Flags            []string            `json:"flags,omitempty"`
	State            *VolumeState        `json:"state,omitempty"`
	LayerDataList    []VolumeLayer       `json:"layer_data_list,omitempty"`
	UUID             string              `json:"uuid,omitempty"`
	Reports          []apicall.ApiCallRc `json:"reports,omitempty"`
}

// VolumeLayer is one layer of a volume, top down, as its agent reported it.
type VolumeLayer struct {
	Type string `json:"type"`
	Data any    `json:"data,omitempty"`
}

// DrbdVolume is a volume's DRBD layer.
// DrbdVolume is a volume's DRBD layer; LINSTOR's client reads its
// volume definition, device and sizes without defaults.
type DrbdVolume struct {
	DrbdVolumeDefinition *DrbdVolumeDefinition `json:"drbd_volume_definition,omitempty"`
	DevicePath           string                `json:"device_path"`
	BackingDevice        string                `json:"backing_device,omitempty"`
	MetaDisk             string                `json:"meta_disk,omitempty"`
	AllocatedSizeKib     int64                 `json:"allocated_size_kib"`
	UsableSizeKib        int64                 `json:"usable_size_kib"`
	DiskState            string                `json:"disk_state,omitempty"`
}

// StorageVolume is a volume's STORAGE layer.
type StorageVolume struct {
	VolumeNumber     int32  `json:"volume_number"`
	DevicePath       string `json:"device_path,omitempty"`
	AllocatedSizeKib *int64 `json:"allocated_size_kib,omitempty"`
	UsableSizeKib    *int64 `json:"usable_size_kib,omitempty"`
	DiskState        string `json:"disk_state,omitempty"`
}

type ResourceCreate struct {
	Resource   Resource `json:"resource"`
	LayerList  []string `json:"layer_list,omitempty"`
	DrbdNodeID *int32   `json:"drbd_node_id,omitempty"`
}

type ResourceModify struct {
	PropsModify
}

type Connection struct {
	NodeA string            `json:"node_a,omitempty"`
	NodeB string            `json:"node_b,omitempty"`
	Props map[string]string `json:"props,omitempty"`
	Flags []string          `json:"flags,omitempty"`
	Port  *int32            `json:"port,omitempty"`
	// DrbdProxyPortA and DrbdProxyPortB are the ports of a connection
	// through DRBD Proxy, one per end (Strata's two are the same).
	DrbdProxyPortA *int32 `json:"drbd_proxy_port_a,omitempty"`
	DrbdProxyPortB *int32 `json:"drbd_proxy_port_b,omitempty"`
}

// DrbdProxyEnable optionally names the port of a connection through
// DRBD Proxy.
type DrbdProxyEnable struct {
	Port       *int32 `json:"port,omitempty"`
	PortSrc    *int32 `json:"port_src,omitempty"`
	PortTarget *int32 `json:"port_target,omitempty"`
}

// DrbdProxyModify changes a definition's DRBD Proxy options and
// compression.
type DrbdProxyModify struct {
	OverrideProps    map[string]string `json:"override_props,omitempty"`
	DeleteProps      []string          `json:"delete_props,omitempty"`
	CompressionType  *string           `json:"compression_type,omitempty"`
	CompressionProps map[string]string `json:"compression_props,omitempty"`
}

type ControllerPropsModify struct {
	PropsModify
}

// Snapshot is a snapshot definition with its parts on nodes (LINSTOR's
// Snapshot). Props is deprecated: the definition's saved properties and
// its own, merged.
type Snapshot struct {
	Name                    string                     `json:"name,omitempty"`
	ResourceName            string                     `json:"resource_name,omitempty"`
	Nodes                   []string                   `json:"nodes,omitempty"`
	Props                   map[string]string          `json:"props,omitempty"`
	SnapshotDefinitionProps map[string]string          `json:"snapshot_definition_props,omitempty"`
	ResourceDefinitionProps map[string]string          `json:"resource_definition_props,omitempty"`
	Flags                   []string                   `json:"flags,omitempty"`
	VolumeDefinitions       []SnapshotVolumeDefinition `json:"volume_definitions,omitempty"`
	UUID                    string                     `json:"uuid,omitempty"`
	Snapshots               []SnapshotNode             `json:"snapshots,omitempty"`
}

// SnapshotVolumeDefinition is a volume definition as it was at snapshot
// time.
type SnapshotVolumeDefinition struct {
	VolumeNumber                  int32             `json:"volume_number"`
	SizeKib                       int64             `json:"size_kib"`
	SnapshotVolumeDefinitionProps map[string]string `json:"snapshot_volume_definition_props,omitempty"`
	VolumeDefinitionProps         map[string]string `json:"volume_definition_props,omitempty"`
}

// SnapshotNode is a snapshot's part on one node.
type SnapshotNode struct {
	SnapshotName    string               `json:"snapshot_name,omitempty"`
	NodeName        string               `json:"node_name,omitempty"`
	CreateTimestamp int64                `json:"create_timestamp,omitempty"`
	Flags           []string             `json:"flags,omitempty"`
	UUID            string               `json:"uuid,omitempty"`
	SnapshotProps   map[string]string    `json:"snapshot_props,omitempty"`
	ResourceProps   map[string]string    `json:"resource_props,omitempty"`
	SnapshotVolumes []SnapshotVolumeNode `json:"snapshot_volumes,omitempty"`
}

// SnapshotVolumeNode is one volume of a node's snapshot.
type SnapshotVolumeNode struct {
	UUID                string            `json:"uuid,omitempty"`
	VlmNr               int32             `json:"vlm_nr"`
	Props               map[string]string `json:"props,omitempty"`
	SnapshotVolumeProps map[string]string `json:"snapshot_volume_props,omitempty"`
	VolumeProps         map[string]string `json:"volume_props,omitempty"`
	State               string            `json:"state,omitempty"`
}

// CreateMultiSnapshotRequest takes several snapshots together.
type CreateMultiSnapshotRequest struct {
	Snapshots []Snapshot `json:"snapshots"`
}

// SnapshotRestore is snapshot resource (or volume-definition) restore.
type SnapshotRestore struct {
	ToResource     string            `json:"to_resource"`
	Nodes          []string          `json:"nodes,omitempty"`
	StorPoolRename map[string]string `json:"stor_pool_rename,omitempty"`
}

// SnapshotRollback chooses how ZFS rolls back; Strata rolls back the
// same way on every provider and reads it only to accept it.
type SnapshotRollback struct {
	ZfsRollbackStrategy string `json:"zfs_rollback_strategy,omitempty" enum:"rollback,clone,dynamic"`
}

// SnapshotModify changes a snapshot definition's properties.
type SnapshotModify struct {
	PropsModify
}

// S3Remote is an S3 remote; answers never carry its keys.
type S3Remote struct {
	RemoteName   string `json:"remote_name,omitempty"`
	Endpoint     string `json:"endpoint,omitempty"`
	Bucket       string `json:"bucket,omitempty"`
	Region       string `json:"region,omitempty"`
	AccessKey    string `json:"access_key,omitempty"`
	SecretKey    string `json:"secret_key,omitempty"`
	UsePathStyle bool   `json:"use_path_style" required:"false"`
}

// LinstorRemote is another LINSTOR (or Strata) cluster; answers never
// carry its passphrase.
type LinstorRemote struct {
	RemoteName string `json:"remote_name,omitempty"`
	URL        string `json:"url,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
	ClusterID  string `json:"cluster_id,omitempty"`
}

// EbsRemote is an AWS EBS remote (not served: lists are empty).
type EbsRemote struct {
	RemoteName       string `json:"remote_name,omitempty"`
	Endpoint         string `json:"endpoint,omitempty"`
	Region           string `json:"region,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	AccessKey        string `json:"access_key,omitempty"`
	SecretKey        string `json:"secret_key,omitempty"`
}

// RemoteList is every remote by kind.
type RemoteList struct {
	S3Remotes      []S3Remote      `json:"s3_remotes,omitempty"`
	LinstorRemotes []LinstorRemote `json:"linstor_remotes,omitempty"`
	EbsRemotes     []EbsRemote     `json:"ebs_remotes,omitempty"`
}

// BackupCreate asks for a backup of a definition to an S3 remote.
type BackupCreate struct {
	RscName     string `json:"rsc_name"`
	NodeName    string `json:"node_name,omitempty"`
	SnapName    string `json:"snap_name,omitempty"`
	Incremental bool   `json:"incremental,omitempty"`
	DstSnapName string `json:"dst_snap_name,omitempty"`
}

// BackupList is a remote's backups by id, and the other keys of its
// bucket.
type BackupList struct {
	Linstor map[string]Backup `json:"linstor"`
	Other   BackupOther       `json:"other"`
}

// BackupOther are the bucket's keys that are no backup's.
type BackupOther struct {
	Files []string `json:"files"`
}

// Backup is one backup in a remote.
type Backup struct {
	ID                string          `json:"id"`
	StartTime         string          `json:"start_time,omitempty"`
	StartTimestamp    int64           `json:"start_timestamp,omitempty"`
	FinishedTime      string          `json:"finished_time,omitempty"`
	FinishedTimestamp int64           `json:"finished_timestamp,omitempty"`
	OriginRsc         string          `json:"origin_rsc"`
	OriginSnap        string          `json:"origin_snap,omitempty"`
	OriginNode        string          `json:"origin_node,omitempty"`
	FailMessages      string          `json:"fail_messages,omitempty"`
	Vlms              []BackupVolumes `json:"vlms"`
	Success           bool            `json:"success" required:"false"`
	Shipping          bool            `json:"shipping" required:"false"`
	Restorable        bool            `json:"restorable" required:"false"`
	S3                *BackupS3       `json:"s3,omitempty"`
	BasedOnID         string          `json:"based_on_id,omitempty"`
}

// BackupVolumes is one volume of a backup.
type BackupVolumes struct {
	VlmNr             int64            `json:"vlm_nr"`
	FinishedTime      string           `json:"finished_time,omitempty"`
	FinishedTimestamp int64            `json:"finished_timestamp,omitempty"`
	S3                *BackupVolumesS3 `json:"s3,omitempty"`
}

// BackupVolumesS3 is a volume's data key.
type BackupVolumesS3 struct {
	Key string `json:"key,omitempty"`
}

// BackupS3 is a backup's meta key.
type BackupS3 struct {
	MetaName string `json:"meta_name,omitempty"`
}

// BackupRestore asks for a backup to be downloaded into a definition.
type BackupRestore struct {
	SrcRscName    string            `json:"src_rsc_name,omitempty"`
	SrcSnapName   string            `json:"src_snap_name,omitempty"`
	LastBackup    string            `json:"last_backup,omitempty"`
	StorPoolMap   map[string]string `json:"stor_pool_map,omitempty"`
	TargetRscName string            `json:"target_rsc_name"`
	Passphrase    string            `json:"passphrase,omitempty"`
	NodeName      string            `json:"node_name"`
	DownloadOnly  bool              `json:"download_only,omitempty"`
	ForceRestore  bool              `json:"force_restore,omitempty"`
	DstRscGrp     string            `json:"dst_rsc_grp,omitempty"`
	ForceMvRscGrp bool              `json:"force_mv_rsc_grp,omitempty"`
}

// BackupShip ships a snapshot of a definition to a LINSTOR remote.
type BackupShip struct {
	SrcNodeName      string            `json:"src_node_name,omitempty"`
	SrcRscName       string            `json:"src_rsc_name"`
	DstRscName       string            `json:"dst_rsc_name"`
	DstNodeName      string            `json:"dst_node_name,omitempty"`
	DstNetIfName     string            `json:"dst_net_if_name,omitempty"`
	DstStorPool      string            `json:"dst_stor_pool,omitempty"`
	StorPoolRename   map[string]string `json:"stor_pool_rename,omitempty"`
	DownloadOnly     bool              `json:"download_only,omitempty"`
	ForceRestore     bool              `json:"force_restore,omitempty"`
	AllowIncremental *bool             `json:"allow_incremental,omitempty" doc:"default true"`
	DstRscGrp        string            `json:"dst_rsc_grp,omitempty"`
	ForceMvRscGrp    bool              `json:"force_mv_rsc_grp,omitempty"`
	SrcSnapName      string            `json:"src_snap_name,omitempty"`
	DstSnapName      string            `json:"dst_snap_name,omitempty"`
}

// BackupInfoRequest asks what restoring a backup takes.
type BackupInfoRequest struct {
	SrcRscName  string            `json:"src_rsc_name,omitempty"`
	SrcSnapName string            `json:"src_snap_name,omitempty"`
	LastBackup  string            `json:"last_backup,omitempty"`
	StorPoolMap map[string]string `json:"stor_pool_map,omitempty"`
	NodeName    string            `json:"node_name,omitempty"`
}

// BackupInfo is what restoring a backup takes.
type BackupInfo struct {
	Rsc          string               `json:"rsc"`
	Full         string               `json:"full"`
	Snap         string               `json:"snap,omitempty"`
	Latest       string               `json:"latest"`
	Count        int32                `json:"count,omitempty"`
	DlSizeKib    int64                `json:"dl_size_kib"`
	AllocSizeKib int64                `json:"alloc_size_kib"`
	Storpools    []BackupInfoStorPool `json:"storpools"`
}

// BackupInfoStorPool is a pool a restore writes to.
type BackupInfoStorPool struct {
	Name              string             `json:"name"`
	ProviderKind      string             `json:"provider_kind,omitempty"`
	TargetName        string             `json:"target_name,omitempty"`
	RemainingSpaceKib int64              `json:"remaining_space_kib,omitempty"`
	Vlms              []BackupInfoVolume `json:"vlms"`
}

// BackupInfoVolume is a volume a restore writes.
type BackupInfoVolume struct {
	Name          string `json:"name,omitempty"`
	LayerType     string `json:"layer_type"`
	DlSizeKib     int64  `json:"dl_size_kib,omitempty"`
	AllocSizeKib  int64  `json:"alloc_size_kib,omitempty"`
	UsableSizeKib int64  `json:"usable_size_kib,omitempty"`
}

// BackupAbort stops a resource's running shipments and restores (both
// when neither is asked for).
type BackupAbort struct {
	RscName  string `json:"rsc_name"`
	Restore  *bool  `json:"restore,omitempty"`
	Create   *bool  `json:"create,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
}

// BackupQueues are the shipments waiting for a shipping slot, by node
// (NodeQueues) or, with snap_to_node, by snapshot (SnapQueues).
type BackupQueues struct {
	NodeQueues []NodeQueue `json:"node_queues,omitempty"`
	SnapQueues []SnapQueue `json:"snap_queues,omitempty"`
}

// NodeQueue is a node and the shipments waiting for it; in a SnapQueue's
// queue, only the node.
type NodeQueue struct {
	NodeName string      `json:"node_name"`
	Queue    []SnapQueue `json:"queue,omitempty"`
}

// SnapQueue is a waiting shipment and, in SnapQueues, the nodes it waits
// for.
type SnapQueue struct {
	ResourceName   string      `json:"resource_name"`
	SnapshotName   string      `json:"snapshot_name"`
	RemoteName     string      `json:"remote_name"`
	Incremental    bool        `json:"incremental"`
	BasedOn        string      `json:"based_on,omitempty"`
	StartTimestamp int64       `json:"start_timestamp"`
	PrefNode       string      `json:"pref_node"`
	Queue          []NodeQueue `json:"queue,omitempty"`
}

// Schedule is a backup shipping schedule. A missing keep or retry count
// is "all" or "forever".
type Schedule struct {
	ScheduleName string  `json:"schedule_name"`
	FullCron     string  `json:"full_cron"`
	IncCron      *string `json:"inc_cron,omitempty"`
	KeepLocal    *int32  `json:"keep_local,omitempty"`
	KeepRemote   *int32  `json:"keep_remote,omitempty"`
	OnFailure    *string `json:"on_failure,omitempty" doc:"SKIP (the default) or RETRY"`
	MaxRetries   *int32  `json:"max_retries,omitempty"`
}

// ScheduleModify changes a schedule: what is missing stays; an empty
// inc_cron removes it, a negative count makes it "all" or "forever".
type ScheduleModify struct {
	FullCron   *string `json:"full_cron,omitempty"`
	IncCron    *string `json:"inc_cron,omitempty"`
	KeepLocal  *int32  `json:"keep_local,omitempty"`
	KeepRemote *int32  `json:"keep_remote,omitempty"`
	OnFailure  *string `json:"on_failure,omitempty" doc:"SKIP or RETRY"`
	MaxRetries *int32  `json:"max_retries,omitempty"`
}

// ScheduleList is every schedule.
type ScheduleList struct {
	Data []Schedule `json:"data"`
}

// BackupSchedule says where a schedule is enabled or disabled: a
// definition (rsc_name), a resource group (grp_name) or, with neither,
// the controller; node_name is the node to ship from.
type BackupSchedule struct {
	RscName        string            `json:"rsc_name,omitempty"`
	GrpName        string            `json:"grp_name,omitempty"`
	NodeName       string            `json:"node_name,omitempty"`
	DstStorPool    string            `json:"dst_stor_pool,omitempty"`
	StorPoolRename map[string]string `json:"stor_pool_rename,omitempty"`
	ForceRestore   bool              `json:"force_restore,omitempty"`
	DstRscGrp      string            `json:"dst_rsc_grp,omitempty"`
	DstRscName     string            `json:"dst_rsc_name,omitempty"`
	ForceMvRscGrp  bool              `json:"force_mv_rsc_grp,omitempty"`
}

// ScheduledRscsList is what runs for each definition.
type ScheduledRscsList struct {
	Data []ScheduledRscs `json:"data"`
}

// ScheduledRscs is one definition's shipping to a remote on a schedule,
// or (with reason) why it has none. Times are ms since the epoch; a
// negative last time is never, a negative next time is running now.
type ScheduledRscs struct {
	RscName         string `json:"rsc_name"`
	RemoteName      string `json:"remote_name"`
	ScheduleName    string `json:"schedule_name"`
	Reason          string `json:"reason,omitempty"`
	LastSnapTime    int64  `json:"last_snap_time"`
	LastSnapInc     bool   `json:"last_snap_inc"`
	NextExecTime    int64  `json:"next_exec_time"`
	NextExecInc     bool   `json:"next_exec_inc"`
	NextPlannedFull int64  `json:"next_planned_full"`
	NextPlannedInc  int64  `json:"next_planned_inc"`
}

// ScheduleDetailsList is what each level says of a definition's
// schedules.
type ScheduleDetailsList struct {
	Data []ScheduleDetails `json:"data"`
}

// ScheduleDetails is what the controller, the resource group and the
// definition say of one remote and schedule: missing is not set.
type ScheduleDetails struct {
	RemoteName   string `json:"remote_name"`
	ScheduleName string `json:"schedule_name"`
	Ctrl         *bool  `json:"ctrl,omitempty"`
	RscGrp       *bool  `json:"rsc_grp,omitempty"`
	RscDfn       *bool  `json:"rsc_dfn,omitempty"`
}

// KeyValueStore is a named property container clients keep state in.
type KeyValueStore struct {
	Name  string            `json:"name"`
	Props map[string]string `json:"props"`
}

// ExternalFile is a file deployed to the nodes of the resource
// definitions it is attached to; Content is base64.
type ExternalFile struct {
	Path        string   `json:"path,omitempty"`
	Content     string   `json:"content,omitempty"`
	AltSuffixes []string `json:"alt_suffixes,omitempty"`
}

// ExtFileCheckResult says whether a node's agent may write a path.
type ExtFileCheckResult struct {
	Allowed bool `json:"allowed"`
}

// ExtFileStatusResult is an external file as it is on a node.
type ExtFileStatusResult struct {
	ActualPath   string `json:"actual_path,omitempty"`
	ContentMatch bool   `json:"content_match"`
}

// ResourceDefinitionCloneRequest asks for a clone of a definition with
// its data.
type ResourceDefinitionCloneRequest struct {
	Name              string            `json:"name"`
	ExternalName      string            `json:"external_name,omitempty"`
	UseZfsClone       bool              `json:"use_zfs_clone,omitempty"`
	LayerList         []string          `json:"layer_list,omitempty"`
	VolumePassphrases []string          `json:"volume_passphrases,omitempty"`
	ResourceGroup     string            `json:"resource_group,omitempty"`
	OverrideProps     map[string]string `json:"override_props,omitempty"`
	DeleteProps       []string          `json:"delete_props,omitempty"`
	DeleteNamespaces  []string          `json:"delete_namespaces,omitempty"`
}

// ResourceDefinitionCloneStarted answers a clone request: where its
// status is.
type ResourceDefinitionCloneStarted struct {
	Location   string              `json:"location"`
	SourceName string              `json:"source_name"`
	CloneName  string              `json:"clone_name"`
	Messages   []apicall.ApiCallRc `json:"messages,omitempty"`
}

// ResourceDefinitionCloneStatus is a clone's state: CLONING, FAILED or
// COMPLETE.
type ResourceDefinitionCloneStatus struct {
	Status string `json:"status"`
}
