package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// homeConfig is testConfig plus an app "bulk" with n resources, reviewed by
// the requester's manager and provisioned by hand by prov, so one person
// can have many requests open at once.
func homeConfig(n int) string {
	var b strings.Builder
	b.WriteString(testConfig)
	b.WriteString("  - id: bulk\n    provisioners: [group:sre]\n    request_policy: std\n    revocation_policy: revoke\n    default_duration: 1w\n    resources:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      - id: r%03d\n", i)
	}
	return b.String()
}

// requestMany has alice ask for n bulk resources and returns the tasks.
func (h *harness) requestMany(n int) []*workflow.Task { return h.requestResources("bulk", n) }

// requestResources has alice request resources r001…rNNN of app.
func (h *harness) requestResources(app string, n int) []*workflow.Task {
	h.t.Helper()
	var ts []*workflow.Task
	for i := 1; i <= n; i++ {
		task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: app,
			ResourceID: fmt.Sprintf("r%03d", i), Justification: "migration"})
		require.NoError(h.t, err)
		ts = append(ts, task)
	}
	return ts
}

// drained waits until the outbox has delivered everything; hundreds of
// cards at Slack's rates take longer than eventually's 30 s under -race.
func (h *harness) drained() {
	h.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		depth, _, err := h.db.OutboxStats(h.ctx)
		require.NoError(h.t, err)
		if depth == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the outbox still holds %d notices after 2 minutes", depth)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// home waits until name's Home satisfies cond and returns it.
func (h *harness) home(name, what string, cond func(fakeslack.View) bool) fakeslack.View {
	h.t.Helper()
	var v fakeslack.View
	h.eventually(name+"'s Home: "+what, func() bool {
		var ok bool
		v, ok = h.slack.HomeView(h.ids[name])
		return ok && cond(v)
	})
	return v
}

func has(s string) func(fakeslack.View) bool {
	return func(v fakeslack.View) bool { return strings.Contains(v.AllText(), s) }
}

func (h *harness) openHome(name string) fakeslack.View {
	h.t.Helper()
	before, _ := h.slack.HomeView(h.ids[name])
	_, err := h.slack.OpenHome(h.ctx, h.ids[name])
	require.NoError(h.t, err)
	return h.home(name, "published", func(v fakeslack.View) bool { return v.Hash != before.Hash })
}

func (h *harness) homeClick(name, action string) {
	h.t.Helper()
	v, ok := h.slack.HomeView(h.ids[name])
	require.True(h.t, ok)
	_, err := h.slack.ClickInView(h.ctx, h.ids[name], v.ID, action)
	require.NoError(h.t, err)
}

func (h *harness) homeClickRow(name string, task *workflow.Task, action string) {
	h.t.Helper()
	v, ok := h.slack.HomeView(h.ids[name])
	require.True(h.t, ok)
	block := blocks.BlockHomeRow + blocks.EncodeRef(task.ID, task.Revision)
	if action != blocks.ActHomeCancel {
		block = "home_act:" + blocks.EncodeRef(task.ID, task.Revision)
	}
	_, err := h.slack.ClickInViewBlock(h.ctx, h.ids[name], v.ID, block, action)
	require.NoError(h.t, err)
}

// rows lists the task numbers of a Home's rows, in order.
func rows(t testing.TB, v fakeslack.View) []int64 {
	var bs []struct {
		BlockID string `json:"block_id"`
	}
	require.NoError(t, json.Unmarshal(v.Blocks, &bs))
	var ids []int64
	for _, b := range bs {
		if ref, ok := strings.CutPrefix(b.BlockID, blocks.BlockHomeRow); ok {
			id, _, err := blocks.DecodeRef(ref)
			require.NoError(t, err)
			ids = append(ids, id)
		}
	}
	return ids
}

func meta(v fakeslack.View) blocks.HomeMeta { return blocks.DecodeHomeMeta(v.PrivateMetadata) }

func TestHomeTabsWithPaging(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, homeConfig(90), 90*time.Second)
	ts := h.requestMany(85)
	// 41 of them approved: mgr's Completed and prov's Awaiting provisioning
	// hold 41 (two pages).
	for _, task := range ts[:41] {
		_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr")})
		require.NoError(t, err)
	}
	// One revocation waiting on prov to deprovision.
	h.grant()
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("mgr"), Subject: email("alice"), AppID: "github", Reason: "left"})
	require.NoError(t, err)
	_, err = h.engine.Confirm(h.ctx, workflow.Decision{TaskID: rev.ID, Actor: email("sec1")})
	require.NoError(t, err)

	// Assigned to me: 44 left, oldest first, 40 a page.
	v := h.openHome("mgr")
	assert.Equal(t, blocks.HomeMeta{Tab: blocks.TabAssigned}, meta(v))
	assert.Contains(t, v.AllText(), "Assigned to me (44)")
	assert.Contains(t, v.AllText(), "Page 1 of 2")
	got := rows(t, v)
	require.Len(t, got, blocks.HomePageSize)
	assert.Equal(t, ts[41].ID, got[0], "oldest first")
	assert.Contains(t, v.AllText(), "Your delegate: nobody")
	_, hasPrev := v.FindAction(blocks.ActHomePrev)
	assert.False(t, hasPrev, "no Previous on the first page")

	h.homeClick("mgr", blocks.ActHomeNext)
	v = h.home("mgr", "page 2", has("Page 2 of 2"))
	assert.Equal(t, []int64{ts[81].ID, ts[82].ID, ts[83].ID, ts[84].ID}, rows(t, v))
	_, hasNext := v.FindAction(blocks.ActHomeNext)
	assert.False(t, hasNext, "no Next on the last page")
	h.homeClick("mgr", blocks.ActHomePrev)
	v = h.home("mgr", "back on page 1", has("Page 1 of 2"))
	assert.Len(t, rows(t, v), blocks.HomePageSize)

	// Completed: what mgr approved, newest first, two pages.
	h.homeClick("mgr", blocks.ActHomeTab+string(blocks.TabCompleted))
	v = h.home("mgr", "Completed", func(v fakeslack.View) bool { return meta(v).Tab == blocks.TabCompleted })
	assert.Contains(t, v.AllText(), "Page 1 of 2")
	got = rows(t, v)
	require.Len(t, got, blocks.HomePageSize)
	assert.Greater(t, got[0], got[1], "newest first")
	h.homeClick("mgr", blocks.ActHomeNext)
	v = h.home("mgr", "Completed page 2", has("Page 2 of 2"))
	assert.Len(t, rows(t, v), 42-blocks.HomePageSize, "41 approvals and the github grant")

	// Awaiting provisioning and deprovisioning, for prov.
	h.openHome("prov")
	h.homeClick("prov", blocks.ActHomeTab+string(blocks.TabProvisioning))
	v = h.home("prov", "Awaiting provisioning", func(v fakeslack.View) bool { return meta(v).Tab == blocks.TabProvisioning })
	assert.Contains(t, v.AllText(), "Page 1 of 2")
	_, ok := v.FindAction(blocks.ActProvisioned)
	assert.True(t, ok, "rows carry Provisioned")
	h.homeClick("prov", blocks.ActHomeNext)
	v = h.home("prov", "provisioning page 2", has("Page 2 of 2"))
	assert.Len(t, rows(t, v), 1)
	h.homeClick("prov", blocks.ActHomeTab+string(blocks.TabDeprovisioning))
	v = h.home("prov", "Awaiting deprovisioning", func(v fakeslack.View) bool { return meta(v).Tab == blocks.TabDeprovisioning })
	assert.Equal(t, []int64{rev.ID}, rows(t, v))
	_, ok = v.FindAction(blocks.ActDeprovisioned)
	assert.True(t, ok)
	assert.NotContains(t, v.AllText(), "Page 1", "one page needs no pager")

	// My requests: alice's 85 and the github one, newest first, three pages.
	h.openHome("alice")
	h.homeClick("alice", blocks.ActHomeTab+string(blocks.TabRequests))
	v = h.home("alice", "My requests", func(v fakeslack.View) bool { return meta(v).Tab == blocks.TabRequests })
	assert.Contains(t, v.AllText(), "Page 1 of 3")
	h.homeClick("alice", blocks.ActHomeNext)
	h.home("alice", "My requests page 2", has("Page 2 of 3"))
	h.homeClick("alice", blocks.ActHomeNext)
	v = h.home("alice", "My requests page 3", has("Page 3 of 3"))
	assert.Len(t, rows(t, v), 86-2*blocks.HomePageSize)

	// Opening the Home again keeps the tab and page it showed.
	v = h.openHome("alice")
	assert.Equal(t, blocks.HomeMeta{Tab: blocks.TabRequests, Page: 2}, meta(v))
}

