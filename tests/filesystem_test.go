package tests

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// blkidValue is one tag blkid probes on a device ("" when there is none).
func blkidValue(t *testing.T, dev, tag string) string {
	out, _ := exec.Command("blkid", "-p", "-o", "value", "-s", tag, dev).Output()
	return strings.TrimSpace(string(out))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return string(out)
}

// sizeKib is the size of the file system mounted on mnt.
func sizeKib(t *testing.T, mnt string) int {
	f := strings.Fields(run(t, "df", "--output=size", "-k", mnt))
	n, err := strconv.Atoi(f[len(f)-1])
	require.NoError(t, err)
	return n
}

// A volume whose definition says FileSystem/Type gets that file system
// from its node's agent when it is created, once, as LINSTOR's
// satellites make it (linstor-csi mounts it without formatting): real
// mkfs on a FILE_THIN loop device, mounted, written, grown online with
// resize2fs. A volume that holds data is never formatted.
func TestVolumesGetTheirFileSystem(t *testing.T) {
	dirs := map[string]string{"alpha": t.TempDir()}
	t.Cleanup(func() { detachLoops(dirs) })
	c := harness.StartController(t, harness.ControllerOptions{})
	ag := harness.StartAgent(t)
	alphaWithPool(t, c, ag, dirs["alpha"])
	device := func(rd string) string {
		var v []struct {
			Volumes []volumeView `json:"volumes"`
		}
		var dev string
		eventually(t, 30*time.Second, rd+" deployed", func() bool {
			status, err := c.Do(context.Background(), http.MethodGet, "/v1/view/resources?resources="+rd, nil, &v)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			if len(v) == 1 && len(v[0].Volumes) == 1 && v[0].Volumes[0].State != nil && v[0].Volumes[0].State.DiskState == "UpToDate" {
				dev = v[0].Volumes[0].DevicePath
			}
			return dev != ""
		})
		return dev
	}
	create := func(rd string, props map[string]string, sizeKib int) string {
		props["StorPoolName"] = "pool1"
		must(t, c, http.MethodPost, "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": rd, "props": props}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": sizeKib}}, http.StatusCreated)
		must(t, c, http.MethodPost, "/v1/resource-definitions/"+rd+"/resources", []map[string]any{{"resource": map[string]string{"node_name": "alpha"}}}, http.StatusCreated)
		return device(rd)
	}

	dev := create("web", map[string]string{"FileSystem/Type": "ext4", "FileSystem/MkfsParams": "-L strata-web"}, 64<<10)
	require.Equal(t, "ext4", blkidValue(t, dev, "TYPE"))
	require.Equal(t, "strata-web", blkidValue(t, dev, "LABEL"), "FileSystem/MkfsParams reach mkfs")
	mnt := t.TempDir()
	run(t, "mount", dev, mnt)
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	data := bytes.Repeat([]byte("strata "), 100000)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "data"), data, 0o644))
	run(t, "sync")

	// Grown: the loop device follows the volume, and the file system is
	// grown over it. (resize2fs cannot grow ext4 online here: these
	// machines lack CAP_SYS_RESOURCE, which the kernel asks for, so ext4
	// grows unmounted and XFS, below, online.)
	run(t, "umount", mnt)
	grow := func(rd, dev string, kib int) {
		must(t, c, http.MethodPut, "/v1/resource-definitions/"+rd+"/volume-definitions/0", map[string]any{"size_kib": kib}, http.StatusOK)
		eventually(t, 30*time.Second, "the device grew", func() bool {
			out, err := exec.Command("blockdev", "--getsize64", dev).Output()
			return err == nil && strings.TrimSpace(string(out)) == strconv.Itoa(kib<<10)
		})
	}
	grow("web", dev, 128<<10)
	run(t, "e2fsck", "-f", "-y", dev)
	run(t, "resize2fs", dev)
	run(t, "mount", dev, mnt)
	require.Greater(t, sizeKib(t, mnt), 100<<10, "the file system spans the grown volume (it had 64 MiB)")
	got, err := os.ReadFile(filepath.Join(mnt, "data"))
	require.NoError(t, err)
	require.Equal(t, data, got)

	// Pushed again (a reconnect), the volume is not formatted again.
	run(t, "umount", mnt)
	must(t, c, http.MethodPut, "/v1/nodes/alpha/reconnect", nil, http.StatusOK)
	must(t, c, http.MethodPut, "/v1/nodes/alpha/reconnect", nil, http.StatusOK)
	time.Sleep(time.Second)
	run(t, "mount", dev, mnt)
	got, err = os.ReadFile(filepath.Join(mnt, "data"))
	require.NoError(t, err, "the file system was made once")
	require.Equal(t, data, got)
	run(t, "umount", mnt)

	// XFS, grown while mounted.
	xfs := create("logs", map[string]string{"FileSystem/Type": "xfs"}, 320<<10)
	require.Equal(t, "xfs", blkidValue(t, xfs, "TYPE"))
	run(t, "mount", xfs, mnt)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "data"), data, 0o644))
	run(t, "sync")
	grow("logs", xfs, 512<<10)
	run(t, "xfs_growfs", mnt)
	require.Greater(t, sizeKib(t, mnt), 400<<10, "XFS spans the grown volume (it had 320 MiB)")
	got, err = os.ReadFile(filepath.Join(mnt, "data"))
	require.NoError(t, err)
	require.Equal(t, data, got)
	run(t, "umount", mnt)

	// A volume already holding data keeps it when a file system is asked
	// for later.
	raw := create("raw", map[string]string{}, 16<<10)
	f, err := os.OpenFile(raw, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("precious bytes"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	must(t, c, http.MethodPut, "/v1/resource-definitions/raw", map[string]any{"override_props": map[string]string{"FileSystem/Type": "ext4"}}, http.StatusOK)
	must(t, c, http.MethodPut, "/v1/nodes/alpha/reconnect", nil, http.StatusOK)
	time.Sleep(time.Second)
	require.Empty(t, blkidValue(t, raw, "TYPE"), "no file system over data")
	head := make([]byte, 14)
	f, err = os.Open(raw)
	require.NoError(t, err)
	_, err = f.ReadAt(head, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, "precious bytes", string(head))
}
