package workflow_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestAcknowledgment(t *testing.T) {
	t.Parallel()
	th := workflow.DefaultThreads()
	custom := workflow.Threads{ProvisionedWords: []string{"all set", "granted"}, DeprovisionedWords: []string{"removed"}, WontWords: []string{"no can do"}}
	for _, tc := range []struct {
		th     workflow.Threads
		step   workflow.StepType
		text   string
		action workflow.Action
		rest   string
	}{
		{th, workflow.StepProvision, "done", workflow.ActionProvisioned, ""},
		{th, workflow.StepProvision, "Done, added to the org", workflow.ActionProvisioned, "added to the org"},
		{th, workflow.StepProvision, "  PROVISIONED:\nteam admins", workflow.ActionProvisioned, "team admins"},
		{th, workflow.StepProvision, "done!", workflow.ActionProvisioned, ""},
		{th, workflow.StepProvision, "won't - needs a manager", workflow.ActionWontProvision, "needs a manager"},
		{th, workflow.StepProvision, "Won’t: typographic apostrophe", workflow.ActionWontProvision, "typographic apostrophe"},
		{th, workflow.StepProvision, "wont", workflow.ActionWontProvision, ""},
		{th, workflow.StepProvision, "deprovisioned", "", ""},
		{th, workflow.StepProvision, "doneness is a word", "", ""},
		{th, workflow.StepProvision, "wontfix", "", ""},
		{th, workflow.StepProvision, "not done yet", "", ""},
		{th, workflow.StepDeprovision, "deprovisioned, gone", workflow.ActionDeprovisioned, "gone"},
		{th, workflow.StepDeprovision, "done", workflow.ActionDeprovisioned, ""},
		{th, workflow.StepDeprovision, "won't keep it", workflow.ActionWontDeprovision, "keep it"},
		{th, workflow.StepDeprovision, "provisioned", "", ""},
		{th, workflow.StepReview, "done", "", ""},
		{th, "", "done", "", ""},
		{custom, workflow.StepProvision, "All  set: ok", workflow.ActionProvisioned, "ok"},
		{custom, workflow.StepProvision, "done", "", ""},
		{custom, workflow.StepProvision, "no can do, sorry", workflow.ActionWontProvision, "sorry"},
		{custom, workflow.StepDeprovision, "Removed.", workflow.ActionDeprovisioned, ""},
	} {
		a, rest := tc.th.Acknowledgment(tc.step, tc.text)
		assert.Equal(t, tc.action, a, "%s %q", tc.step, tc.text)
		assert.Equal(t, tc.rest, rest, "%s %q", tc.step, tc.text)
	}
	var nilCat *workflow.Catalog
	assert.Equal(t, th, nilCat.ThreadsOrDefault())
}

