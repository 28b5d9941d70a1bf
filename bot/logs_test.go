package bot_test

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/bot"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// Real-looking tokens, in Slack's shapes.
const (
	realBotToken = "xoxb-2718281828-3141592653589-Zq8Hn2Lw5Vt7Rk1Pj4Xc9Bm6"
	realAppToken = "xapp-1-A0R3ALAPP01-4159265358979-3f2a9c7e1b4d8a6f0e5c3b2a1d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"
)

// setupLogged is setup with real-looking tokens and the bot's raw log (no
// filter, at trace level) in h.logs as well as in the test's log.
func setupLogged(t *testing.T) *harness {
	t.Helper()
	return setupWith(t, harnessOptions{slack: fakeslack.Options{BotToken: realBotToken, AppToken: realAppToken}, trace: true})
}

// TestLogsOfAUnitOfWork checks that the lines written while handling an
// envelope name the envelope, the person and (where known) the task, that
// a notice's lines name the task, and that no token appears anywhere, even
// at trace level, through failing calls, a reconnect and a rejected start.
func TestLogsOfAUnitOfWork(t *testing.T) {
	h := setupLogged(t)
	buf := &h.logs
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)

	// mgr approves; a second click on the same card is stale and refused.
	h.click("mgr", card, "approve")
	h.settled(task.ID)
	_, err := h.slack.ClickSeen(h.ctx, h.ids["mgr"], card, "approve")
	require.NoError(t, err)
	h.eventually("the stale click's answer", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) > 0 })
	// Failures whose errors carry HTTP statuses and URLs, a 429, Slack's
	// auth error on a person lookup, and a reconnect.
	h.slack.FailNext("users.info", 1, fakeslack.FailError("invalid_auth"))
	h.command("carol", "/access", "help")
	h.slack.FailNext("chat.postMessage", 1, fakeslack.FailStatus(500))
	h.slack.FailNext("conversations.open", 1, fakeslack.FailRateLimited(1))
	task2 := h.request("carol", "vpn")
	h.card(task2.ID, workflow.CardAssignee, "sec1", 0)
	h.slack.Disconnect("refresh_requested")
	h.eventually("the reconnect", func() bool { return h.slack.ConnectCount() >= 2 && h.slack.Connections() == 1 })
	h.stopBot()

	lines := buf.lines(t)
	require.NotEmpty(t, lines)
	find := func(msg string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		for _, l := range lines {
			if l["message"] == msg && (match == nil || match(l)) {
				return l
			}
		}
		t.Errorf("no %q line", msg)
		return map[string]any{}
	}
	by := func(name string) func(map[string]any) bool {
		return func(l map[string]any) bool { return l["slack_user"] == h.ids[name] }
	}
	for _, l := range []map[string]any{
		find("decided", by("mgr")),
		find("refused", by("mgr")),
	} {
		assert.NotEmpty(t, l["envelope_id"], "%v", l)
		assert.NotEmpty(t, l["slack_user"], "%v", l)
		assert.EqualValues(t, task.ID, l["task"], "%v", l)
	}
	unknown := find("command from an unknown person", by("carol"))
	assert.NotEmpty(t, unknown["envelope_id"], "%v", unknown)
	failed := find("delivery failed", nil)
	assert.NotEmpty(t, failed["task"], "%v", failed)
	assert.NotEmpty(t, failed["notice"], "%v", failed)
	limited := find("rate limited by Slack", nil)
	assert.NotEmpty(t, limited["task"], "a 429 met while delivering a notice names the task: %v", limited)

	// Every line that names a person in a unit of work names its envelope
	// too, unless it comes from the outbox (which names the task); and no
	// line names a field twice.
	raw := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, l := range lines {
		if l["slack_user"] != nil && l["envelope_id"] == nil && l["task"] == nil {
			t.Errorf("a line about a person without its envelope or task: %v", l)
		}
		for _, key := range []string{"slack_user", "envelope_id", "task"} {
			assert.LessOrEqual(t, strings.Count(raw[i], `"`+key+`":`), 1, "%s twice in %s", key, raw[i])
		}
	}

	// A start with rejected tokens, logged the same way.
	wrong := strings.Replace(realBotToken, "Zq8", "Yy7", 1)
	b, err := bot.New(bot.Config{BotToken: wrong, AppToken: realAppToken, APIURL: h.slack.APIURL(), Engine: h.engine, Store: h.db,
		Log: zerolog.New(buf).Level(zerolog.TraceLevel)})
	require.NoError(t, err)
	err = b.Run(h.ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SLACK_BOT_TOKEN was rejected by Slack")

	out := buf.String() + err.Error()
	assert.Contains(t, out, `"level":"debug"`)
	for _, tok := range []string{realBotToken, realAppToken, wrong} {
		assert.NotContains(t, out, tok)
		assert.NotContains(t, out, tok[len(tok)-16:], "not even the end of a token")
	}
}

// TestModalSubmissionLogsNameTheEnvelope checks that what the handlers of
// modal submissions log (a request modal refused, then accepted; a card's
// modal refused) names the envelope and the person, as a click's lines do.
func TestModalSubmissionLogsNameTheEnvelope(t *testing.T) {
	h := setupWith(t, harnessOptions{config: requestConfig, trace: true})
	v := h.openRequest("alice", "github repo-write")
	dur, _ := reqInput(t, v, "req_duration:")
	sub := h.submit("alice", v, fakeslack.Inputs{"req_justification": {"prod is down"}, "req_emergency": {"emergency"}})
	require.NotEmpty(t, sub.Errors, "the emergency cap refuses the form's default")
	sub = h.submit("alice", v, fakeslack.Inputs{"req_justification": {"prod is down"}, "req_emergency": {"emergency"}, dur.BlockID: {"8h"}})
	require.Empty(t, sub.Errors)
	task := h.requestedBy("alice")[0]
	card := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	view := h.overflow("sec1", card, blocks.OptEditDuration, task)
	sub = h.submit("sec1", view, fakeslack.Inputs{blocks.BlockDuration: {"8w"}})
	require.NotEmpty(t, sub.Errors)
	h.stopBot()

	lines := h.logs.lines(t)
	seen := map[string]bool{}
	for _, l := range lines {
		msg, _ := l["message"].(string)
		switch msg {
		case "request refused", "submission refused":
			seen[msg] = true
			assert.NotEmpty(t, l["envelope_id"], "%v", l)
			assert.NotEmpty(t, l["slack_user"], "%v", l)
			assert.Equal(t, "interactive", l["type"], "%v", l)
		}
		if l["callback"] != nil {
			assert.NotEmpty(t, l["envelope_id"], "a modal's line without its envelope: %v", l)
		}
	}
	assert.True(t, seen["request refused"], "the request modal's refusal is logged")
	assert.True(t, seen["submission refused"], "the card modal's refusal is logged")
}
