package fakeslack_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

func button(actionID, text, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, text, false, false))
}

func TestAuthTest(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	resp, err := api.AuthTest()
	require.NoError(t, err)
	assert.Equal(t, srv.BotUserID(), resp.UserID)
	assert.Equal(t, srv.BotID(), resp.BotID)
	assert.Equal(t, srv.TeamID(), resp.TeamID)

	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(srv.APIURL()))
	_, err = bad.AuthTest()
	assert.EqualError(t, err, "invalid_auth")

	appOnly := slack.New(srv.AppToken(), slack.OptionAPIURL(srv.APIURL()))
	_, err = appOnly.AuthTest()
	assert.EqualError(t, err, "not_allowed_token_type")
	assert.Equal(t, 3, srv.Count("auth.test", ""))
	assert.Equal(t, 1, srv.Count("auth.test", "invalid_auth"))
}

func TestPostAndUpdateMessage(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)

	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Request* for github", false, false), nil, nil),
		slack.NewActionBlock("decide", button("approve", "Approve", "req-1"), button("deny", "Deny", "req-1")),
	}
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("request", false), slack.MsgOptionBlocks(blocks...))
	require.NoError(t, err)
	assert.Equal(t, "C1", ch)
	assert.Regexp(t, `^\d{10}\.\d{6}$`, ts)

	_, ts2, err := api.PostMessage("C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts))
	require.NoError(t, err)
	assert.Greater(t, ts2, ts, "ts values increase")

	msg, ok := srv.Message("C1", ts)
	require.True(t, ok)
	assert.Equal(t, srv.BotID(), msg.BotID)
	a, ok := msg.FindAction("Approve")
	require.True(t, ok)
	assert.Equal(t, "approve", a.ActionID)
	assert.Equal(t, "decide", a.BlockID)
	assert.Equal(t, "req-1", a.Value)
	assert.Contains(t, msg.AllText(), "*Request* for github")
	assert.Len(t, srv.Thread("C1", ts), 2)

	_, _, _, err = api.UpdateMessage("C1", ts, slack.MsgOptionText("approved", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Approved", false, false), nil, nil)))
	require.NoError(t, err)
	msg, _ = srv.Message("C1", ts)
	assert.Equal(t, "approved", msg.Text)
	assert.Equal(t, 1, msg.Edits)
	assert.Empty(t, msg.Actions())
	// Slack fills in block ids the bot left out.
	assert.Contains(t, string(msg.Blocks), `"block_id"`)

	_, _, _, err = api.UpdateMessage("C1", "1.000001", slack.MsgOptionText("x", false))
	assert.EqualError(t, err, "message_not_found")

	link, err := api.GetPermalink(&slack.PermalinkParameters{Channel: "C1", Ts: ts})
	require.NoError(t, err)
	assert.Equal(t, "https://fakeslack.slack.com/archives/C1/p"+strings.ReplaceAll(ts, ".", ""), link)

	require.NoError(t, api.AddReaction("white_check_mark", slack.ItemRef{Channel: "C1", Timestamp: ts}))
	assert.EqualError(t, api.AddReaction("white_check_mark", slack.ItemRef{Channel: "C1", Timestamp: ts}), "already_reacted")
	msg, _ = srv.Message("C1", ts)
	assert.Equal(t, []string{"white_check_mark"}, msg.Reactions)

	_, _, err = api.DeleteMessage("C1", ts2)
	require.NoError(t, err)
	assert.Len(t, srv.Messages("C1"), 1)
}

func TestChannelErrors(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C2", "random", false)
	_, _, err := api.PostMessage("C404", slack.MsgOptionText("hi", false))
	assert.EqualError(t, err, "channel_not_found")
	_, _, err = api.PostMessage("C2", slack.MsgOptionText("hi", false))
	assert.EqualError(t, err, "not_in_channel")
	srv.AddChannel("C3", "ops", true)
	_, _, err = api.PostMessage("C3")
	assert.EqualError(t, err, "no_text")
	_, _, err = api.PostMessage("C3", slack.MsgOptionText(strings.Repeat("x", 40001), false))
	assert.EqualError(t, err, "msg_too_long")
	_, _, err = api.PostMessage("C3", slack.MsgOptionText(strings.Repeat("x", 4001), false))
	require.NoError(t, err)
	assert.NotEmpty(t, srv.Warnings())
}

func TestDMsAndUsers(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice", Email: "Alice@Example.com", TZ: "Europe/Paris"})
	srv.AddUser(fakeslack.User{ID: "U2", Name: "bob", Email: "bob@example.com", Deleted: true})

	u, err := api.GetUserByEmail("alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, "U1", u.ID)
	assert.Equal(t, "Europe/Paris", u.TZ)
	assert.Contains(t, []int{3600, 7200}, u.TZOffset)
	assert.Equal(t, "Alice@Example.com", u.Profile.Email)

	_, err = api.GetUserByEmail("nobody@example.com")
	assert.EqualError(t, err, "users_not_found")

	u, err = api.GetUserInfo("U2")
	require.NoError(t, err)
	assert.True(t, u.Deleted)
	_, err = api.GetUserInfo("U404")
	assert.EqualError(t, err, "user_not_found")

	ch, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	require.NoError(t, err)
	assert.False(t, already)
	assert.True(t, strings.HasPrefix(ch.ID, "D"))
	ch2, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	require.NoError(t, err)
	assert.True(t, already)
	assert.Equal(t, ch.ID, ch2.ID)
	assert.Equal(t, ch.ID, srv.DMChannel("U1"))
	_, _, _, err = api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U2"}})
	assert.EqualError(t, err, "user_disabled")

	_, _, err = api.PostMessage(ch.ID, slack.MsgOptionText("hello", false))
	require.NoError(t, err)
	// A user id as channel posts to the DM.
	_, _, err = api.PostMessage("U1", slack.MsgOptionText("again", false))
	require.NoError(t, err)
	require.Len(t, srv.DMs("U1"), 2)

	ts, err := api.PostEphemeral(ch.ID, "U1", slack.MsgOptionText("psst", false))
	require.NoError(t, err)
	eph := srv.Ephemerals("U1")
	require.Len(t, eph, 1)
	assert.Equal(t, ts, eph[0].TS)
	assert.True(t, eph[0].Ephemeral)
}

func TestBlockLimitRejected(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)
	var blocks []slack.Block
	for range 51 {
		blocks = append(blocks, slack.NewDividerBlock())
	}
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("too many", false), slack.MsgOptionBlocks(blocks...))
	var se slack.SlackErrorResponse
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "invalid_blocks", se.Err)
	require.NotEmpty(t, se.ResponseMetadata.Messages)
	assert.Contains(t, se.ResponseMetadata.Messages[0], "must be less than 51 items")
	assert.Empty(t, srv.Messages("C1"))
	assert.Equal(t, 1, srv.Count("chat.postMessage", "invalid_blocks"))

	long := button("a", strings.Repeat("x", 76), "v")
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("t", false), slack.MsgOptionBlocks(slack.NewActionBlock("b", long)))
	require.ErrorAs(t, err, &se)
	assert.Contains(t, strings.Join(se.ResponseMetadata.Messages, "\n"), "/blocks/0/elements/0/text/text")
}

