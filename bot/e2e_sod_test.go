package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// sodConfig: vault needs all of security (sec1, sec2, sec3) in all mode;
// github is reviewed by the manager, then by security (any); pager has an
// emergency policy (security) and owner mgr; revocations are reviewed by
// security. admin's and eve's manager is mgr. Two admins.
const sodConfig = `
admins: [admin@example.com, admin2@example.com]
emergency_channel: C0ACCESS01
people:
  - email: alice@example.com
    manager: mgr@example.com
  - email: eve@example.com
    manager: mgr@example.com
  - email: admin@example.com
    manager: mgr@example.com
  - email: mgr@example.com
  - email: sec1@example.com
  - email: sec2@example.com
  - email: sec3@example.com
  - email: prov@example.com
  - email: admin2@example.com
groups:
  security: [sec1@example.com, sec2@example.com, sec3@example.com]
  sre: [prov@example.com]
policies:
  all:
    steps:
      - type: review
        approvers: [group:security]
        mode: all
  two:
    steps:
      - type: review
        approvers: [manager]
      - type: review
        approvers: [group:security]
  std:
    steps:
      - type: review
        approvers: [manager]
  glass:
    steps:
      - type: review
        approvers: [group:security]
  revoke:
    steps:
      - type: review
        approvers: [group:security]
apps:
  - id: vault
    provisioning: none
    request_policy: all
    revocation_policy: revoke
    default_duration: 1d
  - id: github
    provisioners: [group:sre]
    channel: C0ACCESS01
    request_policy: two
    revocation_policy: revoke
    default_duration: 8h
    max_duration: 4w
  - id: pager
    provisioning: none
    owners: [user:mgr@example.com]
    request_policy: std
    revocation_policy: revoke
    emergency_policy: glass
    default_duration: 1w
    max_duration: 4w
`

func setupSoD(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	o.config = sodConfig
	o.users = append(o.users,
		fakeslack.User{ID: "U0000000S", Name: "sec3", Email: email("sec3")},
		fakeslack.User{ID: "U0000000T", Name: "admin2", Email: email("admin2")})
	return setupWith(t, o)
}

// forge pushes a block_actions payload as Slack would send it for a click
// by name on the message, with any value: what an attacker controls.
func (h *harness) forge(name string, m fakeslack.Message, actionID, typ, value string) {
	h.t.Helper()
	act := map[string]any{"action_id": actionID, "block_id": "forged", "type": typ, "action_ts": "1.0"}
	if typ == "overflow" {
		act["selected_option"] = map[string]any{"value": value, "text": map[string]any{"type": "plain_text", "text": "x"}}
	} else {
		act["value"] = value
	}
	p := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": h.ids[name]}, "trigger_id": "1.forged",
		"container": map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel},
		"channel":   map[string]any{"id": m.Channel}, "actions": []any{act},
	}
	raw, err := json.Marshal(p)
	require.NoError(h.t, err)
	id, err := h.slack.Push("interactive", json.RawMessage(raw))
	require.NoError(h.t, err)
	_, err = h.slack.WaitAck(h.ctx, id)
	require.NoError(h.t, err)
}

func (h *harness) waitEphemeral(name, want string) {
	h.t.Helper()
	h.eventually(name+"'s answer "+want, func() bool { return strings.Contains(h.ephemeralText(name), want) })
}

func (h *harness) adminEvents() []workflow.AuditEvent {
	h.t.Helper()
	var evs []workflow.AuditEvent
	require.NoError(h.t, h.db.View(h.ctx, func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(0)
		return err
	}))
	return evs
}

// grantVault makes name's vault access active: every other security
// member approves.
func (h *harness) grantVault(name string) *workflow.Task {
	h.t.Helper()
	task := h.request(name, "vault")
	for _, p := range task.PendingAssignees() {
		_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: p})
		require.NoError(h.t, err)
	}
	require.Equal(h.t, workflow.StatusDone, h.task(task.ID).Status)
	return task
}

