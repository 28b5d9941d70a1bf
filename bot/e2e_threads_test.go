package bot_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/workflow"
)

// reply posts text as name in the thread of a card's message.
func (h *harness) reply(name string, card fakeslack.Message, text string) fakeslack.Delivery {
	h.t.Helper()
	d, err := h.slack.PostAsUser(h.ctx, h.ids[name], card.Channel, text, card.TS)
	require.NoError(h.t, err)
	return d
}

// botReplies returns the bot's messages in the thread of a card's message.
func (h *harness) botReplies(card fakeslack.Message) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range h.slack.Thread(card.Channel, card.TS) {
		if m.TS != card.TS && m.BotID == h.slack.BotID() {
			out = append(out, m)
		}
	}
	return out
}

// botRepliesWith counts the bot's messages in the card's thread that contain s.
func (h *harness) botRepliesWith(card fakeslack.Message, s string) int {
	n := 0
	for _, m := range h.botReplies(card) {
		if strings.Contains(m.Text, s) {
			n++
		}
	}
	return n
}

// events returns the task's audit events.
func (h *harness) events(id int64) []workflow.AuditEvent {
	h.t.Helper()
	_, evs, err := h.engine.TaskFor(h.ctx, email("admin"), id)
	require.NoError(h.t, err)
	return evs
}

// comments returns the task's comment events (action commented).
func (h *harness) comments(id int64) []workflow.AuditEvent {
	var out []workflow.AuditEvent
	for _, ev := range h.events(id) {
		if ev.Action == workflow.ActCommented {
			out = append(out, ev)
		}
	}
	return out
}

// idle waits until the outbox is empty.
func (h *harness) idle() {
	h.t.Helper()
	h.eventually("an empty outbox", func() bool {
		depth, _, err := h.db.OutboxStats(h.ctx)
		require.NoError(h.t, err)
		return depth == 0
	})
}

// atProvisioning requests github for alice, has mgr approve it and returns
// the task with its four cards settled.
func (h *harness) atProvisioning() (task *workflow.Task, status, mgr, prov, channel fakeslack.Message) {
	h.t.Helper()
	task = h.request("alice", "github")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	prov = h.card(task.ID, workflow.CardAssignee, "prov", 1)
	channel = h.card(task.ID, workflow.CardChannel, "", 1)
	h.settled(task.ID)
	return task, h.card(task.ID, workflow.CardRequester, "alice", -1), h.card(task.ID, workflow.CardAssignee, "mgr", 0), prov, channel
}

func TestThreadRepliesFromEveryCardBecomeComments(t *testing.T) {
	t.Parallel()
	h := setup(t)
	// The bot's own posts come back as message events, as in Slack.
	h.slack.EchoBotMessages(true)
	task := h.request("alice", "github")
	mgr := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	h.settled(task.ID)

	// An assignee's DM card.
	d := h.reply("mgr", mgr, "Which team is this for?")
	h.eventually("mgr's comment", func() bool { return len(h.comments(task.ID)) == 1 })
	c := h.comments(task.ID)[0]
	assert.Equal(t, email("mgr"), c.Actor)
	assert.Equal(t, "Which team is this for?", c.Comment)
	assert.Equal(t, map[string]string{"source": "thread", "channel": mgr.Channel, "ts": d.TS}, c.Details)
	h.eventually("mgr's comment in alice's thread", func() bool { return h.botRepliesWith(status, "Which team is this for?") == 1 })

	// The requester's status card.
	h.reply("alice", status, "The platform team.")
	h.eventually("alice's comment in mgr's thread", func() bool { return h.botRepliesWith(mgr, "The platform team.") == 1 })
	assert.Equal(t, email("alice"), h.comments(task.ID)[1].Actor)

	// The app channel's post, once provisioning starts.
	h.click("mgr", mgr, "approve")
	prov := h.card(task.ID, workflow.CardAssignee, "prov", 1)
	channel := h.card(task.ID, workflow.CardChannel, "", 1)
	h.settled(task.ID)
	h.reply("prov", channel, "Looking at it now")
	for _, m := range []fakeslack.Message{status, mgr, prov} {
		h.eventually("prov's comment in the thread in "+m.Channel, func() bool { return h.botRepliesWith(m, "Looking at it now") == 1 })
	}
	assert.Contains(t, h.botReplies(prov)[0].Text, "<#C0ACCESS01>", "the copy says where the reply was made")

	// Another app's bot in the thread is not a person commenting.
	h.slack.AddUser(fakeslack.User{ID: "U0000000Z", Name: "jira", Email: "jira@example.com", IsBot: true})
	_, err := h.slack.PostAsUser(h.ctx, "U0000000Z", channel.Channel, "JIRA-12 filed", channel.TS)
	require.NoError(t, err)
	// Ignored events leave no trace to wait for: give them the time of a few
	// round trips, then a last reply that must be the fourth comment.
	time.Sleep(200 * time.Millisecond)
	h.reply("mgr", mgr, "Thanks")
	h.eventually("the last comment", func() bool { return len(h.comments(task.ID)) >= 4 })
	h.idle()
	time.Sleep(100 * time.Millisecond)

	got := h.comments(task.ID)
	require.Len(t, got, 4, "four replies, four comments: neither the bot's own copies nor the other bot's post are comments")
	assert.Equal(t, email("mgr"), got[3].Actor)
	// Each copy once, never into the thread it came from.
	assert.Zero(t, h.botRepliesWith(mgr, "Which team is this for?"), "not mirrored back into its own thread")
	assert.Zero(t, h.botRepliesWith(status, "The platform team."))
	assert.Zero(t, h.botRepliesWith(channel, "Looking at it now"))
	assert.Zero(t, h.botRepliesWith(channel, "JIRA-12"))
	for _, m := range []fakeslack.Message{status, prov, channel} {
		assert.Equal(t, 1, h.botRepliesWith(m, "Thanks"), "the last comment once in "+m.Channel)
	}
	assert.Len(t, h.botReplies(mgr), 2, "mgr's thread: alice's and prov's comments")
	assert.Len(t, h.botReplies(status), 3, "alice's thread: mgr's two and prov's comments")
	assert.Len(t, h.botReplies(channel), 1, "the channel card came after the first comments: only the last")
}

