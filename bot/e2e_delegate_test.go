package bot_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// fakeClock is the engine's (and so the bot's bookkeeping) clock, moved by
// hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// monday is the fake clock's start: Monday 2026-11-23 10:00 UTC.
var monday = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// setupClock is setup with a fake clock starting at monday, and two more
// Slack accounts: deploybot (a bot) and gone (deactivated).
func setupClock(t *testing.T) (*harness, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: monday}
	h := setupWith(t, harnessOptions{clock: clk.Now, users: []fakeslack.User{
		{ID: "U0000000X", Name: "deploybot", IsBot: true},
		{ID: "U0000000Y", Name: "gone", Email: email("gone"), Deleted: true},
	}})
	return h, clk
}

func (h *harness) mention(name string) string { return "<@" + h.ids[name] + ">" }

func (h *harness) delegation(name string) *workflow.Delegation {
	h.t.Helper()
	d, err := h.engine.DelegationOf(h.ctx, email(name))
	require.NoError(h.t, err)
	return d
}

// dmsWith counts name's DMs from the bot that contain s.
func (h *harness) dmsWith(name, s string) int {
	n := 0
	for _, m := range h.slack.DMs(h.ids[name]) {
		if strings.Contains(m.Text, s) {
			n++
		}
	}
	return n
}

func TestDelegateCommandForms(t *testing.T) {
	t.Parallel()
	h, _ := setupClock(t)
	out := h.command("mgr", "/delegate", "")
	assert.Contains(t, out, "You have no delegate")
	assert.Contains(t, out, "/delegate @colleague 2026-12-01 2026-12-15")

	steps := []struct {
		text   string
		answer []string
		who    string
		starts time.Time
		ends   time.Time
	}{
		{text: h.mention("eve"), who: "eve",
			answer: []string{"Done: your new access tasks go to " + h.mention("eve") + " permanently, until removed."}},
		{text: h.mention("sec1") + " 2026-12-01 2026-12-15", who: "sec1",
			starts: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ends: time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC),
			answer: []string{"will go to " + h.mention("sec1") + " from Tue 1 Dec 2026 to Tue 15 Dec 2026 (UTC)", "replaces the delegation to " + h.mention("eve")}},
		{text: h.mention("sec1") + " from 2026-12-02 to 2026-12-04", who: "sec1",
			starts: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), ends: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
			answer: []string{"from Wed 2 Dec 2026 to Fri 4 Dec 2026 (UTC)", "replaces the earlier delegation to " + h.mention("sec1")}},
		{text: h.mention("sec2") + " until 2026-12-15", who: "sec2",
			ends:   time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC),
			answer: []string{"go to " + h.mention("sec2") + " until the end of Tue 15 Dec 2026 (UTC)"}},
	}
	for _, s := range steps {
		out := h.command("mgr", "/delegate", s.text)
		for _, a := range s.answer {
			assert.Contains(t, out, a, s.text)
		}
		d := h.delegation("mgr")
		require.NotNil(t, d, s.text)
		assert.Equal(t, email(s.who), d.Delegate, s.text)
		assert.Equal(t, s.starts, d.Starts, s.text)
		assert.Equal(t, s.ends, d.Ends, s.text)
	}
	h.drained()
	assert.Equal(t, 1, h.dmsWith("eve", "made you their accessbot delegate"))
	assert.Equal(t, 1, h.dmsWith("eve", "no longer delegates"), "the replaced delegate is told")
	assert.Equal(t, 2, h.dmsWith("sec1", "made you their accessbot delegate"))
	assert.Equal(t, 4, h.dmsWith("mgr", "Your accessbot delegate is now"))

	out = h.command("sec2", "/delegate", h.mention("mgr"))
	assert.Contains(t, out, "Note: "+h.mention("mgr")+" delegates to "+h.mention("sec2")+", so while both last the tasks stay with "+h.mention("sec2"))
	out = h.command("eve", "/delegate", h.mention("sec2"))
	assert.Contains(t, out, "Note: "+h.mention("sec2")+" delegates to "+h.mention("mgr")+" now, so the tasks go on to "+h.mention("mgr"))
	out = h.command("mgr", "/delegate", "")
	assert.Contains(t, out, "Your delegate is "+h.mention("sec2"))
	out = h.command("sec2", "/delegate", "")
	assert.Contains(t, out, "Delegating to you: "+h.mention("eve")+" (permanently, until removed), "+h.mention("mgr")+" (until the end of Tue 15 Dec 2026 (UTC))")

	out = h.command("mgr", "/delegate", "off")
	assert.Contains(t, out, "Done: your delegation to "+h.mention("sec2")+" is removed")
	assert.Nil(t, h.delegation("mgr"))
	out = h.command("mgr", "/delegate", "off")
	assert.Contains(t, out, "You have no delegate, so there is nothing to remove")
	h.drained()
	assert.Equal(t, 1, h.dmsWith("sec2", h.mention("mgr")+" no longer delegates"))

	out = h.command("mgr", "/delegate", "help")
	assert.Contains(t, out, "/delegate off")
}

