package activities

import (
	"context"
	"sync"
	"time"
)

// pushes coalesces the pushes of one node's state: a push asked for while
// another to the same node runs waits for it to end and then joins the
// next one, which all the requests that came meanwhile share. Each is
// answered by a push whose state was read after it asked, so none misses
// its change, and a burst of changes to one node (an evacuation moving
// many resources, many attaches at once) costs two pushes instead of one
// each.
type pushes struct {
	mu    sync.Mutex
	nodes map[string]*nodePushes
}

type nodePushes struct {
	running bool
	next    *pushRound // the round the requests that came meanwhile wait for
}

type pushRound struct {
	done chan struct{}
	err  error
}

// pushTimeout bounds a shared push: the one who asked first may give up
// without failing the others.
const pushTimeout = 10 * time.Minute

// do runs push for node, or joins a round that will; it returns the
// round's outcome.
func (p *pushes) do(ctx context.Context, node string, push func(ctx context.Context) error) error {
	p.mu.Lock()
	if p.nodes == nil {
		p.nodes = map[string]*nodePushes{}
	}
	np := p.nodes[node]
	if np == nil {
		np = &nodePushes{}
		p.nodes[node] = np
	}
	r := np.next
	if r == nil {
		r = &pushRound{done: make(chan struct{})}
		np.next = r
	}
	if !np.running {
		np.running, np.next = true, nil
		go p.run(context.WithoutCancel(ctx), node, np, r, push)
	}
	p.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run runs rounds for node until none waits.
func (p *pushes) run(ctx context.Context, node string, np *nodePushes, r *pushRound, push func(ctx context.Context) error) {
	for r != nil {
		rctx, cancel := context.WithTimeout(ctx, pushTimeout)
		r.err = push(rctx)
		cancel()
		close(r.done)
		p.mu.Lock()
		r, np.next = np.next, nil
		if r == nil {
			np.running = false
			delete(p.nodes, node)
		}
		p.mu.Unlock()
	}
}
