package cli

import (
	"bytes"
	"testing"

	"strata/restapi"
)

// Off a terminal, each change is a line; operations that move data show
// how much, of what, and how fast.
func TestProgressLinesShowBytes(t *testing.T) {
	var w bytes.Buffer
	d := newProgressDisplay(&w, "backup-create:s3r:db:s1")
	d.update(restapi.Operation{State: "shipping from alpha", Percent: 50, DoneBytes: 512 << 20, TotalBytes: 1 << 30, BytesPerSecond: 200 << 20})
	d.update(restapi.Operation{State: "shipping from alpha", Percent: 50, DoneBytes: 512 << 20, TotalBytes: 1 << 30, BytesPerSecond: 200 << 20})
	d.update(restapi.Operation{State: "done", Percent: 100, Finished: true})
	want := " 50% shipping from alpha 512 MiB of 1 GiB at 200 MiB/s (workflow backup-create:s3r:db:s1)\n100% done (workflow backup-create:s3r:db:s1)\n"
	if w.String() != want {
		t.Fatalf("got %q, want %q", w.String(), want)
	}
}
