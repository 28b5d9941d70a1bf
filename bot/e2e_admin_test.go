package bot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// topModal waits until name's top modal is one with callback id cb.
func (h *harness) topModal(name, cb string) fakeslack.View {
	h.t.Helper()
	var view fakeslack.View
	h.eventually("a "+cb+" modal for "+name, func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids[name])
		return ok && view.CallbackID == cb
	})
	return view
}

// commandModal types a command that answers with a modal and returns it.
func (h *harness) commandModal(name, text string) fakeslack.View {
	h.t.Helper()
	d, err := h.slack.Command(h.ctx, h.ids[name], h.slack.DMChannel(h.ids[name]), "/access", text)
	require.NoError(h.t, err)
	require.Empty(h.t, string(d.Ack.Payload))
	return h.topModal(name, blocks.CbAdminConfirm)
}

// TestAdminCommandsRefusedForNonAdmins: every admin subcommand answers a
// non-admin with a refusal, logs the attempt and changes nothing.
func TestAdminCommandsRefusedForNonAdmins(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.settled(task.ID)
	before := h.task(task.ID)
	for _, text := range []string{"process-now T-1", "cancel T-1", "delete T-1", "restart T-1", "hard-reset T-1",
		"change-policy T-1 pair", "skip-step T-1", "stuck", "reload"} {
		out := h.command("mgr", "/access", text)
		sub := strings.Fields(text)[0]
		assert.Contains(t, out, "`/access "+sub+"` is for accessbot admins only", text)
		assert.Contains(t, out, "nothing was changed", text)
		assert.Contains(t, h.logs.String(), `"sub":"`+sub+`"`, "the attempt is logged")
	}
	assert.Equal(t, strings.Count(h.logs.String(), "admin command refused: not an admin"), 9)
	assert.Equal(t, before.Version, h.task(task.ID).Version, "nothing changed")
	_, open := h.slack.TopModal(h.ids["mgr"])
	assert.False(t, open, "no confirmation for a non-admin")

	help := h.command("admin", "/access", "help")
	assert.Contains(t, help, "Admin subcommands")
	assert.Contains(t, help, "/access hard-reset T-12")
	assert.NotContains(t, h.command("mgr", "/access", "help"), "hard-reset")
}

func TestAdminBadInputIsRefused(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.settled(task.ID)
	before := h.task(task.ID)
	tests := []struct{ text, want string }{
		{"cancel", "Say which task"},
		{"cancel T-x", `"T-x" is not a task number`},
		{"delete T-99", "T-99"},
		{"skip-step 0", "is not a task number"},
		{"change-policy T-1", "Say which policy"},
		{"change-policy T-1 pair", "is an access request; its policy comes from its app"},
	}
	for _, tt := range tests {
		out := h.command("admin", "/access", tt.text)
		assert.Contains(t, out, tt.want, tt.text)
		assert.Contains(t, out, "Nothing was changed", tt.text)
	}
	_, open := h.slack.TopModal(h.ids["admin"])
	assert.False(t, open, "a refused operation opens no confirmation")
	assert.Equal(t, before.Version, h.task(task.ID).Version)
}

func TestAdminCancelRestartProcessNow(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)

	out := h.command("admin", "/access", "cancel T-1 asked twice")
	assert.Contains(t, out, "*T-1* was canceled")
	assert.Equal(t, workflow.StatusCanceled, h.task(task.ID).Status)
	cards := h.settled(task.ID)
	assert.Zero(t, countActions(h, cards), "every card lost its buttons")

	out = h.command("admin", "/access", "cancel T-1")
	assert.Contains(t, out, "already canceled; there is nothing to cancel", "senseless in this state")

	out = h.command("admin", "/access", "restart T-1")
	assert.Contains(t, out, "*T-1* was restarted")
	assert.Contains(t, out, "Waiting on")
	got := h.task(task.ID)
	assert.Equal(t, workflow.StatusOpen, got.Status)
	assert.Equal(t, []string{email("mgr")}, got.PendingAssignees())
	h.settled(task.ID)

	out = h.command("admin", "/access", "process-now T-1")
	assert.Contains(t, out, "*T-1* was processed again")
	last := h.events(task.ID)
	assert.Equal(t, workflow.ActProcessedNow, last[len(last)-1].Action)
}

