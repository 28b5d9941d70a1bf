package scheduler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/store"
	"accessbot/workflow"
)

// TestSchedulerSwitchesDelegations runs the scheduler's own job list (the
// one serve starts every minute) across a delegation window, twice per
// instant, and counts the DMs.
func TestSchedulerSwitchesDelegations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"), c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e := workflow.NewEngine(db, engineCatalog(), c.Now)
	s := New(e, testLogger(t), Options{})
	var names []string
	for _, j := range s.jobs {
		names = append(names, j.Name)
	}
	require.Contains(t, names, JobSwitchDelegations)

	_, err = e.SetDelegation(ctx, workflow.DelegateInput{Actor: mgr, Delegate: "deputy@example.com", Start: "2026-11-24", End: "2026-11-24"})
	require.NoError(t, err)
	dms := func() int {
		ns, err := db.ClaimNotices(ctx, "test", c.Now().Add(time.Hour), time.Minute, 1000)
		require.NoError(t, err)
		n := 0
		for _, x := range ns {
			if x.Kind() == workflow.NoticeDirect {
				n++
			}
			require.NoError(t, db.NoticeDelivered(ctx, x.ID, "test", c.Now()))
		}
		return n
	}
	assert.Equal(t, 2, dms(), "set: both people told")
	twice := func() int {
		require.NoError(t, s.RunOnce(ctx))
		require.NoError(t, s.RunOnce(ctx))
		return dms()
	}
	assert.Zero(t, twice(), "not started")
	c.Advance(14 * time.Hour) // Tue 00:00 UTC
	assert.Equal(t, 2, twice(), "started: both told once")
	c.Advance(24 * time.Hour) // Wed 00:00 UTC
	assert.Equal(t, 2, twice(), "ended: both told once")
	d, err := e.DelegationOf(ctx, mgr)
	require.NoError(t, err)
	assert.Nil(t, d)
}
