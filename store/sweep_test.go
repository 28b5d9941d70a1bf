package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// The queries the scheduler's sweeps page with, on every dialect.
func TestSweepQueries(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); testSweepQueries(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if _, err := postgresBase(); err != nil {
			t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
		}
		testSweepQueries(t, openPostgres)
	})
}

func testSweepQueries(t *testing.T, open opener) {
	ctx := context.Background()
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := clock.Now().UTC().Truncate(time.Microsecond)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }

	// Tasks 1-4: steps started at hours 3, 1, 1, 2; task 2 reminded at 5,
	// task 3 at 1; task 4 escalated.
	starts := []int{3, 1, 1, 2}
	require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
		for i, h := range starts {
			task := newTask("u@x.com")
			task.Steps[0].StartedAt = at(h)
			switch i {
			case 1:
				task.RemindedAt = at(5)
			case 2:
				task.RemindedAt = at(1)
			case 3:
				task.EscalatedAt = at(4)
			}
			if err := tx.CreateTask(task); err != nil {
				return err
			}
		}
		for i, h := range []int{3, 1, 2, 0} { // grant 4 permanent
			g := &workflow.Grant{Subject: "u@x.com", AppID: "github", Status: workflow.GrantActive, StartsAt: base}
			if h > 0 {
				g.ExpiresAt = at(h)
			}
			if i == 1 {
				g.WarnedAt = base
			}
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, db.SaveChatUser(ctx, &workflow.ChatUser{Email: "a@x.com", ChatID: "UA", TZ: "Europe/Paris"}))
	require.NoError(t, db.SaveChatUser(ctx, &workflow.ChatUser{Email: "b@x.com", ChatID: "UB", TZ: ""}))

	taskIDs := func(q workflow.TaskQuery) []int64 {
		t.Helper()
		var ts []*workflow.Task
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { ts, err = tx.FindTasks(q); return err }))
		var out []int64
		for _, x := range ts {
			out = append(out, x.ID)
		}
		return out
	}
	grantIDs := func(q workflow.GrantQuery) []int64 {
		t.Helper()
		var gs []*workflow.Grant
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { gs, err = tx.FindGrants(q); return err }))
		var out []int64
		for _, x := range gs {
			out = append(out, x.ID)
		}
		return out
	}
	before := at(10)
	assert.Equal(t, []int64{2, 3, 4, 1}, taskIDs(workflow.TaskQuery{StepStartedBefore: before, ByStepStart: true}))
	assert.Equal(t, []int64{3, 4}, taskIDs(workflow.TaskQuery{StepStartedBefore: before, ByStepStart: true, AfterStepStart: at(1), AfterID: 2, Limit: 2}))
	assert.Equal(t, []int64{1}, taskIDs(workflow.TaskQuery{StepStartedBefore: before, ByStepStart: true, AfterStepStart: at(2), AfterID: 4}))
	assert.Equal(t, []int64{3, 4}, taskIDs(workflow.TaskQuery{AfterID: 2}))
	assert.Equal(t, []int64{1, 3, 4}, taskIDs(workflow.TaskQuery{StepStartedBefore: before, RemindedBefore: at(4)}))
	assert.Equal(t, []int64{1, 4}, taskIDs(workflow.TaskQuery{StepStartedBefore: before, RemindedBefore: base}))
	assert.Equal(t, []int64{1, 2, 3}, taskIDs(workflow.TaskQuery{Unescalated: true}))

	assert.Equal(t, []int64{3, 1}, grantIDs(workflow.GrantQuery{Status: workflow.GrantActive, ExpiresBefore: at(5), Unwarned: true, ByExpiry: true}))
	assert.Equal(t, []int64{1}, grantIDs(workflow.GrantQuery{Status: workflow.GrantActive, ExpiresAfter: at(2), ExpiresBefore: at(5)}))
	assert.Equal(t, []int64{2, 3, 1}, grantIDs(workflow.GrantQuery{ExpiresBefore: at(5), ByExpiry: true}))

	var zones map[string]string
	require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) {
		zones, err = tx.TimeZones([]string{"a@x.com", "b@x.com", "c@x.com"})
		return err
	}))
	assert.Equal(t, map[string]string{"a@x.com": "Europe/Paris"}, zones)
}