func TestMirrorOnceThroughRetriesAndRedelivery(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task, status, mgr, prov, channel := h.atProvisioning()
	posts := h.slack.Count("chat.postMessage", "ok")

	// The second copy fails: the retry posts it and the rest, not the first again.
	h.slack.FailNext("chat.postMessage", 1, fakeslack.FailDelay(time.Millisecond))
	h.slack.FailNext("chat.postMessage", 1, fakeslack.FailStatus(500))
	_, err := h.engine.Comment(h.ctx, workflow.CommentInput{TaskID: task.ID, Actor: email("alice"), Text: "Any news?", Source: workflow.SourceModal})
	require.NoError(t, err)
	h.idle()
	assert.Equal(t, 1, h.slack.Count("chat.postMessage", "http_500"), "one copy failed once")
	for _, m := range []fakeslack.Message{status, mgr, prov, channel} {
		assert.Equal(t, 1, h.botRepliesWith(m, "Any news?"), "once in "+m.Channel)
	}
	assert.Equal(t, posts+4, h.slack.Count("chat.postMessage", "ok"))

	// The same notice delivered again (a worker that died before marking it
	// delivered) posts nothing.
	var seq int64
	for _, c := range h.comments(task.ID) {
		seq = c.Seq
	}
	require.NoError(t, h.db.Update(h.ctx, func(tx workflow.Tx) error {
		return tx.Enqueue(&workflow.Notice{TaskID: task.ID, Text: "Any news?",
			Payload: workflow.CommentPosted{Actor: email("alice"), Source: workflow.SourceModal, Seq: seq}})
	}))
	h.idle()
	assert.Equal(t, posts+4, h.slack.Count("chat.postMessage", "ok"), "nothing posted twice")
}

