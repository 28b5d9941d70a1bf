package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// testOutboxUpgrade is a rolling upgrade across migration 0022: rows an
// older binary wrote (kind and a data_json map, no payload_json) are
// claimed by this one with their typed payloads, in the outbox and the
// email outbox; the rows this binary writes carry the columns an older
// one reads (a digest as a "reminder" of task 0).
func testOutboxUpgrade(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	c := db.writer(ctx)
	old := func(table, kind string, taskID int64, data string) {
		t.Helper()
		_, err := c.exec("INSERT INTO "+table+` (kind, task_id, recipient, recipients_json, text, data_json, created_at, attempts, next_at, last_error)
			VALUES (?, ?, 'bob@x.com', NULL, 'hi', ?, ?, 0, ?, '')`, kind, taskID, data, c.t(base), c.t(base))
		require.NoError(t, err)
	}
	for _, table := range []string{"outbox", "email_outbox"} {
		old(table, "task_changed", 1, `{"resend":"true","grant":"7","event":"revoked"}`)
		old(table, "reminder", 0, `{"tasks":"4,2","by":"schedule"}`)
		old(table, "comment", 2, `{"actor":"bob@x.com","source":"thread","seq":"12","channel":"C1","ts":"100.1"}`)
		old(table, "direct", 0, `{"topic":"delegation"}`)
	}
	want := []workflow.Payload{
		workflow.TaskChanged{Resend: true, Grant: 7, GrantEvent: "revoked"},
		workflow.ReminderDigest{Tasks: []int64{4, 2}, By: "schedule"},
		workflow.CommentPosted{Actor: "bob@x.com", Source: "thread", Seq: 12, From: workflow.MessageRef{Channel: "C1", TS: "100.1"}},
		workflow.DirectMessage{Topic: "delegation"},
	}
	payloads := func(ns []workflow.Notice) []workflow.Payload {
		var out []workflow.Payload
		for _, n := range ns {
			out = append(out, n.Payload)
		}
		return out
	}
	ns, err := db.ClaimNotices(ctx, "new", base, time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, want, payloads(ns), "the outbox")
	assert.Equal(t, workflow.NoticeDigest, ns[1].Kind())
	es, err := db.ClaimEmails(ctx, "new", base, time.Minute, 10)
	require.NoError(t, err)
	assert.Equal(t, want, payloads(es), "the email outbox")

	// What this binary writes, as an older one reads it.
	digest := &workflow.Notice{Recipient: "bob@x.com", Text: "Reminder", Payload: workflow.ReminderDigest{Tasks: []int64{3, 5}, By: "schedule"}}
	update(t, db, func(tx workflow.Tx) error {
		if err := tx.Enqueue(digest); err != nil {
			return err
		}
		return tx.EnqueueEmails([]*workflow.Notice{{Recipient: "bob@x.com", Payload: workflow.ReminderDigest{Tasks: []int64{3, 5}}}})
	})
	for _, table := range []string{"outbox", "email_outbox"} {
		var row struct {
			Kind   string  `db:"kind"`
			TaskID int64   `db:"task_id"`
			Data   *string `db:"data_json"`
		}
		require.NoError(t, c.get(&row, "SELECT kind, task_id, data_json FROM "+table+" ORDER BY id DESC LIMIT 1"))
		assert.Equal(t, "reminder", row.Kind, table)
		assert.Zero(t, row.TaskID, table)
		var m map[string]string
		require.NotNil(t, row.Data, table)
		require.NoError(t, json.Unmarshal([]byte(*row.Data), &m), table)
		assert.Equal(t, "3,5", m["tasks"], table)
	}
	got, err := db.DueNotices(ctx, base.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, got, 5, "the four older rows (their leases ended) and the new one")
	assert.Equal(t, digest.ID, got[4].ID)
	assert.Equal(t, digest.Payload, got[4].Payload, "read back typed")
}

