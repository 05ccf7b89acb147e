package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"strata/activities"
	"strata/agentlink"
	"strata/store"
	"strata/worker"
	"strata/worker/embedded"
)

// The API tests run every operation's workflow for real: one embedded
// Temporal server for the package, and a worker per test client on its
// own task queue, over that client's database.
var (
	temporalClient client.Client
	taskQueues     atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "strata-api-temporal-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv, err := embedded.Start(embedded.Config{DBPath: dir + "/temporal.db", FrontendAddress: "127.0.0.1:0", Namespace: "default", Logger: log})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer srv.Stop()
		if temporalClient, err = worker.Dial(context.Background(), srv.FrontendAddress(), "default", 10*time.Second, log); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer temporalClient.Close()
		srv.Ready()
		return m.Run()
	}())
}

// operationsDeps are the API's dependencies for running operations over
// st: a worker of its own, and an agent link whose nodes' agents are all
// offline (the tests of the API alone run no agents; changes are
// recorded, and the nodes are reported as not reached).
func operationsDeps(t *testing.T, st *store.Store) Deps {
	queue := fmt.Sprintf("api-test-%d", taskQueues.Add(1))
	agents := agentlink.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, nil)
	w, err := worker.Start(temporalClient, queue, &activities.Activities{Store: st, Agents: agents, Temporal: temporalClient})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return Deps{Store: st, Temporal: temporalClient, TaskQueue: queue, Agents: agents, OperationWait: time.Minute}
}
