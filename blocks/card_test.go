package blocks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

type cardCase struct {
	name string
	in   CardInput
	// buttons are the action IDs the card must offer, in order; none for a
	// card that only shows what happened.
	buttons []string
	// has are snippets the rendered JSON must hold.
	has []string
}

func assignee(t *workflow.Task, viewer string, step int) CardInput {
	return CardInput{Task: t, Role: workflow.CardAssignee, Viewer: viewer, Step: step, Ent: github(), Dir: dir, Now: now}
}

func requester(t *workflow.Task) CardInput {
	return CardInput{Task: t, Role: workflow.CardRequester, Viewer: t.Requester, Step: -1, Ent: github(), Dir: dir, Now: now}
}

func channel(t *workflow.Task) CardInput {
	return CardInput{Task: t, Role: workflow.CardChannel, Step: -1, Ent: github(), Dir: dir, Now: now}
}

var reviewButtons = []string{ActApprove, ActDeny, ActReassign, ActMore}

func cardCases() []cardCase {
	delegated := grantTask()
	delegated.Steps[0].Assignees = []workflow.Assignment{{Email: deputy, Via: workflow.ViaDelegated, From: mgr, State: workflow.AssignPending}}

	reassigned := grantTask()
	reassigned.Revision = 4
	reassigned.Steps[0].Assignees = []workflow.Assignment{
		{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignReplaced, DecidedAt: ago(time.Hour)},
		{Email: bob, Via: workflow.ViaReassign, From: mgr, Reason: "I'm on leave this week; Bob covers my team.", State: workflow.AssignPending},
	}

	all := atProvisioning()
	all.Revision, all.Step = 5, 1
	all.Policy.Steps[1].Reassign.None = true
	all.Steps[1] = workflow.StepRun{Status: workflow.StepActive, StartedAt: ago(2 * time.Hour), Assignees: []workflow.Assignment{
		{Email: sec1, Via: workflow.ViaPolicy, State: workflow.AssignApproved, DecidedAt: ago(90 * time.Minute)},
		{Email: sec2, Via: workflow.ViaFallback, State: workflow.AssignPending},
	}}
	all.Steps[2] = workflow.StepRun{Status: workflow.StepWaiting}

	emergency := grantTask()
	emergency.Emergency = true
	emergency.Duration = workflow.Permanent
	emergency.Policy.Name = "break-glass"

	unknownApp := grantTask()
	unknownApp.AppID, unknownApp.ResourceID = "legacy-crm", "superuser"
	zeroEnt := assignee(unknownApp, mgr, 0)
	zeroEnt.Ent = workflow.Entitlement{}

	deprov := revokeTask()
	deprov.Revision, deprov.Step = 3, 1
	deprov.Steps[0] = workflow.StepRun{Status: workflow.StepApproved, StartedAt: ago(time.Hour), EndedAt: ago(30 * time.Minute), DecidedBy: bob,
		Assignees: []workflow.Assignment{
			{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignReleased},
			{Email: bob, Via: workflow.ViaPolicy, State: workflow.AssignApproved, DecidedAt: ago(30 * time.Minute)},
		}}
	deprov.Steps[1] = workflow.StepRun{Status: workflow.StepActive, StartedAt: ago(30 * time.Minute), Assignees: []workflow.Assignment{
		{Email: prov1, Via: workflow.ViaPolicy, State: workflow.AssignPending},
	}}

	// The same task on an app provisioned by the github connector.
	auto := func(cr workflow.ConnectorRun, status workflow.StepStatus) *workflow.Task {
		t := atProvisioning()
		t.Policy.Steps[2].Connector = "github"
		t.Steps[2].Assignees = nil
		t.Steps[2].Connector = &cr
		if status == workflow.StepDone {
			t.Revision, t.Status, t.ClosedAt = 8, workflow.StatusDone, cr.At
			t.Steps[2].Status, t.Steps[2].EndedAt, t.Steps[2].DecidedBy = workflow.StepDone, cr.At, workflow.SystemActor
		}
		return t
	}
	connWorking := auto(workflow.ConnectorRun{Name: "github", System: "GitHub", Job: 4, State: workflow.ConnectorPending, Attempts: 2, LastError: "GitHub answered 502 Bad Gateway"}, workflow.StepActive)
	connDone := auto(workflow.ConnectorRun{Name: "github", System: "GitHub", Job: 4, State: workflow.ConnectorDone, Attempts: 1, Message: "octocat is a member of acme/admins", At: ago(20 * time.Minute)}, workflow.StepDone)
	connFailed := auto(workflow.ConnectorRun{Name: "github", System: "GitHub", Job: 4, State: workflow.ConnectorFailed, Attempts: 1, LastError: "GitHub has no team acme/org-admin", At: ago(50 * time.Minute)}, workflow.StepActive)
	connFailed.Revision = 8
	connFailed.Steps[2].Assignees = []workflow.Assignment{{Email: prov1, Via: workflow.ViaPolicy, State: workflow.AssignPending}}
	failedIn := assignee(connFailed, prov1, 2)
	failedIn.Account = "octocat"

	withGrant := func(in CardInput, o *workflow.GrantOutcome) CardInput {
		in.Grant = o
		return in
	}
	done := provisioned()
	done.GrantID = 7
	grant := func(status workflow.GrantStatus) *workflow.Grant {
		return &workflow.Grant{ID: 7, Subject: alice, AppID: "github", ResourceID: "org-admin", Status: status,
			StartsAt: ago(30 * time.Minute), ExpiresAt: ago(30 * time.Minute).Add(8 * time.Hour), TaskID: 12}
	}
	revoked := grant(workflow.GrantRevoked)
	revoked.EndedAt, revoked.EndTaskID = ago(5*time.Minute), 30
	expired := grant(workflow.GrantExpired)
	expired.ExpiresAt, expired.EndedAt, expired.EndTaskID = ago(10*time.Minute), ago(9*time.Minute), 41
	extended := grant(workflow.GrantActive)
	extended.TaskID = 20

	return []cardCase{
		{name: "connector_working_requester", in: requester(connWorking),
			has: []string{"*The github connector is granting the access in GitHub; attempt 2 failed (GitHub answered 502 Bad Gateway) and will be retried* — step 3 of 3."}},
		{name: "connector_working_channel", in: channel(connWorking),
			has: []string{"The github connector is granting the access in GitHub"}},
		{name: "connector_done_requester", in: requester(connDone),
			has: []string{"Granted in GitHub by the github connector at <!date^", "(octocat is a member of acme/admins)"}},
		{name: "connector_failed_provisioner", in: failedIn,
			buttons: []string{ActProvisioned, ActWontProvision, ActRetryConnector, ActReassign, ActMore},
			has:     []string{"The github connector could not grant the access in GitHub: GitHub has no team acme/org-admin", "press *Retry*", `"connector_retry"`, "*Account*\\noctocat"}},
		{name: "requester_revoked", in: withGrant(requester(done), &workflow.GrantOutcome{Grant: revoked, Ended: revokeTask()}),
			has: []string{"*Access revoked* by <@U0OWNER> at <!date^1741614900^", ", T-30.", "Provisioned by <@U0PROV1>"}},
		{name: "provisioning_done_expired", in: withGrant(assignee(done, prov1, 2), &workflow.GrantOutcome{Grant: expired}),
			has: []string{"*Access expired at <!date^1741614600^", "its removal by hand is T-41."}},
		{name: "requester_extended_later", in: withGrant(requester(done), &workflow.GrantOutcome{Grant: extended}),
			has: []string{"*Access granted*; later extended by T-20."}},
		{name: "review_pending", in: assignee(grantTask(), mgr, 0), buttons: reviewButtons,
			has: []string{"T-12 · Access request", `"12:3"`, "approve_comment|12:3", "edit_duration|12:3", "remind|12:3", "1 of 3 · review · policy _two-step_", "&lt;release-2025.03&gt; &amp; fix CI"}},
		{name: "review_delegated", in: assignee(delegated, deputy, 0), buttons: reviewButtons,
			has: []string{"Delegated to you by <@U0MGR>"}},
		{name: "review_reassigned_to_viewer", in: assignee(reassigned, bob, 0), buttons: reviewButtons,
			has: []string{"Reassigned to you by <@U0MGR>: I'm on leave this week; Bob covers my team.", `"12:4"`}},
		{name: "review_reassigned_away", in: assignee(reassigned, mgr, 0),
			has: []string{"Reassigned to <@U0BOB>: I'm on leave"}},
		{name: "review_all_no_reassign", in: assignee(all, sec2, 1), buttons: []string{ActApprove, ActDeny, ActMore},
			has: []string{"Every assignee must approve: <@U0SEC1> (approved), <@U0SEC2> (waiting)", "fallback"}},
		{name: "review_all_viewer_approved", in: assignee(all, sec1, 1),
			has: []string{"You approved at <!date^", "the step waits on <@U0SEC2>"}},
		{name: "review_approved_moved_on", in: assignee(atProvisioning(), mgr, 0),
			has: []string{"Approved by <@U0MGR> at <!date^", "Fine for the release window.", "*Now:*", "*Waiting on <@U0PROV1> and prov2@example.com* to provision it"}},
		{name: "review_emergency", in: assignee(emergency, mgr, 0), buttons: reviewButtons,
			has: []string{":rotating_light: *Emergency*", "*permanent* access", "Emergency! "}},
		{name: "review_unknown_app", in: zeroEnt, buttons: reviewButtons,
			has: []string{"legacy-crm/superuser", "*App*\\nlegacy-crm"}},
		{name: "review_canceled_while_pending", in: assignee(canceled(), mgr, 0),
			has: []string{"Canceled by an admin", "Duplicate of T-11."}},
		{name: "provisioning_assignee", in: assignee(atProvisioning(), prov1, 2),
			buttons: []string{ActProvisioned, ActWontProvision, ActReassign, ActMore},
			has:     []string{"T-12 · Provisioning", "How to provision", "<https://github.com/orgs/acme/people|GitHub → People>", "Also assigned: prov2@example.com", "provisioned_comment|12:7"}},
		{name: "provisioning_channel", in: channel(atProvisioning()),
			buttons: []string{ActProvisioned, ActWontProvision, ActReassign, ActMore},
			has:     []string{"Assigned: <@U0PROV1> and prov2@example.com. Any one of them can act."}},
		{name: "provisioning_done_assignee", in: assignee(provisioned(), prov1, 2),
			has: []string{"Provisioned by <@U0PROV1>", "Access active until"}},
		{name: "channel_review", in: channel(grantTask()),
			has: []string{"*Waiting on <@U0MGR>* to review it"}},
		{name: "revocation_review", in: assignee(revokeTask(), mgr, 0),
			buttons: []string{ActConfirm, ActDeny, ActReassign, ActMore},
			has:     []string{"T-30 · Revocation review", "<@U0OWNER> proposes removing <@U0ALICE>'s access", "confirm_comment|30:2", "*Reason*"}},
		{name: "deprovisioning_after_review", in: assignee(deprov, prov1, 1),
			buttons: []string{ActDeprovisioned, ActWontDeprovision, ActReassign, ActMore},
			has:     []string{"T-30 · Deprovisioning", "How to deprovision"}},
		{name: "deprovisioning_expiry", in: assignee(expiryTask(), deputy, 0),
			buttons: []string{ActDeprovisioned, ActWontDeprovision, ActReassign, ActMore},
			has:     []string{"access to *GitHub / Org admin* expired", "Delegated to you by prov2@example.com", "wont_deprovision_comment|41:1"}},
		{name: "requester_open", in: requester(grantTask()),
			has: []string{"*Waiting on <@U0MGR>* to review it — step 1 of 3", "*Steps* · policy _two-step_"}},
		{name: "requester_provisioning", in: requester(atProvisioning()),
			has: []string{"approved by <@U0SEC1> and <@U0SEC2>"}},
		{name: "requester_done", in: requester(provisioned()),
			has: []string{"*Access active until <!date^", "Provisioned by <@U0PROV1>"}},
		{name: "requester_denied", in: requester(denied()),
			has: []string{"*Denied* by <@U0MGR>", "Use the deploy bot instead"}},
		{name: "requester_canceled", in: requester(canceled()),
			has: []string{"*Canceled by an admin* (<@U0ADMIN>)", "Duplicate of T-11."}},
		{name: "requester_error", in: requester(errored()),
			has: []string{"*Stopped:* step 1 (review) has nobody to act", "admins have been told"}},
		{name: "requester_not_provisioned", in: requester(notProvisioned()),
			has: []string{"*Not provisioned:* prov2@example.com won't provision it"}},
	}
}

