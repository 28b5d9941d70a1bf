package store

import (
	"context"
	"fmt"
	"time"

	"accessbot/workflow"
)

// The email channel's outbox (migration 0018): rows are written in the
// engine's transaction by EnqueueEmails and delivered by email.Worker.
// A row is pending (done_at NULL), leased (lease_until in the future, by
// lease_owner: ClaimEmails) or finished (done_at set: EmailDone, or
// EmailDropped for a permanent failure). Only the holder of a live lease
// finishes or reschedules a row; a worker that dies leaves it to be
// claimed again when its lease ends.

const emailCols = "kind, task_id, recipient, recipients_json, text, data_json, created_at, attempts, next_at, payload_json"

// EnqueueEmails writes ns to the email outbox in the transaction.
func (tx *writeTx) EnqueueEmails(ns []*workflow.Notice) error {
	for _, n := range ns {
		a, err := tx.noticeArgs(n)
		if err != nil {
			return err
		}
		// The notice's columns, less last_error; a new email has made no
		// attempt yet.
		id, err := tx.insertID("INSERT INTO email_outbox ("+emailCols+") VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)", append(a[:7:7], a[8], a[10])...)
		if err != nil {
			return dbErr(err, "enqueue email")
		}
		n.ID = id
	}
	return nil
}

// ClaimEmails leases up to limit due email rows to owner until now+lease
// and returns them, oldest first. Rows of one task go out in order: a row
// waits while an older unfinished row of its task exists (TaskID 0 rows
// have no order). On PostgreSQL the rows are locked FOR UPDATE SKIP
// LOCKED, so replicas claiming at once take different rows; the UPDATE is
// guarded on the lease being free, so a row is never held by two.
func (db *DB) ClaimEmails(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]workflow.Notice, error) {
	if lease <= 0 || owner == "" {
		return nil, fmt.Errorf("store: ClaimEmails: need an owner and a positive lease")
	}
	if limit <= 0 {
		limit = 20
	}
	var out []workflow.Notice
	err := db.write(ctx, "claim emails", func(c conn) error {
		lock := ""
		if c.d == dialectPostgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		var rows []noticeRow
		err := c.sel(&rows, `SELECT id, kind, task_id, recipient, recipients_json, text, data_json, payload_json, created_at, attempts, next_at, last_error
			FROM email_outbox o
			WHERE done_at IS NULL AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
				AND (task_id = 0 OR NOT EXISTS (
					SELECT 1 FROM email_outbox p WHERE p.task_id = o.task_id AND p.done_at IS NULL AND p.id < o.id))
			ORDER BY id LIMIT ?`+lock, c.t(now), c.t(now), limit)
		if err != nil {
			return dbErr(err, "claim emails")
		}
		for i := range rows {
			n, err := c.execN(`UPDATE email_outbox SET lease_owner = ?, lease_until = ?
				WHERE id = ? AND done_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)`,
				owner, c.t(now.Add(lease)), rows[i].ID, c.t(now))
			if err != nil {
				return dbErr(err, "claim emails")
			}
			if n == 0 {
				continue // taken meanwhile
			}
			nt, err := rows[i].notice()
			if err != nil {
				return err
			}
			out = append(out, nt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EmailDone finishes email row id, which owner must still hold
// (ECONFLICT when its lease was lost, ENOTFOUND when there is no row).
func (db *DB) EmailDone(ctx context.Context, id int64, owner string, now time.Time) error {
	c := db.writer(ctx)
	n, err := c.execN(`UPDATE email_outbox SET done_at = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND done_at IS NULL AND lease_owner = ?`, c.t(now), id, owner)
	return db.emailResult(ctx, n, err, id, "finish email")
}

// EmailDropped finishes email row id as undeliverable for good, keeping
// why (the caller records the audit note).
func (db *DB) EmailDropped(ctx context.Context, id int64, owner string, now time.Time, errText string) error {
	c := db.writer(ctx)
	n, err := c.execN(`UPDATE email_outbox SET done_at = ?, dropped = 1, last_error = ?, attempts = attempts + 1, lease_owner = '', lease_until = NULL
		WHERE id = ? AND done_at IS NULL AND lease_owner = ?`, c.t(now), errText, id, owner)
	return db.emailResult(ctx, n, err, id, "drop email")
}

// EmailRetry counts a failed attempt at row id, records why and makes it
// due again at next, giving up owner's lease.
func (db *DB) EmailRetry(ctx context.Context, id int64, owner string, next time.Time, errText string) error {
	c := db.writer(ctx)
	n, err := c.execN(`UPDATE email_outbox SET attempts = attempts + 1, next_at = ?, last_error = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND done_at IS NULL AND lease_owner = ?`, c.t(next), errText, id, owner)
	return db.emailResult(ctx, n, err, id, "reschedule email")
}

func (db *DB) emailResult(ctx context.Context, n int64, err error, id int64, what string) error {
	if err != nil {
		return dbErr(err, fmt.Sprintf("%s %d", what, id))
	}
	if n > 0 {
		return nil
	}
	var exists int
	if err := db.reader(ctx).get(&exists, "SELECT COUNT(*) FROM email_outbox WHERE id = ?", id); err != nil {
		return dbErr(err, fmt.Sprintf("%s %d", what, id))
	}
	if exists == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "email %d does not exist", id)
	}
	return workflow.Errorf(workflow.ECONFLICT, "email %d: lease lost (another worker holds it or it is finished)", id)
}

// SentEmails lists the emails sent to recipient about task taskID (0: about
// no task), oldest first.
func (db *DB) SentEmails(ctx context.Context, taskID int64, recipient string) ([]workflow.SentEmail, error) {
	var rows []struct {
		workflow.SentEmail
		At dbTime `db:"sent_at"`
	}
	err := db.reader(ctx).sel(&rows, `SELECT task_id, recipient, purpose, message_id, sent_at FROM email_sent
		WHERE task_id = ? AND recipient = ? ORDER BY sent_at, message_id`, taskID, recipient)
	if err != nil {
		return nil, dbErr(err, "read sent emails")
	}
	out := make([]workflow.SentEmail, len(rows))
	for i, r := range rows {
		out[i] = r.SentEmail
		out[i].SentAt = r.At.Time
	}
	return out, nil
}

// RecordEmailSent records that e went out; recording it twice is a no-op.
func (db *DB) RecordEmailSent(ctx context.Context, e workflow.SentEmail) error {
	c := db.writer(ctx)
	_, err := c.exec(`INSERT INTO email_sent (task_id, recipient, purpose, message_id, sent_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (task_id, recipient, purpose) DO NOTHING`, e.TaskID, e.Recipient, e.Purpose, e.MessageID, c.t(e.SentAt))
	return dbErr(err, "record sent email")
}

// EmailOutboxStats returns how many email rows are unfinished and when the
// oldest of them was created (zero when none).
func (db *DB) EmailOutboxStats(ctx context.Context) (depth int, oldest time.Time, err error) {
	var r struct {
		Depth  int    `db:"depth"`
		Oldest dbTime `db:"oldest"`
	}
	err = db.reader(ctx).get(&r, "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM email_outbox WHERE done_at IS NULL")
	if err != nil {
		return 0, time.Time{}, dbErr(err, "read email outbox stats")
	}
	return r.Depth, r.Oldest.Time, nil
}