// TestStuckAndProcessNowButton: carol's manager is missing in Slack, so
// her task stops; the stuck list shows it with the reason, and Process now
// (once the manager has joined) gets it moving.
func TestStuckAndProcessNowButton(t *testing.T) {
	t.Parallel()
	h := setup(t)
	assert.Contains(t, h.command("admin", "/access", "stuck"), "No task is stuck")

	task := h.request("carol", "github")
	h.eventually("task in error", func() bool { return h.task(task.ID).Status == workflow.StatusError })
	h.settled(task.ID)

	out := h.command("admin", "/access", "stuck")
	assert.Contains(t, out, "1 task needs an admin")
	assert.Contains(t, out, "T-1")
	assert.Contains(t, out, "ghost@example.com", "the reason names who is missing")
	eph := h.slack.Ephemerals(h.ids["admin"])
	list := eph[len(eph)-1]
	_, ok := list.FindAction(blocks.ActAdminProcessNow)
	require.True(t, ok, "a Process now button: %s", list.AllText())

	ghost := h.slack.AddUser(fakeslack.User{ID: "U0000000Z", Name: "ghost", Email: email("ghost")})
	n := len(h.slack.Ephemerals(h.ids["admin"]))
	h.click("admin", list, blocks.ActAdminProcessNow)
	h.eventually("the answer", func() bool { return len(h.slack.Ephemerals(h.ids["admin"])) > n })
	assert.Contains(t, h.ephemeralText("admin"), "*T-1* was processed again")
	h.eventually("ghost's card", func() bool {
		for _, m := range h.slack.DMs(ghost.ID) {
			if _, ok := m.FindAction("approve"); ok {
				return true
			}
		}
		return false
	})
	assert.Equal(t, workflow.StatusOpen, h.task(task.ID).Status)
	assert.Contains(t, h.command("admin", "/access", "stuck"), "No task is stuck")
}

func TestRemindCommand(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	dms := len(h.slack.DMs(h.ids["mgr"]))

	assert.Contains(t, h.command("eve", "/access", "remind T-1"), "not involved in T-1")
	out := h.command("alice", "/access", "remind T-1")
	assert.Contains(t, out, "Reminder sent for *T-1* to <@"+h.ids["mgr"]+">")
	h.eventually("mgr's reminder", func() bool { return len(h.slack.DMs(h.ids["mgr"])) > dms })
	assert.Contains(t, h.command("alice", "/access", "remind T-1"), "the next reminder can go at")
	assert.Contains(t, h.command("alice", "/access", "remind"), "Say which task")
	assert.Equal(t, 1, remindedEvents(h, task.ID), "one reminder, audited")
}