func TestThreadCommentEditAndDelete(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin")
	msg := workflow.MessageRef{Channel: "D1", TS: "100.1"}
	_, err := f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: mgr, Text: "why?", Source: workflow.SourceThread, Message: msg})
	require.NoError(t, err)
	evs := f.events(1)
	orig := evs[len(evs)-1]
	require.Equal(t, workflow.ActCommented, orig.Action)
	assert.Equal(t, map[string]string{"source": "thread", "channel": "D1", "ts": "100.1"}, orig.Details)

	for _, tc := range []struct {
		name string
		in   workflow.CommentEdit
		code string
	}{
		{"not the author", workflow.CommentEdit{TaskID: 1, Actor: bob, Message: msg, Text: "x"}, workflow.EFORBIDDEN},
		{"no such message", workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: workflow.MessageRef{Channel: "D1", TS: "100.2"}, Text: "x"}, workflow.ENOTFOUND},
		{"empty", workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg, Text: "  "}, workflow.EINVALID},
		{"no task", workflow.CommentEdit{TaskID: 9, Actor: mgr, Message: msg, Text: "x"}, workflow.ENOTFOUND},
	} {
		_, err := f.e.EditComment(f.ctx, tc.in)
		assert.Equal(t, tc.code, workflow.ErrorCode(err), tc.name)
	}
	assert.Len(t, f.events(1), len(evs), "refusals write nothing")

	changed, err := f.e.EditComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg, Text: "why now?"})
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = f.e.EditComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg, Text: "why now?"})
	require.NoError(t, err)
	assert.False(t, changed, "the same text again is no edit")
	assert.Equal(t, workflow.CommentChange{Text: "why now?"}, workflow.CommentChanges(f.events(1))[orig.Seq])

	changed, err = f.e.DeleteComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg})
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = f.e.DeleteComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg})
	require.NoError(t, err)
	assert.False(t, changed, "deleting twice records once")
	_, err = f.e.EditComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: mgr, Message: msg, Text: "back"})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a deleted comment cannot be edited")

	got := f.events(1)
	assert.Equal(t, []string{workflow.ActCommented, workflow.ActCommentEdited, workflow.ActCommentDeleted}, actions(got[len(got)-3:]))
	del := got[len(got)-1]
	assert.Equal(t, mgr, del.Actor)
	assert.Equal(t, strconv.FormatInt(orig.Seq, 10), del.Details["comment_seq"])
	assert.True(t, workflow.CommentChanges(got)[orig.Seq].Deleted)
	assert.Equal(t, workflow.Status("open"), f.task(1).Status)
	assert.Equal(t, "", f.task(1).Last.Actor, "comments are not what Last explains")
	f.verifyAudit()

	// Notices: the comment, its edit and its deletion, naming the comment.
	var ns []workflow.Notice
	for _, n := range f.pendingNotices() {
		if n.Kind() == workflow.NoticeComment {
			ns = append(ns, n)
		}
	}
	require.Len(t, ns, 3)
	seq := orig.Seq
	assert.Equal(t, workflow.CommentPosted{Actor: mgr, Source: "thread", Seq: seq, From: workflow.MessageRef{Channel: "D1", TS: "100.1"}}, ns[0].Payload)
	assert.Equal(t, workflow.CommentOpEdited, ns[1].Payload.(workflow.CommentPosted).Op)
	assert.Equal(t, seq, ns[1].Payload.(workflow.CommentPosted).Seq)
	assert.Equal(t, "why now?", ns[1].Text)
	assert.Equal(t, workflow.CommentOpDeleted, ns[2].Payload.(workflow.CommentPosted).Op)
}

func TestThreadCommentsOnFinishedTasksAndByOwners(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin")
	f.decide(workflow.ActionDeny, 1, mgr)
	msg := workflow.MessageRef{Channel: "C1", TS: "1.2"}
	_, err := f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: bob, Text: "why not?", Source: workflow.SourceThread, Message: msg})
	require.NoError(t, err, "finished tasks still take comments")

	// The app's owner sees the channel post: a thread reply from them counts;
	// from the modal, only people involved comment.
	_, err = f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: owner, Text: "policy", Source: workflow.SourceThread, Message: workflow.MessageRef{Channel: "C1", TS: "1.3"}})
	require.NoError(t, err)
	_, err = f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: owner, Text: "policy"})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
	_, err = f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: eve, Text: "hi", Source: workflow.SourceThread, Message: workflow.MessageRef{Channel: "C1", TS: "1.4"}})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
}

func TestThreadAcknowledgmentCommentEdit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin")
	f.decide(workflow.ActionApprove, 1, mgr)
	msg := workflow.MessageRef{Channel: "D9", TS: "5.5"}
	_, err := f.e.Decide(f.ctx, workflow.ActionProvisioned, workflow.Decision{TaskID: 1, Actor: prov1, Comment: "added", Message: msg})
	require.NoError(t, err)
	// The edit of "done, added" to "done, added to admins" keeps the split.
	changed, err := f.e.EditComment(f.ctx, workflow.CommentEdit{TaskID: 1, Actor: prov1, Message: msg, Text: "done, added to admins"})
	require.NoError(t, err)
	assert.True(t, changed)
	evs := f.events(1)
	assert.Equal(t, "added to admins", evs[len(evs)-1].Comment)
	assert.Equal(t, workflow.StatusDone, f.task(1).Status)
	f.verifyAudit()
}

// pendingNotices drains the outbox in delivery order (one task's notices
// come one at a time) and returns what it held.
func (f *fixture) pendingNotices() []workflow.Notice {
	f.t.Helper()
	var out []workflow.Notice
	for {
		ns, err := f.db.ClaimNotices(f.ctx, "test", f.clock.Now().Add(time.Hour), time.Minute, 1000)
		require.NoError(f.t, err)
		if len(ns) == 0 {
			return out
		}
		for _, n := range ns {
			require.NoError(f.t, f.db.NoticeDelivered(f.ctx, n.ID, "test", f.clock.Now()))
		}
		out = append(out, ns...)
	}
}
