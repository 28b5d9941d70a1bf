package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"accessbot/workflow"
)

// The inbox keeps every Slack envelope from before its ack until its
// effect is recorded: state leased (owner handling it) -> done, or pending
// again when its owner gives it back; a leased row whose lease ended (its
// process died) is taken by ClaimEnvelopes of another instance or of the
// restarted one.

// StoreEnvelopes writes envs in one transaction (a group commit), each
// leased to owner until until, and reports for each whether it is new: an
// envelope whose ID or EventID is already stored is a duplicate (false)
// and is not written again. The same transaction marks the envelopes done
// (those not done yet) at now, for the handlers that finished meanwhile.
func (db *DB) StoreEnvelopes(ctx context.Context, owner string, until time.Time, envs []workflow.Envelope, done []string, now time.Time) ([]bool, error) {
	fresh := make([]bool, len(envs))
	err := db.writeAs(ctx, true, "store envelopes", func(c conn) error {
		if err := envelopesDone(c, done, now); err != nil {
			return err
		}
		// One statement a chunk; RETURNING names the rows it inserted (a
		// duplicate, also within the group, inserts nothing).
		const chunk = 400
		for start := 0; start < len(envs); start += chunk {
			part := envs[start:min(start+chunk, len(envs))]
			args := make([]any, 0, len(part)*6)
			for _, e := range part {
				args = append(args, e.ID, e.EventID, e.Type, string(e.Payload), c.t(e.ReceivedAt), owner)
			}
			var ids []string
			q := `INSERT INTO inbox (id, event_id, type, payload, received_at, lease_owner, state, attempts, lease_until)
				SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, 'leased', 1, ? FROM (VALUES ` +
				c.values([]string{"text", "text", "text", "text", "timestamptz", "text"}, len(part)) + `) AS v
				WHERE true ON CONFLICT DO NOTHING RETURNING id`
			if err := sqlx.SelectContext(c.ctx, c.q, &ids, c.q.Rebind(q), append([]any{c.t(until)}, args...)...); err != nil {
				return dbErr(err, "store envelopes")
			}
			got := make(map[string]bool, len(ids))
			for _, id := range ids {
				got[id] = true
			}
			for i, e := range part {
				if got[e.ID] {
					fresh[start+i] = true
					delete(got, e.ID) // a second copy in the group is a duplicate
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// envelopesDone marks envelopes ids done at now (those not done yet).
func envelopesDone(c conn, ids []string, now time.Time) error {
	// Rows are locked in one order everywhere, so two markers never
	// deadlock.
	ids = slices.Clone(ids)
	slices.Sort(ids)
	const chunk = 500
	{
		for start := 0; start < len(ids); start += chunk {
			w := &where{}
			in(w, "id", ids[start:min(start+chunk, len(ids))])
			w.add("state <> 'done'")
			if _, err := c.exec("UPDATE inbox SET state = 'done', done_at = ?, lease_owner = '', lease_until = NULL"+w.String(),
				append([]any{c.t(now)}, w.args...)...); err != nil {
				return dbErr(err, "mark envelopes done")
			}
		}
		return nil
	}
}

// ClaimEnvelopes leases to owner until until up to limit envelopes that
// are not done and that nobody holds (pending, or leased under a lease
// that ended before now: their process is gone), oldest first, counting an
// attempt. They are to be finished: handled again where their effect is
// not recorded.
func (db *DB) ClaimEnvelopes(ctx context.Context, owner string, now, until time.Time, limit int) ([]workflow.Envelope, error) {
	if owner == "" {
		return nil, fmt.Errorf("store: ClaimEnvelopes: an owner id is required")
	}
	var out []workflow.Envelope
	err := db.write(ctx, "claim envelopes", func(c conn) error {
		suffix := ""
		if c.d == dialectPostgres {
			suffix = " FOR UPDATE SKIP LOCKED"
		}
		var rows []struct {
			ID         string `db:"id"`
			EventID    string `db:"event_id"`
			Type       string `db:"type"`
			Payload    string `db:"payload"`
			Attempts   int    `db:"attempts"`
			ReceivedAt dbTime `db:"received_at"`
		}
		if err := c.sel(&rows, `SELECT id, event_id, type, payload, attempts, received_at FROM inbox
			WHERE state <> 'done' AND `+inboxLeases.free()+` ORDER BY received_at, id LIMIT ?`+suffix, c.t(now), limit); err != nil {
			return dbErr(err, "claim envelopes")
		}
		for _, r := range rows {
			n, err := c.execN("UPDATE inbox SET state = 'leased', lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ? AND state <> 'done'",
				owner, c.t(until), r.ID)
			if err != nil {
				return dbErr(err, "claim envelopes")
			}
			if n == 1 {
				out = append(out, workflow.Envelope{ID: r.ID, EventID: r.EventID, Type: r.Type, Payload: []byte(r.Payload),
					ReceivedAt: r.ReceivedAt.Time, Attempts: r.Attempts + 1})
			}
		}
		return nil
	})
	return out, err
}

// InboxStats counts the envelopes not done yet and the done ones.
func (db *DB) InboxStats(ctx context.Context) (open, done int, err error) {
	var r struct {
		Open int `db:"open"`
		Done int `db:"done"`
	}
	err = db.reader(ctx).get(&r, `SELECT COALESCE(SUM(CASE WHEN state <> 'done' THEN 1 ELSE 0 END), 0) AS open,
		COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0) AS done FROM inbox`)
	if err != nil {
		return 0, 0, dbErr(err, "read inbox stats")
	}
	return r.Open, r.Done, nil
}

// PruneInbox deletes envelopes done before before and returns how many.
// Keep them longer than Slack redelivers an envelope (minutes): a
// redelivery of a pruned envelope would be handled again.
func (db *DB) PruneInbox(ctx context.Context, before time.Time) (int64, error) {
	c := db.writer(ctx)
	n, err := c.execN("DELETE FROM inbox WHERE state = 'done' AND done_at < ?", c.t(before))
	return n, dbErr(err, "prune inbox")
}

// markReceipt marks the envelope of ctx's receipt done in the write
// transaction, before fn's effect commits. An envelope already done means
// its effect is recorded: ECONFLICT, and the transaction changes nothing.
// An envelope the inbox does not hold (pruned, or a caller that stored
// none) is let through.
func markReceipt(c conn, r *workflow.Receipt, now time.Time) error {
	n, err := c.execN("UPDATE inbox SET state = 'done', done_at = ?, lease_owner = '', lease_until = NULL WHERE id = ? AND state <> 'done'", c.t(now), r.ID)
	if err != nil {
		return dbErr(err, "mark envelope done")
	}
	if n == 1 {
		return nil
	}
	var count int
	if err := c.get(&count, "SELECT COUNT(*) FROM inbox WHERE id = ?", r.ID); err != nil {
		return dbErr(err, "read envelope")
	}
	if count == 0 {
		return nil
	}
	return workflow.Errorf(workflow.ECONFLICT, workflow.ErrHandled)
}

// HasEvent reports whether an envelope with Events API event id eventID
// is stored.
func (db *DB) HasEvent(ctx context.Context, eventID string) (bool, error) {
	var n int
	if err := db.reader(ctx).get(&n, "SELECT COUNT(*) FROM inbox WHERE event_id = ? AND event_id <> ''", eventID); err != nil {
		return false, dbErr(err, "read inbox")
	}
	return n > 0, nil
}

// ReleaseEnvelope hands envelope id back (pending, no lease) when owner's
// handling failed on an internal error, so it is finished again
// (ClaimEnvelopes) rather than lost. Guarded by the lease: ECONFLICT when
// owner no longer holds it.
func (db *DB) ReleaseEnvelope(ctx context.Context, id, owner string) error {
	c := db.writer(ctx)
	n, err := c.execN("UPDATE inbox SET state = 'pending', lease_owner = '', lease_until = NULL WHERE id = ? AND "+inboxLeases.mine(), id, owner)
	if err != nil {
		return dbErr(err, "release envelope "+id)
	}
	if n == 0 {
		return lostLease("envelope", id)
	}
	return nil
}
