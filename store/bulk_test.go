package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// The bulk paths of the sweeps, on every dialect.
func TestBulk(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); testBulk(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		if _, err := postgresBase(); err != nil {
			t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
		}
		testBulk(t, openPostgres)
	})
}

func testBulk(t *testing.T, open opener) {
	ctx := context.Background()
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := clock.Now().UTC().Truncate(time.Microsecond)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }

	// Tasks 1-7: steps started at hour 1 (1-5, a tie) and 2 (6-7).
	require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
		for i := range 7 {
			task := newTask(fmt.Sprintf("u%d@x.com", i))
			task.Steps[0].StartedAt = at(1 + i/5)
			if err := tx.CreateTask(task); err != nil {
				return err
			}
			if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: task.ID, Actor: "a", Action: workflow.ActCreated}); err != nil {
				return err
			}
		}
		return nil
	}))

	t.Run("pages through ties", func(t *testing.T) {
		var got []int64
		q := workflow.TaskQuery{StepStartedBefore: at(10), ByStepStart: true, Limit: 2}
		for range 10 {
			var page []*workflow.Task
			require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { page, err = tx.FindTasks(q); return err }))
			for _, x := range page {
				got = append(got, x.ID)
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterID, q.AfterStepStart = last.ID, last.Steps[last.Step].StartedAt
		}
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7}, got)
	})

	t.Run("audit", func(t *testing.T) {
		var evs []*workflow.AuditEvent
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			heads, err := tx.AuditHeads([]int64{1, 2, 3, 99, 1})
			require.NoError(t, err)
			require.Len(t, heads, 3)
			seq, hash, err := tx.AuditHead(2)
			require.NoError(t, err)
			assert.Equal(t, workflow.ChainHead{Seq: seq, Hash: hash}, heads[2])
			assert.NotContains(t, heads, int64(99))
			// More than one statement's worth, on a few chains, interleaved.
			for i := range bulkRows + 101 {
				evs = append(evs, &workflow.AuditEvent{TaskID: int64(1 + i%3), Actor: "x", Action: workflow.ActReminded, Step: i})
			}
			return tx.AppendAudits(evs)
		}))
		ids := map[int64]bool{}
		for _, e := range evs {
			assert.NotZero(t, e.ID)
			assert.False(t, ids[e.ID], "ids are distinct")
			ids[e.ID] = true
		}
		var stored []workflow.AuditEvent
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { stored, err = tx.AuditEvents(1); return err }))
		require.Len(t, stored, 1+(bulkRows+101+2)/3)
		var v workflow.ChainVerifier
		for _, e := range stored {
			require.NoError(t, v.Check(e))
		}
		assert.Equal(t, evs[3].ID, stored[2].ID, "each event got the id of its row")
		assert.Equal(t, 3, stored[2].Step)

		err := db.Update(ctx, func(tx workflow.Tx) error {
			return tx.AppendAudits([]*workflow.AuditEvent{
				{TaskID: 4, Actor: "x", Action: "a"},
				{TaskID: 4, Seq: 7, PrevHash: "bad", Actor: "x", Action: "b"},
			})
		})
		requireCode(t, workflow.ECONFLICT, err)
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { stored, err = tx.AuditEvents(4); return err }))
		assert.Len(t, stored, 1, "a refused batch writes nothing")
	})

	t.Run("outbox", func(t *testing.T) {
		var ns []*workflow.Notice
		for i := range bulkRows + 7 {
			ns = append(ns, &workflow.Notice{Payload: workflow.DirectMessage{Grant: int64(i)}, Recipient: fmt.Sprintf("p%d@x.com", i), Text: fmt.Sprint(i)})
		}
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error { return tx.EnqueueAll(ns) }))
		due, err := db.DueNotices(ctx, at(1), 10_000)
		require.NoError(t, err)
		require.Len(t, due, len(ns))
		for i, n := range due {
			assert.Equal(t, ns[i].ID, n.ID)
			assert.Equal(t, fmt.Sprint(i), n.Text)
			assert.Equal(t, workflow.DirectMessage{Grant: int64(i)}, n.Payload)
			assert.Equal(t, base, n.NextAt)
		}
	})

	t.Run("tasks", func(t *testing.T) {
		read := func(id int64) *workflow.Task {
			var back *workflow.Task
			require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { back, err = tx.Task(id); return err }))
			return back
		}
		var ts []*workflow.Task
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) (err error) {
			if ts, err = tx.FindTasks(workflow.TaskQuery{IDs: []int64{5, 6}}); err != nil {
				return err
			}
			for _, x := range ts {
				x.Steps[0].Assignees[0].RemindedAt = at(3)
				x.RemindedAt = at(3)
			}
			moved, err := tx.SaveReminders(ts)
			assert.Empty(t, moved)
			return err
		}))
		for _, x := range ts {
			back := read(x.ID)
			assert.Equal(t, x, back, "the reminder times read back, the task row untouched")
			assert.EqualValues(t, 1, back.Version)
			count := func(before time.Time) (n int) {
				require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) {
					n, err = tx.CountTasks(workflow.TaskQuery{IDs: []int64{x.ID}, RemindedBefore: before})
					return err
				}))
				return n
			}
			assert.Zero(t, count(at(2)), "RemindedBefore sees the recorded time")
			assert.Equal(t, 1, count(at(3)))
		}
		// Tasks that moved on since they were read are left alone and
		// named: a new version, reminders recorded by another writer (a
		// newer RemindRev), or recorded where the reader saw none.
		first := *ts[1]
		first.Steps = []workflow.StepRun{ts[1].Steps[0]}
		first.Steps[0].Assignees = slices.Clone(ts[1].Steps[0].Assignees)
		first.RemindRev = 0
		first.RemindedAt = at(8)
		staleVersion := &workflow.Task{ID: 5, Version: 9, RemindRev: ts[0].RemindRev, Steps: ts[0].Steps, RemindedAt: at(9)}
		staleRev := &workflow.Task{ID: 5, Version: ts[0].Version, RemindRev: ts[0].RemindRev - 1, Steps: ts[0].Steps, RemindedAt: at(9)}
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			moved, err := tx.SaveReminders([]*workflow.Task{staleVersion, staleRev, &first, {ID: 999, Version: 1, Steps: ts[0].Steps}})
			assert.Equal(t, []int64{5, 5, 6, 999}, moved)
			return err
		}))
		assert.Equal(t, at(3), read(5).RemindedAt)
		assert.Equal(t, at(3), read(6).RemindedAt)
		// Saved again at the RemindRev it has, a task's times move on.
		ts[0].RemindedAt = at(4)
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			moved, err := tx.SaveReminders(ts[:1])
			assert.Empty(t, moved)
			return err
		}))
		assert.Equal(t, ts[0], read(5))
		assert.EqualValues(t, 2, ts[0].RemindRev)
		// A copy read before that second save is refused.
		behind := *ts[0]
		behind.RemindRev, behind.RemindedAt = 1, at(5)
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			moved, err := tx.SaveReminders([]*workflow.Task{&behind})
			assert.Equal(t, []int64{5}, moved)
			return err
		}))
		assert.Equal(t, at(4), read(5).RemindedAt)
		// SaveTask keeps the times: it writes them into the task row.
		ts[1].RemindedAt = at(3)
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			ts[1].Justification = "saved"
			return tx.SaveTask(ts[1])
		}))
		back := read(6)
		assert.Equal(t, ts[1], back)
		assert.Equal(t, at(3), back.Steps[0].Assignees[0].RemindedAt)
		// A Lean read has what reminding needs, reminder times included.
		var lean []*workflow.Task
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) {
			lean, err = tx.FindTasks(workflow.TaskQuery{IDs: []int64{5}, Lean: true, RemindedBefore: at(4)})
			return err
		}))
		require.Len(t, lean, 1)
		full := read(5)
		assert.Equal(t, &workflow.Task{ID: 5, Version: full.Version, RemindRev: full.RemindRev, Status: full.Status, Step: full.Step, Steps: full.Steps, RemindedAt: at(4)}, lean[0])
		// The current steps and chain heads of tasks, the missing left
		// out; the heads read are those the transaction appends after.
		ev := &workflow.AuditEvent{TaskID: 5, Actor: "x", Action: "a"}
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error { return tx.AppendAudit(ev) }))
		var head6 workflow.ChainHead
		require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) {
			head6.Seq, head6.Hash, err = tx.AuditHead(6)
			return err
		}))
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			steps, err := tx.TaskSteps([]int64{5, 6, 999, 5})
			require.NoError(t, err)
			assert.Equal(t, map[int64]workflow.TaskStep{5: {Step: 0, Head: workflow.ChainHead{Seq: ev.Seq, Hash: ev.Hash}}, 6: {Step: 0, Head: head6}}, steps)
			assert.Equal(t, auditHead{seq: head6.Seq, hash: head6.Hash}, tx.(*writeTx).heads[6], "the heads read are known to the transaction")
			next := []*workflow.AuditEvent{{TaskID: 5, Actor: "x", Action: "b"}, {TaskID: 6, Actor: "x", Action: "b"}}
			require.NoError(t, tx.AppendAudits(next))
			assert.Equal(t, ev.Hash, next[0].PrevHash)
			assert.Equal(t, ev.Seq+1, next[0].Seq)
			assert.Equal(t, head6.Seq+1, next[1].Seq)
			return nil
		}))
	})

	t.Run("grants", func(t *testing.T) {
		var gs []*workflow.Grant
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			for i := range 3 {
				g := &workflow.Grant{Subject: "u@x.com", AppID: "github", Status: workflow.GrantActive, StartsAt: base, ExpiresAt: at(i + 1), TaskID: 1}
				if err := tx.CreateGrant(g); err != nil {
					return err
				}
				gs = append(gs, g)
			}
			gs[0].WarnedAt = at(1)
			gs[1].WarnedAt = at(2)
			if err := tx.MarkGrantsWarned(gs[:2]); err != nil {
				return err
			}
			gs[0].Status, gs[0].EndedAt, gs[0].EndTaskID = workflow.GrantExpired, at(2), 7
			gs[2].Status, gs[2].EndedAt = workflow.GrantExpired, at(3)
			return tx.EndGrants([]*workflow.Grant{gs[0], gs[2]})
		}))
		for _, g := range gs {
			var back *workflow.Grant
			require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { back, err = tx.Grant(g.ID); return err }))
			assert.Equal(t, g, back)
		}
		err := db.Update(ctx, func(tx workflow.Tx) error {
			return tx.EndGrants([]*workflow.Grant{{ID: 999, Status: workflow.GrantExpired, EndedAt: at(1)}})
		})
		requireCode(t, workflow.ENOTFOUND, err)
	})
}