// TestDestructiveCommandsAskFirst: delete, skip-step and change-policy
// open a confirmation that names what will happen; closing it changes
// nothing, submitting it applies the operation and answers.
func TestDestructiveCommandsAskFirst(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	mgrCard := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	before := h.task(task.ID)
	nEvents := len(h.events(task.ID))

	// Skip step: cancel the confirmation first.
	view := h.commandModal("admin", "skip-step T-1 reviewed on the phone")
	assert.Contains(t, view.AllText(), "Step 1 (review) of *T-1*")
	assert.Contains(t, view.AllText(), "treated as done")
	assert.Contains(t, view.AllText(), "Afterwards:")
	_, err := h.slack.CloseView(h.ctx, h.ids["admin"], view.ID)
	require.NoError(t, err)
	assert.Equal(t, before.Version, h.task(task.ID).Version, "closing the confirmation changes nothing")
	assert.Len(t, h.events(task.ID), nEvents)

	view = h.commandModal("admin", "skip-step T-1 reviewed on the phone")
	n := len(h.slack.Ephemerals(h.ids["admin"]))
	sub := h.submit("admin", view, nil)
	assert.Empty(t, sub.ResponseAction, "the confirmation closes")
	got := h.task(task.ID)
	assert.Equal(t, 1, got.Step)
	h.eventually("the answer", func() bool { return len(h.slack.Ephemerals(h.ids["admin"])) > n })
	assert.Contains(t, h.ephemeralText("admin"), "the step was skipped")
	evs := h.events(task.ID)
	var skipped *workflow.AuditEvent
	for i := range evs {
		if evs[i].Action == workflow.ActStepSkipped {
			skipped = &evs[i]
		}
	}
	require.NotNil(t, skipped)
	assert.Equal(t, "reviewed on the phone", skipped.Comment, "the reason reaches the audit log")
	h.card(task.ID, workflow.CardAssignee, "prov", 1)

	// A confirmation whose task moved on meanwhile is refused.
	view = h.commandModal("admin", "skip-step T-1")
	_, err = h.engine.MarkProvisioned(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("prov")})
	require.NoError(t, err)
	sub = h.submit("admin", view, nil)
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockAdminReason], "Nothing was changed")
	_, err = h.slack.CloseView(h.ctx, h.ids["admin"], view.ID)
	require.NoError(t, err)
	assert.Contains(t, h.command("admin", "/access", "skip-step T-1"), "has no step to skip")

	// Delete.
	view = h.commandModal("admin", "delete T-1")
	assert.Contains(t, view.AllText(), "will be *deleted*")
	_, err = h.slack.CloseView(h.ctx, h.ids["admin"], view.ID)
	require.NoError(t, err)
	h.task(task.ID)
	view = h.commandModal("admin", "delete T-1 test data")
	h.submit("admin", view, nil)
	_, err = h.engine.Task(h.ctx, task.ID)
	assert.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	h.eventually("the answer", func() bool { return strings.Contains(h.ephemeralText("admin"), "*T-1* was deleted") })
	h.eventually("cards say deleted", func() bool {
		m, _ := h.slack.Message(mgrCard.Channel, mgrCard.TS)
		return strings.Contains(m.Text, "was deleted by an admin")
	})
}

func TestChangePolicyOfARevocation(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.grant()
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("mgr"), Subject: email("alice"), AppID: "github", Reason: "left"})
	require.NoError(t, err)
	h.card(rev.ID, workflow.CardAssignee, "sec1", 0)
	h.settled(rev.ID)

	ref := fmt.Sprintf("T-%d", rev.ID)
	out := h.command("admin", "/access", "change-policy "+ref+" nosuch")
	assert.Contains(t, out, `There is no policy "nosuch". Policies: pair, revoke, std.`, "the known policies are listed")

	view := h.commandModal("admin", "change-policy "+ref+" pair")
	assert.Contains(t, view.AllText(), "_pair_ (revocation review → deprovisioning) instead of _revoke_")
	sub := h.submit("admin", view, fakeslack.Inputs{blocks.BlockAdminReason: {"no deprovisioning needed"}})
	assert.Empty(t, sub.ResponseAction)
	got := h.task(rev.ID)
	assert.Equal(t, "pair", got.Policy.Name)
	assert.Len(t, got.Policy.Steps, 2, "github is provisioned by hand: the deprovision step is added")
	h.eventually("the answer", func() bool { return strings.Contains(h.ephemeralText("admin"), "now runs policy _pair_") })
	h.settled(rev.ID)
}

