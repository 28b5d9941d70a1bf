package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// lostSaveStore fails SaveCard while lose is on: the process that posted a
// card dies before its save reaches the database.
type lostSaveStore struct {
	*store.DB
	lose  atomic.Bool
	saves atomic.Int32 // failed saves
}

func (l *lostSaveStore) SaveCard(ctx context.Context, c *workflow.Card) error {
	if l.lose.Load() {
		l.saves.Add(1)
		return errors.New("store: save card: the process died")
	}
	return l.DB.SaveCard(ctx, c)
}

// TestCardPostedBeforeACrashIsNotPostedAgain: the process dies after
// chat.postMessage answered and before the card's ts was saved. The next
// owner takes the claim over once its lease ends, finds the message by
// its metadata and adopts it instead of posting a second card.
func TestCardPostedBeforeACrashIsNotPostedAgain(t *testing.T) {
	t.Parallel()
	ls := &lostSaveStore{}
	h := setupWith(t, harnessOptions{leaseTTL: time.Second, wrapStore: func(db *store.DB) bot.Store { ls.DB = db; return ls }})
	ls.lose.Store(true)
	task := h.request("alice", "github")
	// The requester's card is the task's first: its save is the one lost.
	dm := h.slack.DMChannel(h.ids["alice"])
	key := fmt.Sprintf("%d/%s/", task.ID, workflow.CardRequester) // and its step
	posts := func() []string {
		var ts []string
		for _, m := range h.slack.Messages(dm) {
			var md struct {
				EventType    string         `json:"event_type"`
				EventPayload map[string]any `json:"event_payload"`
			}
			if json.Unmarshal(m.Metadata, &md) == nil && md.EventType == "accessbot_card" && strings.HasPrefix(fmt.Sprint(md.EventPayload["card"]), key) {
				ts = append(ts, m.TS)
			}
		}
		return ts
	}
	h.eventually("the card posted, its save lost", func() bool { return len(posts()) == 1 && ls.saves.Load() > 0 })
	h.stopBot() // dies with its claim held and nothing saved
	ls.lose.Store(false)

	h.startBot()
	cards := h.settled(task.ID)
	assert.Len(t, posts(), 1, "adopted, not posted again")
	var found bool
	for _, c := range cards {
		if c.Role == workflow.CardRequester {
			found = true
			assert.Equal(t, posts()[0], c.TS, "the card is the message posted before the crash")
		}
	}
	require.True(t, found, "the requester's card is saved")
	assert.Positive(t, h.slack.Count("conversations.history", "ok"))
	// It still works as a card.
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
}

// lostDigestSaveStore fails SaveDigestCard while lose is on.
type lostDigestSaveStore struct {
	*store.DB
	lose  atomic.Bool
	saves atomic.Int32 // failed saves
}

func (l *lostDigestSaveStore) SaveDigestCard(ctx context.Context, d *workflow.DigestCard) error {
	if l.lose.Load() {
		l.saves.Add(1)
		return errors.New("store: save digest: the process died")
	}
	return l.DB.SaveDigestCard(ctx, d)
}

// TestDigestPostedBeforeACrashIsNotPostedAgain is the card test for a
// reminder digest: posted, its save lost, the process gone; the next owner
// adopts the message it finds by its metadata and brings it up to date.
func TestDigestPostedBeforeACrashIsNotPostedAgain(t *testing.T) {
	t.Parallel()
	ls := &lostDigestSaveStore{}
	h := setupWith(t, harnessOptions{leaseTTL: time.Second, wrapStore: func(db *store.DB) bot.Store { ls.DB = db; return ls }})
	task := h.request("alice", "vpn")
	other := h.request("eve", "vpn") // still waits on sec1 after the restart
	for _, id := range []int64{task.ID, other.ID} {
		h.card(id, workflow.CardAssignee, "sec1", 0)
		h.settled(id)
	}
	cat := *h.engine.Catalog()
	cat.Reminders = workflow.Reminders{After: time.Millisecond, Every: time.Hour}
	h.engine.SetCatalog(&cat)
	time.Sleep(5 * time.Millisecond)
	ls.lose.Store(true)
	_, err := h.engine.RemindSweep(h.ctx)
	require.NoError(t, err)
	digests := func() []string {
		var ts []string
		for _, m := range h.slack.DMs(h.ids["sec1"]) {
			if strings.Contains(string(m.Blocks), "digest_task_") {
				ts = append(ts, m.TS)
			}
		}
		return ts
	}
	h.eventually("the digest posted, its save lost", func() bool { return len(digests()) == 1 && ls.saves.Load() > 0 })
	h.stopBot()
	ls.lose.Store(false)
	// While the bot is down the task moves on: the adopted digest must be
	// brought up to date, not left as the dead owner drew it.
	_, err = h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("sec2")})
	require.NoError(t, err)

	h.startBot()
	msg := h.digestOf("sec1")
	h.eventually("the adopted digest redrawn", func() bool {
		m, ok := h.slack.Message(msg.Channel, msg.TS)
		_, approve := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", task.ID))
		_, still := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", other.ID))
		return ok && !approve && still
	})
	assert.Len(t, digests(), 1, "adopted, not posted again")
	assert.Positive(t, h.slack.Count("conversations.history", "ok"))
}