// TestReminderRowFromBeforeRev: a task_reminders row written before
// migration 0011 has rev 1 (the column's default), reads back with
// RemindRev 1, and a sweep that read it records over it.
func TestReminderRowFromBeforeRev(t *testing.T) {
	t.Parallel()
	clock := newClock()
	db, _ := openSQLite(t, clock.Now)
	task := newTask("alice@x.com")
	update(t, db, func(tx workflow.Tx) error {
		if err := tx.CreateTask(task); err != nil {
			return err
		}
		// The columns 0010 knew, as a binary from before 0011 wrote them.
		_, err := tx.(*writeTx).exec("INSERT INTO task_reminders (task_id, remind_step, remind_at, remind_json) VALUES (?, 0, ?, ?)",
			task.ID, tx.(*writeTx).t(clock.Now()), `["`+clock.Now().UTC().Format(time.RFC3339Nano)+`"]`)
		return err
	})
	var read *workflow.Task
	view(t, db, func(tx workflow.ReadTx) (err error) { read, err = tx.Task(task.ID); return err })
	assert.EqualValues(t, 1, read.RemindRev)
	assert.Equal(t, clock.Now().UTC(), read.Steps[0].Assignees[0].RemindedAt)
	read.Steps[0].Assignees[0].RemindedAt = clock.Now().Add(time.Hour).UTC()
	update(t, db, func(tx workflow.Tx) error {
		moved, err := tx.SaveReminders([]*workflow.Task{read})
		assert.Empty(t, moved)
		return err
	})
	assert.EqualValues(t, 2, read.RemindRev)
}

