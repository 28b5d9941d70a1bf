package store

import (
	"context"
	"fmt"
	"time"

	"accessbot/workflow"
)

// Enqueue writes n to the outbox in the transaction and sets n.ID. A zero
// CreatedAt is Now and a zero NextAt is CreatedAt (due at once).
func (tx *writeTx) Enqueue(n *workflow.Notice) error {
	args, err := tx.noticeArgs(n)
	if err != nil {
		return err
	}
	id, err := tx.insertID("INSERT INTO outbox ("+outboxCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...)
	if err != nil {
		return dbErr(err, "enqueue notice")
	}
	n.ID = id
	return nil
}

type noticeRow struct {
	ID         int64   `db:"id"`
	Kind       string  `db:"kind"`
	TaskID     int64   `db:"task_id"`
	Recipient  string  `db:"recipient"`
	Recipients *string `db:"recipients_json"`
	Text       string  `db:"text"`
	Data       *string `db:"data_json"`
	CreatedAt  dbTime  `db:"created_at"`
	Attempts   int     `db:"attempts"`
	NextAt     dbTime  `db:"next_at"`
	LastError  string  `db:"last_error"`
}

func (r *noticeRow) notice() (workflow.Notice, error) {
	n := workflow.Notice{
		ID: r.ID, Kind: workflow.NoticeKind(r.Kind), TaskID: r.TaskID, Recipient: r.Recipient,
		Text: r.Text, CreatedAt: r.CreatedAt.Time, Attempts: r.Attempts, NextAt: r.NextAt.Time, LastError: r.LastError,
	}
	if err := jsonScan(r.Recipients, &n.Recipients); err != nil {
		return n, fmt.Errorf("store: decode notice %d: %w", r.ID, err)
	}
	if err := jsonScan(r.Data, &n.Data); err != nil {
		return n, fmt.Errorf("store: decode notice %d: %w", r.ID, err)
	}
	return n, nil
}

// DueNotices returns up to limit undelivered notices whose NextAt is at or
// before now, oldest first. Notices of one task go out in order: a notice
// waits while an older notice of its task is undelivered (also one waiting
// for a retry). Notices with TaskID 0 have no such order.
func (db *DB) DueNotices(ctx context.Context, now time.Time, limit int) ([]workflow.Notice, error) {
	return dueNotices(db.reader(ctx), now, limit)
}

func dueNotices(c conn, now time.Time, limit int) ([]workflow.Notice, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []noticeRow
	err := c.sel(&rows, `SELECT id, kind, task_id, recipient, recipients_json, text, data_json, created_at, attempts, next_at, last_error
		FROM outbox o
		WHERE delivered_at IS NULL AND next_at <= ?
			AND (task_id = 0 OR NOT EXISTS (
				SELECT 1 FROM outbox p WHERE p.task_id = o.task_id AND p.delivered_at IS NULL AND p.id < o.id))
		ORDER BY id LIMIT ?`, c.t(now), limit)
	if err != nil {
		return nil, dbErr(err, "read due notices")
	}
	out := make([]workflow.Notice, len(rows))
	for i := range rows {
		if out[i], err = rows[i].notice(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ClaimNotices is DueNotices for several workers or replicas: in one
// serialised write transaction it picks the due notices and moves their
// NextAt to now+lease, so no other worker gets them until the lease ends.
// The worker then calls NoticeDelivered or NoticeFailed; a worker that dies
// leaves its notices to be claimed again when the lease is over.
func (db *DB) ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]workflow.Notice, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("store: ClaimNotices: lease must be positive, not %v", lease)
	}
	var out []workflow.Notice
	err := db.write(ctx, "claim notices", func(c conn) error {
		if c.d == dialectPostgres {
			if _, err := c.exec(pgLockSQL); err != nil {
				return dbErr(err, "claim notices")
			}
		}
		var err error
		if out, err = dueNotices(c, now, limit); err != nil || len(out) == 0 {
			return err
		}
		w := &where{}
		ids := make([]int64, len(out))
		for i, n := range out {
			ids[i] = n.ID
		}
		in(w, "id", ids)
		_, err = c.exec("UPDATE outbox SET next_at = ?"+w.String(), append([]any{c.t(now.Add(lease))}, w.args...)...)
		return dbErr(err, "claim notices")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NoticeDelivered marks notice id delivered at now (ENOTFOUND if none).
func (db *DB) NoticeDelivered(ctx context.Context, id int64, now time.Time) error {
	c := db.writer(ctx)
	n, err := c.execN("UPDATE outbox SET delivered_at = ? WHERE id = ?", c.t(now), id)
	return noticeResult(n, err, id, "mark notice delivered")
}

// NoticeFailed counts a failed attempt at notice id, records errText and
// makes it due again at nextAt (ENOTFOUND if none).
func (db *DB) NoticeFailed(ctx context.Context, id int64, nextAt time.Time, errText string) error {
	c := db.writer(ctx)
	n, err := c.execN("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?", c.t(nextAt), errText, id)
	return noticeResult(n, err, id, "record failed notice")
}

func noticeResult(n int64, err error, id int64, what string) error {
	if err != nil {
		return dbErr(err, fmt.Sprintf("%s %d", what, id))
	}
	if n == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "notice %d does not exist", id)
	}
	return nil
}

// OutboxStats returns how many notices are undelivered and when the oldest
// of them was created (zero when none), for metrics and health checks.
func (db *DB) OutboxStats(ctx context.Context) (depth int, oldest time.Time, err error) {
	var r struct {
		Depth  int    `db:"depth"`
		Oldest dbTime `db:"oldest"`
	}
	err = db.reader(ctx).get(&r, "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL")
	if err != nil {
		return 0, time.Time{}, dbErr(err, "read outbox stats")
	}
	return r.Depth, r.Oldest.Time, nil
}

// PruneOutbox deletes notices delivered before before and returns how many.
func (db *DB) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	c := db.writer(ctx)
	n, err := c.execN("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", c.t(before))
	return n, dbErr(err, "prune outbox")
}
