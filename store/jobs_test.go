package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// testConnectorJobs: a job is claimed once while leased, again once the
// lease ended (its attempt counted), and only the latest claim may save it.
func testConnectorJobs(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	j := &workflow.ConnectorJob{TaskID: 7, Step: 1, Action: workflow.JobGrant, Connector: "github", Key: "accessbot-T-7-step2-grant-1"}
	update(t, db, func(tx workflow.Tx) error { return tx.EnqueueJob(j) })
	require.NotZero(t, j.ID)

	// Two claimers at once get it once.
	var wg sync.WaitGroup
	got := make([][]*workflow.ConnectorJob, 2)
	for i, owner := range []string{"a", "b"} {
		wg.Go(func() {
			js, err := db.ClaimJobs(ctx, owner, clock.Now(), time.Minute, 10)
			assert.NoError(t, err)
			got[i] = js
		})
	}
	wg.Wait()
	require.Equal(t, 1, len(got[0])+len(got[1]), "claimed once")
	first := append(got[0], got[1]...)[0]
	assert.Equal(t, 1, first.Attempts)
	assert.Equal(t, j.Key, first.Key)
	assert.Equal(t, micro(clock.Now()).Add(time.Minute), first.LeaseUntil)

	clock.Add(61 * time.Second)
	again, err := db.ClaimJobs(ctx, "c", clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, 2, again[0].Attempts)

	// The first claim's save is refused; the latest's goes through and
	// releases the lease.
	first.State = workflow.JobDone
	err = db.Update(ctx, func(tx workflow.Tx) error { return tx.SaveJob(first) })
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
	again[0].State, again[0].LastError, again[0].NextAt = workflow.JobPending, "HTTP 500", clock.Now().Add(time.Hour)
	update(t, db, func(tx workflow.Tx) error { return tx.SaveJob(again[0]) })
	js, err := db.ClaimJobs(ctx, "d", clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	assert.Empty(t, js, "not due before NextAt")
	clock.Add(time.Hour)
	js, err = db.ClaimJobs(ctx, "d", clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, js, 1)
	assert.Equal(t, "HTTP 500", js[0].LastError)
	js[0].State = workflow.JobDone
	update(t, db, func(tx workflow.Tx) error { return tx.SaveJob(js[0]) })
	n, err := db.PendingJobs(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	all, err := db.Jobs(ctx, 7)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, workflow.JobDone, all[0].State)
	assert.Equal(t, 3, all[0].Attempts)
	assert.Empty(t, all[0].LeaseOwner)
}
