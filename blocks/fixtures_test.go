package blocks

import (
	"strings"
	"time"

	"accessbot/workflow"
)

// People of the fixtures. The directory knows all but prov2, who is shown
// by email as a person missing from Slack would be.
const (
	alice  = "alice@example.com" // requester
	mgr    = "mgr@example.com"   // alice's manager, first reviewer
	deputy = "deputy@example.com"
	bob    = "bob@example.com"
	sec1   = "sec1@example.com"
	sec2   = "sec2@example.com"
	prov1  = "prov1@example.com"
	prov2  = "prov2@example.com"
	owner  = "owner@example.com"
	admin  = "admin@example.com"
)

// fakeDir is the bot's directory: known people are mentions.
type fakeDir map[string]string

func (d fakeDir) Mention(email string) string {
	if id, ok := d[strings.ToLower(email)]; ok {
		return "<@" + id + ">"
	}
	return email
}

var dir = fakeDir{
	alice: "U0ALICE", mgr: "U0MGR", deputy: "U0DEPUTY", bob: "U0BOB", sec1: "U0SEC1",
	sec2: "U0SEC2", prov1: "U0PROV1", owner: "U0OWNER", admin: "U0ADMIN",
}

// now is the fixed reading time of every fixture.
var now = time.Date(2025, 3, 10, 14, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// github is the entitlement of most fixtures.
func github() workflow.Entitlement {
	app := &workflow.App{ID: "github", Name: "GitHub"}
	res := &workflow.Resource{ID: "org-admin", Name: "Org admin"}
	app.Resources = []*workflow.Resource{res}
	return workflow.Entitlement{App: app, Resource: res, Settings: workflow.Settings{
		Instructions: "Add them in <https://github.com/orgs/acme/people|GitHub → People> as *Owner*.\nRemove them there to deprovision.",
		Provisioning: workflow.ProvisioningManual,
		MaxDuration:  7 * 24 * time.Hour,
	}}
}

func reviewStep() workflow.Step {
	return workflow.Step{Type: workflow.StepReview, Approvers: []workflow.Principal{"manager"}, Mode: workflow.ModeAny, Delegate: true}
}

// grantTask is T-12: alice asks for GitHub org-admin for 8h; her manager
// reviews, then security (all), then provisioning by hand. It waits on mgr.
func grantTask() *workflow.Task {
	sec := reviewStep()
	sec.Approvers = []workflow.Principal{"group:security"}
	sec.Mode = workflow.ModeAll
	sec.Reassign.Allowed = []workflow.Principal{"group:security"}
	return &workflow.Task{
		ID: 12, Kind: workflow.KindGrant, Status: workflow.StatusOpen, Revision: 3, Version: 5,
		Requester: alice, Subject: alice, AppID: "github", ResourceID: "org-admin",
		Duration:      8 * time.Hour,
		Justification: "Rotate the deploy keys for <release-2025.03> & fix CI.\nTicket OPS-1234.",
		Origin:        workflow.OriginRequest,
		Policy: workflow.Policy{Name: "two-step", Steps: []workflow.Step{
			reviewStep(), sec, {Type: workflow.StepProvision, Delegate: true, Implicit: true},
		}},
		Step: 0,
		Steps: []workflow.StepRun{
			{Status: workflow.StepActive, StartedAt: ago(3 * time.Hour), Assignees: []workflow.Assignment{
				{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignPending},
			}},
			{Status: workflow.StepWaiting},
			{Status: workflow.StepWaiting},
		},
		CreatedAt: ago(3 * time.Hour),
		UpdatedAt: ago(3 * time.Hour),
		AuditHead: "9f2c1e0d8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c",
	}
}

// approvedSecurity moves grantTask past both reviews to provisioning.
func atProvisioning() *workflow.Task {
	t := grantTask()
	t.Revision = 7
	t.Steps[0] = workflow.StepRun{Status: workflow.StepApproved, StartedAt: ago(3 * time.Hour), EndedAt: ago(2 * time.Hour),
		DecidedBy: mgr, Comment: "Fine for the release window.",
		Assignees: []workflow.Assignment{{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignApproved, DecidedAt: ago(2 * time.Hour)}}}
	t.Steps[1] = workflow.StepRun{Status: workflow.StepApproved, StartedAt: ago(2 * time.Hour), EndedAt: ago(time.Hour), DecidedBy: sec2,
		Assignees: []workflow.Assignment{
			{Email: sec1, Via: workflow.ViaPolicy, State: workflow.AssignApproved, DecidedAt: ago(90 * time.Minute)},
			{Email: sec2, Via: workflow.ViaPolicy, State: workflow.AssignApproved, DecidedAt: ago(time.Hour)},
		}}
	t.Steps[2] = workflow.StepRun{Status: workflow.StepActive, StartedAt: ago(time.Hour), Assignees: []workflow.Assignment{
		{Email: prov1, Via: workflow.ViaPolicy, State: workflow.AssignPending},
		{Email: prov2, Via: workflow.ViaPolicy, State: workflow.AssignPending},
	}}
	t.Step = 2
	return t
}

// closedAfterProvisioning ends atProvisioning: done, or not provisioned.
func provisioned() *workflow.Task {
	t := atProvisioning()
	t.Revision, t.Status, t.ClosedAt = 8, workflow.StatusDone, ago(30*time.Minute)
	run := &t.Steps[2]
	run.Status, run.EndedAt, run.DecidedBy = workflow.StepDone, ago(30*time.Minute), prov1
	run.Assignees[0].State, run.Assignees[0].DecidedAt = workflow.AssignDone, ago(30*time.Minute)
	run.Assignees[1].State = workflow.AssignReleased
	t.Last = workflow.LastAction{Actor: prov1, Action: workflow.ActProvisioned, At: ago(30 * time.Minute)}
	return t
}

func notProvisioned() *workflow.Task {
	t := provisioned()
	t.Status = workflow.StatusNotProvisioned
	run := &t.Steps[2]
	run.Status, run.DecidedBy, run.Comment = workflow.StepNotDone, prov2, "Org admin needs a security exception; file one first."
	run.Assignees[0].State = workflow.AssignReleased
	run.Assignees[1].State, run.Assignees[1].DecidedAt = workflow.AssignNotDone, ago(30*time.Minute)
	t.Last = workflow.LastAction{Actor: prov2, Action: workflow.ActNotProvisioned, At: ago(30 * time.Minute)}
	return t
}

func denied() *workflow.Task {
	t := grantTask()
	t.Revision, t.Status, t.ClosedAt = 4, workflow.StatusDenied, ago(time.Hour)
	t.Steps[0] = workflow.StepRun{Status: workflow.StepDenied, StartedAt: ago(3 * time.Hour), EndedAt: ago(time.Hour),
		DecidedBy: mgr, Comment: "Use the deploy bot instead; it can rotate keys.",
		Assignees: []workflow.Assignment{{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignDenied, DecidedAt: ago(time.Hour)}}}
	t.Last = workflow.LastAction{Actor: mgr, Action: workflow.ActDenied, At: ago(time.Hour)}
	return t
}

func canceled() *workflow.Task {
	t := grantTask()
	t.Revision, t.Status, t.ClosedAt = 4, workflow.StatusCanceled, ago(time.Hour)
	t.Steps[0].Status, t.Steps[0].EndedAt, t.Steps[0].DecidedBy = workflow.StepCanceled, ago(time.Hour), admin
	t.Steps[0].Comment = "Duplicate of T-11."
	t.Steps[0].Assignees[0].State = workflow.AssignReleased
	t.Last = workflow.LastAction{Actor: admin, Action: workflow.ActCanceled, At: ago(time.Hour)}
	return t
}

func errored() *workflow.Task {
	t := grantTask()
	t.Revision, t.Status = 4, workflow.StatusError
	t.ErrorReason = "step 1 (review) has nobody to act: its approvers (manager) resolve to nobody other than the requester, and it has no fallback that does"
	t.Steps[0].Assignees = nil
	return t
}

// revokeTask is T-30: owner proposes removing alice's GitHub org-admin;
// owners review (confirm/deny), then deprovisioning.
func revokeTask() *workflow.Task {
	return &workflow.Task{
		ID: 30, Kind: workflow.KindRevoke, Status: workflow.StatusOpen, Revision: 2,
		Requester: owner, Subject: alice, AppID: "github", ResourceID: "org-admin",
		Justification: "Alice moved to the data team; she no longer needs org admin.",
		Origin:        workflow.OriginProposal, GrantID: 5,
		Policy: workflow.Policy{Name: "owners-revoke", Steps: []workflow.Step{
			{Type: workflow.StepReview, Approvers: []workflow.Principal{"app_owners"}, Mode: workflow.ModeAny, Delegate: true},
			{Type: workflow.StepDeprovision, Delegate: true, Implicit: true},
		}},
		Steps: []workflow.StepRun{
			{Status: workflow.StepActive, StartedAt: ago(time.Hour), Assignees: []workflow.Assignment{
				{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignPending},
				{Email: bob, Via: workflow.ViaPolicy, State: workflow.AssignPending},
			}},
			{Status: workflow.StepWaiting},
		},
		CreatedAt: ago(time.Hour),
	}
}

// expiryTask is T-41: alice's access expired; deprovision it by hand.
func expiryTask() *workflow.Task {
	return &workflow.Task{
		ID: 41, Kind: workflow.KindRevoke, Status: workflow.StatusOpen, Revision: 1,
		Requester: workflow.SystemActor, Subject: alice, AppID: "github", ResourceID: "org-admin",
		Justification: "The access expired.", Origin: workflow.OriginExpiry, GrantID: 5,
		Policy: workflow.Policy{Name: "expiry", Steps: []workflow.Step{{Type: workflow.StepDeprovision, Delegate: true, Implicit: true}}},
		Steps: []workflow.StepRun{{Status: workflow.StepActive, StartedAt: ago(20 * time.Minute), Assignees: []workflow.Assignment{
			{Email: prov1, Via: workflow.ViaPolicy, State: workflow.AssignPending},
			{Email: deputy, Via: workflow.ViaDelegated, From: prov2, State: workflow.AssignPending},
		}}},
		CreatedAt: ago(20 * time.Minute),
	}
}

// events is a short audit history of grantTask with two comments.
func events() []workflow.AuditEvent {
	evs := []workflow.AuditEvent{
		{Actor: alice, Action: workflow.ActCreated, At: ago(3 * time.Hour), Comment: "Rotate the deploy keys", Details: map[string]string{"policy": "two-step"}},
		{Actor: workflow.SystemActor, Action: workflow.ActStepStarted, At: ago(3 * time.Hour), Details: map[string]string{"step": "1", "type": "review"}},
		{Actor: workflow.SystemActor, Action: workflow.ActDelegated, At: ago(3 * time.Hour), Details: map[string]string{"from": mgr, "to": deputy, "chain": mgr + " -> " + deputy}},
		{Actor: workflow.SystemActor, Action: workflow.ActAssigned, At: ago(3 * time.Hour), Details: map[string]string{"assignees": deputy, "via": "policy"}},
		{Actor: alice, Action: workflow.ActCommented, At: ago(2 * time.Hour), Comment: "It's for tonight's <release>, thanks!", Details: map[string]string{"source": "modal"}},
		{Actor: deputy, Action: workflow.ActDurationEdited, At: ago(100 * time.Minute), Details: map[string]string{"from": "1d", "to": "8h"}},
		{Actor: alice, Action: workflow.ActReminded, At: ago(90 * time.Minute), Details: map[string]string{"to": deputy, "by": "hand"}},
		{Actor: deputy, Action: workflow.ActCommented, At: ago(80 * time.Minute), Comment: "Looking at it now.", Details: map[string]string{"source": "thread"}},
	}
	for i := range evs {
		evs[i].TaskID, evs[i].Seq = 12, int64(i+1)
	}
	return evs
}