// TestDetailsAdminMenu: an admin's Details modal has the admin menu; a
// destructive pick pushes a confirmation (closing it changes nothing), the
// others run at once; each shows what it did and refreshes the Details.
func TestDetailsAdminMenu(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr")})
	require.NoError(t, err)
	chanCard := h.card(task.ID, workflow.CardChannel, "", 1)
	h.settled(task.ID)

	h.click("prov", chanCard, blocks.ActDetails)
	eveView := h.topModal("prov", blocks.CbDetails)
	_, ok := eveView.FindAction(blocks.ActAdminMenu)
	assert.False(t, ok, "no admin menu for a non-admin")

	h.click("admin", chanCard, blocks.ActDetails)
	details := h.topModal("admin", blocks.CbDetails)
	cur := h.task(task.ID)
	pick := func(op string) {
		_, err := h.slack.SelectInView(h.ctx, h.ids["admin"], details.ID, blocks.ActAdminMenu, blocks.EncodeOption(op, task.ID, cur.Revision))
		require.NoError(t, err)
	}

	pick(string(workflow.OpSkipStep))
	confirm := h.topModal("admin", blocks.CbAdminConfirm)
	assert.Len(t, h.slack.ModalStack(h.ids["admin"]), 2, "the confirmation is pushed over the Details")
	assert.Contains(t, confirm.AllText(), "It is the last step, so the task completes")
	_, err = h.slack.CloseView(h.ctx, h.ids["admin"], confirm.ID)
	require.NoError(t, err)
	assert.Equal(t, cur.Version, h.task(task.ID).Version, "closing the confirmation changes nothing")

	pick(string(workflow.OpProcessNow))
	done := h.topModal("admin", blocks.CbAdminDone)
	assert.Contains(t, done.AllText(), "was processed again")
	_, err = h.slack.CloseView(h.ctx, h.ids["admin"], done.ID)
	require.NoError(t, err)
	cur = h.task(task.ID)

	pick(string(workflow.OpSkipStep))
	confirm = h.topModal("admin", blocks.CbAdminConfirm)
	sub := h.submit("admin", confirm, fakeslack.Inputs{blocks.BlockAdminReason: {"done by hand"}})
	assert.Equal(t, "update", sub.ResponseAction)
	result := h.topModal("admin", blocks.CbAdminDone)
	assert.Contains(t, result.AllText(), "the step was skipped")
	assert.Equal(t, workflow.StatusDone, h.task(task.ID).Status)
	refreshed, ok := h.slack.View(details.ID)
	require.True(t, ok)
	assert.Contains(t, refreshed.AllText(), "skipped step 2", "the Details modal shows the new history")
	cards := h.settled(task.ID)
	assert.Zero(t, countActions(h, cards), "every card of the task was updated")
}

// TestReloadKeepsRunningTasksOnTheirPolicy: a good file is put in force
// (new tasks use it, running ones keep their snapshot until a hard reset);
// a broken file is refused with its problems and changes nothing.
func TestReloadKeepsRunningTasksOnTheirPolicy(t *testing.T) {
	t.Parallel()
	h := setup(t)
	path := filepath.Join(t.TempDir(), "accessbot.yaml")
	h.stopBot()
	h.reload = func(ctx context.Context, actor string) (string, error) {
		cat, err := config.Load(path)
		if err != nil {
			return "", fmt.Errorf("%s:\n%w", path, err)
		}
		h.engine.SetCatalog(cat)
		return config.Summary(cat), nil
	}
	h.startBot()
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)

	// std now asks the security group rather than the manager.
	changed := strings.Replace(testConfig, "        approvers: [manager]\n        reassign: [group:security]", "        approvers: [group:security]", 1)
	require.NotEqual(t, testConfig, changed)
	require.NoError(t, os.WriteFile(path, []byte(changed), 0o600))
	out := h.command("admin", "/access", "reload")
	assert.Contains(t, out, "Configuration reloaded: 2 apps")
	assert.Equal(t, []string{email("mgr")}, h.task(task.ID).PendingAssignees(), "a running task keeps its policy")
	fresh := h.request("carol", "github")
	assert.ElementsMatch(t, []string{email("sec1"), email("sec2")}, h.task(fresh.ID).PendingAssignees(), "new tasks use the new policy")

	view := h.commandModal("admin", "hard-reset T-1")
	assert.Contains(t, view.AllText(), "as configured now")
	// sec1 and sec2 are named by mention once the bot has looked them up
	// (the fresh task's cards may be delivered before the modal is drawn),
	// by email before.
	person := func(name string) string { return "(" + name + "@|<@" + h.ids[name] + ">)" }
	assert.Regexp(t, `Afterwards: .*Waiting on .*`+person("sec1")+`.* and .*`+person("sec2"), view.AllText(), "the confirmation says who will be asked")
	h.submit("admin", view, nil)
	assert.ElementsMatch(t, []string{email("sec1"), email("sec2")}, h.task(task.ID).PendingAssignees(), "hard reset applies the new policy")

	// A broken file: nothing changes.
	running := h.engine.Catalog()
	broken := strings.Replace(changed, "request_policy: std", "request_policy: nosuch", 1)
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o600))
	out = h.command("admin", "/access", "reload")
	assert.Contains(t, out, "*not* reloaded")
	assert.Contains(t, out, `apps[0].request_policy: unknown policy "nosuch"`)
	assert.Same(t, running, h.engine.Catalog(), "the configuration loaded before keeps running")
}