func TestDelegateCommandRefusals(t *testing.T) {
	t.Parallel()
	h, _ := setupClock(t)
	for _, c := range []struct {
		text string
		want []string
	}{
		{h.mention("mgr"), []string{"You cannot be your own delegate"}},
		{h.mention("deploybot"), []string{"is a bot, not a person"}},
		{h.mention("gone"), []string{"deactivated"}},
		{"<@U0NOBODY1>", []string{"cannot find <@U0NOBODY1> in Slack"}},
		{"@eve", []string{"is not a mention of a person"}},
		{h.mention("eve") + " 2026-12-15 2026-12-01", []string{"The end date 2026-12-01 is before the start date 2026-12-15"}},
		{h.mention("eve") + " 2026-11-22 2026-12-01", []string{"before today (2026-11-23 in UTC)"}},
		{h.mention("eve") + " 2026-12-01 soon", []string{`"soon" is not a date`, "`/delegate @colleague 2026-12-01 2026-12-15`"}},
		{h.mention("eve") + " 12/01 12/15", []string{`"12/01" is not a date: write it as YYYY-MM-DD`}},
		{h.mention("eve") + " next week please", []string{"cannot read", "`/delegate off`"}},
		{h.mention("eve") + " from 2026-12-01", []string{"needs its last day"}},
		{h.mention("eve") + " until 2026-11-01", []string{"already past"}},
		{"off now", []string{"`off` takes nothing after it"}},
	} {
		out := h.command("mgr", "/delegate", c.text)
		for _, w := range c.want {
			assert.Contains(t, out, w, c.text)
		}
		assert.Contains(t, out, "Nothing was changed", c.text)
		assert.Nil(t, h.delegation("mgr"), c.text)
	}
	// Dates are days in the person's own Slack time zone: at Monday 10:00
	// UTC it is already Tuesday in Kiritimati (UTC+14).
	h.slack.AddUser(fakeslack.User{ID: h.ids["carol"], Name: "carol", Email: email("carol"), TZ: "Pacific/Kiritimati"})
	out := h.command("carol", "/delegate", h.mention("eve")+" 2026-11-23 2026-11-30")
	assert.Contains(t, out, "before today (2026-11-24 in Pacific/Kiritimati)")
	assert.Nil(t, h.delegation("carol"))
	out = h.command("carol", "/delegate", h.mention("eve")+" 2026-11-24 2026-11-30")
	assert.Contains(t, out, "Done: your new access tasks go to "+h.mention("eve")+" until the end of Mon 30 Nov 2026 (Pacific/Kiritimati)")
	assert.Equal(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), h.delegation("carol").Starts, "midnight in Kiritimati")

	h.drained()
	assert.Empty(t, h.slack.DMs(h.ids["mgr"]), "nobody was told anything")
	assert.Equal(t, 1, len(h.slack.DMs(h.ids["eve"])), "eve hears of carol's delegation only")
}

