package agent

import (
	"context"
	"os/exec"
	"sort"
	"strings"

	"strata/agent/execrun"
	"strata/agent/storage"
)

// Machine is what the agent asks of its node besides running commands:
// which tools are installed and which kernel files exist. Tests stand in
// for it.
type Machine struct {
	LookPath func(file string) (string, error)
	Exists   storage.DeviceExists
}

// RealMachine looks at this node.
func RealMachine() Machine {
	return Machine{LookPath: exec.LookPath, Exists: storage.OSDeviceExists}
}

// need is one thing a provider or layer needs, and what to tell the user
// when it is missing.
type need struct {
	tool, path, dmTarget string
	why                  string
}

// needs per provider and layer, as LINSTOR's satellite checks them.
var (
	providerNeeds = map[string][]need{
		// FILE volumes are used as plain files where no loop device can
		// be attached, so these need nothing.
		"DISKLESS": nil, "FILE": nil, "FILE_THIN": nil,
		"LVM": {{tool: "lvcreate", why: "LVM tools (lvm2) are not installed"},
			{dmTarget: "striped", why: "the kernel has no device-mapper (dm_mod)"}},
		"LVM_THIN": {{tool: "lvcreate", why: "LVM tools (lvm2) are not installed"},
			{dmTarget: "thin-pool", why: "the kernel has no device-mapper thin-pool target (dm_thin_pool)"}},
		"ZFS":      {{tool: "zfs", why: "ZFS tools (zfsutils-linux) are not installed"}, {path: "/sys/module/zfs", why: "the zfs kernel module is not loaded"}},
		"ZFS_THIN": {{tool: "zfs", why: "ZFS tools (zfsutils-linux) are not installed"}, {path: "/sys/module/zfs", why: "the zfs kernel module is not loaded"}},
	}
	layerNeeds = map[string][]need{
		"STORAGE": nil,
		"DRBD": {{tool: "drbdadm", why: "drbd-utils are not installed"},
			{path: "/proc/drbd", why: "the DRBD 9 kernel module is not loaded"}},
		"LUKS": {{tool: "cryptsetup", why: "cryptsetup is not installed"},
			{dmTarget: "crypt", why: "the kernel has no device-mapper crypt target (dm_crypt)"}},
		"NVME": {{tool: "nvme", why: "nvme-cli is not installed"},
			{path: "/sys/kernel/config/nvmet", why: "the nvmet kernel module (NVMe target) is not loaded"}},
		"WRITECACHE": {{tool: "dmsetup", why: "dmsetup is not installed"},
			{dmTarget: "writecache", why: "the kernel has no device-mapper writecache target (dm_writecache)"}},
		"CACHE": {{tool: "dmsetup", why: "dmsetup is not installed"},
			{dmTarget: "cache", why: "the kernel has no device-mapper cache target (dm_cache)"}},
		"BCACHE": {{tool: "make-bcache", why: "bcache-tools are not installed"},
			{path: "/sys/fs/bcache", why: "the bcache kernel module is not loaded"}},
	}
)

// capabilities are the providers and layers this node can serve, and
// why it cannot serve the others.
type capabilities struct {
	providers, layers                       []string
	unsupportedProviders, unsupportedLayers map[string][]string
}

// probe checks every provider and layer against the node.
func probe(ctx context.Context, m Machine, run execrun.Runner) capabilities {
	targets, dmErr := dmTargets(ctx, m, run)
	check := func(needs map[string][]need) (ok []string, missing map[string][]string) {
		missing = map[string][]string{}
		for name, list := range needs {
			var why []string
			for _, n := range list {
				switch {
				case n.tool != "":
					if _, err := m.LookPath(n.tool); err != nil {
						why = append(why, n.why)
					}
				case n.path != "":
					if !m.Exists(n.path) {
						why = append(why, n.why)
					}
				case !targets[n.dmTarget]:
					if dmErr != "" {
						why = append(why, n.why+": "+dmErr)
					} else {
						why = append(why, n.why)
					}
				}
			}
			if len(why) == 0 {
				ok = append(ok, name)
			} else {
				missing[name] = why
			}
		}
		sort.Strings(ok)
		return ok, missing
	}
	var c capabilities
	c.providers, c.unsupportedProviders = check(providerNeeds)
	c.layers, c.unsupportedLayers = check(layerNeeds)
	return c
}

// dmTargets asks dmsetup which device-mapper targets the kernel has; a
// failure gives the first line of why.
func dmTargets(ctx context.Context, m Machine, run execrun.Runner) (map[string]bool, string) {
	if _, err := m.LookPath("dmsetup"); err != nil {
		return nil, "dmsetup is not installed"
	}
	out, err := run.Run(ctx, "dmsetup", "targets")
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*execrun.Error); ok && ee.Stderr != "" {
			msg, _, _ = strings.Cut(ee.Stderr, "\n")
		}
		return nil, msg
	}
	targets := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			targets[f[0]] = true
		}
	}
	return targets, ""
}
