package drbd

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strata/agent/execrun"
	"strata/agent/execrun/execruntest"
)

// dryRun runs the real drbdadm with --dry-run: it reads the resource file
// and prints the drbdsetup and drbdmeta commands it would run, which needs
// no kernel module.
type dryRun struct{ execrun.Exec }

func (d dryRun) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if name == "drbdadm" && args[0] == "--config-file" {
		args = append([]string{"--dry-run"}, args...)
	}
	return d.Exec.Run(ctx, name, args...)
}

// TestDrbdadmUnderstandsEveryCommand has Debian's drbdadm read each
// command the agent gives it, with the agent's own resource file, and
// checks what it would do.
func TestDrbdadmUnderstandsEveryCommand(t *testing.T) {
	ctx := context.Background()
	res, err := Render(resource(t))
	require.NoError(t, err)
	adm := Adm{Dir: t.TempDir(), Run: dryRun{}}
	changed, err := adm.Write(ctx, "backups", res)
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = adm.Write(ctx, "backups", res)
	require.NoError(t, err)
	assert.False(t, changed, "the same file is not written again")

	capture := func(f func(Adm) error) string {
		var out strings.Builder
		require.NoError(t, f(Adm{Dir: adm.Dir, Run: recorder{dryRun{}, &out}}))
		return out.String()
	}
	assert.Contains(t, capture(func(a Adm) error { return a.CreateMetadata(ctx, "backups", 0, 7) }), "drbdmeta 1000 v09 /dev/loop7 internal create-md 7 --force")
	assert.Contains(t, capture(func(a Adm) error { return a.SkipInitialSync(ctx, "backups", 1) }), "drbdsetup new-current-uuid 1001 --clear-bitmap")
	adjust := capture(func(a Adm) error { return a.Adjust(ctx, "backups") })
	assert.Contains(t, adjust, "drbdsetup new-resource backups 0 --on-no-quorum=io-error --quorum=majority")
	assert.Contains(t, adjust, "drbdsetup new-peer backups 1 --_name=bravo")
	assert.Contains(t, adjust, "drbdsetup new-path backups 1 ipv4:10.0.0.1:7000 ipv4:10.0.0.2:7000")
	assert.Contains(t, capture(func(a Adm) error { return a.Up(ctx, "backups") }), "drbdsetup new-minor backups 1000 0")
	assert.Contains(t, capture(func(a Adm) error { return a.Down(ctx, "backups") }), "drbdsetup down backups")
	assert.Contains(t, capture(func(a Adm) error { return a.Primary(ctx, "backups", false) }), "drbdsetup primary backups")
	assert.Contains(t, capture(func(a Adm) error { return a.Primary(ctx, "backups", true) }), "drbdsetup primary backups --force")
	assert.Contains(t, capture(func(a Adm) error { return a.Secondary(ctx, "backups") }), "drbdsetup secondary backups")
	assert.Contains(t, capture(func(a Adm) error { return a.Resize(ctx, "backups", 0) }), "drbdsetup resize 1000")

	require.NoError(t, adm.Remove("backups"))
	require.NoError(t, adm.Remove("backups"), "removing twice is no error")
	_, err = os.Stat(adm.ResFile("backups"))
	assert.True(t, os.IsNotExist(err))
}

// recorder keeps what a runner printed.
type recorder struct {
	execrun.Runner
	out *strings.Builder
}

func (r recorder) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	b, err := r.Runner.Run(ctx, name, args...)
	r.out.Write(b)
	return b, err
}

func TestMetadataCheck(t *testing.T) {
	ctx := context.Background()
	get := "drbdmeta 1000 v09 /dev/loop7 internal --node-id=0 get-gi"
	run := execruntest.NewFakeRunner().Fail(get, "No valid meta data found")
	has, err := Adm{Run: run}.HasMetadata(ctx, 1000, "/dev/loop7", 0)
	require.NoError(t, err)
	assert.False(t, has)

	run = execruntest.NewFakeRunner().On(get, "0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0:0:0:0:0:0\n")
	has, err = Adm{Run: run}.HasMetadata(ctx, 1000, "/dev/loop7", 0)
	require.NoError(t, err)
	assert.True(t, has)

	run = execruntest.NewFakeRunner().Fail(get, "open(/dev/loop7) failed: No such file or directory")
	_, err = Adm{Run: run}.HasMetadata(ctx, 1000, "/dev/loop7", 0)
	assert.ErrorContains(t, err, "No such file or directory", "other failures are failures")
}
