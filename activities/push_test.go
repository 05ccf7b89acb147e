package activities

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Pushes asked for while one runs share the next one, which starts after
// they asked: 20 requests during a slow push cost one more push, not 20.
func TestPushesToOneNodeAreCoalesced(t *testing.T) {
	var p pushes
	var runs atomic.Int32
	var started sync.Map // run number → start time
	release := make(chan struct{})
	push := func(context.Context) error {
		n := runs.Add(1)
		started.Store(n, time.Now())
		if n == 1 {
			<-release
		}
		return nil
	}
	ctx := context.Background()
	first := make(chan error)
	go func() { first <- p.do(ctx, "alpha", push) }()
	require.Eventually(t, func() bool { return runs.Load() == 1 }, time.Second, time.Millisecond)
	asked := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { require.NoError(t, p.do(ctx, "alpha", push)) })
	}
	time.Sleep(50 * time.Millisecond) // all 20 wait for the running push
	close(release)
	require.NoError(t, <-first)
	wg.Wait()
	require.EqualValues(t, 2, runs.Load(), "the 20 shared one push")
	at, _ := started.Load(int32(2))
	require.True(t, at.(time.Time).After(asked), "the shared push started after they asked")
	// Another node is not held by alpha's pushes, and a push asked for
	// once all ended runs at once.
	require.NoError(t, p.do(ctx, "bravo", push))
	require.NoError(t, p.do(ctx, "alpha", push))
	require.EqualValues(t, 4, runs.Load())
}
