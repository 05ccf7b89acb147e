// Package agentlink is the controller's link to the nodes' agents: it
// watches every node's agent and knows whether it is online, and it
// carries requests to them (a node's state, its disks, a device pool),
// over plain HTTP or mutual TLS.
package agentlink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"strata/agent/proto"
	"strata/store"
)

// Connection states, as LINSTOR's node list shows them.
const (
	Online          = "ONLINE"
	Offline         = "OFFLINE"
	VersionMismatch = "VERSION_MISMATCH"
)

// Status is what the link knows of a node's agent.
type Status struct {
	Connection string
	Info       proto.Info
	Err        string
	// sentAt is when the node was last sent its whole state (OnConnect).
	sentAt time.Time
}

// Link watches the agents.
type Link struct {
	Store    *store.Store
	Log      *slog.Logger
	Interval time.Duration // how often each agent is asked; a change shows within it
	// OnConnect is called when a node's agent comes online, to send it
	// its state.
	OnConnect func(node string)
	// OnDisconnect is called when a node's agent that was online is not
	// any more, and when it is not online at the link's first look
	// (first; a timer from before the controller's restart may run):
	// its auto-evict timer starts.
	OnDisconnect func(node string, first bool)
	// Reverify is how often an online node is sent its whole state again
	// (OnConnect), so that what its agent reports — the volumes that
	// exist, their sizes — is checked against the node itself even when
	// nothing changed; 0: never.
	Reverify time.Duration
	// Token proves to the agents that the requests come from their
	// cluster's controller (store.AgentToken); "": none is sent.
	Token string

	client    *http.Client // plain agents
	tlsClient *http.Client // agents of SSL nodes; nil: none configured
	mu        sync.Mutex
	status    map[string]Status // by node key
}

// New makes a link that asks every agent every interval. tlsConfig is the
// controller's side of mutual TLS with agents of SSL nodes (nil: such
// nodes stay OFFLINE).
func New(st *store.Store, log *slog.Logger, interval time.Duration, tlsConfig *tls.Config) *Link {
	// No client timeout: a poll is bounded by the interval, an apply by
	// its activity's deadline.
	l := &Link{Store: st, Log: log, Interval: interval, client: &http.Client{}, status: map[string]Status{}}
	if tlsConfig != nil {
		l.tlsClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	}
	return l
}

// NotOnlineError is a push to a node whose agent is not online; the node
// gets its state when its agent comes (back) online.
type NotOnlineError struct{ Node, Connection string }

func (e *NotOnlineError) Error() string {
	return fmt.Sprintf("No active connection to satellite '%s' (%s).", e.Node, e.Connection)
}

// Status is the node's connection state; OFFLINE until its agent answered.
func (l *Link) Status(node string) Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.status[store.Key(node)]; ok {
		return s
	}
	return Status{Connection: Offline}
}

// Run watches the agents until ctx ends.
func (l *Link) Run(ctx context.Context) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		l.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll asks every node's agent for its info, all at once.
func (l *Link) poll(ctx context.Context) {
	nodes, err := l.Store.ListNodes(ctx, nil)
	if err != nil {
		l.Log.Warn("list nodes for the agent link", "error", err)
		return
	}
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n.NodeName] = true
		wg.Go(func() { l.check(ctx, n) })
	}
	wg.Wait()
	l.mu.Lock()
	for k := range l.status {
		if !seen[k] {
			delete(l.status, k)
		}
	}
	l.mu.Unlock()
}