func TestAdminDelegate(t *testing.T) {
	t.Parallel()
	h, _ := setupClock(t)
	out := h.command("eve", "/access", "delegate "+h.mention("mgr")+" "+h.mention("sec1"))
	assert.Contains(t, out, "for accessbot admins only")
	assert.Nil(t, h.delegation("mgr"))

	out = h.command("admin", "/access", "delegate "+h.mention("mgr")+" "+h.mention("sec1")+" 2026-11-23 2026-11-30")
	assert.Contains(t, out, "Done: "+h.mention("mgr")+"'s new access tasks go to "+h.mention("sec1")+" until the end of Mon 30 Nov 2026 (UTC)")
	d := h.delegation("mgr")
	require.NotNil(t, d)
	assert.Equal(t, email("admin"), d.SetBy)
	assert.True(t, d.Active, "a start today takes effect on save")
	h.drained()
	assert.Equal(t, 1, h.dmsWith("mgr", "set by an admin, "+h.mention("admin")))
	assert.Equal(t, 1, h.dmsWith("sec1", h.mention("mgr")+" made you their accessbot delegate"))

	task := h.request("alice", "github")
	assert.Equal(t, []string{email("sec1")}, task.PendingAssignees(), "new tasks go to the delegate")
	h.card(task.ID, workflow.CardAssignee, "sec1", 0)

	for _, c := range []struct{ text, want string }{
		{"delegate " + h.mention("mgr"), "Say whose delegate to set, and to whom"},
		{"delegate " + h.mention("mgr") + " " + h.mention("mgr"), h.mention("mgr") + " cannot be their own delegate"},
		{"delegate " + h.mention("mgr") + " " + h.mention("deploybot"), "is a bot"},
		{"delegate mgr " + h.mention("eve"), "is not a mention of a person"},
		{"delegate " + h.mention("mgr") + " " + h.mention("eve") + " 2026-12-15 2026-12-01", "before the start date"},
	} {
		out := h.command("admin", "/access", c.text)
		assert.Contains(t, out, c.want, c.text)
		assert.Contains(t, out, "Nothing was changed", c.text)
		assert.Equal(t, email("sec1"), h.delegation("mgr").Delegate, c.text)
	}

	out = h.command("eve", "/access", "delegate "+h.mention("mgr")+" off")
	assert.Contains(t, out, "for accessbot admins only")
	assert.NotNil(t, h.delegation("mgr"))
	out = h.command("admin", "/access", "delegate "+h.mention("mgr")+" off")
	assert.Contains(t, out, "Done: "+h.mention("mgr")+"'s delegation to "+h.mention("sec1")+" is removed")
	assert.Nil(t, h.delegation("mgr"))
	assert.Contains(t, h.command("admin", "/access", "help"), "/access delegate @person @colleague")
}

// publishHome puts a Home tab with the Delegate tasks Edit button in front
// of name, as the App Home does, through the Web API with the bot's token.
func (h *harness) publishHome(name string) fakeslack.View {
	h.t.Helper()
	api := slack.New(h.slack.BotToken(), slack.OptionAPIURL(h.slack.APIURL()))
	edit := slack.NewButtonBlockElement(blocks.ActDelegateEdit, "edit", slack.NewTextBlockObject(slack.PlainTextType, "Edit", false, false))
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Delegate tasks*", false, false), nil, slack.NewAccessory(edit)),
	}}}
	_, err := api.PublishViewContext(h.ctx, slack.PublishViewContextRequest{UserID: h.ids[name], View: home})
	require.NoError(h.t, err)
	v, ok := h.slack.HomeView(h.ids[name])
	require.True(h.t, ok)
	return v
}

func (h *harness) openDelegateModal(name string) fakeslack.View {
	h.t.Helper()
	home := h.publishHome(name)
	_, err := h.slack.ClickInView(h.ctx, h.ids[name], home.ID, blocks.ActDelegateEdit)
	require.NoError(h.t, err)
	var view fakeslack.View
	h.eventually("the delegate modal", func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids[name])
		return ok && view.CallbackID == blocks.CbDelegate
	})
	return view
}

func TestDelegateModalFromHome(t *testing.T) {
	t.Parallel()
	h, _ := setupClock(t)
	view := h.openDelegateModal("mgr")
	assert.Contains(t, view.AllText(), "You have no delegate")

	for _, c := range []struct {
		name  string
		in    fakeslack.Inputs
		block string
		want  string
	}{
		{"nobody chosen", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegatePermanent}}, blocks.BlockDelegateTo, "Choose the colleague"},
		{"yourself", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegatePermanent}, blocks.BlockDelegateTo: {h.ids["mgr"]}}, blocks.BlockDelegateTo, "own delegate"},
		{"a bot", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegatePermanent}, blocks.BlockDelegateTo: {h.ids["deploybot"]}}, blocks.BlockDelegateTo, "is a bot"},
		{"deactivated", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegatePermanent}, blocks.BlockDelegateTo: {h.ids["gone"]}}, blocks.BlockDelegateTo, "deactivated"},
		{"temporary without an end", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegateTemporary}, blocks.BlockDelegateTo: {h.ids["eve"]}}, blocks.BlockDelegateEnd, "needs its last day"},
		{"start before today", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegateTemporary}, blocks.BlockDelegateTo: {h.ids["eve"]},
			blocks.BlockDelegateStart: {"2026-11-20"}, blocks.BlockDelegateEnd: {"2026-11-30"}}, blocks.BlockDelegateStart, "before today"},
		{"end before start", fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegateTemporary}, blocks.BlockDelegateTo: {h.ids["eve"]},
			blocks.BlockDelegateStart: {"2026-12-10"}, blocks.BlockDelegateEnd: {"2026-12-01"}}, blocks.BlockDelegateEnd, "before the start date"},
	} {
		sub := h.submit("mgr", view, c.in)
		assert.Equal(t, "errors", sub.ResponseAction, c.name)
		assert.Contains(t, sub.Errors[c.block], c.want, c.name)
		assert.Nil(t, h.delegation("mgr"), c.name)
	}

	sub := h.submit("mgr", view, fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegateTemporary}, blocks.BlockDelegateTo: {h.ids["eve"]},
		blocks.BlockDelegateStart: {"2026-12-01"}, blocks.BlockDelegateEnd: {"2026-12-15"}})
	assert.Empty(t, sub.ResponseAction, "the modal closes")
	d := h.delegation("mgr")
	require.NotNil(t, d)
	assert.Equal(t, email("eve"), d.Delegate)
	assert.Equal(t, time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC), d.Ends)
	h.drained()
	assert.Equal(t, 1, h.dmsWith("eve", "made you their accessbot delegate"))

	// Opened again it shows the window and offers No delegate.
	view = h.openDelegateModal("mgr")
	mode, ok := view.Input(blocks.BlockDelegateMode)
	require.True(t, ok)
	assert.Contains(t, view.AllText(), "from Tue 1 Dec 2026 to Tue 15 Dec 2026 (UTC)")
	assert.Len(t, mode.Options, 3)
	sub = h.submit("mgr", view, fakeslack.Inputs{blocks.BlockDelegateMode: {blocks.DelegateOff}})
	assert.Empty(t, sub.ResponseAction)
	assert.Nil(t, h.delegation("mgr"))
	h.drained()
	assert.Equal(t, 1, h.dmsWith("eve", "no longer delegates"))
}

