// Package proto is the protocol between the controller and the agents:
// the wire types both sides share, and nothing else.
package proto

// ProtocolVersion changes when controller and agents stop understanding
// each other; a node whose agent speaks another version is shown as
// OFFLINE(VERSION_MISMATCH).
const ProtocolVersion = 4

// Paths of the agent's HTTP API.
const (
	PathInfo      = "/v1/info"
	PathNodeState = "/v1/node-state"
)

// Info is what an agent tells about itself and its node.
type Info struct {
	Version              string              `json:"version"`
	ProtocolVersion      int                 `json:"protocol_version"`
	Uname                string              `json:"uname"`
	Providers            []string            `json:"providers"`
	UnsupportedProviders map[string][]string `json:"unsupported_providers,omitempty"`
	Layers               []string            `json:"layers"`
	UnsupportedLayers    map[string][]string `json:"unsupported_layers,omitempty"`
	// ExternalFileDirs are the directories external files may be written
	// to (LINSTOR's allowExtFiles).
	ExternalFileDirs []string `json:"external_file_dirs,omitempty"`
	// BootID is new at every start of the agent: a controller that sees
	// it change sends the node its whole state, however quick the restart.
	BootID string `json:"boot_id,omitempty"`
}

// NodeState is the whole desired state of one node. The agent makes the
// node match it and keeps nothing of it.
type NodeState struct {
	Node string `json:"node"`
	// Generation is the controller database's change generation the
	// state was read at; an agent ignores a state older than the last it
	// applied, so that pushes that cross on the way keep their order.
	Generation int64    `json:"generation,omitempty"`
	Pools      []Pool   `json:"pools"`
	Volumes    []Volume `json:"volumes"`
	// Resources are the node's resources with layers above STORAGE; a
	// resource that is not here is storage only.
	Resources []Resource `json:"resources,omitempty"`
	// Snapshots are the node's snapshots of its volumes: those it keeps
	// and those it takes now. A snapshot of the agent's naming that is
	// not here is deleted.
	Snapshots []Snapshot `json:"snapshots,omitempty"`
	// Suspended are the resources whose I/O stays suspended while a
	// snapshot of them is taken; every other resource's I/O runs, so a
	// node that missed the end of a snapshot resumes at its next state.
	Suspended []string `json:"suspended,omitempty"`
	// Files are the external files the node's resources deploy. A file
	// the agent wrote before that is not here is deleted.
	Files []ExternalFile `json:"files,omitempty"`
}

// ExternalFile is a file LINSTOR deploys to the nodes of the resource
// definitions it is attached to: an absolute path in a directory the
// agent allows, and its content. When the path with one of AltSuffixes
// appended exists (a unit renamed to .disabled), that file is updated
// instead.
type ExternalFile struct {
	Path        string   `json:"path"`
	Content     []byte   `json:"content"`
	AltSuffixes []string `json:"alt_suffixes,omitempty"`
}

// PathLogLevel shows (GET) and changes (PUT) the agent's log level, as
// slog levels (LINSTOR's TRACE is DEBUG-4).
const PathLogLevel = "/v1/log-level"

// LogLevel is the agent's log level.
type LogLevel struct {
	Level int `json:"level"`
}

// PathExternalFile answers where an external file (?path=) is on the
// node and the SHA-256 of its content (ExternalFileStatus).
const PathExternalFile = "/v1/external-file"

