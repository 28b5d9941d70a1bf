package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"accessbot/workflow"
)

const chatUserSelect = "SELECT email, chat_id, name, tz, is_bot, deleted, resolved_at FROM chat_users"

type chatUserRow struct {
	Email      string `db:"email"`
	ChatID     string `db:"chat_id"`
	Name       string `db:"name"`
	TZ         string `db:"tz"`
	IsBot      bool   `db:"is_bot"`
	Deleted    bool   `db:"deleted"`
	ResolvedAt dbTime `db:"resolved_at"`
}

func (r *chatUserRow) user() *workflow.ChatUser {
	return &workflow.ChatUser{
		Email: r.Email, ChatID: r.ChatID, Name: r.Name, TZ: r.TZ,
		IsBot: r.IsBot, Deleted: r.Deleted, ResolvedAt: r.ResolvedAt.Time,
	}
}

// ChatUserByEmail returns the cached chat user of email, or ENOTFOUND.
func (db *DB) ChatUserByEmail(ctx context.Context, email string) (*workflow.ChatUser, error) {
	return db.chatUser(ctx, "email", email, "no chat user with email %s")
}

// ChatUserByID returns the cached chat user with chat (Slack) id chatID, or ENOTFOUND.
func (db *DB) ChatUserByID(ctx context.Context, chatID string) (*workflow.ChatUser, error) {
	if chatID == "" {
		return nil, workflow.Errorf(workflow.ENOTFOUND, "no chat user with an empty id")
	}
	return db.chatUser(ctx, "chat_id", chatID, "no chat user with id %s")
}

func (db *DB) chatUser(ctx context.Context, col, val, notFound string) (*workflow.ChatUser, error) {
	var r chatUserRow
	err := db.reader(ctx).get(&r, chatUserSelect+" WHERE "+col+" = ?", val)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.Errorf(workflow.ENOTFOUND, notFound, val)
	}
	if err != nil {
		return nil, dbErr(err, "read chat user "+val)
	}
	return r.user(), nil
}

// SaveChatUser inserts or replaces the chat user of u.Email. A ChatID held
// by another email (an address that changed hands) is cleared there first.
func (db *DB) SaveChatUser(ctx context.Context, u *workflow.ChatUser) error {
	if u.Email == "" {
		return workflow.FieldError("email", "a chat user needs an email")
	}
	return db.write(ctx, "save chat user "+u.Email, func(c conn) error {
		if u.ChatID != "" {
			if _, err := c.exec("UPDATE chat_users SET chat_id = '' WHERE chat_id = ? AND email <> ?", u.ChatID, u.Email); err != nil {
				return dbErr(err, "save chat user "+u.Email)
			}
		}
		_, err := c.exec(`INSERT INTO chat_users (email, chat_id, name, tz, is_bot, deleted, resolved_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (email) DO UPDATE SET chat_id = excluded.chat_id, name = excluded.name, tz = excluded.tz,
				is_bot = excluded.is_bot, deleted = excluded.deleted, resolved_at = excluded.resolved_at`,
			u.Email, u.ChatID, u.Name, u.TZ, u.IsBot, u.Deleted, c.t(u.ResolvedAt))
		return dbErr(err, "save chat user "+u.Email)
	})
}

const cardSelect = "SELECT id, task_id, role, email, step, channel, ts, revision, final, updated_at FROM cards"

type cardRow struct {
	ID        int64  `db:"id"`
	TaskID    int64  `db:"task_id"`
	Role      string `db:"role"`
	Email     string `db:"email"`
	Step      int    `db:"step"`
	Channel   string `db:"channel"`
	TS        string `db:"ts"`
	Revision  int64  `db:"revision"`
	Final     bool   `db:"final"`
	UpdatedAt dbTime `db:"updated_at"`
}

func (r *cardRow) card() workflow.Card {
	return workflow.Card{
		ID: r.ID, TaskID: r.TaskID, Role: workflow.CardRole(r.Role), Email: r.Email, Step: r.Step,
		Channel: r.Channel, TS: r.TS, Revision: r.Revision, Final: r.Final, UpdatedAt: r.UpdatedAt.Time,
	}
}