func TestHomeCancelMyRequest(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.openHome("alice")
	h.homeClick("alice", blocks.ActHomeTab+string(blocks.TabRequests))
	v := h.home("alice", "My requests", func(v fakeslack.View) bool { return meta(v).Tab == blocks.TabRequests })
	require.Equal(t, []int64{task.ID}, rows(t, v))
	assert.Contains(t, v.AllText(), "Waiting on")

	h.homeClickRow("alice", h.task(task.ID), blocks.ActHomeCancel)
	v = h.home("alice", "the cancel answered", has("T-1 canceled."))
	assert.Equal(t, workflow.StatusCanceled, h.task(task.ID).Status)
	_, ok := v.FindAction(blocks.ActHomeCancel)
	assert.False(t, ok, "a canceled request has no Cancel")
	assert.Contains(t, v.AllText(), "Canceled by the requester")
	cards := h.settled(task.ID)
	assert.Zero(t, countActions(h, cards), "mgr's card lost its buttons")
}

func TestHomeRowButtonActsLikeTheCard(t *testing.T) {
	t.Parallel()
	h := setup(t)
	t1 := h.request("alice", "github")
	t2 := h.request("alice", "vpn")
	h.openHome("mgr")
	v := h.home("mgr", "T-1 listed", func(v fakeslack.View) bool { return len(rows(t, v)) == 1 })
	assert.Equal(t, []int64{t1.ID}, rows(t, v))

	h.homeClickRow("mgr", t1, blocks.ActApprove)
	v = h.home("mgr", "the approval answered", has("T-1 (github): you approved it."))
	assert.Empty(t, rows(t, v), "the task left Assigned to me")
	assert.Equal(t, 1, h.task(t1.ID).Step, "approved: on to provisioning")
	h.card(t1.ID, workflow.CardAssignee, "prov", 1)

	// A stale click: sec1's Home still shows T-2 when sec2 approves it.
	h.openHome("sec1")
	h.home("sec1", "T-2 listed", func(v fakeslack.View) bool { return len(rows(t, v)) == 1 })
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: t2.ID, Actor: email("sec2")})
	require.NoError(t, err)
	before := h.task(t2.ID)
	h.homeClickRow("sec1", t2, blocks.ActApprove)
	v = h.home("sec1", "the stale click answered", has("already approved by <@"+h.ids["sec2"]+">"))
	assert.Empty(t, rows(t, v), "the Home shows where things are")
	assert.Equal(t, before.Version, h.task(t2.ID).Version, "nothing changed")
}