func TestThreadEditsAndDeletions(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.slack.EchoBotMessages(true)
	task := h.request("alice", "github")
	mgr := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	h.settled(task.ID)

	d := h.reply("mgr", mgr, "Is this for prod?")
	h.eventually("the copy in alice's thread", func() bool { return h.botRepliesWith(status, "Is this for prod?") == 1 })
	copyTS := h.botReplies(status)[0].TS

	_, err := h.slack.EditMessage(h.ctx, h.ids["mgr"], mgr.Channel, d.TS, "Is this for staging?")
	require.NoError(t, err)
	h.eventually("the copy edited", func() bool {
		m, ok := h.slack.Message(status.Channel, copyTS)
		return ok && strings.Contains(m.Text, "Is this for staging?") && strings.Contains(m.Text, "(edited)")
	})
	// The same text again (Slack sends that when a link unfurls) is no edit.
	_, err = h.slack.EditMessage(h.ctx, h.ids["mgr"], mgr.Channel, d.TS, "Is this for staging?")
	require.NoError(t, err)

	_, err = h.slack.DeleteMessage(h.ctx, h.ids["mgr"], mgr.Channel, d.TS)
	require.NoError(t, err)
	h.eventually("the copy marked deleted", func() bool {
		m, ok := h.slack.Message(status.Channel, copyTS)
		return ok && strings.Contains(m.Text, "deleted their comment")
	})
	h.idle()

	var actions []string
	var edit, del workflow.AuditEvent
	for _, ev := range h.events(task.ID) {
		switch ev.Action {
		case workflow.ActCommented, workflow.ActCommentEdited, workflow.ActCommentDeleted:
			actions = append(actions, ev.Action)
		}
		switch ev.Action {
		case workflow.ActCommentEdited:
			edit = ev
		case workflow.ActCommentDeleted:
			del = ev
		}
	}
	assert.Equal(t, []string{workflow.ActCommented, workflow.ActCommentEdited, workflow.ActCommentDeleted}, actions, "one edit (the repeat changed nothing), one deletion, all audited")
	assert.Equal(t, "Is this for staging?", edit.Comment)
	assert.Equal(t, email("mgr"), edit.Actor)
	assert.Equal(t, email("mgr"), del.Actor)
	orig := h.comments(task.ID)[0]
	assert.Equal(t, strconv.FormatInt(orig.Seq, 10), del.Details["comment_seq"])
	assert.Equal(t, "Is this for prod?", orig.Comment, "the chain keeps the original")
	assert.True(t, workflow.CommentChanges(h.events(task.ID))[orig.Seq].Deleted)
	assert.Len(t, h.botReplies(status), 1, "edits update the copy; they post nothing new")
}

func TestAcknowledgeInThread(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		who, where string // where: "prov" (prov's DM card) or "channel"
		text       string
		status     workflow.Status
		comment    string // the comment recorded
		answer     string // in the bot's answer in the thread
	}{
		{"provisioned by the assignee", "prov", "prov", "Done, added to the org", workflow.StatusDone, "added to the org", "marked T-1 provisioned"},
		{"provisioned word in the channel", "prov", "channel", "provisioned", workflow.StatusDone, "", "marked T-1 provisioned"},
		{"won't with a reason", "prov", "channel", "Won’t: needs a security review", workflow.StatusNotProvisioned, "needs a security review", "marked T-1 won't provision"},
		{"won't without a reason", "prov", "prov", "wont", workflow.StatusOpen, "wont", "give the reason"},
		{"by someone not assigned", "mgr", "channel", "done", workflow.StatusOpen, "done", "not assigned to the current step"},
		{"by the requester", "alice", "channel", "done!", workflow.StatusOpen, "done!", "your own request"},
		{"a word that only starts like one", "prov", "prov", "doneness check pending", workflow.StatusOpen, "doneness check pending", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			task, _, _, prov, channel := h.atProvisioning()
			require.Equal(t, int64(1), task.ID)
			where := map[string]fakeslack.Message{"prov": prov, "channel": channel}[tc.where]
			d := h.reply(tc.who, where, tc.text)
			if tc.answer != "" {
				h.eventually("the bot's answer", func() bool { return h.botRepliesWith(where, tc.answer) == 1 })
			}
			h.eventually("the task's status", func() bool { return h.task(task.ID).Status == tc.status })
			var got []workflow.AuditEvent
			h.eventually("the reply handled", func() bool {
				got = nil
				for _, ev := range h.events(task.ID) {
					if ev.Comment != "" && ev.Details["ts"] == d.TS {
						got = append(got, ev)
					}
				}
				return tc.comment == "" || len(got) > 0
			})
			h.idle()
			if tc.comment == "" {
				assert.Empty(t, got, "no comment")
			} else {
				require.Len(t, got, 1)
				assert.Equal(t, tc.comment, got[0].Comment)
				assert.Equal(t, email(tc.who), got[0].Actor)
			}
			for _, m := range h.botReplies(where) {
				t.Logf("%s in the thread: %s", h.slack.BotID(), m.Text)
			}
			if tc.status == workflow.StatusOpen && tc.answer != "" {
				assert.Contains(t, h.botReplies(where)[0].Text, "kept as a comment")
			}
			if tc.answer == "" {
				assert.Empty(t, h.botReplies(where), "a plain comment gets no answer")
			}
			assert.Equal(t, tc.status, h.task(task.ID).Status)
		})
	}
}

