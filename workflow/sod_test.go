package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// sodCatalog is testCatalog with vault, reviewed by group:security (alice,
// sec1, sec2) in mode, recorded only.
func sodCatalog(mode workflow.Mode) *workflow.Catalog {
	cat := testCatalog()
	step := review("group:security")
	step.Mode = mode
	cat.Policies["sec"] = &workflow.Policy{Name: "sec", Steps: []workflow.Step{step}}
	cat.Apps = append(cat.Apps, &workflow.App{ID: "vault", Name: "Vault", Settings: workflow.Settings{
		Owners: []workflow.Principal{"user:" + owner}, Provisioning: workflow.ProvisioningNone,
		RequestPolicy: "sec", RevocationPolicy: "revoke", DefaultDuration: time.Hour,
	}})
	return cat
}

// TestDistinctApprovers is the table over (step mode, reassign or
// delegation target, whether the target already decided): a step in all
// mode ends with as many distinct approvers as it had assignees.
func TestDistinctApprovers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		mode    workflow.Mode
		target  string // "reassign": sec2 hands their part to sec1; "delegate": the hand-over follows a delegation to sec1
		decided bool   // sec1 approved before
		refused bool   // the reassignment is refused
		pending []string
	}{
		{"all, reassign to a decided co-approver", workflow.ModeAll, "reassign", true, true, []string{alice, sec2}},
		{"all, reassign to a pending co-approver", workflow.ModeAll, "reassign", false, true, []string{alice, sec1, sec2}},
		{"all, delegation to a decided co-approver", workflow.ModeAll, "delegate", true, false, []string{alice, eve}},
		{"all, delegation to a pending co-approver", workflow.ModeAll, "delegate", false, false, []string{alice, sec1, eve}},
		{"any, reassign to a pending co-approver", workflow.ModeAny, "reassign", false, true, []string{alice, sec1, sec2}},
		{"any, delegation to a pending co-approver", workflow.ModeAny, "delegate", false, false, []string{alice, sec1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.e.SetCatalog(sodCatalog(c.mode))
			task := f.request(bob, "vault", "")
			require.Equal(t, []string{alice, sec1, sec2}, task.PendingAssignees())
			if c.decided {
				task = f.decide(workflow.ActionApprove, task.ID, sec1)
			}
			in := workflow.ReassignInput{TaskID: task.ID, Actor: sec2, To: sec1, Reason: "away"}
			if c.target == "delegate" {
				// sec2 hands over to eve, who delegates to sec1.
				f.setDelegation(eve, sec1, time.Time{}, time.Time{})
				in.To = eve
			}
			_, err := f.e.Reassign(f.ctx, in)
			if c.refused {
				require.Error(t, err)
				assert.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
			} else {
				require.NoError(t, err)
			}
			got := f.task(task.ID)
			assert.ElementsMatch(t, c.pending, got.PendingAssignees())
			// Everyone pending approves; an all step needs each of them.
			for _, p := range got.PendingAssignees() {
				f.decide(workflow.ActionApprove, task.ID, p)
				if c.mode == workflow.ModeAny {
					break // one approval passes an any step
				}
			}
			done := f.task(task.ID)
			require.Equal(t, workflow.StatusDone, done.Status)
			if c.mode == workflow.ModeAll {
				approvers := map[string]int{}
				for _, a := range done.Steps[0].Assignees {
					if a.State == workflow.AssignApproved {
						approvers[a.Email]++
					}
				}
				assert.Len(t, approvers, 3, "three distinct approvers: %v", approvers)
				for p, n := range approvers {
					assert.Equal(t, 1, n, "%s counted once", p)
				}
			}
			f.verifyAudit()
		})
	}
}

// TestDelegationToACoApproverStays: in all mode a delegation to someone
// already on the step is not followed.
func TestDelegationToACoApproverStays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(sodCatalog(workflow.ModeAll))
	f.setDelegation(alice, sec1, time.Time{}, time.Time{})
	f.setDelegation(sec2, alice, time.Time{}, time.Time{})
	task := f.request(bob, "vault", "")
	assert.Equal(t, []string{alice, sec1, sec2}, task.PendingAssignees())
	assert.Contains(t, actions(f.events(task.ID)), workflow.ActDelegationSkipped)
}