func (l *Link) check(ctx context.Context, n store.Node) {
	ctx, cancel := context.WithTimeout(ctx, l.Interval)
	defer cancel()
	s := Status{Connection: Offline}
	var info proto.Info
	if base, err := agentURL(n); err != nil {
		s.Err = err.Error()
	} else if err := l.call(ctx, http.MethodGet, base+proto.PathInfo, nil, &info); err != nil {
		s.Err = err.Error()
	} else if info.ProtocolVersion != proto.ProtocolVersion {
		s = Status{Connection: VersionMismatch, Info: info,
			Err: fmt.Sprintf("the agent speaks protocol %d, the controller %d", info.ProtocolVersion, proto.ProtocolVersion)}
	} else {
		s = Status{Connection: Online, Info: info}
	}
	l.mu.Lock()
	before := l.status[n.NodeName]
	s.sentAt = before.sentAt
	restarted := s.Connection == Online && before.Connection == Online && s.Info.BootID != before.Info.BootID
	due := s.Connection == Online && before.Connection == Online && l.Reverify > 0 && time.Since(before.sentAt) >= l.Reverify
	if s.Connection == Online && (s.Connection != before.Connection || restarted || due) {
		s.sentAt = time.Now()
	}
	l.status[n.NodeName] = s
	l.mu.Unlock()
	switch {
	case restarted:
		l.Log.Info("node's agent restarted", "node", n.NodeDspName)
	case s.Connection != before.Connection:
		l.Log.Info("node connection", "node", n.NodeDspName, "state", s.Connection, "reason", s.Err)
	case due:
		l.Log.Debug("sending a node its whole state again, to re-verify it", "node", n.NodeDspName)
	default:
		return
	}
	if s.Connection != Online && (before.Connection == Online || before.Connection == "") && l.OnDisconnect != nil {
		l.OnDisconnect(n.NodeDspName, before.Connection == "")
	}
	if s.Connection == Online {
		if err := l.Store.SetNodeAgentInfo(ctx, n.NodeDspName, info.Uname, info.Layers); err != nil {
			l.Log.Warn("record what the node's agent serves", "node", n.NodeDspName, "error", err)
		}
		if l.OnConnect != nil {
			l.OnConnect(n.NodeDspName)
		}
	}
}

// agentURL is the agent's address: the node's controller link interface.
func agentURL(n store.Node) (string, error) {
	active := store.Key(n.Props[store.KeyCurStltConnName])
	for _, nif := range n.NetInterfaces {
		if nif.StltConnPort != nil && (active == "" || nif.NodeNetName == active) {
			scheme := "http"
			if nif.StltConnEncrType != nil && *nif.StltConnEncrType == "SSL" {
				scheme = "https"
			}
			return scheme + "://" + net.JoinHostPort(nif.InetAddress, strconv.Itoa(int(*nif.StltConnPort))), nil
		}
	}
	return "", fmt.Errorf("node %s has no net interface with an agent port", n.NodeDspName)
}

func (l *Link) call(ctx context.Context, method, url string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	l.authorize(req)
	client, err := l.clientFor(req)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s answered %s", method, url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// authorize marks a request to an agent as the controller's.
func (l *Link) authorize(req *http.Request) {
	req.Header.Set("Content-Type", "application/json")
	if l.Token != "" {
		req.Header.Set("Authorization", "Bearer "+l.Token)
	}
}

// clientFor is the client that speaks to an agent's URL.
func (l *Link) clientFor(req *http.Request) (*http.Client, error) {
	if req.URL.Scheme != "https" {
		return l.client, nil
	}
	if l.tlsClient == nil {
		return nil, fmt.Errorf("the node's agent speaks TLS (communication type SSL), and the controller has no [agents] tls_cert, tls_key and tls_ca")
	}
	return l.tlsClient, nil
}

// Send sends a node its desired state and returns what its agent
// reports; a node whose agent is not online gets a *NotOnlineError.
func (l *Link) Send(ctx context.Context, node string, want proto.NodeState) (proto.Report, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.Report{}, err
	}
	var rep proto.Report
	if err := l.call(ctx, http.MethodPut, base+proto.PathNodeState, want, &rep); err != nil {
		return proto.Report{}, fmt.Errorf("send node %s its state: %w", node, err)
	}
	return rep, nil
}