// TestSubjectNeverActsOnTheirOwnRevocation: the person whose access is
// being revoked is never assigned (through a group, a delegation or a
// reassignment) and every decision of theirs is refused.
func TestSubjectNeverActsOnTheirOwnRevocation(t *testing.T) {
	t.Parallel()
	h := setupSoD(t, harnessOptions{})
	h.grantVault("sec1")
	// sec3 delegates to sec1: the revocation must not follow it.
	_, err := h.engine.SetDelegation(h.ctx, workflow.DelegateInput{Actor: email("sec3"), Delegate: email("sec1")})
	require.NoError(t, err)
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("admin"), Subject: email("sec1"), AppID: "vault", Reason: "left the team"})
	require.NoError(t, err)
	assert.Equal(t, []string{email("sec2"), email("sec3")}, rev.PendingAssignees(), "the subject is not a reviewer, not even as a delegate")

	sec2Card := h.card(rev.ID, workflow.CardAssignee, "sec2", 0)
	h.settled(rev.ID)
	// sec1 forges a Deny on sec2's card.
	h.forge("sec1", sec2Card, blocks.ActDeny, "button", blocks.EncodeRef(rev.ID, h.task(rev.ID).Revision))
	// The refusal goes to the log (an ephemeral in sec2's DM cannot reach sec1).
	h.eventually("the refusal", func() bool {
		return strings.Contains(h.logs.String(), "T-2 is about your own access, so you cannot act on it")
	})
	assert.Equal(t, workflow.StatusOpen, h.task(rev.ID).Status)
	assert.Equal(t, []string{email("sec2"), email("sec3")}, h.task(rev.ID).PendingAssignees())

	// sec2 tries to hand the review to sec1.
	h.click("sec2", sec2Card, blocks.ActReassign)
	view := h.topModal("sec2", blocks.CbReassign)
	sub := h.submit("sec2", view, fakeslack.Inputs{blocks.BlockReassignTo: {h.ids["sec1"]}, blocks.BlockReason: {"ask them"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockReassignTo], "own access")
	assert.Equal(t, []string{email("sec2"), email("sec3")}, h.task(rev.ID).PendingAssignees(), "nothing changed")
}

// TestAllModeNeedsDistinctPeople: after sec1 approves, sec2 cannot hand
// their part to sec1; a delegation to a co-approver stays with the
// delegator; the step passes only on three different approvals.
func TestAllModeNeedsDistinctPeople(t *testing.T) {
	t.Parallel()
	h := setupSoD(t, harnessOptions{})
	// sec3 delegates to co-approver sec2.
	_, err := h.engine.SetDelegation(h.ctx, workflow.DelegateInput{Actor: email("sec3"), Delegate: email("sec2")})
	require.NoError(t, err)
	task := h.request("alice", "vault")
	assert.Equal(t, []string{email("sec1"), email("sec2"), email("sec3")}, task.PendingAssignees(), "three distinct people")

	c1 := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	h.click("sec1", c1, blocks.ActApprove)
	h.eventually("sec1's approval", func() bool { return len(h.task(task.ID).PendingAssignees()) == 2 })
	h.settled(task.ID)

	c2 := h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	h.click("sec2", c2, blocks.ActReassign)
	view := h.topModal("sec2", blocks.CbReassign)
	sub := h.submit("sec2", view, fakeslack.Inputs{blocks.BlockReassignTo: {h.ids["sec1"]}, blocks.BlockReason: {"they know it"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockReassignTo], "already decided on this step")
	got := h.task(task.ID)
	assert.Equal(t, workflow.StatusOpen, got.Status)
	assert.Equal(t, []string{email("sec2"), email("sec3")}, got.PendingAssignees())

	for _, p := range []string{"sec2", "sec3"} {
		_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email(p)})
		require.NoError(t, err)
	}
	done := h.task(task.ID)
	require.Equal(t, workflow.StatusDone, done.Status)
	seen := map[string]bool{}
	for _, a := range done.Steps[0].Assignees {
		if a.State == workflow.AssignApproved {
			assert.False(t, seen[a.Email], "%s approved twice", a.Email)
			seen[a.Email] = true
		}
	}
	assert.Len(t, seen, 3)
}