// TestSubjectIsBarredEverywhere: the subject of a revocation is not a
// reviewer through a group, a delegation or an escalation, and cannot
// decide even when assigned (an older task).
func TestSubjectIsBarredEverywhere(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(sodCatalog(workflow.ModeAny))
	// sec1 holds vault (bob's request is reviewed by security; sec1 approves).
	g := f.request(sec1, "vault", "")
	f.decide(workflow.ActionApprove, g.ID, sec2)
	// revocations of vault are reviewed by its owner, who delegates to sec1.
	f.setDelegation(owner, sec1, time.Time{}, time.Time{})
	rev, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: admin, Subject: sec1, AppID: "vault", Reason: "left"})
	require.NoError(t, err)
	assert.Equal(t, []string{owner}, rev.PendingAssignees(), "the delegation to the subject is not followed")
	_, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: rev.ID, Actor: owner, To: sec1, Reason: "ask"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "own access")
	_, err = f.e.Deny(f.ctx, workflow.Decision{TaskID: rev.ID, Actor: sec1})
	require.Error(t, err)
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
	assert.Contains(t, err.Error(), "about your own access")
}

// TestResourcesDoNotInheritTheEmergencyPolicy: a resource with a stricter
// request policy cannot be asked for as an emergency through the app's.
func TestResourcesDoNotInheritTheEmergencyPolicy(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cat := testCatalog()
	gh, _ := cat.App("github")
	gh.EmergencyPolicy = "emergency"
	f.e.SetCatalog(cat)
	_, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: bob, AppID: "github", ResourceID: "admin", Justification: "fire", Emergency: true})
	require.Error(t, err)
	assert.Equal(t, "emergency", err.(*workflow.Error).Field)
	gh.Resources[0].EmergencyPolicy = "emergency"
	task, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: bob, AppID: "github", ResourceID: "admin", Justification: "fire", Emergency: true})
	require.NoError(t, err, "set on the resource itself")
	assert.Equal(t, "emergency", task.Policy.Name)
}

// TestAdminCannotRepairTheirOwnTask: every admin operation that would move
// an admin's own task on is refused and recorded; restart (back to the
// first step) is not.
func TestAdminCannotRepairTheirOwnTask(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(admin, "github", "repo") // two steps: manager (none: fallback) then security
	_, err := f.e.SkipStep(f.ctx, workflow.AdminInput{TaskID: task.ID, Actor: admin, Reason: "mine"})
	require.Error(t, err)
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
	assert.Contains(t, err.Error(), "accessbot has no other admin")
	assert.Equal(t, task.Version, f.task(task.ID).Version)
	assert.Equal(t, workflow.ActAdminRefused, f.events(0)[len(f.events(0))-1].Action)
	_, err = f.e.Restart(f.ctx, workflow.AdminInput{TaskID: task.ID, Actor: admin})
	require.NoError(t, err, "a restart moves nothing on")

	g := f.request(bob, "snowflake", "")
	f.decide(workflow.ActionApprove, g.ID, mgr)
	cat := testCatalog()
	cat.Admins = append(cat.Admins, bob)
	f.e.SetCatalog(cat)
	rev, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: admin, Subject: bob, AppID: "snowflake", Reason: "audit"})
	require.NoError(t, err)
	_, err = f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: rev.ID, Actor: bob})
	require.Error(t, err, "the subject admin cannot cancel their own revocation")
	assert.Contains(t, err.Error(), "Ask another admin: admin@example.com")
	_, err = f.e.Delete(f.ctx, workflow.AdminInput{TaskID: rev.ID, Actor: bob})
	require.Error(t, err, "nor delete it")
	assert.Equal(t, workflow.StatusOpen, f.task(rev.ID).Status)
}