// agentOf is the base URL of an online node's agent.
func (l *Link) agentOf(ctx context.Context, node string) (string, error) {
	n, err := l.Store.GetNode(ctx, node)
	if err != nil {
		return "", err
	}
	if st := l.Status(n.NodeName); st.Connection != Online {
		return "", &NotOnlineError{Node: n.NodeDspName, Connection: st.Connection}
	}
	return agentURL(n)
}

// Disks are the node's unused disks, as its agent finds them.
func (l *Link) Disks(ctx context.Context, node string) ([]proto.Disk, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return nil, err
	}
	var disks []proto.Disk
	return disks, l.call(ctx, http.MethodGet, base+proto.PathPhysicalStorage, nil, &disks)
}

// ExternalFileStatus is where an external file is on the node, as its
// agent finds it, and the SHA-256 of its content.
func (l *Link) ExternalFileStatus(ctx context.Context, node, path string, altSuffixes []string) (proto.ExternalFileStatus, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.ExternalFileStatus{}, err
	}
	q := url.Values{"path": {path}, "alt": altSuffixes}
	var st proto.ExternalFileStatus
	return st, l.call(ctx, http.MethodGet, base+proto.PathExternalFile+"?"+q.Encode(), nil, &st)
}

// SOSReport is the node's part of an SOS report, as its agent collects it.
func (l *Link) SOSReport(ctx context.Context, node string) (proto.SOSReport, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.SOSReport{}, err
	}
	var out proto.SOSReport
	return out, l.call(ctx, http.MethodGet, base+proto.PathSOSReport, nil, &out)
}

// LogLevel is the node's agent's log level; level non-nil changes it
// first.
func (l *Link) LogLevel(ctx context.Context, node string, level *slog.Level) (slog.Level, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return 0, err
	}
	var out proto.LogLevel
	if level != nil {
		err = l.call(ctx, http.MethodPut, base+proto.PathLogLevel, proto.LogLevel{Level: int(*level)}, &out)
	} else {
		err = l.call(ctx, http.MethodGet, base+proto.PathLogLevel, nil, &out)
	}
	return slog.Level(out.Level), err
}

// CreateDevicePool has the node's agent make a device pool.
func (l *Link) CreateDevicePool(ctx context.Context, node string, req proto.DevicePool) (proto.DevicePoolReport, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.DevicePoolReport{}, err
	}
	var rep proto.DevicePoolReport
	return rep, l.call(ctx, http.MethodPost, base+proto.PathPhysicalStorage, req, &rep)
}

// Job runs a backup job on a node's agent (proto.PathBackupUpload or
// PathBackupDownload), calling progress with each report it streams, and
// returns the job's end. The job stops when ctx ends.
// JobError is a job that ran on the agent and failed there, as opposed
// to an agent that could not be reached or stopped answering.
type JobError struct{ Node, Message string }

func (e *JobError) Error() string { return "node " + e.Node + ": " + e.Message }

func (l *Link) Job(ctx context.Context, node, path string, job any, progress func(proto.JobProgress)) (proto.JobProgress, error) {
	base, err := l.agentOf(ctx, node)
	if err != nil {
		return proto.JobProgress{}, err
	}
	body, err := json.Marshal(job)
	if err != nil {
		return proto.JobProgress{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return proto.JobProgress{}, err
	}
	l.authorize(req)
	client, err := l.clientFor(req)
	if err != nil {
		return proto.JobProgress{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return proto.JobProgress{}, fmt.Errorf("node %s: %w", node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return proto.JobProgress{}, fmt.Errorf("node %s: %s answered %s", node, path, resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev proto.JobEvent
		if err := dec.Decode(&ev); err != nil {
			return proto.JobProgress{}, fmt.Errorf("node %s: the job's answer ended early: %w", node, err)
		}
		switch {
		case ev.Error != "":
			return proto.JobProgress{}, &JobError{Node: node, Message: ev.Error}
		case ev.Done != nil:
			return *ev.Done, nil
		case ev.Progress != nil && progress != nil:
			progress(*ev.Progress)
		}
	}
}
