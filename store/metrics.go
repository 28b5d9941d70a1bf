package store

import (
	"context"

	"accessbot/workflow"
)

// TaskCounts counts the tasks by kind and status, for metrics. Deleted
// tasks are gone from the table and are not counted.
func (db *DB) TaskCounts(ctx context.Context) ([]workflow.TaskCount, error) {
	var out []workflow.TaskCount
	err := db.reader(ctx).sel(&out, "SELECT kind, status, COUNT(*) AS n FROM tasks GROUP BY kind, status ORDER BY kind, status")
	return out, dbErr(err, "count tasks")
}
