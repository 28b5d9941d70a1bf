package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func testTaskCounts(t *testing.T, open opener) {
	db, _ := open(t, newClock().Now)
	ctx := context.Background()
	counts, err := db.TaskCounts(ctx)
	require.NoError(t, err)
	require.Empty(t, counts, "no tasks, no rows")
	update(t, db, func(tx workflow.Tx) error {
		for i, s := range []string{"a@x.com", "b@x.com", "c@x.com", "d@x.com"} {
			task := newTask(s)
			if i == 2 {
				task.Status = workflow.StatusDenied
			}
			if i == 3 {
				task.Kind = workflow.KindRevoke
			}
			require.NoError(t, tx.CreateTask(task))
		}
		return nil
	})
	update(t, db, func(tx workflow.Tx) error { return tx.DeleteTask(1) })
	counts, err = db.TaskCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, []workflow.TaskCount{
		{Kind: workflow.KindGrant, Status: workflow.StatusDenied, N: 1},
		{Kind: workflow.KindGrant, Status: workflow.StatusOpen, N: 1}, // the deleted one is gone
		{Kind: workflow.KindRevoke, Status: workflow.StatusOpen, N: 1},
	}, counts)
}