// TestReminderWriteWithoutRev: a replica on a binary from before
// task_reminders.rev (a rolling upgrade) records reminders without moving
// rev on; a sweep that planned before that must still see the row moved.
func TestReminderWriteWithoutRev(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]opener{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			db, _ := open(t, clock.Now)
			task := newTask("alice@x.com")
			update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(task) })
			var read *workflow.Task
			view(t, db, func(tx workflow.ReadTx) (err error) { read, err = tx.Task(task.ID); return err })
			read.Steps[0].Assignees[0].RemindedAt = clock.Now().UTC()
			update(t, db, func(tx workflow.Tx) error {
				moved, err := tx.SaveReminders([]*workflow.Task{read})
				assert.Empty(t, moved)
				return err
			})
			var plan *workflow.Task // the next round's plan
			view(t, db, func(tx workflow.ReadTx) (err error) { plan, err = tx.Task(task.ID); return err })
			require.EqualValues(t, 1, plan.RemindRev)
			// The older binary's SaveReminders.
			later := clock.Now().Add(time.Hour).UTC()
			update(t, db, func(t2 workflow.Tx) error {
				tx := t2.(*writeTx)
				_, err := tx.exec("INSERT INTO task_reminders (task_id, remind_step, remind_at, remind_json) VALUES (?, 0, ?, ?)"+
					" ON CONFLICT (task_id) DO UPDATE SET remind_step = excluded.remind_step, remind_at = excluded.remind_at, remind_json = excluded.remind_json",
					task.ID, tx.t(later), `["`+later.Format(time.RFC3339Nano)+`"]`)
				return err
			})
			plan.Steps[0].Assignees[0].RemindedAt = later
			update(t, db, func(tx workflow.Tx) error {
				moved, err := tx.SaveReminders([]*workflow.Task{plan})
				assert.Equal(t, []int64{task.ID}, moved, "the older binary's reminder landed after the plan")
				return err
			})
			var back *workflow.Task
			view(t, db, func(tx workflow.ReadTx) (err error) { back, err = tx.Task(task.ID); return err })
			assert.EqualValues(t, 2, back.RemindRev)
			assert.Equal(t, later, back.Steps[0].Assignees[0].RemindedAt)
		})
	}
}
