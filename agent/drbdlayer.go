package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"strata/agent/drbd"
	"strata/agent/proto"
	"strata/agent/storage"
)

// DefaultDrbdDir is where the agent keeps the .res files it renders.
const DefaultDrbdDir = "/var/lib/strata.d"

func (a *Agent) adm() drbd.Adm {
	dir := a.DrbdDir
	if dir == "" {
		dir = DefaultDrbdDir
	}
	return drbd.Adm{Dir: dir, Run: a.Run}
}

func hasLayer(r proto.Resource, layer string) bool {
	for _, l := range r.Layers {
		if l == layer {
			return true
		}
	}
	return false
}

// applied are the layers Apply builds; the others exist at command level
// (agent/layer) and are refused per resource until Apply builds them.
var applied = map[string]bool{"DRBD": true, "STORAGE": true}

// drbdResources are the wanted resources with a DRBD layer, by name.
func drbdResources(want proto.NodeState) map[string]proto.Resource {
	out := map[string]proto.Resource{}
	for _, r := range want.Resources {
		if hasLayer(r, "DRBD") && r.Drbd != nil {
			out[r.Name] = r
		}
	}
	return out
}

// unapplied says, per resource, which of its layers Apply cannot build.
func unapplied(want proto.NodeState) map[string]error {
	out := map[string]error{}
	for _, r := range want.Resources {
		for _, l := range r.Layers {
			if !applied[l] {
				out[r.Name] = fmt.Errorf("layer %s of resource %s is not applied by this agent yet (its layer stack is %s)", l, r.Name, strings.Join(r.Layers, ","))
				break
			}
		}
	}
	return out
}

// downUnwanted takes down the DRBD resources the agent set up that are
// no longer wanted, before their storage goes.
func (a *Agent) downUnwanted(ctx context.Context, wanted map[string]proto.Resource) {
	adm := a.adm()
	files, _ := filepath.Glob(filepath.Join(adm.Dir, "*.res"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".res")
		if _, ok := wanted[name]; ok {
			continue
		}
		if err := adm.Down(ctx, name); err != nil {
			a.Log.Error("drbd down failed", "resource", name, "error", err)
			continue // its storage stays busy and reports it
		}
		if err := adm.Remove(name); err != nil {
			a.Log.Error("remove resource file", "resource", name, "error", err)
		}
		a.Log.Info("drbd resource down", "resource", name)
	}
}

// suspend suspends the I/O of the wanted DRBD resources that are up and
// named in suspend, first thing in an apply, and restarts the timer that
// resumes each should no later state keep it suspended. It returns the
// resources it could not suspend, with why.
func (a *Agent) suspend(ctx context.Context, wanted map[string]proto.Resource, suspend map[string]bool) map[string]string {
	adm := a.adm()
	var failed map[string]string
	for name := range suspend {
		if _, ok := wanted[name]; !ok {
			continue // no DRBD here: storage alone has nothing to hold
		}
		if _, err := os.Stat(adm.ResFile(name)); err != nil {
			continue // not up yet: nothing writes to it
		}
		if err := adm.SuspendIO(ctx, name); err != nil {
			if failed == nil {
				failed = map[string]string{}
			}
			failed[name] = err.Error()
			continue
		}
		a.hold(name)
	}
	return failed
}

// hold (re)starts the timer that resumes a suspended resource.
func (a *Agent) hold(name string) {
	if a.holds == nil {
		a.holds = map[string]*time.Timer{}
	}
	if t := a.holds[name]; t != nil {
		t.Stop()
	}
	a.holds[name] = time.AfterFunc(SuspendTimeout, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.holds[name] == nil {
			return
		}
		delete(a.holds, name)
		a.Log.Warn("resuming I/O that no state kept suspended", "resource", name, "after", SuspendTimeout)
		if err := a.adm().ResumeIO(context.Background(), name); err != nil {
			a.Log.Error("resume-io failed", "resource", name, "error", err)
		}
	})
}

// release resumes a resource's I/O and stops its timer.
func (a *Agent) release(ctx context.Context, name string) error {
	if t := a.holds[name]; t != nil {
		t.Stop()
		delete(a.holds, name)
	}
	return a.adm().ResumeIO(ctx, name)
}

