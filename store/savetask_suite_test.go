package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// testSaveTaskChanges: SaveTask writes only the columns and task_people
// rows that changed since the transaction read the task, and what it
// leaves out is what the row holds already.
func testSaveTaskChanges(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := micro(clock.Now())
	orig := newTask("alice@x.com")
	orig.Requester = "carol@x.com"
	orig.Steps[0].StartedAt = base
	orig.RemindedAt = base.Add(time.Minute)
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(orig) })

	clock.Add(time.Hour)
	var want *workflow.Task
	update(t, db, func(wt workflow.Tx) error {
		tx := wt.(*writeTx)
		task, err := tx.Task(orig.ID)
		require.NoError(t, err)
		// Read back unchanged, the row's values are the task's own: only
		// the columns always written are set.
		args, err := tx.taskArgs(task, tx.now)
		require.NoError(t, err)
		q, vals := tx.taskUpdateOf(task, args)
		require.Equal(t, "UPDATE tasks SET audit_head = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?", q)
		require.Len(t, vals, 4)

		// bob approves: the review closes, erin is assigned provisioning.
		task.Revision++
		task.Steps[0].Status, task.Steps[0].DecidedBy, task.Steps[0].EndedAt = workflow.StepApproved, "bob@x.com", tx.now
		task.Steps[0].Assignees[0].State = workflow.AssignApproved
		task.Step = 1
		task.Steps[1] = workflow.StepRun{Status: workflow.StepActive, StartedAt: tx.now,
			Assignees: []workflow.Assignment{{Email: "erin@x.com", Via: workflow.ViaPolicy, State: workflow.AssignPending}}}
		task.Last = workflow.LastAction{Actor: "bob@x.com", Action: workflow.ActApproved, At: tx.now}
		require.NoError(t, tx.SaveTask(task))
		// A second save in the same transaction diffs against the first.
		task.Subject, task.Status, task.ClosedAt = "dan@x.com", workflow.StatusDone, tx.now
		task.Steps[1].Status = workflow.StepDone
		task.Steps[1].Assignees[0].State = workflow.AssignDone
		args, err = tx.taskArgs(task, tx.now)
		require.NoError(t, err)
		q, _ = tx.taskUpdateOf(task, args)
		for _, col := range []string{"subject", "status", "closed_at", "steps_json"} {
			require.Contains(t, q, " "+col+" = ?", q)
		}
		for _, col := range []string{"requester", "step_started_at", "last_actor", "policy_json", "revision"} {
			require.NotContains(t, q, " "+col+" = ?", q)
		}
		require.NoError(t, tx.SaveTask(task))
		want = task
		return nil
	})

	view(t, db, func(tx workflow.ReadTx) error {
		got, err := tx.Task(orig.ID)
		require.NoError(t, err)
		require.Equal(t, want, got)
		// The indexes on the columns written follow them.
		for q, n := range map[*workflow.TaskQuery]int{
			{Subject: "dan@x.com", Statuses: []workflow.Status{workflow.StatusDone}}: 1,
			{Subject: "alice@x.com"}:                           0,
			{Statuses: []workflow.Status{workflow.StatusOpen}}: 0,
			{Participant: "dan@x.com"}:                         1,
			{Participant: "alice@x.com"}:                       0,
			{Actor: "erin@x.com"}:                              1,
			{Requester: "carol@x.com", Statuses: []workflow.Status{workflow.StatusDone}}: 1,
		} {
			c, err := tx.CountTasks(*q)
			require.NoError(t, err)
			require.Equal(t, n, c, "%+v", *q)
		}
		return nil
	})
	require.Equal(t, peopleOf(want), storedPeople(t, db, want.ID))
}

// testSaveTaskUnknownRow: a task the transaction did not read (or read at
// another version) is written whole.
func testSaveTaskUnknownRow(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(newTask("alice@x.com")) })
	var task *workflow.Task
	view(t, db, func(tx workflow.ReadTx) (err error) {
		task, err = tx.Task(1)
		return err
	})
	task.Justification = "read elsewhere"
	task.Steps[0].Assignees = append(task.Steps[0].Assignees, workflow.Assignment{Email: "dan@x.com", Via: workflow.ViaPolicy, State: workflow.AssignPending})
	update(t, db, func(wt workflow.Tx) error {
		tx := wt.(*writeTx)
		args, err := tx.taskArgs(task, tx.now)
		require.NoError(t, err)
		q, _ := tx.taskUpdateOf(task, args)
		require.Equal(t, taskUpdate, q)
		return tx.SaveTask(task)
	})
	view(t, db, func(tx workflow.ReadTx) error {
		got, err := tx.Task(1)
		require.NoError(t, err)
		require.Equal(t, task, got)
		return nil
	})
	require.Equal(t, peopleOf(task), storedPeople(t, db, task.ID))
}

