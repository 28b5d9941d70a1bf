package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// overflow picks an option of a card's "more" menu and waits for the modal
// it opens.
func (h *harness) overflow(name string, m fakeslack.Message, opt string, task *workflow.Task) fakeslack.View {
	h.t.Helper()
	_, err := h.slack.ClickOverflow(h.ctx, h.ids[name], m.Channel, m.TS, blocks.ActMore, blocks.EncodeOption(opt, task.ID, task.Revision))
	require.NoError(h.t, err)
	var view fakeslack.View
	h.eventually("a modal for "+name, func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids[name])
		return ok
	})
	return view
}

func (h *harness) submit(name string, view fakeslack.View, in fakeslack.Inputs) fakeslack.Submission {
	h.t.Helper()
	sub, err := h.slack.Submit(h.ctx, h.ids[name], view.ID, in)
	require.NoError(h.t, err)
	return sub
}

func TestEditDuration(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	view := h.overflow("mgr", card, blocks.OptEditDuration, task)

	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockDuration: {"8w"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockDuration], "maximum of 4w")
	sub = h.submit("mgr", view, fakeslack.Inputs{blocks.BlockDuration: {"soon"}})
	assert.Equal(t, "errors", sub.ResponseAction, "a duration that does not parse is a field error too")
	assert.Equal(t, 7*24*time.Hour, h.task(task.ID).Duration, "nothing changed")

	sub = h.submit("mgr", view, fakeslack.Inputs{blocks.BlockDuration: {"2w"}})
	assert.Empty(t, sub.ResponseAction)
	assert.Equal(t, 14*24*time.Hour, h.task(task.ID).Duration)
	cards := h.settled(task.ID)
	assert.Contains(t, h.msg(cards[0]).AllText(), "2w", "cards show the new duration")
}

func TestCommentGoesToEveryCardThread(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	view := h.overflow("mgr", card, blocks.OptComment, task)
	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockComment: {"Which repos?"}})
	assert.Empty(t, sub.ResponseAction)
	cards := h.settled(task.ID)
	for _, c := range cards {
		h.eventually("the comment in the thread of "+c.Email, func() bool {
			for _, m := range h.slack.Thread(c.Channel, c.TS) {
				if m.TS != c.TS && strings.Contains(m.Text, "Which repos?") {
					return true
				}
			}
			return false
		})
	}
}

func TestDenyWithComment(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	view := h.overflow("mgr", card, blocks.OptDenyComment, task)
	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockComment: {"Use staging instead"}})
	assert.Empty(t, sub.ResponseAction)
	assert.Equal(t, workflow.StatusDenied, h.task(task.ID).Status)
	cards := h.settled(task.ID)
	for _, c := range cards {
		if c.Role == workflow.CardRequester {
			assert.Contains(t, h.msg(c).AllText(), "Use staging instead", "the requester reads why")
		}
	}
	assert.Zero(t, countActions(h, cards))
}

func TestDetailsModalOpens(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.click("mgr", card, blocks.ActDetails) // the task number's button
	var view fakeslack.View
	h.eventually("the details modal", func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids["mgr"])
		return ok
	})
	assert.Contains(t, view.AllText(), "T-1")
	assert.Contains(t, view.AllText(), "on call this week")
}

// grant makes alice's github access active through the engine.
func (h *harness) grant() {
	h.t.Helper()
	task := h.request("alice", "github")
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr")})
	require.NoError(h.t, err)
	_, err = h.engine.MarkProvisioned(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("prov")})
	require.NoError(h.t, err)
	require.Equal(h.t, workflow.StatusDone, h.task(task.ID).Status)
}

func TestRevocationConfirmThenDeprovision(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.grant()
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("mgr"), Subject: email("alice"), AppID: "github", Reason: "left the team"})
	require.NoError(t, err)

	h.click("sec1", h.card(rev.ID, workflow.CardAssignee, "sec1", 0), "confirm")
	h.click("prov", h.card(rev.ID, workflow.CardAssignee, "prov", 1), "deprovisioned")
	h.eventually("revocation done", func() bool { return h.task(rev.ID).Status == workflow.StatusDone })
	cards := h.settled(rev.ID)
	assert.Zero(t, countActions(h, cards))
	for _, c := range cards {
		if c.Role == workflow.CardRequester {
			assert.Equal(t, email("mgr"), c.Email, "the proposer follows the revocation")
		}
	}
}

func TestRevocationDenied(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.grant()
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("mgr"), Subject: email("alice"), AppID: "github", Reason: "left the team"})
	require.NoError(t, err)
	h.click("sec2", h.card(rev.ID, workflow.CardAssignee, "sec2", 0), "deny")
	h.eventually("revocation denied", func() bool { return h.task(rev.ID).Status == workflow.StatusDenied })
	cards := h.settled(rev.ID)
	assert.Zero(t, countActions(h, cards))
}

func TestUnknownActionIsAnswered(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	id, err := h.slack.Push("interactive", map[string]any{
		"type": "block_actions", "user": map[string]any{"id": h.ids["mgr"]}, "trigger_id": "t1",
		"container": map[string]any{"type": "message", "channel_id": card.Channel, "message_ts": card.TS},
		"channel":   map[string]any{"id": card.Channel},
		"actions":   []any{map[string]any{"action_id": "self_destruct", "block_id": "b", "type": "button", "value": "1:1"}},
	})
	require.NoError(t, err)
	_, err = h.slack.WaitAck(h.ctx, id)
	require.NoError(t, err)
	h.eventually("an answer", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) == 1 })
	assert.Contains(t, h.ephemeralText("mgr"), "does not know the action")
	// The bot still works.
	h.click("mgr", card, "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
}

func TestForcedReconnect(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.slack.Disconnect("refresh_requested")
	h.eventually("a second connection", func() bool { return h.slack.ConnectCount() >= 2 && h.slack.Connections() == 1 })
	h.click("mgr", card, "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
}

func TestRateLimitedPostsArriveOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.slack.FailNext("chat.postMessage", 2, fakeslack.FailRateLimited(1))
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	cards := h.settled(task.ID)
	assert.Len(t, cards, 2)
	assert.Equal(t, 2, h.slack.Count("chat.postMessage", "ratelimited"))
	assert.Equal(t, 2, h.slack.Count("chat.postMessage", "ok"), "each card once")
}

func TestDeletedTaskCardsSaySo(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	_, err := h.engine.Delete(h.ctx, workflow.AdminInput{TaskID: task.ID, Actor: email("admin"), Reason: "test"})
	require.NoError(t, err)
	h.eventually("the card says deleted", func() bool {
		m, _ := h.slack.Message(card.Channel, card.TS)
		return strings.Contains(m.Text, "was deleted by an admin")
	})
	h.eventually("cards forgotten", func() bool {
		cards, err := h.db.Cards(h.ctx, task.ID)
		require.NoError(t, err)
		return len(cards) == 0
	})
}
