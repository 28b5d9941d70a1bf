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
const reminderCols = "r.remind_step, r.remind_at, r.remind_json, r.rev"

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
	Rev        sql.NullInt64  `db:"rev"`
}

// apply puts the reminder times of the row into t, which was read from
// its task row. A row written at another step (which SaveTask would have
// deleted) is ignored.
func (r *reminderRow) apply(t *workflow.Task) error {
	t.RemindRev = r.Rev.Int64
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
// in task_reminders, each task guarded by its Version, which it keeps, and
// its RemindRev, which it moves on; it returns the IDs of the tasks that
// moved on since they were read, which it leaves alone.
func (tx *writeTx) SaveReminders(ts []*workflow.Task) ([]int64, error) {
	rows := make([][]any, len(ts))
	for i, t := range ts {
		args, err := tx.reminderArgs(t)
		if err != nil {
			return nil, err
		}
		rows[i] = append([]any{t.ID, t.Version, t.RemindRev}, args...)
	}
	types := []string{"bigint", "bigint", "bigint", "bigint", "timestamptz", "text"}
	saved := make(map[int64]bool, len(ts))
	err := chunks(rows, func(part [][]any) error {
		args := make([]any, 0, len(part)*len(types))
		for _, r := range part {
			args = append(args, r...)
		}
		// A row that another writer made or changed since ts were read
		// fails the WHERE and is not returned. "WHERE true": SQLite
		// would read ON CONFLICT as the join's ON.
		var ids []int64
		err := tx.sel(&ids, "INSERT INTO task_reminders (task_id, remind_step, remind_at, remind_json, rev)"+
			" SELECT v.column1, v.column4, v.column5, v.column6, v.column3 + 1 FROM (VALUES "+tx.values(types, len(part))+") AS v"+
			" JOIN tasks ON tasks.id = v.column1 AND tasks.version = v.column2 WHERE true"+
			" ON CONFLICT (task_id) DO UPDATE SET remind_step = excluded.remind_step, remind_at = excluded.remind_at,"+
			" remind_json = excluded.remind_json, rev = excluded.rev WHERE task_reminders.rev = excluded.rev - 1"+
			" RETURNING task_id",
			args...)
		for _, id := range ids {
			saved[id] = true
		}
		return err
	})
	if err != nil {
		return nil, dbErr(err, "save reminders")
	}
	var moved []int64
	for _, t := range ts {
		if saved[t.ID] {
			t.RemindRev++
		} else {
			moved = append(moved, t.ID)
		}
	}
	return moved, nil
}

// TaskSteps returns the current step and audit chain head of each of ids
// that exists, one query per bulkRows tasks; the transaction knows those
// heads from then on, as if AuditHeads had read them.
func (tx *writeTx) TaskSteps(ids []int64) (map[int64]workflow.TaskStep, error) {
	out := make(map[int64]workflow.TaskStep, len(ids))
	err := chunks(ids, func(part []int64) error {
		w := &where{}
		in(w, "t.id", part)
		var rows []struct {
			ID   int64          `db:"id"`
			Step int            `db:"step"`
			Seq  sql.NullInt64  `db:"seq"`
			Hash sql.NullString `db:"hash"`
		}
		q := "SELECT t.id, t.step, a.seq, a.hash FROM tasks t LEFT JOIN audit_events a ON a.task_id = t.id AND " + newestEvent("t.id") + w.String()
		if err := tx.sel(&rows, q, w.args...); err != nil {
			return dbErr(err, "read task steps")
		}
		for _, r := range rows {
			head := workflow.ChainHead{Seq: r.Seq.Int64, Hash: r.Hash.String}
			out[r.ID] = workflow.TaskStep{Step: r.Step, Head: head}
			if _, known := tx.heads[r.ID]; !known {
				tx.heads[r.ID] = auditHead{seq: head.Seq, hash: head.Hash}
			}
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
