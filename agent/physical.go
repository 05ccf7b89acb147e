package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"strata/agent/execrun"
	"strata/agent/proto"
	"strata/agent/storage"
)

// minDiskBytes: the guide lists only devices larger than 1 GiB.
const minDiskBytes = 1 << 30

type lsblkDevice struct {
	Name     string        `json:"name"`
	Size     int64         `json:"size"`
	Rota     bool          `json:"rota"`
	Type     string        `json:"type"`
	FsType   *string       `json:"fstype"`
	Model    *string       `json:"model"`
	Serial   *string       `json:"serial"`
	WWN      *string       `json:"wwn"`
	Children []lsblkDevice `json:"children"`
}

// Disks lists the devices the guide allows for a new pool: larger than
// 1 GiB, without children (partitions, holders), without a file system
// or other signature (blkid finds none), and not DRBD. Loop devices of
// the agent's own FILE volumes are left out too.
func (a *Agent) Disks(ctx context.Context) ([]proto.Disk, error) {
	out, err := a.Run.Run(ctx, "lsblk", "--json", "--bytes", "--paths", "--output", "NAME,SIZE,ROTA,TYPE,FSTYPE,MODEL,SERIAL,WWN")
	if err != nil {
		return nil, err
	}
	var tree struct {
		Blockdevices []lsblkDevice `json:"blockdevices"`
	}
	if err := json.Unmarshal(out, &tree); err != nil {
		return nil, fmt.Errorf("lsblk printed what is not its JSON: %w", err)
	}
	volumeLoops, err := a.volumeLoops(ctx)
	if err != nil {
		return nil, err
	}
	disks := []proto.Disk{}
	for _, d := range tree.Blockdevices {
		if d.Size <= minDiskBytes || len(d.Children) > 0 || d.FsType != nil || d.Type == "rom" ||
			strings.HasPrefix(filepath.Base(d.Name), "drbd") || volumeLoops[d.Name] {
			continue
		}
		if signed, err := a.hasSignature(ctx, d.Name); err != nil || signed {
			continue // a device blkid cannot read is not offered either
		}
		disks = append(disks, proto.Disk{Device: d.Name, SizeBytes: d.Size, Rotational: d.Rota, Model: str(d.Model), Serial: str(d.Serial), WWN: str(d.WWN)})
	}
	sort.Slice(disks, func(i, j int) bool { return disks[i].Device < disks[j].Device })
	return disks, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// hasSignature: blkid -p exits 2, printing nothing, when it finds no
// signature; with a message on stderr it could not look.
func (a *Agent) hasSignature(ctx context.Context, dev string) (bool, error) {
	_, err := a.Run.Run(ctx, "blkid", "-p", dev)
	var ee *execrun.Error
	if code, ok := execrun.ExitCode(err); ok && code == 2 && errors.As(err, &ee) && ee.Stderr == "" {
		return false, nil
	}
	return err == nil, err
}

// volumeLoops are the loop devices backed by the agent's FILE volumes.
func (a *Agent) volumeLoops(ctx context.Context) (map[string]bool, error) {
	out, err := a.Run.Run(ctx, "losetup", "--list", "--json", "--output", "NAME,BACK-FILE")
	if err != nil {
		return map[string]bool{}, nil // no loop devices to leave out
	}
	var list struct {
		Loopdevices []struct {
			Name     string `json:"name"`
			BackFile string `json:"back-file"`
		} `json:"loopdevices"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("losetup printed what is not its JSON: %w", err)
	}
	loops := map[string]bool{}
	for _, l := range list.Loopdevices {
		if _, _, ours := storage.ParseVolumeName(strings.TrimSuffix(filepath.Base(l.BackFile), ".img")); ours {
			loops[l.Name] = true
		}
	}
	return loops, nil
}

// CreateDevicePool makes a volume group (and thin pool) or zpool on the
// devices. Only devices Disks offers are accepted, so a disk in use is
// never overwritten.
func (a *Agent) CreateDevicePool(ctx context.Context, req proto.DevicePool) (string, error) {
	if req.PoolName == "" || len(req.Devices) == 0 {
		return "", errors.New("a device pool needs a pool name and at least one device")
	}
	free, err := a.Disks(ctx)
	if err != nil {
		return "", err
	}
	offered := map[string]bool{}
	for _, d := range free {
		offered[d.Device] = true
	}
	for _, d := range req.Devices {
		if !offered[d] {
			return "", fmt.Errorf("device %s is not an unused disk of this node (see physical-storage list)", d)
		}
	}
	run := func(name string, args ...string) error { _, err := a.Run.Run(ctx, name, args...); return err }
	switch req.Provider {
	case "LVM", "LVM_THIN":
		vg := req.PoolName
		if req.Provider == "LVM_THIN" {
			vg = "strata_" + req.PoolName
		}
		if err := run("pvcreate", append(req.PvCreateArg, req.Devices...)...); err != nil {
			return "", err
		}
		if err := run("vgcreate", append(append(req.VgCreateArg, vg), req.Devices...)...); err != nil {
			return "", err
		}
		if req.Provider == "LVM" {
			return vg, nil
		}
		if err := run("lvcreate", append(append([]string{"--extents", "100%FREE", "--thinpool", req.PoolName}, req.LvCreateArg...), vg)...); err != nil {
			return "", err
		}
		return vg + "/" + req.PoolName, nil
	case "ZFS", "ZFS_THIN":
		if err := run("zpool", append(append(append([]string{"create"}, req.ZpoolArg...), req.PoolName), req.Devices...)...); err != nil {
			return "", err
		}
		return req.PoolName, nil
	}
	return "", fmt.Errorf("a device pool is LVM, LVM_THIN, ZFS or ZFS_THIN, not %q", req.Provider)
}
