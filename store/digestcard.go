package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"accessbot/workflow"
)

// Reminder digests as cards (migration 0023): a digest_cards row per
// posted digest and a digest_card_tasks row per task it lists, with the
// revision of the task the message shows. A digest is claimed before it is
// posted (ts ''), like a card (ClaimCard); every save after that is
// guarded by the version it read.

type digestRow struct {
	ID        int64  `db:"id"`
	NoticeID  int64  `db:"notice_id"`
	Email     string `db:"email"`
	Channel   string `db:"channel"`
	TS        string `db:"ts"`
	Version   int64  `db:"version"`
	UpdatedAt dbTime `db:"updated_at"`
}

const digestSelect = "SELECT id, notice_id, email, channel, ts, version, updated_at FROM digest_cards d"

// digests reads the digests rows name, with their tasks in order.
func digests(c conn, rows []digestRow) ([]workflow.DigestCard, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]workflow.DigestCard, len(rows))
	ids := make([]int64, len(rows))
	at := make(map[int64]int, len(rows))
	for i, r := range rows {
		out[i] = workflow.DigestCard{ID: r.ID, NoticeID: r.NoticeID, Email: r.Email, Channel: r.Channel, TS: r.TS, Version: r.Version, UpdatedAt: r.UpdatedAt.Time}
		ids[i], at[r.ID] = r.ID, i
	}
	var tasks []struct {
		DigestID int64 `db:"digest_id"`
		TaskID   int64 `db:"task_id"`
		Revision int64 `db:"revision"`
	}
	w := &where{}
	in(w, "digest_id", ids)
	if err := c.sel(&tasks, "SELECT digest_id, task_id, revision FROM digest_card_tasks"+w.String()+" ORDER BY digest_id, pos", w.args...); err != nil {
		return nil, dbErr(err, "read digest tasks")
	}
	for _, t := range tasks {
		d := &out[at[t.DigestID]]
		d.Tasks = append(d.Tasks, workflow.DigestTask{TaskID: t.TaskID, Revision: t.Revision})
	}
	return out, nil
}

// DigestCardsOf returns the posted digests that list task id, oldest first.
func (db *DB) DigestCardsOf(ctx context.Context, taskID int64) ([]workflow.DigestCard, error) {
	c := db.reader(ctx)
	var rows []digestRow
	err := c.sel(&rows, digestSelect+" WHERE d.ts <> '' AND d.id IN (SELECT digest_id FROM digest_card_tasks WHERE task_id = ?) ORDER BY d.id", taskID)
	if err != nil {
		return nil, dbErr(err, fmt.Sprintf("read digests of T-%d", taskID))
	}
	return digests(c, rows)
}

// DigestCard returns digest id, or ENOTFOUND.
func (db *DB) DigestCard(ctx context.Context, id int64) (*workflow.DigestCard, error) {
	return db.digestWhere(ctx, "d.id = ?", id)
}

// DigestCardByMessage returns the digest posted as message ts in channel,
// or ENOTFOUND.
func (db *DB) DigestCardByMessage(ctx context.Context, channel, ts string) (*workflow.DigestCard, error) {
	return db.digestWhere(ctx, "d.channel = ? AND d.ts = ? AND d.ts <> ''", channel, ts)
}

func (db *DB) digestWhere(ctx context.Context, cond string, args ...any) (*workflow.DigestCard, error) {
	c := db.reader(ctx)
	var rows []digestRow
	if err := c.sel(&rows, digestSelect+" WHERE "+cond, args...); err != nil {
		return nil, dbErr(err, "read digest")
	}
	if len(rows) == 0 {
		return nil, workflow.Errorf(workflow.ENOTFOUND, "no such digest")
	}
	ds, err := digests(c, rows)
	if err != nil {
		return nil, err
	}
	return &ds[0], nil
}

