package store

import (
	"context"
	"fmt"
	"time"

	"accessbot/workflow"
)

// The outbox's lifecycle is workflow.NoticeState: pending -> leased (a
// ClaimNotices) -> delivered (NoticeDelivered) or back to pending
// (NoticeFailed, ReleaseNotice), or dead after too many attempts. Every
// change after the claim is guarded by the lease (lease.go).

// Enqueue writes n to the outbox in the transaction and sets n.ID. A zero
// CreatedAt is Now and a zero NextAt is CreatedAt (due at once). The row
// starts pending.
func (tx *writeTx) Enqueue(n *workflow.Notice) error {
	args, err := tx.noticeArgs(n)
	if err != nil {
		return err
	}
	id, err := tx.insertID("INSERT INTO outbox ("+outboxCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args...)
	if err != nil {
		return dbErr(err, "enqueue notice")
	}
	n.ID, n.State = id, workflow.NoticePending
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
	Payload    *string `db:"payload_json"`
	CreatedAt  dbTime  `db:"created_at"`
	Attempts   int     `db:"attempts"`
	NextAt     dbTime  `db:"next_at"`
	LastError  string  `db:"last_error"`
	State      string  `db:"state"`
}

const noticeSelect = "SELECT id, kind, task_id, recipient, recipients_json, text, data_json, payload_json, created_at, attempts, next_at, last_error, state FROM outbox o"

func (r *noticeRow) notice() (workflow.Notice, error) {
	n := workflow.Notice{
		ID: r.ID, TaskID: r.TaskID, Recipient: r.Recipient,
		Text: r.Text, CreatedAt: r.CreatedAt.Time, Attempts: r.Attempts, NextAt: r.NextAt.Time, LastError: r.LastError,
		State: workflow.NoticeState(r.State),
	}
	if err := jsonScan(r.Recipients, &n.Recipients); err != nil {
		return n, fmt.Errorf("store: decode notice %d: %w", r.ID, err)
	}
	p, err := decodePayload(r.Kind, r.TaskID, r.Data, r.Payload)
	if err != nil {
		return n, fmt.Errorf("store: decode notice %d: %w", r.ID, err)
	}
	n.Payload = p
	return n, nil
}

// dueCond selects the notices a worker may take at now (two arguments:
// now, now): pending and due, or leased under a lease that ended (its
// holder is gone). Notices of one task go out in order: a notice waits
// while an older notice of its task is pending or leased (also one
// waiting for a retry); delivered and dead ones do not hold it back.
// Notices with TaskID 0 have no such order.
const dueCond = `((o.state = 'pending' AND o.next_at <= ?) OR (o.state = 'leased' AND o.lease_until < ?))
	AND (o.task_id = 0 OR NOT EXISTS (
		SELECT 1 FROM outbox p WHERE p.task_id = o.task_id AND p.state IN ('pending', 'leased') AND p.id < o.id))`

// DueNotices returns up to limit notices a worker could claim at now,
// oldest first, without claiming them (for tests and inspection).
func (db *DB) DueNotices(ctx context.Context, now time.Time, limit int) ([]workflow.Notice, error) {
	return dueNotices(db.reader(ctx), now, limit, "")
}