// TestAdminCannotPushTheirOwnRequestThrough: skip-step on a task the admin
// asked for is refused with another admin named, and the refusal is on the
// admin chain; the other admin may.
func TestAdminCannotPushTheirOwnRequestThrough(t *testing.T) {
	t.Parallel()
	h := setupSoD(t, harnessOptions{})
	task := h.request("admin", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)
	before := h.task(task.ID)

	out := h.command("admin", "/access", "skip-step T-1 trust me")
	assert.Contains(t, out, "You asked for T-1")
	assert.Contains(t, out, "admin2@example.com", "another admin is named")
	got := h.task(task.ID)
	assert.Equal(t, before.Step, got.Step)
	assert.Equal(t, before.Version, got.Version, "nothing changed")
	var refused *workflow.AuditEvent
	for _, ev := range h.adminEvents() {
		if ev.Action == workflow.ActAdminRefused {
			refused = &ev
		}
	}
	require.NotNil(t, refused, "the refusal is recorded")
	assert.Equal(t, email("admin"), refused.Actor)
	assert.Equal(t, "T-1", refused.Details["task"])
	assert.Equal(t, workflow.ActStepSkipped, refused.Details["action"])

	_, err := h.engine.SkipStep(h.ctx, workflow.AdminInput{TaskID: task.ID, Actor: email("admin2"), Reason: "approved by phone"})
	require.NoError(t, err, "another admin may")
	assert.Equal(t, 1, h.task(task.ID).Step)
}

// TestApprovedDurationIsNotRaised: after mgr approves 8h, the security
// reviewer may lower the duration but not raise it, and the card says so.
func TestApprovedDurationIsNotRaised(t *testing.T) {
	t.Parallel()
	h := setupSoD(t, harnessOptions{})
	task := h.request("alice", "github")
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr")})
	require.NoError(t, err)
	h.card(task.ID, workflow.CardAssignee, "sec1", 1)
	h.settled(task.ID)
	card := h.msg(h.cardOf(task.ID, "sec1", 1))
	assert.Contains(t, card.AllText(), "it can be lowered, not raised")

	view := h.overflow("sec1", card, blocks.OptEditDuration, h.task(task.ID))
	assert.Contains(t, view.AllText(), "raising it past 8h is refused")
	sub := h.submit("sec1", view, fakeslack.Inputs{blocks.BlockDuration: {"4w"}})
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors[blocks.BlockDuration], "mgr@example.com approved T-1 for 8h")
	assert.Equal(t, 8*time.Hour, h.task(task.ID).Duration, "nothing changed")
	sub = h.submit("sec1", view, fakeslack.Inputs{blocks.BlockDuration: {"4h"}})
	assert.Empty(t, sub.ResponseAction, "lowering keeps the approval")
	got := h.task(task.ID)
	assert.Equal(t, 4*time.Hour, got.Duration)
	assert.Equal(t, 1, got.Step)
}

// cardOf is the stored card of name's assignee card on step.
func (h *harness) cardOf(id int64, name string, step int) workflow.Card {
	h.t.Helper()
	cards, err := h.db.Cards(h.ctx, id)
	require.NoError(h.t, err)
	for _, c := range cards {
		if c.Role == workflow.CardAssignee && c.Email == email(name) && c.Step == step {
			return c
		}
	}
	h.t.Fatalf("no card of %s on step %d", name, step)
	return workflow.Card{}
}