// ClaimDigestCard claims the digest of notice d.NoticeID for owner until
// until, before it is posted, so that two posters never both post it:
//
//   - it is posted already: d becomes it and the result is false (redraw
//     it instead of posting);
//   - another owner holds a claim whose lease has not ended, or claims it
//     at the same moment: ECONFLICT (try again later);
//   - otherwise d.ID is the claim and the result is true: post, then
//     SaveDigestCard with the message, or ReleaseDigestCard. When the
//     claim was made before (its owner's lease ended, or this owner's
//     retry), d.UpdatedAt is when: that owner may have posted it already
//     (look for the message before posting). A new claim leaves
//     d.UpdatedAt as it was.
//
// RenewLeases keeps a claim while the post is slow.
func (db *DB) ClaimDigestCard(ctx context.Context, d *workflow.DigestCard, owner string, now, until time.Time) (bool, error) {
	claimed := false
	err := db.write(ctx, "claim digest", func(c conn) error {
		if c.d == dialectPostgres {
			// As ClaimCard: two replicas that both find a dead owner's
			// claim must not both take it over.
			if _, err := c.exec(pgLockSQL); err != nil {
				return dbErr(err, "claim digest")
			}
		}
		var r struct {
			digestRow
			LeaseOwner string `db:"lease_owner"`
			LeaseUntil dbTime `db:"lease_until"`
		}
		err := c.get(&r, "SELECT id, notice_id, email, channel, ts, version, updated_at, lease_owner, lease_until FROM digest_cards WHERE notice_id = ?", d.NoticeID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err := c.insertID(`INSERT INTO digest_cards (notice_id, email, channel, ts, version, updated_at, lease_owner, lease_until)
				VALUES (?, ?, ?, '', 0, ?, ?, ?)`, d.NoticeID, d.Email, d.Channel, c.t(now), owner, c.t(until))
			if err != nil {
				return dbErr(err, "claim digest")
			}
			d.ID, d.Version, claimed = id, 0, true
			return nil
		case err != nil:
			return dbErr(err, "claim digest")
		case r.TS != "":
			ds, err := digests(c, []digestRow{r.digestRow})
			if err != nil {
				return err
			}
			*d = ds[0]
			return nil
		case r.LeaseOwner != owner && !r.LeaseUntil.IsZero() && !r.LeaseUntil.Before(now):
			return workflow.Errorf(workflow.ECONFLICT, "the digest of notice %d is being posted by another worker", d.NoticeID)
		}
		if _, err := c.exec("UPDATE digest_cards SET lease_owner = ?, lease_until = ? WHERE id = ?", owner, c.t(until), r.ID); err != nil {
			return dbErr(err, "claim digest")
		}
		d.ID, d.Version, d.UpdatedAt, claimed = r.ID, r.Version, r.UpdatedAt.Time, true
		return nil
	})
	return claimed, err
}

// ReleaseDigestCard drops owner's claim id of a digest that was not posted.
func (db *DB) ReleaseDigestCard(ctx context.Context, id int64, owner string) error {
	_, err := db.writer(ctx).exec("DELETE FROM digest_cards WHERE id = ? AND "+digestClaims.mine(), id, owner)
	return dbErr(err, "release digest claim")
}

// SaveDigestCard records what digest d.ID shows now (its message and its
// tasks with their revisions) if it is still at d.Version, and moves
// d.Version on; ECONFLICT if another save came first (read it again and
// redraw), ENOTFOUND if it is gone. A save ends the claim of a digest just
// posted. A zero UpdatedAt is the store's clock.
func (db *DB) SaveDigestCard(ctx context.Context, d *workflow.DigestCard) error {
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = db.now()
	}
	return db.write(ctx, "save digest", func(c conn) error {
		n, err := c.execN(`UPDATE digest_cards SET channel = ?, ts = ?, version = version + 1, updated_at = ?, lease_owner = '', lease_until = NULL
			WHERE id = ? AND version = ?`, d.Channel, d.TS, c.t(d.UpdatedAt), d.ID, d.Version)
		if err != nil {
			return dbErr(err, "save digest")
		}
		if n == 0 {
			var count int
			if err := c.get(&count, "SELECT COUNT(*) FROM digest_cards WHERE id = ?", d.ID); err != nil {
				return dbErr(err, "save digest")
			}
			if count == 0 {
				return workflow.Errorf(workflow.ENOTFOUND, "digest %d does not exist", d.ID)
			}
			return workflow.Errorf(workflow.ECONFLICT, "digest %d was redrawn meanwhile", d.ID)
		}
		if _, err := c.exec("DELETE FROM digest_card_tasks WHERE digest_id = ?", d.ID); err != nil {
			return dbErr(err, "save digest")
		}
		for i, t := range d.Tasks {
			if _, err := c.exec("INSERT INTO digest_card_tasks (digest_id, pos, task_id, revision) VALUES (?, ?, ?, ?)", d.ID, i, t.TaskID, t.Revision); err != nil {
				return dbErr(err, "save digest")
			}
		}
		d.Version++
		return nil
	})
}

// pruneDigestCards forgets the digests not redrawn since before that list
// no open task any more: nothing they show can change, and a click on one
// is a click on a task (its buttons carry the task's revision).
func pruneDigestCards(c conn, before time.Time) (int64, error) {
	const old = `SELECT d.id FROM digest_cards d WHERE d.updated_at < ? AND NOT EXISTS (
		SELECT 1 FROM digest_card_tasks dt JOIN tasks t ON t.id = dt.task_id WHERE dt.digest_id = d.id AND t.status = 'open')`
	if _, err := c.exec("DELETE FROM digest_card_tasks WHERE digest_id IN ("+old+")", c.t(before)); err != nil {
		return 0, err
	}
	return c.execN(`DELETE FROM digest_cards WHERE updated_at < ? AND ts <> '' AND NOT EXISTS (
		SELECT 1 FROM digest_card_tasks dt WHERE dt.digest_id = digest_cards.id)`, c.t(before))
}
