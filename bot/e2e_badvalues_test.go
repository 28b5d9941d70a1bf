package bot_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// TestForgedRevisionZeroIsRefused: a button value naming revision 0 would
// skip the stale-card check; it is refused and nothing changes.
func TestForgedRevisionZeroIsRefused(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	h.forge("mgr", card, blocks.ActApprove, "button", blocks.EncodeRef(task.ID, 0))
	h.waitEphemeral("mgr", "does not name a task")
	got := h.task(task.ID)
	assert.Equal(t, 0, got.Step)
	assert.Equal(t, task.Revision, got.Revision, "nothing changed")
}

// TestModalsApplyTheWhoMaySeeRule: a person not involved in a task cannot
// open its Reassign, Comment, Decision or Edit-duration modal by naming it.
func TestModalsApplyTheWhoMaySeeRule(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr")})
	require.NoError(t, err)
	ch := h.card(task.ID, workflow.CardChannel, "", 1) // eve can see the channel
	h.settled(task.ID)
	rev := h.task(task.ID).Revision
	for i, opt := range []string{blocks.OptEditDuration, blocks.OptComment, blocks.OptProvisionedComment} {
		h.forge("eve", ch, blocks.ActMore, "overflow", blocks.EncodeOption(opt, task.ID, rev))
		h.eventually("eve's refusal", func() bool {
			return strings.Count(h.ephemeralText("eve"), "not involved in T-1") == i+1
		})
	}
	h.forge("eve", ch, blocks.ActReassign, "button", blocks.EncodeRef(task.ID, rev))
	h.eventually("eve's refusal", func() bool { return strings.Count(h.ephemeralText("eve"), "not involved in T-1") == 4 })
	_, open := h.slack.TopModal(h.ids["eve"])
	assert.False(t, open, "no modal showed eve the task")
	assert.NotContains(t, h.ephemeralText("eve"), "did not open the form")
}

// TestReassignToDeactivatedAccountIsRefused: like a bot user, a
// deactivated account would stall the task.
func TestReassignToDeactivatedAccountIsRefused(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	h.slack.SetUserDeleted(h.ids["sec1"], true)
	h.click("mgr", card, blocks.ActReassign)
	view := h.topModal("mgr", blocks.CbReassign)
	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockReassignTo: {h.ids["sec1"]}, blocks.BlockReason: {"away"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockReassignTo], "deactivated")
	assert.Equal(t, []string{email("mgr")}, h.task(task.ID).PendingAssignees())
}

// manualClock is a clock a test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestDecisionFailsClosedOnAnUnconfirmedIdentity: when users.info fails
// and the cached identity is past its day, a decision is refused instead of
// trusting an email of any age.
func TestDecisionFailsClosedOnAnUnconfirmedIdentity(t *testing.T) {
	t.Parallel()
	clk := &manualClock{now: time.Now().UTC()}
	h := setupWith(t, harnessOptions{clock: clk.Now})
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	// mgr's identity is cached (their card was sent); make it old.
	clk.Advance(30 * 24 * time.Hour)
	h.slack.FailNext("users.info", 1000, fakeslack.FailStatus(503))
	h.click("mgr", card, blocks.ActApprove)
	h.waitEphemeral("mgr", "cannot confirm who you are")
	assert.Equal(t, 0, h.task(task.ID).Step, "nothing changed")
	h.slack.ClearFailures()
	h.click("mgr", card, blocks.ActApprove)
	h.eventually("the approval once Slack answers", func() bool { return h.task(task.ID).Step == 1 })
}

// TestBadTextIsRefusedAndShownEscaped: NUL and invalid UTF-8 are field
// errors; bidi overrides and control characters show as [U+XXXX] on cards.
func TestBadTextIsRefusedAndShownEscaped(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: "github", Justification: "need \u202Ew4\u202C for \x07 release"})
	require.NoError(t, err)
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	assert.Contains(t, card.AllText(), "need [U+202E]w4[U+202C] for [U+0007] release")
	assert.NotContains(t, card.AllText(), "\u202E")

	// (Invalid UTF-8 cannot cross Slack's JSON; the engine test covers it.)
	view := h.overflow("mgr", card, blocks.OptComment, task)
	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockComment: {"hidden\x00part"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockComment], "NUL")
	assert.Empty(t, h.comments(task.ID), "nothing stored")

	// An admin reason is held to the same length as every other text.
	_, err = h.engine.Restart(h.ctx, workflow.AdminInput{TaskID: task.ID, Actor: email("admin"), Reason: strings.Repeat("x", workflow.MaxTextLen+1)})
	require.Error(t, err)
	assert.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	assert.Contains(t, err.Error(), "characters long")
}

// TestUserTextIsEscapedWhenThePosts: a comment mirrored into other threads
// and a thread answer never turn a broadcast, a mention or a masked link
// live under the bot's name.
func TestUserTextIsEscapedWhenTheBotPosts(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task, _, _, prov, channel := h.atProvisioning()
	evil := "<!channel> look <@" + h.ids["eve"] + "> <https://evil.example|Approve here>"
	view := h.overflow("prov", prov, blocks.OptComment, h.task(task.ID))
	sub := h.submit("prov", view, fakeslack.Inputs{blocks.BlockComment: {evil}})
	require.Empty(t, sub.ResponseAction)
	var mirrored string
	h.eventually("the comment mirrored into the channel thread", func() bool {
		for _, m := range h.slack.Thread(channel.Channel, channel.TS) {
			if strings.Contains(m.Text, "look") {
				mirrored = m.Text
				return true
			}
		}
		return false
	})
	assert.NotContains(t, mirrored, "<!channel>")
	assert.NotContains(t, mirrored, "<https://evil.example|")
	assert.NotContains(t, mirrored, "<@"+h.ids["eve"]+">")
	assert.Contains(t, mirrored, "&lt;!channel&gt;")

	// A thread answer quotes the reply's comment.
	h.reply("prov", prov, "done <!channel> <https://evil.example|click>")
	var answer string
	h.eventually("the bot's answer", func() bool {
		for _, m := range h.botReplies(prov) {
			if strings.Contains(m.Text, "marked") {
				answer = m.Text
				return true
			}
		}
		return false
	})
	assert.NotContains(t, answer, "<!channel>")
	assert.NotContains(t, answer, "<https://evil.example|")
}

// TestRefusedAdminCommandTextIsNotLogged: what a non-admin typed after an
// admin command may be anything they pasted; the log keeps only its length.
func TestRefusedAdminCommandTextIsNotLogged(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.request("alice", "github")
	out := h.command("eve", "/access", "skip-step T-1 xoxb-pasted-secret-123")
	assert.Contains(t, out, "for accessbot admins only")
	h.eventually("the refusal logged", func() bool { return strings.Contains(h.logs.String(), "admin command refused") })
	assert.NotContains(t, h.logs.String(), "xoxb-pasted-secret-123")
}