func TestCards(t *testing.T) {
	t.Parallel()
	for _, tc := range cardCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, bs := Card(tc.in)
			msg := message{Text: text, Blocks: bs}
			golden(t, "card_"+tc.name, msg)
			checkLimits(t, tc.name, msg, surfaceMessage)

			assert.Equal(t, tc.buttons, actionIDs(bs), "buttons")
			raw := string(render(t, msg))
			for _, s := range tc.has {
				assert.Contains(t, raw, s)
			}
			// The task number opens the details, on every card.
			assert.Contains(t, raw, `"action_id": "details"`)
		})
	}
}

// actionIDs lists the action IDs of the card's actions blocks.
func actionIDs(bs []slack.Block) []string {
	var ids []string
	for _, b := range bs {
		ab, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range ab.Elements.ElementSet {
			switch el := e.(type) {
			case *slack.ButtonBlockElement:
				ids = append(ids, el.ActionID)
			case *slack.OverflowBlockElement:
				ids = append(ids, el.ActionID)
			}
		}
	}
	return ids
}

// Every button and option of an actionable card names the task and the
// revision the card shows, so a click on an older card is stale.
func TestCardValuesCarryRevision(t *testing.T) {
	t.Parallel()
	task := atProvisioning()
	_, bs := Card(assignee(task, prov1, 2))
	var doc struct {
		Blocks []map[string]any `json:"blocks"`
	}
	raw, err := json.Marshal(message{Blocks: bs})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	n := 0
	for _, b := range doc.Blocks {
		for _, e := range arr(b["elements"]) {
			el := e.(map[string]any)
			if v, ok := el["value"].(string); ok {
				id, rev, err := DecodeRef(v)
				require.NoError(t, err)
				assert.Equal(t, [2]int64{12, 7}, [2]int64{id, rev})
				n++
			}
			for _, o := range arr(el["options"]) {
				opt, id, rev, err := DecodeOption(o.(map[string]any)["value"].(string))
				require.NoError(t, err, opt)
				assert.Equal(t, [2]int64{12, 7}, [2]int64{id, rev})
				n++
			}
		}
	}
	assert.Equal(t, 3+5, n, "three buttons and five options")
}