func dueNotices(c conn, now time.Time, limit int, suffix string) ([]workflow.Notice, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []noticeRow
	err := c.sel(&rows, noticeSelect+" WHERE "+dueCond+" ORDER BY o.id LIMIT ?"+suffix, c.t(now), c.t(now), limit)
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

// ClaimNotices leases up to limit due notices to owner until now+ttl and
// returns them (state leased). Replicas claim side by side: PostgreSQL
// skips the rows another claimer holds (FOR UPDATE SKIP LOCKED), SQLite has
// one writer. The owner then calls NoticeDelivered, NoticeFailed or
// ReleaseNotice, and renews the lease (RenewLeases) while it works; a
// notice whose owner died is claimed again once its lease ends.
func (db *DB) ClaimNotices(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]workflow.Notice, error) {
	if ttl <= 0 || owner == "" {
		return nil, fmt.Errorf("store: ClaimNotices: an owner and a positive lease are required (got %q, %v)", owner, ttl)
	}
	var out []workflow.Notice
	err := db.write(ctx, "claim notices", func(c conn) error {
		suffix := ""
		if c.d == dialectPostgres {
			suffix = " FOR UPDATE OF o SKIP LOCKED"
		}
		var err error
		if out, err = dueNotices(c, now, limit, suffix); err != nil || len(out) == 0 {
			return err
		}
		w := &where{}
		ids := make([]int64, len(out))
		for i := range out {
			ids[i] = out[i].ID
			out[i].State = workflow.NoticeLeased
		}
		in(w, "id", ids)
		_, err = c.exec("UPDATE outbox SET state = 'leased', lease_owner = ?, lease_until = ?"+w.String(),
			append([]any{owner, c.t(now.Add(ttl))}, w.args...)...)
		return dbErr(err, "claim notices")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NoticeDelivered marks notice id delivered at now, if owner still holds
// its lease: ENOTFOUND if there is no such notice, ECONFLICT if the lease
// was lost (another worker took it over; this delivery is not recorded).
func (db *DB) NoticeDelivered(ctx context.Context, id int64, owner string, now time.Time) error {
	c := db.writer(ctx)
	n, err := c.execN("UPDATE outbox SET state = 'delivered', delivered_at = ?, lease_owner = '', lease_until = NULL WHERE id = ? AND "+outboxLeases.mine(),
		c.t(now), id, owner)
	return db.noticeResult(ctx, n, err, id, "mark notice delivered")
}

// NoticeFailed counts a failed attempt at notice id by its lease owner and
// records errText. Below maxAttempts the notice is pending again from
// nextAt; at maxAttempts (0: no limit) it is dead. It returns the new
// state; ENOTFOUND or ECONFLICT (lease lost) as NoticeDelivered.
func (db *DB) NoticeFailed(ctx context.Context, id int64, owner string, nextAt time.Time, errText string, maxAttempts int) (workflow.NoticeState, error) {
	c := db.writer(ctx)
	limit := maxAttempts
	if limit <= 0 {
		limit = 1 << 30
	}
	n, err := c.execN(`UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?, lease_owner = '', lease_until = NULL,
		state = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE 'pending' END
		WHERE id = ? AND `+outboxLeases.mine(), c.t(nextAt), errText, limit, id, owner)
	if err := db.noticeResult(ctx, n, err, id, "record failed notice"); err != nil {
		return "", err
	}
	var state string
	if err := db.writer(ctx).get(&state, "SELECT state FROM outbox WHERE id = ?", id); err != nil {
		return "", dbErr(err, "read notice state")
	}
	return workflow.NoticeState(state), nil
}

// ReleaseNotice hands notice id back (pending, due at once, no attempt
// counted): a worker that stops before delivering it. Guarded as
// NoticeDelivered.
func (db *DB) ReleaseNotice(ctx context.Context, id int64, owner string) error {
	c := db.writer(ctx)
	n, err := c.execN("UPDATE outbox SET state = 'pending', lease_owner = '', lease_until = NULL WHERE id = ? AND "+outboxLeases.mine(), id, owner)
	return db.noticeResult(ctx, n, err, id, "release notice")
}

// noticeResult maps a guarded change: zero rows is ENOTFOUND when the
// notice does not exist and a lost lease otherwise.
func (db *DB) noticeResult(ctx context.Context, n int64, err error, id int64, what string) error {
	if err != nil {
		return dbErr(err, fmt.Sprintf("%s %d", what, id))
	}
	if n > 0 {
		return nil
	}
	var count int
	if err := db.writer(ctx).get(&count, "SELECT COUNT(*) FROM outbox WHERE id = ?", id); err != nil {
		return dbErr(err, fmt.Sprintf("%s %d", what, id))
	}
	if count == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "notice %d does not exist", id)
	}
	return lostLease("notice", id)
}

// OutboxStats returns how many notices wait (pending or leased) and when
// the oldest of them was created (zero when none), for metrics and health
// checks. Dead notices are not waiting.
func (db *DB) OutboxStats(ctx context.Context) (depth int, oldest time.Time, err error) {
	var r struct {
		Depth  int    `db:"depth"`
		Oldest dbTime `db:"oldest"`
	}
	err = db.reader(ctx).get(&r, "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbox WHERE state IN ('pending', 'leased')")
	if err != nil {
		return 0, time.Time{}, dbErr(err, "read outbox stats")
	}
	return r.Depth, r.Oldest.Time, nil
}

// NoticeCounts returns how many notices are in each state.
func (db *DB) NoticeCounts(ctx context.Context) (map[workflow.NoticeState]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := db.reader(ctx).sel(&rows, "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state"); err != nil {
		return nil, dbErr(err, "count notices")
	}
	out := map[workflow.NoticeState]int{}
	for _, r := range rows {
		out[workflow.NoticeState(r.State)] = r.N
	}
	return out, nil
}

// PruneOutbox deletes notices delivered before before and returns how
// many. Pending, leased and dead notices are kept. It also forgets the
// reminder digests not redrawn since before that list no open task.
func (db *DB) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	c := db.writer(ctx)
	n, err := c.execN("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?", c.t(before))
	if err != nil {
		return 0, dbErr(err, "prune outbox")
	}
	if _, err := pruneDigestCards(c, before); err != nil {
		return n, dbErr(err, "prune digests")
	}
	return n, nil
}
