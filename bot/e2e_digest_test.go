package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/workflow"
)

// digestOf waits for the reminder digest in name's DMs and returns it as
// Slack shows it now.
func (h *harness) digestOf(name string) fakeslack.Message {
	h.t.Helper()
	var msg fakeslack.Message
	h.eventually("the digest of "+name, func() bool {
		for _, m := range h.slack.DMs(h.ids[name]) {
			if strings.Contains(string(m.Blocks), "digest_task_") {
				msg = m
				return true
			}
		}
		return false
	})
	return msg
}

// TestDigestButtons runs a reminder sweep with three tasks waiting on the
// security reviewers: each gets one digest DM listing all three with
// buttons. A click on Approve in the digest approves that task; a click on
// a task someone else decided after the digest went out is refused and
// changes nothing; the digest then shows where each task is.
func TestDigestButtons(t *testing.T) {
	t.Parallel()
	h := setup(t)
	var tasks []*workflow.Task
	for _, name := range []string{"alice", "eve", "carol"} {
		task := h.request(name, "vpn")
		tasks = append(tasks, task)
		h.card(task.ID, workflow.CardAssignee, "sec1", 0)
		h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	}

	cat := *h.engine.Catalog()
	cat.Reminders = workflow.Reminders{After: time.Millisecond, Every: time.Hour}
	h.engine.SetCatalog(&cat)
	time.Sleep(5 * time.Millisecond)
	res, err := h.engine.RemindSweep(h.ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Reminded)
	assert.Equal(t, 2, res.Notices, "one digest per reviewer")

	digest := h.digestOf("sec1")
	for _, task := range tasks {
		_, ok := digest.FindAction(fmt.Sprintf("digest_actions_%d/approve", task.ID))
		assert.True(t, ok, "the digest has Approve for %s", task.Number())
	}
	assert.Contains(t, digest.Text, "3 tasks wait on you")
	h.digestOf("sec2")

	// sec2 approves eve's request from their card after the digest went out.
	_, err = h.engine.Approve(h.ctx, workflow.Decision{TaskID: tasks[1].ID, Actor: email("sec2")})
	require.NoError(t, err)

	// sec1's client still shows the digest as it was (the redraw the
	// approval causes may not have reached it).
	stale := h.task(tasks[1].ID)
	_, err = h.slack.ClickSeen(h.ctx, h.ids["sec1"], digest, fmt.Sprintf("digest_actions_%d/approve", tasks[1].ID))
	require.NoError(t, err)
	h.eventually("the stale click refused", func() bool { return h.ephemeralText("sec1") != "" })
	after := h.task(tasks[1].ID)
	assert.Equal(t, stale.Version, after.Version, "a stale click changes nothing")
	assert.Equal(t, email("sec2"), after.Steps[0].DecidedBy)
	assert.Contains(t, h.ephemeralText("sec1"), tasks[1].Number())

	digest = h.digestOf("sec1")
	h.click("sec1", digest, fmt.Sprintf("digest_actions_%d/approve", tasks[0].ID))
	h.eventually("alice's request approved", func() bool { return h.task(tasks[0].ID).Status == workflow.StatusDone })
	approved := h.task(tasks[0].ID)
	assert.Equal(t, email("sec1"), approved.Steps[0].DecidedBy)

	h.eventually("the digest shows what moved on", func() bool {
		m, ok := h.slack.Message(digest.Channel, digest.TS)
		if !ok {
			return false
		}
		_, first := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[0].ID))
		_, second := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[1].ID))
		_, third := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[2].ID))
		return !first && !second && third && strings.Contains(m.Text, "1 task waits on you")
	})
	require.Equal(t, workflow.StatusOpen, h.task(tasks[2].ID).Status)

	// The next sweep at once reminds nobody: the reminders are recorded.
	res, err = h.engine.RemindSweep(h.ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Notices)
}

// TestDigestSkipsTasksThatMovedOn delivers a digest whose tasks were all
// decided between the sweep and the delivery: nothing is sent.
func TestDigestSkipsTasksThatMovedOn(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.stopBot()

	cat := *h.engine.Catalog()
	cat.Reminders = workflow.Reminders{After: time.Millisecond}
	h.engine.SetCatalog(&cat)
	time.Sleep(5 * time.Millisecond)
	res, err := h.engine.RemindSweep(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Notices)
	_, err = h.engine.Deny(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr"), Comment: "no"})
	require.NoError(t, err)

	h.startBot()
	h.eventually("the outbox drained", func() bool {
		depth, _, err := h.db.OutboxStats(h.ctx)
		require.NoError(t, err)
		return depth == 0
	})
	for _, m := range h.slack.DMs(h.ids["mgr"]) {
		assert.NotContains(t, string(m.Blocks), "digest_task_", "no digest for a task that moved on")
	}
}

// TestDigestStaysCurrent posts a reminder digest listing two tasks; one of
// them is then approved elsewhere (on its card, by the other reviewer).
// The digest message is redrawn through the outbox without anybody
// clicking it: the approved task loses its buttons and the header counts
// one task. Deleting the other task takes it out of the digest too.
func TestDigestStaysCurrent(t *testing.T) {
	t.Parallel()
	h := setup(t)
	var tasks []*workflow.Task
	for _, name := range []string{"alice", "eve"} {
		task := h.request(name, "vpn")
		tasks = append(tasks, task)
		h.card(task.ID, workflow.CardAssignee, "sec1", 0)
		h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	}
	cat := *h.engine.Catalog()
	cat.Reminders = workflow.Reminders{After: time.Millisecond, Every: time.Hour}
	h.engine.SetCatalog(&cat)
	time.Sleep(5 * time.Millisecond)
	_, err := h.engine.RemindSweep(h.ctx)
	require.NoError(t, err)

	digest := h.digestOf("sec1")
	assert.Contains(t, digest.Text, "2 tasks wait on you")
	_, ok := digest.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[0].ID))
	require.True(t, ok)

	// sec2 approves alice's request on their own card.
	card := h.card(tasks[0].ID, workflow.CardAssignee, "sec2", 0)
	h.click("sec2", card, "approve")
	h.eventually("alice's request approved", func() bool { return h.task(tasks[0].ID).Status == workflow.StatusDone })

	current := func() fakeslack.Message {
		m, ok := h.slack.Message(digest.Channel, digest.TS)
		require.True(t, ok)
		return m
	}
	h.eventually("sec1's digest redrawn without a click", func() bool {
		m := current()
		_, first := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[0].ID))
		_, second := m.FindAction(fmt.Sprintf("digest_actions_%d/approve", tasks[1].ID))
		return !first && second && strings.Contains(m.Text, "1 task waits on you")
	})
	assert.Equal(t, digest.TS, current().TS, "updated in place, not posted again")
	assert.Contains(t, string(current().Blocks), "digest_task_"+fmt.Sprint(tasks[0].ID), "the approved task stays listed, with where it is now")

	// An admin deletes eve's request: the digest leaves it out.
	_, err = h.engine.Delete(h.ctx, workflow.AdminInput{TaskID: tasks[1].ID, Actor: email("admin"), Reason: "duplicate"})
	require.NoError(t, err)
	h.eventually("the deleted task left the digest", func() bool {
		m := current()
		return !strings.Contains(string(m.Blocks), "digest_task_"+fmt.Sprint(tasks[1].ID)) &&
			strings.Contains(m.Text, "nothing waits on you any more")
	})
}
