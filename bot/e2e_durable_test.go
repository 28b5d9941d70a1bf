package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/bot"
	"accessbot/store"
	"accessbot/workflow"
)

// faultyStore is the bot's store with a switch that makes it refuse to
// store envelopes, as a full disk, a read-only file or a stopped
// PostgreSQL does.
type faultyStore struct {
	*store.DB
	down atomic.Bool
}

func (f *faultyStore) StoreEnvelopes(ctx context.Context, owner string, until time.Time, envs []workflow.Envelope, done []string, now time.Time) ([]bool, error) {
	if f.down.Load() {
		return nil, errors.New("store: store envelopes: database or disk is full")
	}
	return f.DB.StoreEnvelopes(ctx, owner, until, envs, done, now)
}

// TestStorageDown: while storage cannot take a click, the person is told in
// one line that it did not go through, nothing is recorded, and once
// storage is back the same click works, without a restart.
func TestStorageDown(t *testing.T) {
	t.Parallel()
	fs := &faultyStore{}
	h := setupWith(t, harnessOptions{wrapStore: func(db *store.DB) bot.Store { fs.DB = db; return fs }})
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	before := h.events(task.ID)

	fs.down.Store(true)
	d := h.click("mgr", card, "approve")
	require.NotEmpty(t, d.Ack.EnvelopeID, "acked, so Slack does not retry a click the person was told to redo")
	h.eventually("the person told", func() bool { return strings.Contains(h.ephemeralText("mgr"), "did not go through") })
	assert.Contains(t, h.ephemeralText("mgr"), "try again")
	// A slash command's ack carries the answer.
	cmd, err := h.slack.Command(h.ctx, h.ids["alice"], h.slack.DMChannel(h.ids["alice"]), "/access", "tasks")
	require.NoError(t, err)
	assert.Contains(t, string(cmd.Ack.Payload), "did not go through")
	time.Sleep(100 * time.Millisecond)
	h.idle()
	assert.Equal(t, workflow.StatusOpen, h.task(task.ID).Status, "nothing recorded")
	assert.Len(t, h.events(task.ID), len(before), "no audit event")
	open, _, err := h.db.InboxStats(h.ctx)
	require.NoError(t, err)
	assert.Zero(t, open, "nothing half-recorded")

	fs.down.Store(false)
	h.click("mgr", h.msg(h.settled(task.ID)[assigneeIndex(h, task.ID)]), "approve")
	h.eventually("approved once storage is back", func() bool { return h.task(task.ID).Step == 1 })
	approvals := 0
	for _, ev := range h.events(task.ID) {
		if ev.Action == workflow.ActApproved {
			approvals++
		}
	}
	assert.Equal(t, 1, approvals)
}

// assigneeIndex is the index of a task's first assignee card among its cards.
func assigneeIndex(h *harness, id int64) int {
	cards, err := h.db.Cards(h.ctx, id)
	require.NoError(h.t, err)
	for i, c := range cards {
		if c.Role == workflow.CardAssignee {
			return i
		}
	}
	h.t.Fatalf("no assignee card of T-%d", id)
	return -1
}

// TestDoneMarksAreCommittedOnTheirOwn: a click whose handler changes
// nothing (a double click) has its envelope marked done shortly after,
// also when no other envelope comes to share the commit.
func TestDoneMarksAreCommittedOnTheirOwn(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.click("mgr", card, "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
	h.click("mgr", card, "approve") // the card as it was: stale
	h.eventually("the double click answered", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) == 1 })
	h.eventually("every envelope done", func() bool {
		open, _, err := h.db.InboxStats(h.ctx)
		require.NoError(t, err)
		return open == 0
	})
}