func TestHomeRefreshIsDebounced(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, homeConfig(10), 45*time.Second)
	h.openHome("mgr")
	publishes := h.slack.Count("views.publish", "ok")

	h.requestMany(8) // a burst of eight changes for mgr
	v := h.home("mgr", "eight tasks", func(v fakeslack.View) bool { return len(rows(t, v)) == 8 })
	assert.Contains(t, v.AllText(), "Assigned to me (8)")
	h.drained()
	refreshes := h.slack.Count("views.publish", "ok") - publishes
	assert.GreaterOrEqual(t, refreshes, 1)
	assert.LessOrEqual(t, refreshes, 3, "a burst of eight changes coalesces into a few refreshes")
	_, ok := h.slack.HomeView(h.ids["sec1"])
	assert.False(t, ok, "a Home nobody opened is not published")
	t.Logf("8 task changes, %d Home refreshes", refreshes)
}

func TestBulkApprove200(t *testing.T) {
	t.Parallel()
	const n = 200
	h := setupConfig(t, homeConfig(n), 3*time.Minute)
	ts := h.requestMany(n)
	h.drained()
	// Slack's own limits from here on, at the bot's test speed (RateScale 100).
	h.slack.EnableRateLimits(100)

	h.openHome("mgr")
	v := h.home("mgr", "200 assigned", has(fmt.Sprintf("All %d in this tab", n)))
	// Without a selection the bar says what to do.
	h.homeClick("mgr", blocks.ActHomeBulk+string(workflow.ActionApprove))
	v = h.home("mgr", "nothing selected", has("Tick the tasks"))
	_, ok := h.slack.TopModal(h.ids["mgr"])
	require.False(t, ok, "no form without a selection")

	_, err := h.slack.SelectInViewBlock(h.ctx, h.ids["mgr"], v.ID, blocks.BlockHomeBar, blocks.ActHomeSelectAll, blocks.SelectAllValue)
	require.NoError(t, err)
	h.homeClick("mgr", blocks.ActHomeBulk+string(workflow.ActionApprove))
	var modal fakeslack.View
	h.eventually("the bulk form", func() bool {
		modal, ok = h.slack.TopModal(h.ids["mgr"])
		return ok
	})
	assert.Equal(t, "Approve 200 tasks", modal.Title)

	// While the form is open: alice cancels one task (it moves on) and mgr
	// hands another to sec1 from its card (it is no longer theirs).
	stale, given := ts[4], ts[6]
	_, err = h.engine.Cancel(h.ctx, workflow.AdminInput{TaskID: stale.ID, Actor: email("alice")})
	require.NoError(t, err)
	_, err = h.engine.Reassign(h.ctx, workflow.ReassignInput{TaskID: given.ID, Actor: email("mgr"), To: email("sec1"), Reason: "yours"})
	require.NoError(t, err)

	// The comment is required: Slack will not submit an empty one, and
	// blanks are refused.
	_, err = h.slack.Submit(h.ctx, h.ids["mgr"], modal.ID, fakeslack.Inputs{blocks.BlockComment: {""}})
	require.Error(t, err)
	sub := h.submit("mgr", modal, fakeslack.Inputs{blocks.BlockComment: {"   "}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockComment], "Write a comment")
	assert.Equal(t, workflow.StatusOpen, h.task(ts[0].ID).Status, "nothing changed")

	sub = h.submit("mgr", modal, fakeslack.Inputs{blocks.BlockComment: {"Quarterly migration, all checked"}})
	assert.Equal(t, "update", sub.ResponseAction, "the form shows the work at once")
	h.eventually("the result", func() bool {
		modal, ok = h.slack.TopModal(h.ids["mgr"])
		return ok && strings.Contains(modal.AllText(), "198 of 200")
	})
	text := modal.AllText()
	assert.Contains(t, text, "2 left as they were")
	assert.Contains(t, text, fmt.Sprintf("T-%d* — moved on", stale.ID))
	assert.Contains(t, text, fmt.Sprintf("T-%d* — not yours any more", given.ID))
	t.Logf("result: %s", text)

	// Every task decided with the comment, every card of every task updated.
	h.drained()
	for _, task := range ts {
		got := h.task(task.ID)
		switch task.ID {
		case stale.ID:
			assert.Equal(t, workflow.StatusCanceled, got.Status)
			continue
		case given.ID:
			assert.Equal(t, []string{email("sec1")}, got.PendingAssignees())
			continue
		}
		require.Equal(t, 1, got.Step, "T-%d approved", task.ID)
		assert.Equal(t, "Quarterly migration, all checked", got.Steps[0].Comment)
	}
	for _, task := range ts {
		got := h.task(task.ID)
		cards, err := h.db.Cards(h.ctx, task.ID)
		require.NoError(t, err)
		for _, c := range cards {
			require.Equal(t, got.Revision, c.Revision, "T-%d %s card of %s is up to date", task.ID, c.Role, c.Email)
			if c.Email == email("mgr") && task.ID != given.ID {
				assert.Empty(t, decisions(h.msg(c)), "mgr's card of T-%d lost its buttons", task.ID)
			}
		}
	}
	h.home("mgr", "the Home refreshed", func(v fakeslack.View) bool { return len(rows(t, v)) == 0 })
	for _, m := range []string{"chat.update", "views.publish", "views.update", "views.open", "conversations.open"} {
		assert.Zero(t, h.slack.Count(m, "ratelimited"), "%s stayed within Slack's limits", m)
	}
	// Posts are paced per channel at 1/s (here every 11 ms): scheduling
	// jitter at that speed can bunch two posts, which Slack answers with a
	// 429 that the bot waits out and retries. Without the pacing, hundreds
	// of posts would be refused.
	limited, posted := h.slack.Count("chat.postMessage", "ratelimited"), h.slack.Count("chat.postMessage", "ok")
	assert.LessOrEqual(t, limited*100, posted, "at most 1%% of posts hit the limit")
	t.Logf("chat.postMessage 429s (retried): %d of %d; calls: %v", limited, posted, h.slack.Counts())
}

