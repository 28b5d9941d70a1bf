package store

import (
	"time"

	"accessbot/workflow"
)

// ApprovedDurations returns the durations of the newest grant tasks for an
// app or resource that ended done at or after since, newest first, at most
// limit, leaving out those whose subject is except. The literal kind and
// status terms match the partial index tasks_approved (0003), which holds
// every column the query reads.
func (tx *readTx) ApprovedDurations(appID, resourceID string, since time.Time, except string, limit int) ([]time.Duration, error) {
	if limit <= 0 {
		limit = 100
	}
	var secs []int64
	err := tx.sel(&secs, `SELECT duration_seconds FROM tasks
		WHERE kind = 'grant' AND status = 'done' AND app_id = ? AND resource_id = ? AND closed_at >= ? AND subject <> ?
		ORDER BY closed_at DESC LIMIT ?`, appID, resourceID, tx.t(since), except, limit)
	if err != nil {
		return nil, dbErr(err, "read approved durations")
	}
	out := make([]time.Duration, len(secs))
	for i, s := range secs {
		out[i] = time.Duration(s) * time.Second
		if s == -1 {
			out[i] = workflow.Permanent
		}
	}
	return out, nil
}