// applyDrbd brings up the DRBD layer of each wanted resource over the
// storage volumes just made, resumes the I/O of those that are
// suspended but no longer to be, and reports the DRBD devices.
func (a *Agent) applyDrbd(ctx context.Context, node string, wanted map[string]proto.Resource, grown, suspend map[string]bool, caps capabilities, rep *proto.Report) {
	if len(wanted) == 0 {
		return
	}
	vols := map[string][]*proto.VolumeReport{}
	for i := range rep.Volumes {
		v := &rep.Volumes[i]
		vols[v.Resource] = append(vols[v.Resource], v)
	}
	names := make([]string, 0, len(wanted))
	for n := range wanted {
		names = append(names, n)
	}
	sort.Strings(names)
	var up []string
	for _, name := range names {
		fail := func(err error) {
			for _, v := range vols[name] {
				v.DiskState, v.Error = proto.DiskFailed, err.Error()
			}
		}
		if why, ok := caps.unsupportedLayers["DRBD"]; ok {
			fail(fmt.Errorf("the DRBD layer of resource %s is not served by this agent: %s", name, strings.Join(why, "; ")))
			continue
		}
		if err := a.drbdUp(ctx, node, wanted[name], vols[name], grown); err != nil {
			a.Log.Error("drbd failed", "resource", name, "error", err)
			fail(err)
			continue
		}
		up = append(up, name)
	}
	if len(up) == 0 {
		return
	}
	state := drbd.State{}
	out, err := a.Run.Run(ctx, "drbdsetup", "events2", "--now")
	if err == nil {
		err = state.Read(strings.NewReader(string(out)))
	}
	if err != nil {
		a.Log.Warn("read drbd state", "error", err)
	}
	for _, name := range up {
		r := state[name]
		if r == nil {
			continue
		}
		// events2 names peers by their host; the controller by node.
		nodeOf := map[string]string{}
		for _, n := range wanted[name].Drbd.Nodes {
			nodeOf[n.Host] = n.Name
		}
		for _, v := range vols[name] {
			if r.Devices[v.VlmNr] != nil {
				v.DiskState = r.Devices[v.VlmNr].Disk
			}
			for peer, c := range r.Connections {
				if st, ok := c.Sync[v.VlmNr]; ok && nodeOf[peer] != "" {
					if v.Replication == nil {
						v.Replication = map[string]proto.ReplicationState{}
					}
					rs := proto.ReplicationState{State: st}
					if done, ok := c.Done[v.VlmNr]; ok {
						rs.Done = &done
					}
					v.Replication[nodeOf[peer]] = rs
				}
			}
		}
		held := r.Suspended != "" && r.Suspended != "no"
		if held && !suspend[name] {
			if err := a.release(ctx, name); err != nil {
				a.Log.Error("resume-io failed", "resource", name, "error", err)
			} else {
				a.Log.Info("I/O resumed", "resource", name)
				held = false
			}
		}
		rr := proto.ResourceReport{Name: name, Role: r.Role, InUse: r.Role == "Primary", PromotionScore: r.PromotionScore, MayPromote: r.MayPromote,
			Connections: map[string]string{}, Suspended: held}
		for host, c := range r.Connections {
			if n, ok := nodeOf[host]; ok {
				rr.Connections[n] = c.Connection
			}
		}
		rep.Resources = append(rep.Resources, rr)
	}
}

