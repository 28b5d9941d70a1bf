package fakeslack_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// TestConversationsHistory: newest first, top-level messages only, pages
// with a cursor, metadata only with include_all_metadata, and Slack's
// errors for channels the bot cannot read.
func TestConversationsHistory(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddChannel("C1", "general", true)
	srv.AddChannel("C2", "elsewhere", false)
	meta := slack.SlackMetadata{EventType: "card", EventPayload: map[string]any{"key": "k1"}}
	_, first, err := api.PostMessage("C1", slack.MsgOptionText("one", false), slack.MsgOptionMetadata(meta))
	require.NoError(t, err)
	_, err = postText(api, "C1", "reply", slack.MsgOptionTS(first))
	require.NoError(t, err)
	second, err := postText(api, "C1", "two")
	require.NoError(t, err)
	third, err := postText(api, "C1", "three")
	require.NoError(t, err)

	res, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2})
	require.NoError(t, err)
	require.Len(t, res.Messages, 2)
	assert.Equal(t, []string{third, second}, []string{res.Messages[0].Timestamp, res.Messages[1].Timestamp})
	require.True(t, res.HasMore)
	res, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 2, Cursor: res.ResponseMetaData.NextCursor})
	require.NoError(t, err)
	require.Len(t, res.Messages, 1, "the thread's reply is not in the history")
	assert.Equal(t, first, res.Messages[0].Timestamp)
	assert.False(t, res.HasMore)
	assert.Empty(t, res.Messages[0].Metadata.EventType, "no metadata unless asked")

	res, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Oldest: first, Inclusive: true, IncludeAllMetadata: true})
	require.NoError(t, err)
	require.Len(t, res.Messages, 3)
	assert.Equal(t, "card", res.Messages[2].Metadata.EventType)
	assert.Equal(t, "k1", res.Messages[2].Metadata.EventPayload["key"])
	res, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Oldest: first})
	require.NoError(t, err)
	assert.Len(t, res.Messages, 2, "oldest is exclusive unless inclusive")

	_, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C2"})
	assert.EqualError(t, err, "not_in_channel")
	_, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C9"})
	assert.EqualError(t, err, "channel_not_found")
}

func postText(api *slack.Client, ch, text string, opts ...slack.MsgOption) (string, error) {
	_, ts, err := api.PostMessage(ch, append([]slack.MsgOption{slack.MsgOptionText(text, false)}, opts...)...)
	return ts, err
}
