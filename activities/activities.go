// Package activities holds the Temporal activities: everything a workflow
// does that touches the database, an agent, S3 or the file system.
package activities

import "strata/store"

// Activities carries what the activities need; the worker registers its
// methods, and workflows refer to them through a nil *Activities.
type Activities struct {
	Store *store.Store
	// BackupDir receives database backups of the embedded database.
	BackupDir string
}