// Cards returns the posted cards of a task in the order they were saved
// (claims of cards not posted yet are left out).
func (db *DB) Cards(ctx context.Context, taskID int64) ([]workflow.Card, error) {
	var rows []cardRow
	if err := db.reader(ctx).sel(&rows, cardSelect+" WHERE task_id = ? AND ts <> '' ORDER BY id", taskID); err != nil {
		return nil, dbErr(err, fmt.Sprintf("read cards of T-%d", taskID))
	}
	out := make([]workflow.Card, len(rows))
	for i := range rows {
		out[i] = rows[i].card()
	}
	return out, nil
}

// CardByMessage returns the card posted as message ts in channel, or ENOTFOUND.
func (db *DB) CardByMessage(ctx context.Context, channel, ts string) (*workflow.Card, error) {
	var r cardRow
	err := db.reader(ctx).get(&r, cardSelect+" WHERE channel = ? AND ts = ? AND ts <> ''", channel, ts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.Errorf(workflow.ENOTFOUND, "no card for message %s in %s", ts, channel)
	}
	if err != nil {
		return nil, dbErr(err, "read card of message "+ts)
	}
	c := r.card()
	return &c, nil
}

// SaveCard inserts c (ID 0; sets c.ID) or updates card c.ID (ENOTFOUND if
// gone). A zero UpdatedAt is the store's clock. Two cards cannot share a
// message (Channel, TS): that is ECONFLICT.
func (db *DB) SaveCard(ctx context.Context, c *workflow.Card) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = db.now()
	}
	w := db.writer(ctx)
	args := []any{c.TaskID, string(c.Role), c.Email, c.Step, c.Channel, c.TS, c.Revision, c.Final, w.t(c.UpdatedAt)}
	if c.ID == 0 {
		id, err := w.insertID(`INSERT INTO cards (task_id, role, email, step, channel, ts, revision, final, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if err != nil {
			return dbErr(err, fmt.Sprintf("save card of T-%d", c.TaskID))
		}
		c.ID = id
		return nil
	}
	n, err := w.execN(`UPDATE cards SET task_id = ?, role = ?, email = ?, step = ?, channel = ?, ts = ?, revision = ?,
		final = ?, updated_at = ?, lease_owner = '', lease_until = NULL WHERE id = ?`, append(args, c.ID)...)
	if err != nil {
		return dbErr(err, fmt.Sprintf("save card of T-%d", c.TaskID))
	}
	if n == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "card %d does not exist", c.ID)
	}
	return nil
}

// ClaimCard claims the card c describes (TaskID, Role, Email, Step, and
// Channel for a channel card) for owner until until, before it is posted,
// so that two posters (replicas) never both post it:
//
//   - the card is posted already: c becomes it and ClaimCard returns
//     false (update it instead of posting);
//   - another owner holds a claim whose lease has not ended: ECONFLICT
//     (try again later: it is being posted);
//   - otherwise c.ID is the claim (a card row with no message yet) and
//     ClaimCard returns true: post, then SaveCard with the message, or
//     ReleaseCard when the post failed. When the claim was made before
//     (its owner's lease ended, or this owner's retry), c.UpdatedAt is
//     when: that owner may have died after Slack took its post and before
//     SaveCard, so look for that message before posting another. A new
//     claim leaves c.UpdatedAt zero.
//
// A claim is a lease (lease.go): RenewLeases keeps it while the post is
// slow, and a claim whose owner died is taken over after its lease.
func (db *DB) ClaimCard(ctx context.Context, c *workflow.Card, owner string, now, until time.Time) (bool, error) {
	claimed := false
	err := db.write(ctx, fmt.Sprintf("claim card of T-%d", c.TaskID), func(cn conn) error {
		if cn.d == dialectPostgres {
			// Serialised with other claims (and engine writes): the check
			// and the insert below must not interleave across replicas.
			if _, err := cn.exec(pgLockSQL); err != nil {
				return dbErr(err, "claim card")
			}
		}
		var rows []struct {
			cardRow
			LeaseOwner string `db:"lease_owner"`
			LeaseUntil dbTime `db:"lease_until"`
		}
		q := "SELECT id, task_id, role, email, step, channel, ts, revision, final, updated_at, lease_owner, lease_until FROM cards WHERE task_id = ? AND role = ? AND email = ? AND step = ?"
		args := []any{c.TaskID, string(c.Role), c.Email, c.Step}
		if c.Role == workflow.CardChannel {
			q += " AND channel = ?"
			args = append(args, c.Channel)
		}
		if err := cn.sel(&rows, q+" ORDER BY id", args...); err != nil {
			return dbErr(err, "claim card")
		}
		for _, r := range rows {
			if r.TS != "" {
				*c = r.card()
				return nil
			}
		}
		if len(rows) > 0 {
			r := rows[0]
			if r.LeaseOwner != owner && !r.LeaseUntil.IsZero() && !r.LeaseUntil.Before(now) {
				return workflow.Errorf(workflow.ECONFLICT, "the %s card of T-%d is being posted by another worker", c.Role, c.TaskID)
			}
			if _, err := cn.exec("UPDATE cards SET lease_owner = ?, lease_until = ? WHERE id = ?", owner, cn.t(until), r.ID); err != nil {
				return dbErr(err, "claim card")
			}
			c.ID, c.UpdatedAt, claimed = r.ID, r.UpdatedAt.Time, true
			return nil
		}
		id, err := cn.insertID(`INSERT INTO cards (task_id, role, email, step, channel, ts, revision, final, updated_at, lease_owner, lease_until)
			VALUES (?, ?, ?, ?, ?, '', 0, ?, ?, ?, ?)`, c.TaskID, string(c.Role), c.Email, c.Step, c.Channel, false, cn.t(now), owner, cn.t(until))
		if err != nil {
			return dbErr(err, "claim card")
		}
		c.ID, claimed = id, true
		return nil
	})
	return claimed, err
}

// ReleaseCard drops owner's claim id of a card that was not posted.
func (db *DB) ReleaseCard(ctx context.Context, id int64, owner string) error {
	_, err := db.writer(ctx).exec("DELETE FROM cards WHERE id = ? AND "+cardClaims.mine(), id, owner)
	return dbErr(err, "release card claim")
}

// DeleteCards forgets the cards of a task, once a deleted task's cards have
// been marked as deleted in Slack.
func (db *DB) DeleteCards(ctx context.Context, taskID int64) error {
	if _, err := db.writer(ctx).exec("DELETE FROM cards WHERE task_id = ?", taskID); err != nil {
		return dbErr(err, fmt.Sprintf("delete cards of T-%d", taskID))
	}
	return nil
}

// FirstSeen records key and reports whether this is the first time it is
// seen, across restarts. The bot de-duplicates envelopes with the inbox
// now (StoreEnvelopes); seen_keys stays for keys of other kinds and is the
// table RawInsertRate measures.
func (db *DB) FirstSeen(ctx context.Context, key string, now time.Time) (bool, error) {
	c := db.writer(ctx)
	n, err := c.execN("INSERT INTO seen_keys (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, c.t(now))
	if err != nil {
		return false, dbErr(err, "record seen key")
	}
	return n == 1, nil
}

// PruneSeen forgets keys first seen before before and returns how many.
func (db *DB) PruneSeen(ctx context.Context, before time.Time) (int64, error) {
	c := db.writer(ctx)
	n, err := c.execN("DELETE FROM seen_keys WHERE seen_at < ?", c.t(before))
	return n, dbErr(err, "prune seen keys")
}

// TimeZones returns the time zone of each of emails the bot has looked up
// (chat_users rows with a non-empty tz); the others are left out.
func (tx *readTx) TimeZones(emails []string) (map[string]string, error) {
	out := make(map[string]string, len(emails))
	const chunk = 500
	for start := 0; start < len(emails); start += chunk {
		w := &where{}
		in(w, "email", emails[start:min(start+chunk, len(emails))])
		w.add("tz <> ''")
		var rows []struct {
			Email string `db:"email"`
			TZ    string `db:"tz"`
		}
		if err := tx.sel(&rows, "SELECT email, tz FROM chat_users"+w.String(), w.args...); err != nil {
			return nil, dbErr(err, "read time zones")
		}
		for _, r := range rows {
			out[r.Email] = r.TZ
		}
	}
	return out, nil
}