// A card for a step the viewer is not on (a stale Step) falls back to the
// step they are assigned on for what it shows, but only the card of the
// current step has buttons: delivery posts that one too, and records the
// stale one as final (workflow.CardActionable). Before, the stale card had
// buttons as well, so the person had two live cards for one step, one of
// them recorded as final.
func TestCardFindsTheViewersStep(t *testing.T) {
	t.Parallel()
	task := atProvisioning()
	text, bs := Card(assignee(task, prov1, 0))
	assert.Empty(t, actionIDs(bs))
	assert.Contains(t, text, task.Number())
	assert.False(t, workflow.CardActionable(task, workflow.Card{Role: workflow.CardAssignee, Email: prov1, Step: 0}))
	_, bs = Card(assignee(task, prov1, task.Step))
	assert.Equal(t, []string{ActProvisioned, ActWontProvision, ActReassign, ActMore}, actionIDs(bs))

	// Someone who is not assigned at all never gets buttons.
	_, bs = Card(assignee(atProvisioning(), "stranger@example.com", 2))
	assert.Empty(t, actionIDs(bs))

	// A requester card never has buttons, even for an open task.
	_, bs = Card(requester(atProvisioning()))
	assert.Empty(t, actionIDs(bs))
}

func TestCardWithoutDirectory(t *testing.T) {
	t.Parallel()
	in := assignee(grantTask(), mgr, 0)
	in.Dir = nil
	text, bs := Card(in)
	assert.Contains(t, text, "alice@example.com asks for access")
	checkLimits(t, "no directory", message{Text: text, Blocks: bs}, surfaceMessage)
}

