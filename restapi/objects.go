package restapi

import "strata/apicall"

// ErrorReport is LINSTOR's ErrorReport object.
type ErrorReport struct {
	NodeName         string `json:"node_name,omitempty"`
	ErrorTime        int64  `json:"error_time"`
	Filename         string `json:"filename,omitempty"`
	Text             string `json:"text,omitempty"`
	Module           string `json:"module,omitempty"`
	Version          string `json:"version,omitempty"`
	Exception        string `json:"exception,omitempty"`
	ExceptionMessage string `json:"exception_message,omitempty"`
}

// Operation is the progress of a long operation, a Temporal workflow
// (Strata's own object; LINSTOR has none). Once it has finished, Replies
// are what the request that started it answers when it waits.
type Operation struct {
	WorkflowID string `json:"workflow_id"`
	State      string `json:"state" doc:"the workflow's own word for where it is, such as copying; done or failed at the end"`
	Percent    int    `json:"percent"`
	Finished   bool   `json:"finished"`
	// DoneBytes of TotalBytes moved, at BytesPerSecond, for operations
	// that move data (backups, restores).
	DoneBytes      int64 `json:"done_bytes,omitempty"`
	TotalBytes     int64 `json:"total_bytes,omitempty"`
	BytesPerSecond int64 `json:"bytes_per_second,omitempty"`
	// ItemsDone of ItemsTotal objects, Current under way, for operations
	// on many (an evacuation's resources).
	ItemsDone  int                 `json:"items_done,omitempty"`
	ItemsTotal int                 `json:"items_total,omitempty"`
	Current    []string            `json:"current,omitempty"`
	Replies    []apicall.ApiCallRc `json:"replies,omitempty"`
}

// PhysicalStorageDevice is a disk in the physical-storage list.
type PhysicalStorageDevice struct {
	Device string `json:"device,omitempty"`
	Model  string `json:"model,omitempty"`
	Serial string `json:"serial,omitempty"`
	WWN    string `json:"wwn,omitempty"`
}

// PhysicalStorage is a group of disks of one size and kind, by node.
type PhysicalStorage struct {
	Size       int64                              `json:"size"`
	Rotational bool                               `json:"rotational"`
	Nodes      map[string][]PhysicalStorageDevice `json:"nodes"`
}

// PhysicalStorageNode is a disk of one node.
type PhysicalStorageNode struct {
	Size       int64 `json:"size"`
	Rotational bool  `json:"rotational"`
	PhysicalStorageDevice
}

// PhysicalStorageCreate asks for a device pool (LINSTOR's body).
type PhysicalStorageCreate struct {
	ProviderKind      string   `json:"provider_kind"`
	DevicePaths       []string `json:"device_paths"`
	RaidLevel         string   `json:"raid_level,omitempty" enum:"JBOD"`
	PoolName          string   `json:"pool_name,omitempty"`
	VdoEnable         bool     `json:"vdo_enable,omitempty"`
	VdoSlabSizeKib    int64    `json:"vdo_slab_size_kib,omitempty"`
	VdoLogicalSizeKib int64    `json:"vdo_logical_size_kib,omitempty"`
	LogicalSizeKib    int64    `json:"logcal_size_kib,omitempty"`
	WithStoragePool   *struct {
		Name            string            `json:"name"`
		Props           map[string]string `json:"props,omitempty"`
		SharedSpace     string            `json:"shared_space,omitempty"`
		ExternalLocking bool              `json:"external_locking,omitempty"`
	} `json:"with_storage_pool,omitempty"`
	Sed               bool     `json:"sed,omitempty"`
	PvCreateArguments []string `json:"pv_create_arguments,omitempty"`
	VgCreateArguments []string `json:"vg_create_arguments,omitempty"`
	LvCreateArguments []string `json:"lv_create_arguments,omitempty"`
	ZpoolCreateArgs   []string `json:"zpool_create_arguments,omitempty"`
}