// TestEmergencyIsControlled: an emergency request tells every admin and the
// emergency channel at once, is capped to 24h, and its grant opens a
// follow-up review for the app's owner; an open request is declared an
// emergency by its requester from their card.
func TestEmergencyIsControlled(t *testing.T) {
	t.Parallel()
	h := setupSoD(t, harnessOptions{})
	_, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: "pager", Justification: "prod down", Emergency: true, Duration: 7 * 24 * time.Hour})
	require.Error(t, err, "past the emergency cap")
	assert.Contains(t, workflow.ErrorMessage(err), "lasts at most 1d")
	task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: "pager", Justification: "prod down <!channel>", Emergency: true})
	require.NoError(t, err)
	assert.Equal(t, 24*time.Hour, task.Duration, "the default is capped")
	for _, a := range []string{"admin", "admin2"} {
		h.eventually(a+"'s emergency DM", func() bool {
			for _, m := range h.slack.DMs(h.ids[a]) {
				if strings.Contains(m.Text, "Emergency request T-1") {
					return true
				}
			}
			return false
		})
	}
	h.eventually("the emergency channel post", func() bool {
		for _, m := range h.slack.Messages("C0ACCESS01") {
			if strings.Contains(m.Text, "Emergency request T-1") {
				assert.NotContains(t, m.Text, "<!channel>", "the requester's words are not posted")
				return true
			}
		}
		return false
	})

	_, err = h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("sec1")})
	require.NoError(t, err)
	require.Equal(t, workflow.StatusDone, h.task(task.ID).Status)
	review := h.task(task.ID + 1)
	assert.Equal(t, workflow.KindRevoke, review.Kind)
	assert.Equal(t, workflow.OriginEmergencyReview, review.Origin)
	assert.Equal(t, []string{email("mgr")}, review.PendingAssignees(), "the app's owner reviews it")
	mgrCard := h.card(review.ID, workflow.CardAssignee, "mgr", 0)
	assert.Contains(t, mgrCard.AllText(), "got emergency access")

	// eve asks normally, then declares an emergency from her card.
	normal, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("eve"), AppID: "pager", Justification: "will need it"})
	require.NoError(t, err)
	assert.Equal(t, "std", normal.Policy.Name)
	h.card(normal.ID, workflow.CardRequester, "eve", -1)
	h.settled(normal.ID)
	status := h.msg(h.requesterCard(normal.ID, "eve"))
	h.click("eve", status, blocks.ActDeclareEmergency)
	view := h.topModal("eve", blocks.CbEmergency)
	assert.Contains(t, view.AllText(), "at most *1d*")
	sub := h.submit("eve", view, fakeslack.Inputs{blocks.BlockReason: {"the outage spread"}})
	assert.Empty(t, sub.ResponseAction)
	got := h.task(normal.ID)
	assert.True(t, got.Emergency)
	assert.Equal(t, "glass", got.Policy.Name)
	assert.Equal(t, 24*time.Hour, got.Duration, "capped from 1w")
	var declared *workflow.AuditEvent
	for _, ev := range h.events(normal.ID) {
		if ev.Action == workflow.ActEmergencyDeclared {
			declared = &ev
		}
	}
	require.NotNil(t, declared, "recorded as declared by the requester")
	assert.Equal(t, email("eve"), declared.Actor)
	assert.Equal(t, "the outage spread", declared.Comment)
	h.eventually("admins told of the escalation", func() bool {
		for _, m := range h.slack.DMs(h.ids["admin2"]) {
			if strings.Contains(m.Text, "declared an emergency") {
				return true
			}
		}
		return false
	})
}

func (h *harness) requesterCard(id int64, name string) workflow.Card {
	h.t.Helper()
	cards, err := h.db.Cards(h.ctx, id)
	require.NoError(h.t, err)
	for _, c := range cards {
		if c.Role == workflow.CardRequester && c.Email == email(name) {
			return c
		}
	}
	h.t.Fatalf("no requester card of %s", name)
	return workflow.Card{}
}