func TestDeletedCard(t *testing.T) {
	t.Parallel()
	text, bs := DeletedCard("T-12")
	assert.Equal(t, "T-12 was deleted by an admin.", text)
	checkLimits(t, "deleted", message{Text: text, Blocks: bs}, surfaceMessage)
}

func TestCardNilTask(t *testing.T) {
	t.Parallel()
	text, bs := Card(CardInput{})
	assert.NotEmpty(t, text)
	checkLimits(t, "nil task", message{Text: text, Blocks: bs}, surfaceMessage)
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"héllo wörld", 6, "héllo…"},
		{"🚨🚨🚨", 2, "🚨…"},
		{"", 3, ""},
		{"abc", 0, ""},
	} {
		assert.Equal(t, tc.want, truncate(tc.in, tc.max), "truncate(%q, %d)", tc.in, tc.max)
	}
	// mrkdwn: never a cut-open token or entity.
	assert.Equal(t, "see …", truncateMrkdwn("see <@U0ALICE> now", 10))
	assert.Equal(t, "a …", truncateMrkdwn("a &amp; b c d e", 5))
	assert.Equal(t, "<@U1> ok…", truncateMrkdwn("<@U1> ok then", 9))
	assert.True(t, strings.HasSuffix(truncateMrkdwn(strings.Repeat("x", 4000), 3000), "…"))
}