func TestRateLimitInjected(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)
	srv.FailNext("chat.postMessage", 1, fakeslack.FailRateLimited(2))
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 2*time.Second, rl.RetryAfter)
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Count("chat.postMessage", "ratelimited"))
	assert.Equal(t, 1, srv.Count("chat.postMessage", "ok"))
}

func TestRateLimitBuckets(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)
	srv.AddChannel("C2", "other", true)
	srv.EnableRateLimits(1)
	srv.SetLimit("chat.update", fakeslack.Limit{Rate: 1, Burst: 2})

	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
	require.NoError(t, err)
	for range 2 {
		_, _, _, err = api.UpdateMessage("C1", ts, slack.MsgOptionText("y", false))
		require.NoError(t, err)
	}
	_, _, _, err = api.UpdateMessage("C1", ts, slack.MsgOptionText("z", false))
	var rl *slack.RateLimitedError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Second, rl.RetryAfter)

	// chat.postMessage: burst of 3 per channel, channels independent.
	for range 2 {
		_, _, err = api.PostMessage("C1", slack.MsgOptionText("x", false))
		require.NoError(t, err)
	}
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("x", false))
	require.ErrorAs(t, err, &rl)
	_, _, err = api.PostMessage("C2", slack.MsgOptionText("x", false))
	require.NoError(t, err)

	assert.Equal(t, 8*time.Second, srv.MinDuration(map[string]int{"chat.update": 10}))
	assert.Equal(t, time.Duration(0), fakeslack.Limit{Rate: 1, Burst: 5}.MinDuration(5))
	assert.Equal(t, 7*time.Second, srv.MinDuration(map[string]int{"chat.postMessage": 10, "chat.update": 3}))

	srv.DisableRateLimits()
	_, _, err = api.PostMessage("C1", slack.MsgOptionText("x", false))
	require.NoError(t, err)
}