// testDigestCards: a digest is claimed before it is posted (a second
// poster finds the claim or the posted digest), saved with its tasks and
// revisions, found by each of its tasks and by its message; a save of a
// version that moved on is refused; the prune keeps digests that list an
// open task.
func testDigestCards(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	open1, done := newTask("alice@x.com"), newTask("carol@x.com")
	done.Status = workflow.StatusDone
	update(t, db, func(tx workflow.Tx) error {
		if err := tx.CreateTask(open1); err != nil {
			return err
		}
		return tx.CreateTask(done)
	})

	d := &workflow.DigestCard{NoticeID: 41, Email: "bob@x.com", Channel: "D1"}
	claimed, err := db.ClaimDigestCard(ctx, d, "w1", base, base.Add(10*time.Second))
	require.NoError(t, err)
	require.True(t, claimed)
	other := &workflow.DigestCard{NoticeID: 41, Email: "bob@x.com", Channel: "D1"}
	_, err = db.ClaimDigestCard(ctx, other, "w2", base.Add(time.Second), base.Add(11*time.Second))
	requireCode(t, workflow.ECONFLICT, err)
	none, err := db.DigestCardsOf(ctx, open1.ID)
	require.NoError(t, err)
	require.Empty(t, none, "a claim is no posted digest")

	d.TS = "200.1"
	d.Tasks = []workflow.DigestTask{{TaskID: done.ID, Revision: 1}, {TaskID: open1.ID, Revision: 1}}
	d.UpdatedAt = base
	require.NoError(t, db.SaveDigestCard(ctx, d))
	require.Equal(t, int64(1), d.Version)

	claimed, err = db.ClaimDigestCard(ctx, other, "w2", base.Add(time.Second), base.Add(11*time.Second))
	require.NoError(t, err)
	require.False(t, claimed, "posted already: redraw it")
	require.Equal(t, d.ID, other.ID)
	require.Equal(t, d.Tasks, other.Tasks)

	for _, id := range []int64{open1.ID, done.ID} {
		ds, err := db.DigestCardsOf(ctx, id)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, d.Tasks, ds[0].Tasks, "tasks in order")
	}
	byMsg, err := db.DigestCardByMessage(ctx, "D1", "200.1")
	require.NoError(t, err)
	require.Equal(t, d.ID, byMsg.ID)
	_, err = db.DigestCardByMessage(ctx, "D1", "999.9")
	requireCode(t, workflow.ENOTFOUND, err)

	// Two redraws read version 1; the second save is refused.
	a, err := db.DigestCard(ctx, d.ID)
	require.NoError(t, err)
	b, err := db.DigestCard(ctx, d.ID)
	require.NoError(t, err)
	a.Tasks[1].Revision = 2
	require.NoError(t, db.SaveDigestCard(ctx, a))
	b.Tasks[0].Revision = -1
	requireCode(t, workflow.ECONFLICT, db.SaveDigestCard(ctx, b))
	cur, err := db.DigestCard(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, []workflow.DigestTask{{TaskID: done.ID, Revision: 1}, {TaskID: open1.ID, Revision: 2}}, cur.Tasks)

	// A claim that was never posted is released; its notice can claim again.
	lone := &workflow.DigestCard{NoticeID: 42, Email: "erin@x.com", Channel: "D2"}
	claimed, err = db.ClaimDigestCard(ctx, lone, "w1", base, base.Add(10*time.Second))
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, db.ReleaseDigestCard(ctx, lone.ID, "w1"))
	claimed, err = db.ClaimDigestCard(ctx, lone, "w2", base, base.Add(10*time.Second))
	require.NoError(t, err)
	require.True(t, claimed)

	// A dead owner's claim is taken over once its lease ended, saying
	// when it was made (its post may have reached Slack); a new claim
	// says nothing.
	dead := &workflow.DigestCard{NoticeID: 44, Email: "erin@x.com", Channel: "D2"}
	claimed, err = db.ClaimDigestCard(ctx, dead, "w1", base, base.Add(10*time.Second))
	require.NoError(t, err)
	require.True(t, claimed)
	require.True(t, dead.UpdatedAt.IsZero(), "a new claim")
	taken := &workflow.DigestCard{NoticeID: 44, Email: "erin@x.com", Channel: "D2"}
	claimed, err = db.ClaimDigestCard(ctx, taken, "w2", base.Add(11*time.Second), base.Add(21*time.Second))
	require.NoError(t, err)
	require.True(t, claimed)
	require.Equal(t, dead.ID, taken.ID)
	require.True(t, base.Equal(taken.UpdatedAt), "claimed before, at %s", taken.UpdatedAt)

	// A digest of closed tasks only is pruned; one with an open task stays.
	closed := &workflow.DigestCard{NoticeID: 43, Email: "erin@x.com", Channel: "D2"}
	_, err = db.ClaimDigestCard(ctx, closed, "w1", base, base.Add(10*time.Second))
	require.NoError(t, err)
	closed.TS, closed.UpdatedAt = "300.1", base
	closed.Tasks = []workflow.DigestTask{{TaskID: done.ID, Revision: 1}, {TaskID: 999, Revision: -1}}
	require.NoError(t, db.SaveDigestCard(ctx, closed))
	_, err = db.PruneOutbox(ctx, base.Add(time.Hour))
	require.NoError(t, err)
	_, err = db.DigestCard(ctx, closed.ID)
	requireCode(t, workflow.ENOTFOUND, err)
	_, err = db.DigestCard(ctx, d.ID)
	require.NoError(t, err, "lists an open task")
	ds, err := db.DigestCardsOf(ctx, done.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the pruned digest's tasks went with it")
}
