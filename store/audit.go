package store

import (
	"database/sql"
	"errors"
	"fmt"

	"accessbot/workflow"
)

const auditSelect = "SELECT id, task_id, seq, at, actor, action, step, comment, details_json, prev_hash, hash FROM audit_events"

// walkBatch is how many events WalkAudit holds at once.
const walkBatch = 500

type auditRow struct {
	ID       int64   `db:"id"`
	TaskID   int64   `db:"task_id"`
	Seq      int64   `db:"seq"`
	At       dbTime  `db:"at"`
	Actor    string  `db:"actor"`
	Action   string  `db:"action"`
	Step     int     `db:"step"`
	Comment  string  `db:"comment"`
	Details  *string `db:"details_json"`
	PrevHash string  `db:"prev_hash"`
	Hash     string  `db:"hash"`
}

func (r *auditRow) event() (workflow.AuditEvent, error) {
	e := workflow.AuditEvent{
		ID: r.ID, TaskID: r.TaskID, Seq: r.Seq, At: r.At.Time, Actor: r.Actor, Action: r.Action,
		Step: r.Step, Comment: r.Comment, PrevHash: r.PrevHash, Hash: r.Hash,
	}
	if err := jsonScan(r.Details, &e.Details); err != nil {
		return e, fmt.Errorf("store: decode audit event %d: %w", r.ID, err)
	}
	return e, nil
}

func chainName(taskID int64) string {
	if taskID == 0 {
		return "the admin chain"
	}
	return fmt.Sprintf("T-%d", taskID)
}

// AuditEvents returns a task's events (0: the admin chain) by Seq.
func (tx *readTx) AuditEvents(taskID int64) ([]workflow.AuditEvent, error) {
	var rows []auditRow
	if err := tx.sel(&rows, auditSelect+" WHERE task_id = ? ORDER BY seq", taskID); err != nil {
		return nil, dbErr(err, "read audit of "+chainName(taskID))
	}
	return auditEvents(rows)
}

func auditEvents(rows []auditRow) ([]workflow.AuditEvent, error) {
	out := make([]workflow.AuditEvent, len(rows))
	for i := range rows {
		e, err := rows[i].event()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// WalkAudit calls fn for every event ordered by (TaskID, Seq). It reads in
// keyset-paged batches of walkBatch events, so memory stays flat however
// long the log is, and fn may use the transaction (no result set is open
// while fn runs). An error from fn stops the walk and is returned.
func (tx *readTx) WalkAudit(fn func(workflow.AuditEvent) error) error {
	var lastTask, lastSeq int64 = -1 << 62, 0
	for {
		var rows []auditRow
		err := tx.sel(&rows, auditSelect+" WHERE (task_id, seq) > (?, ?) ORDER BY task_id, seq"+limit(walkBatch, 0), lastTask, lastSeq)
		if err != nil {
			return dbErr(err, "walk audit")
		}
		events, err := auditEvents(rows)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(rows) < walkBatch {
			return nil
		}
		last := rows[len(rows)-1]
		lastTask, lastSeq = last.TaskID, last.Seq
	}
}

// AuditHead returns the Seq and Hash of a chain's newest event (0, "" when empty).
func (tx *readTx) AuditHead(taskID int64) (int64, string, error) {
	var r struct {
		Seq  int64  `db:"seq"`
		Hash string `db:"hash"`
	}
	err := tx.get(&r, "SELECT seq, hash FROM audit_events WHERE task_id = ? ORDER BY seq DESC"+limit(1, 0), taskID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", dbErr(err, "read audit head of "+chainName(taskID))
	}
	return r.Seq, r.Hash, nil
}

// AppendAudit appends e to its chain and sets e.ID. A zero e.Seq is filled
// in (head + 1, with PrevHash the head's hash); a given Seq must be head + 1
// with the head's hash as PrevHash, or ECONFLICT (the chain moved on). A zero
// At is Now; At is kept in UTC to the microsecond, the precision stored. An
// empty Hash is computed; a given Hash must be e.ComputeHash() of the event
// as it will be stored, or the event is refused (it could never be verified).
// AuditHead answers from the heads this transaction already knows, so the
// engine's read of a chain head and AppendAudit's check of it cost one query.
func (tx *writeTx) AuditHead(taskID int64) (int64, string, error) {
	if h, ok := tx.heads[taskID]; ok {
		return h.seq, h.hash, nil
	}
	seq, hash, err := tx.readTx.AuditHead(taskID)
	if err != nil {
		return 0, "", err
	}
	tx.heads[taskID] = auditHead{seq: seq, hash: hash}
	return seq, hash, nil
}

func (tx *writeTx) AppendAudit(e *workflow.AuditEvent) error {
	c, args, err := tx.chainEvent(e)
	if err != nil {
		return err
	}
	id, err := tx.insertID("INSERT INTO audit_events ("+auditCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...)
	if err != nil {
		return dbErr(err, "append to the audit chain of "+chainName(c.TaskID))
	}
	c.ID = id
	*e = c
	return nil
}
