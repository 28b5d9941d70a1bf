package fakeslack_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// Thread replies, their edits and deletions carry what Slack's do:
// thread_ts and parent_user_id on the reply (also inside message_changed's
// message and message_deleted's previous_message), and another app's bot
// user posts with that app's bot_id.
func TestThreadReplyEvents(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	srv.AddUser(fakeslack.User{ID: "U2", Name: "jira", IsBot: true})
	srv.AddChannel("C1", "general", true)
	messages := make(chan *slackevents.MessageEvent, 10)
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			c.Ack(*evt.Request)
		}
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			if m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent); ok {
				messages <- m
			}
		}
	})
	ctx := testCtx(t)
	_, root, err := api.PostMessage("C1", slack.MsgOptionText("a card", false))
	require.NoError(t, err)

	d, err := srv.PostAsUser(ctx, "U1", "C1", "a reply", root)
	require.NoError(t, err)
	ev := <-messages
	assert.Equal(t, root, ev.ThreadTimeStamp)
	assert.Equal(t, d.TS, ev.TimeStamp)
	assert.Empty(t, ev.BotID)
	assert.Equal(t, srv.BotUserID(), ev.Message.ParentUserId, "a reply names its root's author")

	_, err = srv.EditMessage(ctx, "U1", "C1", d.TS, "a better reply")
	require.NoError(t, err)
	ev = <-messages
	require.Equal(t, "message_changed", ev.SubType)
	assert.Equal(t, root, ev.Message.ThreadTimestamp)
	assert.Equal(t, d.TS, ev.Message.Timestamp)
	require.NotNil(t, ev.Message.Edited)
	assert.Equal(t, "U1", ev.Message.Edited.User)
	assert.Equal(t, "a reply", ev.PreviousMessage.Text)

	_, err = srv.DeleteMessage(ctx, "U1", "C1", d.TS)
	require.NoError(t, err)
	ev = <-messages
	require.Equal(t, "message_deleted", ev.SubType)
	assert.Equal(t, d.TS, ev.DeletedTimeStamp)
	assert.Equal(t, root, ev.PreviousMessage.ThreadTimestamp)
	assert.Equal(t, "U1", ev.PreviousMessage.User)

	_, err = srv.PostAsUser(ctx, "U2", "C1", "ticket filed", root)
	require.NoError(t, err)
	ev = <-messages
	assert.Equal(t, "U2", ev.User)
	assert.NotEmpty(t, ev.BotID, "another app's post carries its bot_id")
	assert.NotEqual(t, srv.BotID(), ev.BotID)
}
