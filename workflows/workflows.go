// Package workflows holds Strata's Temporal workflows. Workflow code is
// deterministic: no I/O, no clocks, no randomness; all effects are activities.
package workflows

// TaskQueue is where the controllers' workers take Strata's workflows from.
const TaskQueue = "strata-controller"

// StatusQuery is the query every long-running Strata workflow answers with
// its progress.
const StatusQuery = "status"

// Status is a workflow's progress as reported by StatusQuery.
type Status struct {
	State   string `json:"state"`
	Percent int    `json:"percent"`
}