// ExternalFileStatus is an external file as it is on the node: the path
// it was found at (empty: nowhere) and its content's SHA-256 in hex.
type ExternalFileStatus struct {
	ActualPath string `json:"actual_path,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
}

// Snapshot is one volume's snapshot in a pool of the node.
type Snapshot struct {
	Resource string `json:"resource"`
	Name     string `json:"name"`
	VlmNr    int32  `json:"vlm_nr"`
	Pool     string `json:"pool"`
	// Take: take it now, from the volume as it is (its I/O is suspended);
	// otherwise it was taken before and is only kept.
	Take bool `json:"take,omitempty"`
	// Receive: it is being downloaded from a backup; until it is there,
	// its absence is no error.
	Receive bool `json:"receive,omitempty"`
}

// SnapshotSource is the snapshot a new volume is made from.
type SnapshotSource struct {
	Resource string `json:"resource"`
	Snapshot string `json:"snapshot"`
}

// Resource is a resource of the node and its layer stack, top down.
type Resource struct {
	Name   string   `json:"name"`
	Layers []string `json:"layers"`
	Drbd   *Drbd    `json:"drbd,omitempty"`
}

// Drbd is what the node needs to know of a DRBD resource.
type Drbd struct {
	Port      int32  `json:"port"`
	Secret    string `json:"secret"`
	PeerSlots int32  `json:"peer_slots"`
	// Options are the effective DrbdOptions/* properties of the resource.
	Options map[string]string `json:"options,omitempty"`
	// PeerOptions are a connection's DrbdOptions, by the peer's node.
	PeerOptions map[string]map[string]string `json:"peer_options,omitempty"`
	// Paths are a connection's network paths, by the peer's node; none:
	// one path between the nodes' addresses.
	Paths map[string][]DrbdPath `json:"paths,omitempty"`
	// Proxy are the connections that run through DRBD Proxy on both
	// nodes, with their port, by the peer's node; ProxyCompression is
	// the proxy's compression plug-in (DrbdProxy/CompressionType), its
	// options and the proxy's own are DrbdOptions/ProxyCompression/* and
	// DrbdOptions/Proxy/* of Options.
	Proxy            map[string]int32 `json:"proxy,omitempty"`
	ProxyCompression string           `json:"proxy_compression,omitempty"`
	Nodes            []DrbdNode       `json:"nodes"`
	Volumes          []DrbdVolume     `json:"volumes"`
}

// DrbdNode is a node holding the resource. Host is its uname, which is
// what drbdadm matches.
type DrbdNode struct {
	Name     string `json:"name"`
	Host     string `json:"host"`
	NodeID   int32  `json:"node_id"`
	Address  string `json:"address"`
	Diskless bool   `json:"diskless,omitempty"`
}

// DrbdPath is one network path to a peer: this node's address and the
// peer's.
type DrbdPath struct {
	Local string `json:"local"`
	Peer  string `json:"peer"`
}

// DrbdVolume is a volume of the resource and its minor.
type DrbdVolume struct {
	VlmNr int32 `json:"vlm_nr"`
	Minor int32 `json:"minor"`
	// FileSystem is the file system the DRBD device gets when its
	// metadata is new: sent to one node of the resource only, until one
	// reported it made.
	FileSystem *FileSystem `json:"file_system,omitempty"`
}

// Pool is a storage pool of the node with its properties
// (StorDriver/FileDir, StorDriver/LvmVg, ...), including the StorDriver/*
// properties it inherits from its node and the controller.
type Pool struct {
	Name     string            `json:"name"`
	Provider string            `json:"provider"`
	Props    map[string]string `json:"props,omitempty"`
}

// Volume is a volume of a resource on the node, in a pool.
type Volume struct {
	Resource string `json:"resource"`
	VlmNr    int32  `json:"vlm_nr"`
	Pool     string `json:"pool"`
	SizeKib  int64  `json:"size_kib"`
	// CreateOptions is StorDriver/LvcreateOptions or ZfscreateOptions
	// where the volume or resource definition sets it; it replaces the
	// pool's.
	CreateOptions *string `json:"create_options,omitempty"`
	// From: a volume that does not exist yet is made as a clone of this
	// snapshot of the same volume number (restore, rollback).
	From *SnapshotSource `json:"from,omitempty"`
	// FileSystem is the file system a new, empty volume is to get
	// (FileSystem/Type); sent until the agent reported it made.
	FileSystem *FileSystem `json:"file_system,omitempty"`
}

// FileSystem is what mkfs makes: the type (ext4, xfs) and LINSTOR's
// FileSystem/MkfsParams.
type FileSystem struct {
	Type       string `json:"type"`
	MkfsParams string `json:"mkfs_params,omitempty"`
}

// Report is the node's actual state after an apply.
type Report struct {
	Pools   []PoolReport   `json:"pools"`
	Volumes []VolumeReport `json:"volumes"`
	// Stale says the state was older than one applied before, and was
	// ignored; Applied is the generation of the one applied.
	Stale   bool  `json:"stale,omitempty"`
	Applied int64 `json:"applied,omitempty"`
	// Resources are the DRBD states of the resources brought up.
	Resources []ResourceReport `json:"resources,omitempty"`
	// Snapshots are the snapshots of the agent's naming in the state's
	// pools after the apply, and those it could not take or keep.
	Snapshots []SnapshotReport `json:"snapshots,omitempty"`
	// SuspendFailed are resources whose I/O could not be suspended, with
	// why.
	SuspendFailed map[string]string `json:"suspend_failed,omitempty"`
	// FileErrors are the external files that could not be written or
	// deleted, by path, with why.
	FileErrors map[string]string `json:"file_errors,omitempty"`
}

// SnapshotReport is a snapshot on the node, or why it is not there.
type SnapshotReport struct {
	Resource string `json:"resource"`
	Name     string `json:"name"`
	VlmNr    int32  `json:"vlm_nr"`
	Pool     string `json:"pool"`
	Error    string `json:"error,omitempty"`
}

// ResourceReport is a resource whose volumes are there: for DRBD as
// drbdsetup events2 shows it (its role, promotion score and, by peer
// node, its connection state: Connected, Connecting, StandAlone, ...);
// storage only, without a role, in use while a volume's device is held
// (mounted, or opened exclusively).
type ResourceReport struct {
	Name           string            `json:"name"`
	Role           string            `json:"role,omitempty"`
	InUse          bool              `json:"in_use"`
	PromotionScore int32             `json:"promotion_score,omitempty"`
	MayPromote     bool              `json:"may_promote,omitempty"`
	Connections    map[string]string `json:"connections,omitempty"`
	// Suspended: the resource's I/O is suspended (by a snapshot).
	Suspended bool `json:"suspended,omitempty"`
}

// PoolReport is a pool's capacity, or why it cannot be used.
type PoolReport struct {
	Name     string `json:"name"`
	FreeKib  int64  `json:"free_kib"`
	TotalKib int64  `json:"total_kib"`
	Error    string `json:"error,omitempty"`
	// SupportsSnapshots is whether the pool can take snapshots, as
	// probed (a FILE pool: whether its file system makes reflinks).
	SupportsSnapshots bool `json:"supports_snapshots"`
}

// VolumeReport is a volume as it is, or why it is not.
type VolumeReport struct {
	Resource    string `json:"resource"`
	VlmNr       int32  `json:"vlm_nr"`
	Pool        string `json:"pool"`
	DevicePath  string `json:"device_path,omitempty"`
	BackingPath string `json:"backing_path,omitempty"`
	// Layer made DevicePath: DRBD, or empty for the storage itself.
	Layer        string `json:"layer,omitempty"`
	AllocatedKib int64  `json:"allocated_kib"`
	UsableKib    int64  `json:"usable_kib"`
	DiskState    string `json:"disk_state"`
	Error        string `json:"error,omitempty"`
	// FileSystem is the file system found on a volume that was to get one.
	FileSystem string `json:"file_system,omitempty"`
	// Replication is how a DRBD volume replicates to each peer node.
	Replication map[string]ReplicationState `json:"replication,omitempty"`
}

// ReplicationState is how a DRBD volume replicates to one peer, from
// drbdsetup events2: Established, SyncSource, SyncTarget, ...; and while
// a sync runs, how much of it is done (percent).
type ReplicationState struct {
	State string   `json:"state"`
	Done  *float64 `json:"done,omitempty"`
}

// Disk states reported for volumes.
const (
	DiskUpToDate = "UpToDate"
	DiskDiskless = "Diskless"
	DiskFailed   = "Failed"
)

// PathPhysicalStorage lists the node's unused disks (GET) and makes a
// device pool on some of them (POST).
const PathPhysicalStorage = "/v1/physical-storage"

// Disk is an unused block device that can hold a storage pool.
type Disk struct {
	Device     string `json:"device"`
	SizeBytes  int64  `json:"size"`
	Rotational bool   `json:"rotational"`
	Model      string `json:"model,omitempty"`
	Serial     string `json:"serial,omitempty"`
	WWN        string `json:"wwn,omitempty"`
}

// DevicePool asks for an LVM volume group (with a thin pool for
// LVM_THIN) or a zpool on devices.
type DevicePool struct {
	Provider    string   `json:"provider"`
	Devices     []string `json:"devices"`
	PoolName    string   `json:"pool_name"`
	PvCreateArg []string `json:"pv_create_arguments,omitempty"`
	VgCreateArg []string `json:"vg_create_arguments,omitempty"`
	LvCreateArg []string `json:"lv_create_arguments,omitempty"`
	ZpoolArg    []string `json:"zpool_create_arguments,omitempty"`
}

// DevicePoolReport is the pool made: StorPoolName is what a storage pool
// of the controller names it by (vg, vg/thinpool or the zpool).
type DevicePoolReport struct {
	StorPoolName string `json:"stor_pool_name,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Paths of backup jobs: an upload ships a volume's snapshot to S3, a
// download brings one back as a snapshot. Both answer a stream of
// JobEvent lines, the last one Done or Error.
const (
	PathBackupUpload   = "/v1/backups/upload"
	PathBackupDownload = "/v1/backups/download"
)

// S3Target is the bucket of a job, with the credentials the controller
// opened for it; the agent keeps them only while the job runs.
type S3Target struct {
	Endpoint     string `json:"endpoint"`
	Bucket       string `json:"bucket"`
	Region       string `json:"region"`
	AccessKey    string `json:"access_key"`
	SecretKey    string `json:"secret_key"`
	UsePathStyle bool   `json:"use_path_style,omitempty"`
}

// BackupUpload ships one volume's snapshot. Base names the data key of
// the backup it is incremental to, and the snapshot it was taken of.
type BackupUpload struct {
	S3       S3Target    `json:"s3"`
	Pool     Pool        `json:"pool"`
	Resource string      `json:"resource"`
	VlmNr    int32       `json:"vlm_nr"`
	Snapshot string      `json:"snapshot"`
	DataKey  string      `json:"data_key"`
	Base     *BackupBase `json:"base,omitempty"`
}

// BackupBase is the backup an upload is incremental to.
type BackupBase struct {
	DataKey  string `json:"data_key"`
	Snapshot string `json:"snapshot"`
}

// BackupDownload brings one volume of a backup back as a snapshot of
// the pool, which the node state names with Receive.
type BackupDownload struct {
	S3       S3Target `json:"s3"`
	Pool     Pool     `json:"pool"`
	Resource string   `json:"resource"`
	VlmNr    int32    `json:"vlm_nr"`
	Snapshot string   `json:"snapshot"`
	DataKey  string   `json:"data_key"`
}

// Paths of shipment jobs between two nodes' agents, for LINSTOR remotes
// and copies within the cluster: the receiver listens for one volume,
// the sender streams its snapshot to it.
const (
	PathShipSend    = "/v1/backups/send"
	PathShipReceive = "/v1/backups/receive"
)

// ShipSend streams one volume's snapshot to a listening agent. Base,
// when set, is a snapshot of this node that the receiver holds too: only
// what changed since is sent.
type ShipSend struct {
	Pool     Pool   `json:"pool"`
	Resource string `json:"resource"`
	VlmNr    int32  `json:"vlm_nr"`
	Snapshot string `json:"snapshot"`
	Base     string `json:"base,omitempty"`
	// Address is the receiver's host:port; Fingerprint the SHA-256 (hex)
	// of the certificate it listens with; Token proves the sender.
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
	Token       string `json:"token"`
}

// PathVolumeCopy copies a volume's data into another volume of the same
// pool and number (a clone where the pool cannot take snapshots).
const PathVolumeCopy = "/v1/volumes/copy"

// VolumeCopy is the job of PathVolumeCopy: the data of volume VlmNr of
// Source is written over that of Target, both in Pool.
type VolumeCopy struct {
	Pool   Pool   `json:"pool"`
	Source string `json:"source"`
	Target string `json:"target"`
	VlmNr  int32  `json:"vlm_nr"`
}

// PathVolumeChecksum answers a SHA-256 of a volume's data or of one of
// its snapshots that is the same for the same bytes however they are kept
// (holes and written zeros alike), as a job (its Done carries Digest): a
// moved volume is compared with what it was moved from.
const PathVolumeChecksum = "/v1/volumes/checksum"

// VolumeChecksum is the job of PathVolumeChecksum: volume VlmNr of
// Resource in Pool, or its Snapshot when set, hashed over SizeBytes (0:
// all of it).
type VolumeChecksum struct {
	Pool      Pool   `json:"pool"`
	Resource  string `json:"resource"`
	VlmNr     int32  `json:"vlm_nr"`
	Snapshot  string `json:"snapshot,omitempty"`
	SizeBytes int64  `json:"size_bytes,omitempty"`
}

// ShipReceive listens on Port, with the certificate given, for one
// volume's snapshot and commits it as Snapshot of the pool (named in the
// node state with Receive). Base is the snapshot of the pool the
// sender's changes apply to.
type ShipReceive struct {
	Pool     Pool   `json:"pool"`
	Resource string `json:"resource"`
	VlmNr    int32  `json:"vlm_nr"`
	Snapshot string `json:"snapshot"`
	Base     string `json:"base,omitempty"`
	Port     int    `json:"port"`
	CertPEM  string `json:"cert_pem"`
	KeyPEM   string `json:"key_pem"`
	Token    string `json:"token"`
	// WaitMs is how long the sender may take to connect (LINSTOR's
	// BackupShipping/L2LReceiveStartedTimeout); 0 waits as long as the
	// job runs.
	WaitMs int64 `json:"wait_ms,omitempty"`
}

// JobEvent is one line of a job's answer.
type JobEvent struct {
	Progress *JobProgress `json:"progress,omitempty"`
	Done     *JobProgress `json:"done,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// JobProgress is how far a job is, in bytes of the volume and bytes read
// and sent.
type JobProgress struct {
	TotalBytes int64 `json:"total_bytes"`
	DoneBytes  int64 `json:"done_bytes"`
	ReadBytes  int64 `json:"read_bytes"`
	SentBytes  int64 `json:"sent_bytes"`
	// Digest is a checksum job's answer (hex SHA-256).
	Digest string `json:"digest,omitempty"`
}

// PathSOSReport answers the node's part of an SOS report (GET).
const PathSOSReport = "/v1/sos-report"

// SOSReport is a node's part of an SOS report: files by name (relative,
// '/'-separated) and their text.
type SOSReport struct {
	Files map[string]string `json:"files"`
}