// TestDelegationWindowEndToEnd: a one-day window opens and closes under the
// fake clock; the scheduler's job runs twice at each instant and each DM
// arrives once; cards follow the delegation only while it is on.
func TestDelegationWindowEndToEnd(t *testing.T) {
	t.Parallel()
	h, clk := setupClock(t)
	out := h.command("mgr", "/delegate", h.mention("sec1")+" 2026-11-24 2026-11-24")
	assert.Contains(t, out, "will go to "+h.mention("sec1")+" from Tue 24 Nov 2026 to Tue 24 Nov 2026 (UTC)")
	before := h.request("alice", "github")
	assert.Equal(t, []string{email("mgr")}, before.PendingAssignees())

	sweep := func(want workflow.SwitchResult) {
		t.Helper()
		for i := range 2 {
			res, err := h.engine.SwitchDelegations(h.ctx)
			require.NoError(t, err)
			if i == 0 {
				assert.Equal(t, want, res)
			} else {
				assert.Equal(t, workflow.SwitchResult{}, res, "the second run does nothing")
			}
		}
		h.drained()
	}
	sweep(workflow.SwitchResult{})

	clk.Set(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	sweep(workflow.SwitchResult{Started: 1})
	assert.Equal(t, 1, h.dmsWith("mgr", "Your accessbot delegation to "+h.mention("sec1")+" has started"))
	assert.Equal(t, 1, h.dmsWith("sec1", h.mention("mgr")+"'s accessbot delegation to you has started"))
	assert.Equal(t, []string{email("mgr")}, h.task(before.ID).PendingAssignees(), "the earlier task did not move")
	// alice may have one open request per app: mgr, still its reviewer, closes it.
	h.click("mgr", h.card(before.ID, workflow.CardAssignee, "mgr", 0), "deny")
	h.eventually("denied", func() bool { return h.task(before.ID).Status == workflow.StatusDenied })
	during := h.request("alice", "github")
	assert.Equal(t, []string{email("sec1")}, during.PendingAssignees())
	card := h.card(during.ID, workflow.CardAssignee, "sec1", 0)
	assert.Contains(t, card.AllText(), "Delegated to you by "+h.mention("mgr"))

	clk.Set(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	sweep(workflow.SwitchResult{Ended: 1})
	assert.Equal(t, 1, h.dmsWith("mgr", "has ended"))
	assert.Equal(t, 1, h.dmsWith("sec1", "has ended"))
	assert.Equal(t, 1, h.dmsWith("mgr", "has started"), "still once")
	assert.Equal(t, 1, h.dmsWith("sec1", "has started"), "still once")
	assert.Equal(t, []string{email("sec1")}, h.task(during.ID).PendingAssignees(), "the delegated task stays with the delegate")
	h.click("sec1", card, "deny")
	h.eventually("denied", func() bool { return h.task(during.ID).Status == workflow.StatusDenied })
	after := h.request("alice", "github")
	assert.Equal(t, []string{email("mgr")}, after.PendingAssignees())
	assert.Nil(t, h.delegation("mgr"))
}
