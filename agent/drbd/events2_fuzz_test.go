package drbd

import "testing"

// events2 lines come from drbdsetup, of whatever version is installed:
// no line makes the agent panic, and a line that parses folds into the
// state.
func FuzzParseEvent(f *testing.F) {
	for _, l := range []string{"exists -", "change resource name:r0 role:Primary may_promote:no promotion_score:10102",
		"exists device name:r0 volume:0 minor:1000 disk:UpToDate client:no quorum:yes",
		"change peer-device name:r0 peer-node-id:1 conn-name:n2 volume:0 replication:SyncSource peer-disk:Inconsistent done:42.5",
		"destroy resource name:r0", "call helper name:r0 helper:before-resync-target", "change connection name:r0 peer-node-id:x conn-name:n2 connection:Connected role:Secondary"} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := ParseEvent(line)
		if err != nil {
			return
		}
		if ev.Object != "" && ev.Object != "helper" && ev.Fields["name"] == "" {
			t.Fatalf("%q parsed without a resource name", line)
		}
		State{}.Apply(ev)
	})
}
