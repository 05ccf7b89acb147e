package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
	"golang.org/x/term"

	"strata/apicall"
	"strata/restapi"
)

// pollEvery is how often a followed operation is asked for its progress.
var pollEvery = 250 * time.Millisecond

// startOperation sends a request that starts a long operation without
// waiting for it, follows the operation with a progress display and
// prints its final replies. The display goes to stderr: a bar with the
// percentage and the workflow id on a terminal, a line per change
// otherwise.
func (a *app) startOperation(ctx context.Context, method, path string, body any, stderr io.Writer) error {
	_, raw, err := a.conn.do(ctx, method, path+"?wait=false", nil, body)
	if err != nil {
		return err
	}
	var rcs apicall.RcList
	if json.Unmarshal(raw, &rcs) != nil || len(rcs) != 1 || uint64(rcs[0].RetCode)&apicall.MaskCode != apicall.InfoOperationRunning&apicall.MaskCode || rcs[0].ObjRefs["WorkflowId"] == "" {
		return a.out.replies(raw) // refused, or already finished
	}
	id := rcs[0].ObjRefs["WorkflowId"]
	show := newProgressDisplay(stderr, id)
	for {
		var op restapi.Operation
		if _, err := a.get(ctx, "/v1/operations/"+pathEscape(id), nil, &op); err != nil {
			show.stop(false)
			return err
		}
		show.update(op)
		if op.Finished {
			show.stop(op.State != "failed")
			replies, err := json.Marshal(op.Replies)
			if err != nil {
				return err
			}
			return a.out.replies(replies)
		}
		select {
		case <-ctx.Done():
			show.stop(false)
			return &exitError{exitUnknown, fmt.Sprintf("Stopped following; the operation goes on: strata follows it again with GET /v1/operations/%s", id)}
		case <-time.After(pollEvery):
		}
	}
}

// progressDisplay shows a followed operation.
type progressDisplay struct {
	w       io.Writer
	id      string
	bar     progress.Writer
	tracker *progress.Tracker
	last    string
}

func newProgressDisplay(w io.Writer, id string) *progressDisplay {
	d := &progressDisplay{w: w, id: id}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.bar = progress.NewWriter()
		d.bar.SetOutputWriter(w)
		d.bar.SetUpdateFrequency(100 * time.Millisecond)
		d.bar.SetMessageLength(72)
		d.tracker = &progress.Tracker{Message: "workflow " + id, Total: 100}
		d.bar.AppendTracker(d.tracker)
		go d.bar.Render()
	}
	return d
}

func (d *progressDisplay) update(op restapi.Operation) {
	state := op.State
	if op.ItemsTotal > 0 {
		state += fmt.Sprintf(", %d of %d done", op.ItemsDone, op.ItemsTotal)
		if len(op.Current) > 0 {
			state += " (now " + strings.Join(op.Current, ", ") + ")"
		}
	}
	if op.TotalBytes > 0 {
		state += fmt.Sprintf(" %s of %s", formatKiB(op.DoneBytes>>10), formatKiB(op.TotalBytes>>10))
		if op.BytesPerSecond > 0 && !op.Finished {
			state += fmt.Sprintf(" at %s/s", formatKiB(op.BytesPerSecond>>10))
		}
	}
	if d.bar != nil {
		d.tracker.UpdateMessage(fmt.Sprintf("%s (workflow %s)", state, d.id))
		d.tracker.SetValue(int64(op.Percent))
		return
	}
	line := fmt.Sprintf("%3d%% %s (workflow %s)", op.Percent, state, d.id)
	if line != d.last {
		fmt.Fprintln(d.w, line)
		d.last = line
	}
}

func (d *progressDisplay) stop(ok bool) {
	if d.bar == nil {
		return
	}
	if ok {
		d.tracker.MarkAsDone()
	} else {
		d.tracker.MarkAsErrored()
	}
	time.Sleep(150 * time.Millisecond) // one last frame
	d.bar.Stop()
}