// drbdUp renders the resource's file, creates metadata on new backing
// disks, adjusts DRBD to the file and has it use grown backing disks.
func (a *Agent) drbdUp(ctx context.Context, node string, r proto.Resource, vols []*proto.VolumeReport, grown map[string]bool) error {
	d := r.Drbd
	res := drbd.Resource{Name: r.Name, Port: d.Port, Secret: d.Secret, Options: d.Options, PeerOptions: map[string]map[string]string{}, Paths: map[string][]drbd.Path{},
		Proxy: map[string]int32{}, ProxyCompression: d.ProxyCompression}
	var local *proto.DrbdNode
	for i, n := range d.Nodes {
		res.Nodes = append(res.Nodes, drbd.Node{Name: n.Host, NodeID: n.NodeID, Address: n.Address, Diskless: n.Diskless})
		if opts, ok := d.PeerOptions[n.Name]; ok {
			res.PeerOptions[n.Host] = opts
		}
		for _, p := range d.Paths[n.Name] {
			res.Paths[n.Host] = append(res.Paths[n.Host], drbd.Path{Local: p.Local, Peer: p.Peer})
		}
		if port, ok := d.Proxy[n.Name]; ok {
			res.Proxy[n.Host] = port
		}
		if n.Name == node {
			local = &d.Nodes[i]
		}
	}
	if local == nil {
		return fmt.Errorf("resource %s: node %s is not among its DRBD nodes", r.Name, node)
	}
	res.Local = local.Host
	byNr := map[int32]*proto.VolumeReport{}
	for _, v := range vols {
		byNr[v.VlmNr] = v
	}
	for _, dv := range d.Volumes {
		v := byNr[dv.VlmNr]
		if v == nil {
			return fmt.Errorf("resource %s: volume %d has no storage on this node", r.Name, dv.VlmNr)
		}
		if v.Error != "" {
			return fmt.Errorf("resource %s: storage of volume %d failed: %s", r.Name, dv.VlmNr, v.Error)
		}
		disk := ""
		if !local.Diskless {
			disk = v.DevicePath
		}
		res.Volumes = append(res.Volumes, drbd.Volume{Nr: dv.VlmNr, Minor: dv.Minor, Disk: disk})
	}
	text, err := drbd.Render(res)
	if err != nil {
		return err
	}
	adm := a.adm()
	if _, err := adm.Write(ctx, r.Name, text); err != nil {
		return err
	}
	fresh := map[int32]bool{} // volumes whose metadata this apply made
	for _, v := range res.Volumes {
		if v.Disk == "" {
			continue
		}
		has, err := adm.HasMetadata(ctx, v.Minor, v.Disk, local.NodeID)
		if err != nil {
			return err
		}
		if !has {
			if err := adm.CreateMetadata(ctx, r.Name, v.Nr, d.PeerSlots); err != nil {
				return err
			}
			fresh[v.Nr] = true
		}
	}
	if err := adm.Adjust(ctx, r.Name); err != nil {
		return err
	}
	for _, v := range res.Volumes {
		if v.Disk != "" && grown[storage.VolumeName(r.Name, v.Nr)] {
			if err := adm.Resize(ctx, r.Name, v.Nr); err != nil {
				return err
			}
		}
	}
	for _, v := range res.Volumes {
		rv := byNr[v.Nr]
		rv.BackingPath, rv.DevicePath, rv.Layer = rv.DevicePath, drbd.Device(v.Minor), "DRBD"
		if v.Disk == "" {
			rv.BackingPath = ""
		}
	}
	return a.drbdFileSystems(ctx, r, byNr, fresh)
}

// drbdFileSystems gives the new volumes of a DRBD resource the file
// system the state asks for, on their DRBD device so that every replica
// gets it: this node becomes Primary (forced: the new data is nobody's
// yet, and becomes the sync source), makes them, and goes Secondary.
func (a *Agent) drbdFileSystems(ctx context.Context, r proto.Resource, byNr map[int32]*proto.VolumeReport, fresh map[int32]bool) error {
	var format []proto.DrbdVolume
	for _, dv := range r.Drbd.Volumes {
		if dv.FileSystem != nil && fresh[dv.VlmNr] {
			format = append(format, dv)
		}
	}
	if len(format) == 0 {
		return nil
	}
	adm := a.adm()
	if err := adm.Primary(ctx, r.Name, true); err != nil {
		return fmt.Errorf("resource %s: become Primary to make its file system: %w", r.Name, err)
	}
	var failed error
	for _, dv := range format {
		fs, err := a.fileSystem(ctx, drbd.Device(dv.Minor), *dv.FileSystem, true)
		if err != nil {
			failed = fmt.Errorf("resource %s: file system of volume %d: %w", r.Name, dv.VlmNr, err)
			break
		}
		byNr[dv.VlmNr].FileSystem = fs
	}
	if err := adm.Secondary(ctx, r.Name); err != nil && failed == nil {
		failed = fmt.Errorf("resource %s: become Secondary after making its file system: %w", r.Name, err)
	}
	return failed
}
