package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/workflow"
)

// TestGracefulShutdown stops the bot while clicks and card updates are in
// flight (Slack answers slowly): every acked click still takes effect,
// the bot stops taking envelopes, and a restarted bot brings every card up
// to date at once (no notice is left leased) without posting any twice.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const n = 20
	h := setupWith(t, harnessOptions{config: cardsConfig(n)})
	tasks, cards := h.manyRequests(n)
	posts := h.slack.Count("chat.postMessage", "ok")

	// A slow Slack: each card update takes 200 ms, so updates are in flight
	// when the bot is told to stop.
	h.slack.FailNext("chat.update", 2*n, fakeslack.FailDelay(200*time.Millisecond))
	var wg sync.WaitGroup
	for _, c := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.click("sec1", h.msg(c), "approve")
		}()
	}
	wg.Wait() // every click acked; most of the work is still queued
	pending := 0
	for _, task := range tasks {
		if h.task(task.ID).Status == workflow.StatusOpen {
			pending++
		}
	}
	h.stopBot()
	t.Logf("%d of %d clicks were still being handled when the bot was told to stop", pending, n)

	for _, task := range tasks {
		assert.Equal(t, workflow.StatusDone, h.task(task.ID).Status, "an acked click on T-%d took effect", task.ID)
	}
	// The fake forgets a connection when its reader sees the close, a
	// moment after the bot has closed it.
	h.eventually("the bot closed its connection", func() bool { return h.slack.Connections() == 0 })
	id, err := h.slack.Push("interactive", map[string]any{"type": "block_actions"})
	if err == nil {
		ctx, cancel := contextWithTimeout(h, 300*time.Millisecond)
		defer cancel()
		_, err = h.slack.WaitAck(ctx, id)
		assert.Error(t, err, "a stopped bot acks nothing")
	}
	depth, _, err := h.db.OutboxStats(h.ctx)
	require.NoError(t, err)
	t.Logf("%d notices left for the next start", depth)

	// The notices left are due at once, not after the lease of a dead
	// worker: a new bot delivers them within the harness's wait.
	h.startBot()
	for _, task := range tasks {
		h.settled(task.ID)
	}
	assert.Equal(t, posts, h.slack.Count("chat.postMessage", "ok"), "cards are updated, never re-posted")
	for _, c := range cards {
		m := h.msg(c)
		assert.Empty(t, decisions(m), "T-%d's card shows the outcome", c.TaskID)
	}
}

func contextWithTimeout(h *harness, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, d)
}

// TestRateLimitStorm answers 60 calls in a row with 429s while 20 tasks are
// approved: every card still ends up showing the outcome, and nothing is
// posted twice.
func TestRateLimitStorm(t *testing.T) {
	t.Parallel()
	const n = 20
	h := setupWith(t, harnessOptions{config: cardsConfig(n)})
	tasks, cards := h.manyRequests(n)
	posts := h.slack.Count("chat.postMessage", "ok")

	h.slack.FailNext("*", 60, fakeslack.FailRateLimited(1))
	var wg sync.WaitGroup
	for _, c := range cards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.click("sec1", h.msg(c), "approve")
		}()
	}
	wg.Wait()
	for _, task := range tasks {
		// Acked is not yet decided: wait for the decision, then the cards.
		h.eventually("T-"+fmt.Sprint(task.ID)+" done", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
		h.settled(task.ID)
	}
	storm := 0
	for _, results := range h.slack.Counts() {
		storm += results["ratelimited"]
	}
	assert.Equal(t, 60, storm, "the storm happened")
	assert.Equal(t, posts, h.slack.Count("chat.postMessage", "ok"), "nothing re-posted")
	assert.LessOrEqual(t, h.slack.Count("conversations.open", "ok"), 2, "each DM (alice's, sec1's) opened once")
	for _, c := range cards {
		assert.Empty(t, decisions(h.msg(c)), "T-%d's card shows the outcome", c.TaskID)
	}
}
