package bot

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack/slackevents"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// threadEventOf decides from the event alone: Slack-shaped payloads in,
// the reply (or nothing) out.
func TestThreadEventOf(t *testing.T) {
	b := &Bot{botUserID: "UBOT"}
	for _, tc := range []struct {
		name  string
		event string
		want  *threadEvent
	}{
		{"reply", `{"type":"message","channel":"D1","user":"U1","text":"done","ts":"2.0","thread_ts":"1.0","parent_user_id":"UBOT","channel_type":"im","client_msg_id":"x"}`,
			&threadEvent{channel: "D1", ts: "2.0", thread: "1.0", user: "U1", text: "done"}},
		{"broadcast reply", `{"type":"message","subtype":"thread_broadcast","channel":"C1","user":"U1","text":"fyi","ts":"2.0","thread_ts":"1.0"}`,
			&threadEvent{channel: "C1", ts: "2.0", thread: "1.0", user: "U1", text: "fyi"}},
		{"top-level message", `{"type":"message","channel":"C1","user":"U1","text":"done","ts":"2.0"}`, nil},
		{"thread root", `{"type":"message","channel":"C1","user":"U1","text":"done","ts":"1.0","thread_ts":"1.0"}`, nil},
		{"the bot's own reply", `{"type":"message","channel":"D1","user":"UBOT","bot_id":"BBOT","text":"copy","ts":"2.0","thread_ts":"1.0"}`, nil},
		{"another bot", `{"type":"message","channel":"C1","user":"UJIRA","bot_id":"BJIRA","text":"filed","ts":"2.0","thread_ts":"1.0"}`, nil},
		{"legacy bot message", `{"type":"message","subtype":"bot_message","channel":"C1","bot_id":"BX","text":"hi","ts":"2.0","thread_ts":"1.0"}`, nil},
		{"a join", `{"type":"message","subtype":"channel_join","channel":"C1","user":"U1","text":"joined","ts":"2.0"}`, nil},
		{"a file with no words", `{"type":"message","subtype":"file_share","channel":"C1","user":"U1","text":"","ts":"2.0","thread_ts":"1.0"}`, nil},
		{"edit", `{"type":"message","subtype":"message_changed","hidden":true,"channel":"D1","ts":"3.0","message":{"type":"message","user":"U1","text":"done now","ts":"2.0","thread_ts":"1.0","edited":{"user":"U1","ts":"3.0"}},"previous_message":{"type":"message","user":"U1","text":"done","ts":"2.0","thread_ts":"1.0"}}`,
			&threadEvent{op: workflow.CommentOpEdited, channel: "D1", ts: "2.0", thread: "1.0", user: "U1", text: "done now"}},
		{"unfurl (no edit)", `{"type":"message","subtype":"message_changed","hidden":true,"channel":"D1","ts":"3.0","message":{"type":"message","user":"U1","text":"see https://x","ts":"2.0","thread_ts":"1.0","attachments":[{"title":"x"}]}}`, nil},
		{"the bot's card updated", `{"type":"message","subtype":"message_changed","hidden":true,"channel":"D1","ts":"3.0","message":{"type":"message","user":"UBOT","bot_id":"BBOT","text":"card","ts":"2.0","thread_ts":"1.0","edited":{"user":"UBOT","ts":"3.0"}}}`, nil},
		{"deletion", `{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1","ts":"4.0","deleted_ts":"2.0","previous_message":{"type":"message","user":"U1","text":"done","ts":"2.0","thread_ts":"1.0"}}`,
			&threadEvent{op: workflow.CommentOpDeleted, channel: "C1", ts: "2.0", thread: "1.0", user: "U1", text: ""}},
		{"deletion of a top-level message", `{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1","ts":"4.0","deleted_ts":"2.0","previous_message":{"type":"message","user":"U1","text":"x","ts":"2.0"}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev slackevents.MessageEvent
			require.NoError(t, json.Unmarshal([]byte(tc.event), &ev))
			got, ok := b.threadEventOf(slackevents.EventsAPIInnerEvent{Type: "message", Data: &ev})
			if tc.want == nil {
				assert.False(t, ok, "%+v", got)
				assert.True(t, b.ignoreEvent(slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "message", Data: &ev}}))
				return
			}
			require.True(t, ok)
			assert.Equal(t, *tc.want, got)
		})
	}
	assert.False(t, b.ignoreEvent(slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "app_home_opened"}}), "other events go on")
}

func TestMirrorTargets(t *testing.T) {
	cards := []workflow.Card{
		{ID: 1, Channel: "D1", TS: "1.0", Role: workflow.CardRequester},
		{ID: 2, Channel: "D2", TS: "2.0", Role: workflow.CardAssignee, Step: 0},
		{ID: 3, Channel: "D2", TS: "5.0", Role: workflow.CardAssignee, Step: 2}, // the same person, a later step
		{ID: 4, Channel: "C1", TS: "3.0", Role: workflow.CardChannel, Step: 1},
		{ID: 5, Channel: "D3", TS: "", Role: workflow.CardAssignee},  // never posted
		{ID: 6, Channel: "D4", TS: "4.0", Revision: -1, Final: true}, // marked deleted
	}
	ids := func(cs []workflow.Card) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	assert.Equal(t, []int64{1, 3, 4}, ids(mirrorTargets(cards, "")), "one thread a channel, the newest")
	assert.Equal(t, []int64{1, 4}, ids(mirrorTargets(cards, "D2")), "none in the channel the comment came from")
}

// BenchmarkIgnoreTopLevelMessage is what a message the bot has no business
// with costs the loop: no I/O, no allocation.
func BenchmarkIgnoreTopLevelMessage(b *testing.B) {
	bot := &Bot{botUserID: "UBOT"}
	var ev slackevents.MessageEvent
	if err := json.Unmarshal([]byte(`{"type":"message","channel":"C1","user":"U1","text":"lunch?","ts":"2.0"}`), &ev); err != nil {
		b.Fatal(err)
	}
	outer := slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Type: "message", Data: &ev}}
	b.ReportAllocs()
	for b.Loop() {
		if !bot.ignoreEvent(outer) {
			b.Fatal("not ignored")
		}
	}
}
