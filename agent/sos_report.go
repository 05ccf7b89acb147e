package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"strata/agent/proto"
)

// sosCommands are what a node's part of an SOS report runs, as LINSTOR's
// satellites do: versions, DRBD's view, block devices, addresses and the
// kernel's messages.
var sosCommands = []struct {
	file string
	cmd  []string
}{
	{"uname.txt", []string{"uname", "-a"}},
	{"drbdadm-version.txt", []string{"drbdadm", "--version"}},
	{"drbdsetup-status.txt", []string{"drbdsetup", "status", "--verbose", "--statistics"}},
	{"drbdsetup-events2.txt", []string{"drbdsetup", "events2", "--now", "--statistics"}},
	{"lsblk.txt", []string{"lsblk", "--output", "NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT"}},
	{"ip-addr.txt", []string{"ip", "address"}},
	{"dmesg.txt", []string{"dmesg", "--ctime"}},
}

// sosFileLimit bounds each file of the report (dmesg grows for as long as
// a node runs): the end of it is kept.
const sosFileLimit = 1 << 20

// SOSReport collects the node's part of an SOS report: the commands'
// outputs (or why they failed), the agent's recent log lines and its DRBD
// resource files.
func (a *Agent) SOSReport(ctx context.Context) proto.SOSReport {
	files := map[string]string{"version.txt": "strata-agent " + a.Version + "\n"}
	for _, c := range sosCommands {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := a.Run.Run(cctx, c.cmd[0], c.cmd[1:]...)
		cancel()
		text := "$ " + strings.Join(c.cmd, " ") + "\n" + tail(string(out))
		if err != nil {
			text += "\n(failed: " + err.Error() + ")\n"
		}
		files[c.file] = text
	}
	if a.LogRing != nil {
		files["agent.log"] = tail(string(a.LogRing.Bytes()))
	}
	dir := a.adm().Dir
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".res") {
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					files["drbd.d/"+e.Name()] = redactDrbdSecrets(string(b))
				}
			}
		}
	}
	return proto.SOSReport{Files: files}
}

func tail(s string) string {
	if len(s) > sosFileLimit {
		return s[len(s)-sosFileLimit:]
	}
	return s
}

// redactDrbdSecrets blanks the shared secrets of DRBD resource files:
// an SOS report is sent to others.
func redactDrbdSecrets(res string) string {
	lines := strings.Split(res, "\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "shared-secret" {
			lines[i] = l[:strings.Index(l, "shared-secret")] + `shared-secret "<redacted>";`
		}
	}
	return strings.Join(lines, "\n")
}