func TestFinishedTaskThreadKeepsCommentsActsOnNothing(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task, status, _, prov, _ := h.atProvisioning()
	h.click("prov", prov, "provisioned")
	h.eventually("done", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
	h.settled(task.ID)
	before := len(h.events(task.ID))

	h.reply("prov", prov, "won't: changed my mind")
	h.eventually("the bot's answer", func() bool { return h.botRepliesWith(prov, "is done, so a reply no longer changes it") == 1 })
	h.eventually("the copy in alice's thread", func() bool { return h.botRepliesWith(status, "changed my mind") == 1 })
	got := h.task(task.ID)
	assert.Equal(t, workflow.StatusDone, got.Status)
	evs := h.events(task.ID)
	require.Len(t, evs, before+1, "only the comment was recorded")
	assert.Equal(t, workflow.ActCommented, evs[before].Action)
	assert.Equal(t, "won't: changed my mind", evs[before].Comment)
}

func TestUnrelatedMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task, _, _, _, channel := h.atProvisioning()
	posts := h.slack.Count("chat.postMessage", "ok")
	before := len(h.events(task.ID))

	// A top-level message in the app's channel: dropped before any database
	// access (the duplicate check did not even record its event id).
	top, err := h.slack.PostAsUser(h.ctx, h.ids["eve"], channel.Channel, "done", "")
	require.NoError(t, err)
	require.NotEmpty(t, top.EventID)
	// A reply in a thread that is no task's card, and one in a DM.
	other, err := h.slack.PostAsUser(h.ctx, h.ids["eve"], channel.Channel, "lunch?", top.TS)
	require.NoError(t, err)
	dm := h.slack.DMChannel(h.ids["eve"])
	root, err := h.slack.PostAsUser(h.ctx, h.ids["eve"], dm, "hello", "")
	require.NoError(t, err)
	_, err = h.slack.PostAsUser(h.ctx, h.ids["eve"], dm, "done", root.TS)
	require.NoError(t, err)
	// A message in a channel the bot is not in never reaches it.
	h.slack.AddChannel("C0RANDOM01", "random", false)
	none, err := h.slack.PostAsUser(h.ctx, h.ids["eve"], "C0RANDOM01", "done", "")
	require.NoError(t, err)
	assert.Empty(t, none.EnvelopeID)

	time.Sleep(200 * time.Millisecond)
	h.idle()
	assert.Len(t, h.events(task.ID), before, "nothing recorded")
	assert.Equal(t, posts, h.slack.Count("chat.postMessage", "ok"), "nothing posted")
	assert.Empty(t, h.slack.Ephemerals(h.ids["eve"]))
	stored, err := h.db.HasEvent(h.ctx, top.EventID)
	require.NoError(t, err)
	assert.False(t, stored, "the top-level message was dropped before it was stored")
	stored, err = h.db.HasEvent(h.ctx, other.EventID)
	require.NoError(t, err)
	assert.True(t, stored, "the thread reply was looked at (one card lookup)")
}

func TestDeprovisionedInThread(t *testing.T) {
	t.Parallel()
	h := setup(t)
	grantTask, _, _, prov, _ := h.atProvisioning()
	h.click("prov", prov, "provisioned")
	h.eventually("granted", func() bool { return h.task(grantTask.ID).Status == workflow.StatusDone })
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("admin"), Subject: email("alice"), AppID: "github", Reason: "left the team"})
	require.NoError(t, err)
	h.click("sec1", h.card(rev.ID, workflow.CardAssignee, "sec1", 0), "confirm")
	deprov := h.card(rev.ID, workflow.CardAssignee, "prov", 1)
	h.settled(rev.ID)

	// "provisioned" is no deprovisioning word: a plain comment.
	h.reply("prov", deprov, "provisioned it last week")
	h.eventually("the comment", func() bool { return len(h.comments(rev.ID)) == 1 })
	assert.Equal(t, workflow.StatusOpen, h.task(rev.ID).Status)

	h.reply("prov", deprov, "Deprovisioned - removed from the org")
	h.eventually("the bot's answer", func() bool { return h.botRepliesWith(deprov, "marked T-2 deprovisioned") == 1 })
	got := h.task(rev.ID)
	assert.Equal(t, workflow.StatusDone, got.Status)
	assert.Equal(t, "removed from the org", got.Steps[1].Comment)
}

func TestThreadReplyRedeliveredAndEditedAtOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	mgr := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	h.settled(task.ID)

	// Slack redelivers an event whose ack it missed: one comment, one copy.
	d := h.reply("mgr", mgr, "first")
	require.NoError(t, h.slack.Redeliver(d.EnvelopeID))
	// An edit right after the reply: its event can be handled first.
	_, err := h.slack.EditMessage(h.ctx, h.ids["mgr"], mgr.Channel, d.TS, "first, edited")
	require.NoError(t, err)
	h.eventually("the edit", func() bool {
		for _, ev := range h.events(task.ID) {
			if ev.Action == workflow.ActCommentEdited {
				return true
			}
		}
		return false
	})
	h.idle()
	assert.Len(t, h.comments(task.ID), 1)
	require.Len(t, h.botReplies(status), 1)
	assert.Contains(t, h.botReplies(status)[0].Text, "first, edited")
}
