package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"accessbot/workflow"
)

// A reminder sweep touches every waiting task. Rewriting each task row
// (its policy and steps JSON) to record a reminder cost most of a sweep, so
// the sweep writes what it records elsewhere: the reminder times go to a
// small task_reminders row (SaveReminders), and a task's audit head is read
// from its chain rather than stored by every appended event. A task read
// back is the same either way.

// taskFrom joins each task to its reminder row, if any. Its columns are
// named apart from the tasks columns, so the queries' conditions need not
// name tasks.
const taskFrom = " FROM tasks LEFT JOIN task_reminders r ON r.task_id = tasks.id"

// reminderCols are the task_reminders columns taskSelect reads.
const reminderCols = "r.remind_step, r.remind_at, r.remind_json"

// taskSelectCols are taskCols as taskSelect reads them: the audit head is
// the hash of the chain's newest event (the stored column when the chain
// is empty), since bulk sweeps append events without rewriting the task.
func taskSelectCols() []string {
	cols := make([]string, len(taskCols))
	for i, c := range taskCols {
		if c == "audit_head" {
			c = "COALESCE((SELECT a.hash FROM audit_events a WHERE a.task_id = tasks.id ORDER BY a.seq DESC LIMIT 1), tasks.audit_head) AS audit_head"
		}
		cols[i] = c
	}
	return cols
}

// reminderRow is a task_reminders row as taskSelect reads it (all NULL
// when there is none).
type reminderRow struct {
	RemindStep sql.NullInt64  `db:"remind_step"`
	RemindAt   dbTime         `db:"remind_at"`
	RemindJSON sql.NullString `db:"remind_json"`
}

// apply puts the reminder times of the row into t, which was read from
// its task row. A row written at another step (which SaveTask would have
// deleted) is ignored.
func (r *reminderRow) apply(t *workflow.Task) error {
	if !r.RemindStep.Valid || int(r.RemindStep.Int64) != t.Step || t.Step < 0 || t.Step >= len(t.Steps) {
		return nil
	}
	var times []string
	if err := json.Unmarshal([]byte(r.RemindJSON.String), &times); err != nil {
		return fmt.Errorf("store: decode reminders of %s: %w", t.Number(), err)
	}
	run := &t.Steps[t.Step]
	if len(times) != len(run.Assignees) {
		return nil
	}
	for i, s := range times {
		var at time.Time
		if s != "" {
			v, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf("store: decode reminders of %s: %w", t.Number(), err)
			}
			at = v.UTC()
		}
		run.Assignees[i].RemindedAt = at
	}
	t.RemindedAt = r.RemindAt.Time
	return nil
}

// reminderArgs are t's values for a task_reminders row after id, version.
func (c conn) reminderArgs(t *workflow.Task) ([]any, error) {
	if t.Step < 0 || t.Step >= len(t.Steps) {
		return nil, workflow.Errorf(workflow.EINVALID, "%s has no current step to record reminders of", t.Number())
	}
	run := t.Steps[t.Step]
	times := make([]string, len(run.Assignees))
	for i, a := range run.Assignees {
		if !a.RemindedAt.IsZero() {
			times[i] = a.RemindedAt.UTC().Format(time.RFC3339Nano)
		}
	}
	b, err := json.Marshal(times)
	if err != nil {
		return nil, fmt.Errorf("store: encode reminders of %s: %w", t.Number(), err)
	}
	return []any{t.Step, c.t(t.RemindedAt), string(b)}, nil
}

// SaveReminders records the reminder times of ts (see workflow.BulkTx)
// in task_reminders, each task guarded by its Version, which it keeps.
func (tx *writeTx) SaveReminders(ts []*workflow.Task) error {
	rows := make([][]any, len(ts))
	for i, t := range ts {
		args, err := tx.reminderArgs(t)
		if err != nil {
			return err
		}
		rows[i] = append([]any{t.ID, t.Version}, args...)
	}
	types := []string{"bigint", "bigint", "bigint", "timestamptz", "text"}
	var total int64
	err := chunks(rows, func(part [][]any) error {
		args := make([]any, 0, len(part)*len(types))
		for _, r := range part {
			args = append(args, r...)
		}
		// "WHERE true": SQLite would read ON CONFLICT as the join's ON.
		n, err := tx.execBulk(len(part), "INSERT INTO task_reminders (task_id, remind_step, remind_at, remind_json)"+
			" SELECT v.column1, v.column3, v.column4, v.column5 FROM (VALUES "+tx.values(types, len(part))+") AS v"+
			" JOIN tasks ON tasks.id = v.column1 AND tasks.version = v.column2 WHERE true"+
			" ON CONFLICT (task_id) DO UPDATE SET remind_step = excluded.remind_step, remind_at = excluded.remind_at, remind_json = excluded.remind_json",
			args...)
		total += n
		return err
	})
	if err != nil {
		return dbErr(err, "save reminders")
	}
	if int(total) != len(ts) {
		return workflow.Errorf(workflow.ECONFLICT, "%d of %d tasks were changed by someone else at the same time; try again", len(ts)-int(total), len(ts))
	}
	return nil
}

// TaskSteps returns the current step of each of ids that exists.
func (tx *readTx) TaskSteps(ids []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(ids))
	err := chunks(ids, func(part []int64) error {
		w := &where{}
		in(w, "id", part)
		var rows []struct {
			ID   int64 `db:"id"`
			Step int   `db:"step"`
		}
		if err := tx.selBulk(len(part), &rows, "SELECT id, step FROM tasks"+w.String(), w.args...); err != nil {
			return dbErr(err, "read task steps")
		}
		for _, r := range rows {
			out[r.ID] = r.Step
		}
		return nil
	})
	return out, err
}

// taskLeanSelect reads what a TaskQuery with Lean promises.
const taskLeanSelect = "SELECT id, version, status, step, steps_json, reminded_at, " + reminderCols + taskFrom

func selectFor(q workflow.TaskQuery) string {
	if q.Lean {
		return taskLeanSelect
	}
	return taskSelect
}

// RefreshReminders gives each of ts still at its Version the reminder
// times stored now, and returns the IDs of the others.
func (tx *writeTx) RefreshReminders(ts []*workflow.Task) ([]int64, error) {
	byID := make(map[int64]*workflow.Task, len(ts))
	ids := make([]int64, len(ts))
	for i, t := range ts {
		byID[t.ID] = t
		ids[i] = t.ID
	}
	fresh := make(map[int64]bool, len(ts))
	err := chunks(ids, func(part []int64) error {
		w := &where{}
		in(w, "id", part)
		var rows []struct {
			ID      int64 `db:"id"`
			Version int64 `db:"version"`
			reminderRow
		}
		if err := tx.selBulk(len(part), &rows, "SELECT id, version, "+reminderCols+taskFrom+w.String(), w.args...); err != nil {
			return dbErr(err, "read reminders")
		}
		for i := range rows {
			r := &rows[i]
			t := byID[r.ID]
			if t == nil || t.Version != r.Version {
				continue
			}
			// Without a row the task's own times stand: only SaveTask,
			// which moves Version on, deletes one.
			if err := r.apply(t); err != nil {
				return err
			}
			fresh[r.ID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var moved []int64
	for _, id := range ids {
		if !fresh[id] {
			moved = append(moved, id)
		}
	}
	return moved, nil
}
