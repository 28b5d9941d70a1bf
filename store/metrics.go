package store

import (
	"context"

	"accessbot/workflow"
)

// TaskCount is how many tasks have one kind and status.
type TaskCount struct {
	Kind   workflow.Kind   `db:"kind"`
	Status workflow.Status `db:"status"`
	N      int             `db:"n"`
}

// TaskCounts counts the tasks by kind and status, for metrics. Deleted
// tasks are gone from the table and are not counted.
func (db *DB) TaskCounts(ctx context.Context) ([]TaskCount, error) {
	var out []TaskCount
	err := db.reader(ctx).sel(&out, "SELECT kind, status, COUNT(*) AS n FROM tasks GROUP BY kind, status ORDER BY kind, status")
	return out, dbErr(err, "count tasks")
}
