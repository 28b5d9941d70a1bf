package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// The queries reviewer insights read, on every dialect.
func TestInsightQueries(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); testInsightQueries(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if _, err := postgresBase(); err != nil {
			t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
		}
		testInsightQueries(t, openPostgres)
	})
}

func testInsightQueries(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := clock.Now().UTC().Truncate(time.Microsecond)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	res := "admin"

	update(t, db, func(tx workflow.Tx) error {
		for _, g := range []*workflow.Grant{
			{Subject: "a@x.com", AppID: "github", ResourceID: "admin", Status: workflow.GrantActive, StartsAt: at(0)},
			{Subject: "b@x.com", AppID: "github", ResourceID: "admin", Status: workflow.GrantActive, StartsAt: at(1)},
			{Subject: "c@x.com", AppID: "github", ResourceID: "admin", Status: workflow.GrantExpired, StartsAt: at(2)},
			{Subject: "a@x.com", AppID: "github", ResourceID: "repo", Status: workflow.GrantActive, StartsAt: at(3)},
			{Subject: "a@x.com", AppID: "github", ResourceID: "admin", Status: workflow.GrantRevoked, StartsAt: at(4)},
		} {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
		}
		// Tasks: created at hours 0..5; 0-3 done (closed at hour+1) with
		// durations 1h, 2h, permanent, 4h; 4 open; 5 denied.
		durs := []time.Duration{time.Hour, 2 * time.Hour, workflow.Permanent, 4 * time.Hour, time.Hour, time.Hour}
		subjects := []string{"a@x.com", "b@x.com", "c@x.com", "a@x.com", "b@x.com", "b@x.com"}
		for i, d := range durs {
			task := newTask(subjects[i])
			task.ResourceID, task.Duration, task.CreatedAt = "admin", d, at(i)
			switch {
			case i < 4:
				task.Status, task.ClosedAt = workflow.StatusDone, at(i+1)
			case i == 5:
				task.Status, task.ClosedAt = workflow.StatusDenied, at(i+1)
			}
			if err := tx.CreateTask(task); err != nil {
				return err
			}
		}
		other := newTask("b@x.com") // another resource, done
		other.ResourceID, other.Status, other.ClosedAt, other.CreatedAt = "repo", workflow.StatusDone, at(9), at(8)
		return tx.CreateTask(other)
	})

	view(t, db, func(tx workflow.ReadTx) error {
		count := func(q workflow.GrantQuery) int {
			n, err := tx.CountGrants(q)
			require.NoError(t, err)
			return n
		}
		active := workflow.GrantQuery{AppID: "github", ResourceID: &res, Status: workflow.GrantActive}
		assert.Equal(t, 2, count(active))
		withSubjects := active
		withSubjects.Subjects = []string{"b@x.com", "c@x.com", "z@x.com"}
		assert.Equal(t, 1, count(withSubjects))
		assert.Equal(t, 3, count(workflow.GrantQuery{Subject: "a@x.com"}))

		gs, err := tx.FindGrants(workflow.GrantQuery{Subject: "a@x.com", AppID: "github", ResourceID: &res, Newest: true})
		require.NoError(t, err)
		require.Len(t, gs, 2)
		assert.Equal(t, workflow.GrantRevoked, gs[0].Status, "newest first")
		assert.Equal(t, workflow.GrantActive, gs[1].Status)

		countTasks := func(q workflow.TaskQuery) int {
			n, err := tx.CountTasks(q)
			require.NoError(t, err)
			return n
		}
		assert.Equal(t, 4, countTasks(workflow.TaskQuery{Requester: "b@x.com", Kind: workflow.KindGrant}))
		assert.Equal(t, 3, countTasks(workflow.TaskQuery{Requester: "b@x.com", CreatedAfter: at(4)}), "at or after")
		assert.Equal(t, 1, countTasks(workflow.TaskQuery{Requester: "b@x.com", CreatedBefore: at(4)}), "before")
		assert.Equal(t, 2, countTasks(workflow.TaskQuery{Requester: "b@x.com", CreatedAfter: at(1), CreatedBefore: at(5)}), "hours 1 and 4")
		assert.Equal(t, 1, countTasks(workflow.TaskQuery{Requester: "b@x.com", CreatedAfter: at(1), Statuses: []workflow.Status{workflow.StatusOpen}}))

		ds, err := tx.ApprovedDurations("github", "admin", at(0), "", 10)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{4 * time.Hour, workflow.Permanent, 2 * time.Hour, time.Hour}, ds, "done only, newest first, permanent kept")
		ds, err = tx.ApprovedDurations("github", "admin", at(2), "a@x.com", 10)
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{workflow.Permanent, 2 * time.Hour}, ds, "closed since hour 2, a@x.com left out")
		ds, err = tx.ApprovedDurations("github", "admin", at(0), "", 2)
		require.NoError(t, err)
		assert.Len(t, ds, 2)
		ds, err = tx.ApprovedDurations("github", "", at(0), "", 10)
		require.NoError(t, err)
		assert.Empty(t, ds)
		return nil
	})
}

// The insight queries use the 0003 indexes rather than scanning tables.
func TestInsightQueryPlans(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t, newClock().Now)
	ctx := context.Background()
	plan := func(query string, args ...any) string {
		rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		require.NoError(t, err)
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	c := conn{d: dialectSQLite}
	for _, q := range []struct {
		name, want, query string
		args              []any
	}{
		{"holders", "COVERING INDEX grants_holders", "SELECT COUNT(*) FROM grants WHERE app_id = ? AND resource_id = ? AND status = ?", []any{"a", "r", "active"}},
		{"peer holders", "SEARCH grants USING COVERING INDEX grants_holders (app_id=? AND resource_id=? AND status=? AND subject=?)", "SELECT COUNT(*) FROM (VALUES (?), (?)) AS people CROSS JOIN grants WHERE app_id = ? AND resource_id = ? AND status = ? AND subject = people.column1", []any{"x", "y", "a", "r", "active"}},
		{"recent requests", "COVERING INDEX tasks_requests", "SELECT COUNT(*) FROM tasks WHERE kind = ? AND requester = ? AND created_at >= ?", []any{"grant", "x", c.t(time.Now())}},
		{"old open requests", "COVERING INDEX tasks_requests", "SELECT COUNT(*) FROM tasks WHERE kind = ? AND status IN (?, ?) AND requester = ? AND created_at < ?", []any{"grant", "open", "error", "x", c.t(time.Now())}},
		{"first request", "tasks_requests", "SELECT id FROM tasks WHERE kind = ? AND requester = ? AND created_at >= ? AND created_at < ? ORDER BY id LIMIT 1", []any{"grant", "x", c.t(time.Now()), c.t(time.Now())}},
		{"denied before", "tasks_subject_access", "SELECT id FROM tasks WHERE kind = ? AND status IN (?) AND subject = ? AND app_id = ? AND resource_id = ? ORDER BY id DESC LIMIT 1", []any{"grant", "denied", "x", "a", "r"}},
		{"approved durations", "COVERING INDEX tasks_approved", `SELECT duration_seconds FROM tasks
		WHERE kind = 'grant' AND status = 'done' AND app_id = ? AND resource_id = ? AND closed_at >= ? AND subject <> ?
		ORDER BY closed_at DESC LIMIT ?`, []any{"a", "r", c.t(time.Now()), "x", 200}},
	} {
		p := plan(q.query, q.args...)
		assert.Contains(t, p, q.want, "%s: %s", q.name, p)
	}
}