func TestFailNextAndOutage(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)

	srv.FailNext("chat.postMessage", 2, fakeslack.FailStatus(http.StatusInternalServerError))
	for range 2 {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
		var sc slack.StatusCodeError
		require.ErrorAs(t, err, &sc)
		assert.Equal(t, 500, sc.Code)
	}
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Count("chat.postMessage", "http_500"))

	srv.FailNext("*", 1, fakeslack.FailError("fatal_error"))
	_, err = api.AuthTest()
	assert.EqualError(t, err, "fatal_error")

	srv.SetDown(true)
	_, err = api.AuthTest()
	var sc slack.StatusCodeError
	require.ErrorAs(t, err, &sc)
	assert.Equal(t, http.StatusServiceUnavailable, sc.Code)
	srv.SetDown(false)
	_, err = api.AuthTest()
	require.NoError(t, err)

	srv.SetAuthError("token_revoked")
	_, err = api.AuthTest()
	assert.EqualError(t, err, "token_revoked")
	srv.SetAuthError("")

	unknown := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
	_, err = unknown.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"})
	assert.EqualError(t, err, "unknown_method")
}

func TestFailTimeoutAndDelay(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})

	srv.FailNext("auth.test", 1, fakeslack.FailTimeout(0))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := api.AuthTestContext(ctx)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)

	srv.FailNext("auth.test", 1, fakeslack.FailTimeout(20*time.Millisecond))
	_, err = api.AuthTest()
	assert.Error(t, err, "the connection is dropped without an answer")
	assert.Equal(t, 2, srv.Count("auth.test", "timeout"))

	srv.FailNext("auth.test", 1, fakeslack.FailDelay(50*time.Millisecond))
	start := time.Now()
	_, err = api.AuthTest()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestViewsTriggersAndLimits(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	modal := slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Request access", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Send", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason_input")),
		}},
		CallbackID: "request",
	}

	_, err := api.OpenView(srv.MintTrigger("U1", 4*time.Second), modal)
	assert.EqualError(t, err, "expired_trigger_id")
	_, err = api.OpenView("12345.1.abc", modal)
	assert.EqualError(t, err, "invalid_trigger_id")

	trig := srv.MintTrigger("U1", 0)
	resp, err := api.OpenView(trig, modal)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(resp.View.ID, "V"))
	assert.NotEmpty(t, resp.View.Hash)
	assert.Equal(t, "request", resp.View.CallbackID)
	_, err = api.OpenView(trig, modal)
	assert.EqualError(t, err, "exchanged_trigger_id")

	top, ok := srv.TopModal("U1")
	require.True(t, ok)
	assert.Equal(t, resp.View.ID, top.ID)

	// Stale hash.
	_, err = api.UpdateView(modal, "", "1.stale", resp.View.ID)
	assert.EqualError(t, err, "hash_conflict")
	upd, err := api.UpdateView(modal, "", resp.View.Hash, resp.View.ID)
	require.NoError(t, err)
	assert.NotEqual(t, resp.View.Hash, upd.View.Hash)

	bad := modal
	bad.Title = slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("t", 25), false, false)
	_, err = api.OpenView(srv.MintTrigger("U1", 0), bad)
	var se slack.SlackErrorResponse
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "invalid_arguments", se.Err)
	assert.Contains(t, se.ResponseMetadata.Messages[0], "/view/title/text")

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Your grants", false, false), nil, nil),
	}}}
	pub, err := api.PublishView("U1", home, "")
	require.NoError(t, err)
	hv, ok := srv.HomeView("U1")
	require.True(t, ok)
	assert.Equal(t, pub.View.ID, hv.ID)
	_, err = api.PublishView("U1", home, "1.stale")
	assert.EqualError(t, err, "hash_conflict")
	_, err = api.PublishView("U404", home, "")
	assert.EqualError(t, err, "user_not_found")
}
