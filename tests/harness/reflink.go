package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ReflinkDir mounts a fresh XFS made with reflinks (mkfs.xfs -m
// reflink=1) on a loop device and returns its directory: a FILE pool
// there takes snapshots as reflinks. The file system is a sparse image
// of sizeMiB (XFS needs at least 300) and is unmounted at the end. It
// skips the test where the machine cannot mount (no root, no mkfs.xfs).
func ReflinkDir(t testing.TB, sizeMiB int) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.xfs"); err != nil || os.Geteuid() != 0 {
		t.Skip("a reflink file system needs root and mkfs.xfs (go tool task deps installs xfsprogs)")
	}
	base := t.TempDir()
	img, dir := filepath.Join(base, "xfs.img"), filepath.Join(base, "mnt")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"mkfs.xfs", "-q", "-m", "reflink=1", img}, {"mount", "-o", "loop", img, dir}} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", cmd, err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "--lazy", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