// testSaveTaskPeopleDrift: SaveTask does not read the task_people rows
// before writing them. A save of a task the transaction read writes the
// difference from the people it had then (none when they are the same); a
// save of a task it did not read makes the rows exactly the task's people,
// so rows it did not write itself (an older binary's) are repaired.
func testSaveTaskPeopleDrift(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	task := newTask("alice@x.com")
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(task) })
	want := peopleOf(task)
	require.Len(t, want, 4, "requester, subject, assignee and involved")
	// Drift: a stray row, and one of the task's own rows gone.
	w := db.writer(context.Background())
	_, err := w.exec("INSERT INTO task_people (task_id, role, email) VALUES (?, 'assignee', 'stray@x.com')", task.ID)
	require.NoError(t, err)
	_, err = w.exec("DELETE FROM task_people WHERE task_id = ? AND role = 'subject'", task.ID)
	require.NoError(t, err)

	// Read and saved in one transaction: only the difference is written.
	update(t, db, func(tx workflow.Tx) error {
		got, err := tx.Task(task.ID)
		require.NoError(t, err)
		got.Justification = "same people"
		if err := tx.SaveTask(got); err != nil {
			return err
		}
		got.Steps[0].Assignees[0].State = workflow.AssignReplaced
		got.Steps[0].Assignees = append(got.Steps[0].Assignees, workflow.Assignment{Email: "dan@x.com", Via: workflow.ViaPolicy, State: workflow.AssignPending})
		if err := tx.SaveTask(got); err != nil {
			return err
		}
		task = got
		return nil
	})
	rows := storedPeople(t, db, task.ID)
	require.Contains(t, rows, "assignee dan@x.com")
	require.NotContains(t, rows, "assignee "+task.Steps[0].Assignees[0].Email, "the replaced assignee's row is deleted")
	require.Contains(t, rows, "assignee stray@x.com", "drift the save did not know of stays")
	require.NotContains(t, rows, "subject alice@x.com")

	// Saved without being read in the transaction: the rows become the task's.
	var read *workflow.Task
	view(t, db, func(tx workflow.ReadTx) (err error) {
		read, err = tx.Task(task.ID)
		return err
	})
	read.Justification = "read elsewhere"
	update(t, db, func(tx workflow.Tx) error { return tx.SaveTask(read) })
	require.Equal(t, peopleOf(read), storedPeople(t, db, read.ID))
}

// testIsolated: a failed read in Isolated leaves the transaction usable
// (PostgreSQL would abort it otherwise); its error is returned.
func testIsolated(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	bad := errors.New("no table")
	update(t, db, func(wt workflow.Tx) error {
		tx := wt.(*writeTx)
		err := tx.Isolated(func() error {
			var n int
			if err := tx.get(&n, "SELECT COUNT(*) FROM no_such_table"); err == nil {
				t.Fatal("the query should fail")
			}
			return bad
		})
		require.ErrorIs(t, err, bad)
		require.NoError(t, tx.Isolated(func() error { return nil }))
		return tx.CreateTask(newTask("alice@x.com"))
	})
	view(t, db, func(tx workflow.ReadTx) error {
		_, err := tx.Task(1)
		return err
	})
}

// testUpdateBatchAlone: an operation alone in its batch, which runs
// without a savepoint, writes nothing when it fails.
func testUpdateBatchAlone(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	errs := db.UpdateBatch(ctx, []workflow.BatchItem{{Ctx: ctx, Fn: func(tx workflow.Tx) error {
		if err := tx.CreateTask(newTask("alice@x.com")); err != nil {
			return err
		}
		return workflow.Errorf(workflow.EFORBIDDEN, "refused after writing")
	}}})
	require.Len(t, errs, 1)
	requireCode(t, workflow.EFORBIDDEN, errs[0])
	view(t, db, func(tx workflow.ReadTx) error {
		n, err := tx.CountTasks(workflow.TaskQuery{})
		require.Zero(t, n)
		return err
	})
	task := newTask("alice@x.com")
	errs = db.UpdateBatch(ctx, []workflow.BatchItem{{Ctx: ctx, Fn: func(tx workflow.Tx) error {
		return tx.CreateTask(task)
	}}})
	require.NoError(t, errs[0])
	require.Equal(t, int64(1), task.ID, "the refused operation's task number was rolled back too")
	require.Equal(t, peopleOf(task), storedPeople(t, db, task.ID))
}

func peopleOf(t *workflow.Task) []string {
	var out []string
	for _, p := range taskPeople(t) {
		out = append(out, p.role+" "+p.email)
	}
	slices.Sort(out)
	return out
}

func storedPeople(t *testing.T, db *DB, id int64) []string {
	t.Helper()
	var rows []struct {
		Role  string `db:"role"`
		Email string `db:"email"`
	}
	require.NoError(t, db.reader(context.Background()).sel(&rows, "SELECT role, email FROM task_people WHERE task_id = ?", id))
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join([]string{r.Role, r.Email}, " "))
	}
	slices.Sort(out)
	return out
}