func TestBulkDenyTickedRows(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, homeConfig(3), 45*time.Second)
	ts := h.requestMany(3)
	h.openHome("mgr")
	v := h.home("mgr", "three rows", func(v fakeslack.View) bool { return len(rows(t, v)) == 3 })
	_, hasConfirm := v.FindAction(blocks.ActHomeBulk + string(workflow.ActionConfirm))
	assert.False(t, hasConfirm, "no Confirm without a revocation in the tab")
	for _, task := range []*workflow.Task{ts[0], ts[2]} {
		ref := blocks.EncodeRef(task.ID, task.Revision)
		_, err := h.slack.SelectInViewBlock(h.ctx, h.ids["mgr"], v.ID, blocks.BlockHomeRow+ref, blocks.ActHomeSelect, ref)
		require.NoError(t, err)
	}
	h.homeClick("mgr", blocks.ActHomeBulk+string(workflow.ActionDeny))
	var modal fakeslack.View
	h.eventually("the bulk form", func() bool {
		var ok bool
		modal, ok = h.slack.TopModal(h.ids["mgr"])
		return ok
	})
	assert.Equal(t, "Deny 2 tasks", modal.Title)
	assert.Contains(t, modal.AllText(), "T-1, T-3")
	sub := h.submit("mgr", modal, fakeslack.Inputs{blocks.BlockComment: {"Not for this project"}})
	assert.Equal(t, "update", sub.ResponseAction)
	h.eventually("the result", func() bool {
		m, ok := h.slack.TopModal(h.ids["mgr"])
		return ok && strings.Contains(m.AllText(), "2 of 2")
	})
	assert.Equal(t, workflow.StatusDenied, h.task(ts[0].ID).Status)
	assert.Equal(t, workflow.StatusOpen, h.task(ts[1].ID).Status, "an unticked row is left alone")
	assert.Equal(t, workflow.StatusDenied, h.task(ts[2].ID).Status)
	h.home("mgr", "one row left", func(v fakeslack.View) bool { return len(rows(t, v)) == 1 })
	for _, task := range []*workflow.Task{ts[0], ts[2]} {
		for _, c := range h.settled(task.ID) {
			if c.Role == workflow.CardRequester {
				assert.Contains(t, h.msg(c).AllText(), "Not for this project", "alice reads why on her card")
			}
		}
	}
}

func TestHomeDetailsButtonOpensTheTask(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.openHome("mgr")
	h.home("mgr", "T-1 listed", func(v fakeslack.View) bool { return len(rows(t, v)) == 1 })
	h.homeClickRow("mgr", task, blocks.ActDetails)
	h.eventually("the details modal", func() bool {
		m, ok := h.slack.TopModal(h.ids["mgr"])
		return ok && strings.Contains(m.AllText(), "on call this week")
	})
}
