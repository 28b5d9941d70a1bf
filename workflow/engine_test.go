package workflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// TestGrantPath follows a two-step request through provisioning.
func TestGrantPath(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(bob, "github", "repo")
	assert.Equal(t, "T-1", task.Number())
	assert.Equal(t, workflow.StatusOpen, task.Status)
	assert.Equal(t, []string{mgr}, task.PendingAssignees())
	require.Len(t, task.Steps, 3, "two reviews and the implicit provision step")
	assert.True(t, task.Policy.Steps[2].Implicit)

	task = f.decide(workflow.ActionApprove, 1, mgr)
	assert.Equal(t, 1, task.Step)
	assert.ElementsMatch(t, []string{alice, sec1, sec2}, task.PendingAssignees())

	task = f.decide(workflow.ActionApprove, 1, sec1)
	assert.Equal(t, 1, task.Step, "mode all waits for everyone")
	f.decide(workflow.ActionApprove, 1, alice)
	task = f.decide(workflow.ActionApprove, 1, sec2)
	assert.Equal(t, 2, task.Step)
	assert.ElementsMatch(t, []string{prov1, prov2}, task.PendingAssignees())
	assert.Empty(t, f.grants(bob), "no grant before provisioning")

	f.clock.Advance(time.Minute)
	task = f.decide(workflow.ActionProvisioned, 1, prov2)
	assert.Equal(t, workflow.StatusDone, task.Status)
	gs := f.grants(bob)
	require.Len(t, gs, 1)
	assert.Equal(t, workflow.GrantActive, gs[0].Status)
	assert.Equal(t, t0.Add(time.Minute+8*time.Hour), gs[0].ExpiresAt)
	assert.Equal(t, task.GrantID, gs[0].ID)
	assert.Contains(t, actions(f.events(1)), workflow.ActGranted)
	f.verifyAudit()
}

// TestRefusals is the table of everything the engine refuses. Each case
// starts from a fresh database with T-1 = bob's github/repo request (step 1
// waits on mgr), and must change nothing.
func TestRefusals(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		prep  func(f *fixture)
		do    func(f *fixture) error
		code  string
		field string
		msg   string
	}
	dec := func(a workflow.Action, actor string, rev int64) func(f *fixture) error {
		return func(f *fixture) error {
			_, err := f.e.Decide(f.ctx, a, workflow.Decision{TaskID: 1, Actor: actor, Revision: rev})
			return err
		}
	}
	req := func(in workflow.RequestInput) func(f *fixture) error {
		return func(f *fixture) error {
			if in.Justification == "" {
				in.Justification = "because"
			}
			_, err := f.e.Request(f.ctx, in)
			return err
		}
	}
	cases := []tc{
		{name: "wrong person", do: dec(workflow.ActionApprove, eve, 0), code: workflow.EFORBIDDEN, msg: "not assigned"},
		{name: "requester approves own", do: dec(workflow.ActionApprove, bob, 0), code: workflow.EFORBIDDEN, msg: "own request"},
		{name: "wrong step action", do: dec(workflow.ActionProvisioned, mgr, 0), code: workflow.EINVALID, msg: "waiting for a review"},
		{name: "confirm on a grant review", do: dec(workflow.ActionConfirm, mgr, 0), code: workflow.EINVALID},
		{name: "stale revision", do: dec(workflow.ActionApprove, mgr, 99), code: workflow.ECONFLICT, msg: "moved on"},
		{name: "approve twice", prep: func(f *fixture) { f.decide(workflow.ActionApprove, 1, mgr) }, do: dec(workflow.ActionApprove, mgr, 1), code: workflow.ECONFLICT, msg: "already approved by mgr@example.com"},
		{name: "unknown action", do: dec("launch", mgr, 0), code: workflow.EINVALID},
		{name: "unknown task", do: func(f *fixture) error {
			_, err := f.e.Approve(f.ctx, workflow.Decision{TaskID: 42, Actor: mgr})
			return err
		}, code: workflow.ENOTFOUND},
		{name: "duration above max", do: req(workflow.RequestInput{Requester: dave, AppID: "github", ResourceID: "repo", Duration: 30 * 24 * time.Hour}), code: workflow.EINVALID, field: "duration", msg: "maximum of 1w"},
		{name: "permanent where a max exists", do: req(workflow.RequestInput{Requester: dave, AppID: "github", ResourceID: "repo", Duration: workflow.Permanent}), code: workflow.EINVALID, field: "duration"},
		{name: "duplicate request", do: req(workflow.RequestInput{Requester: bob, AppID: "github", ResourceID: "repo"}), code: workflow.ECONFLICT, field: "resource", msg: "T-1"},
		{name: "unknown app", do: req(workflow.RequestInput{Requester: bob, AppID: "gitlab"}), code: workflow.EINVALID, field: "app", msg: "github"},
		{name: "unknown resource", do: req(workflow.RequestInput{Requester: bob, AppID: "github", ResourceID: "root"}), code: workflow.EINVALID, field: "resource", msg: "repo"},
		{name: "app with resources needs one", do: req(workflow.RequestInput{Requester: bob, AppID: "github"}), code: workflow.EINVALID, field: "resource"},
		{name: "no justification", do: func(f *fixture) error {
			_, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: dave, AppID: "aws", Justification: "  "})
			return err
		}, code: workflow.EINVALID, field: "justification"},
		{name: "emergency without policy", do: req(workflow.RequestInput{Requester: dave, AppID: "snowflake", Emergency: true}), code: workflow.EINVALID, field: "emergency"},
		{name: "restart by non-admin", do: func(f *fixture) error {
			_, err := f.e.Restart(f.ctx, workflow.AdminInput{TaskID: 1, Actor: mgr})
			return err
		}, code: workflow.EFORBIDDEN, msg: "admin"},
		{name: "delete by non-admin", do: func(f *fixture) error {
			_, err := f.e.Delete(f.ctx, workflow.AdminInput{TaskID: 1, Actor: bob})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "cancel by someone else", do: func(f *fixture) error {
			_, err := f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: 1, Actor: mgr})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "change policy of a request", do: func(f *fixture) error {
			_, err := f.e.ChangePolicy(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin, Policy: "revoke"})
			return err
		}, code: workflow.EINVALID, msg: "hard-reset"},
		{name: "reassign without reason", do: func(f *fixture) error {
			_, err := f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: mgr, To: ceo})
			return err
		}, code: workflow.EINVALID, field: "reason"},
		{name: "reassign to the requester", do: func(f *fixture) error {
			_, err := f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: mgr, To: bob, Reason: "x"})
			return err
		}, code: workflow.EINVALID, field: "to"},
		{name: "reassign by non-assignee", do: func(f *fixture) error {
			_, err := f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: eve, To: ceo, Reason: "x"})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "edit duration over max", do: func(f *fixture) error {
			_, err := f.e.EditDuration(f.ctx, workflow.EditDurationInput{TaskID: 1, Actor: mgr, Duration: 14 * 24 * time.Hour})
			return err
		}, code: workflow.EINVALID, field: "duration"},
		{name: "edit duration by non-reviewer", do: func(f *fixture) error {
			_, err := f.e.EditDuration(f.ctx, workflow.EditDurationInput{TaskID: 1, Actor: bob, Duration: time.Hour})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "comment by outsider", do: func(f *fixture) error {
			_, err := f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: eve, Text: "hi"})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "empty comment", do: func(f *fixture) error {
			_, err := f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: mgr, Text: ""})
			return err
		}, code: workflow.EINVALID, field: "comment"},
		{name: "reminder by outsider", do: func(f *fixture) error {
			_, err := f.e.SendReminder(f.ctx, eve, 1)
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "second reminder within the hour", prep: func(f *fixture) {
			_, err := f.e.SendReminder(f.ctx, bob, 1)
			require.NoError(f.t, err)
			f.clock.Advance(59 * time.Minute)
		}, do: func(f *fixture) error {
			_, err := f.e.SendReminder(f.ctx, bob, 1)
			return err
		}, code: workflow.ECONFLICT, msg: "next reminder"},
		{name: "revocation by a peer", prep: func(f *fixture) { grantSnowflake(f, dave) }, do: func(f *fixture) error {
			_, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: bob, Subject: dave, AppID: "snowflake", Reason: "x"})
			return err
		}, code: workflow.EFORBIDDEN},
		{name: "revocation of access not held", do: func(f *fixture) error {
			_, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: admin, Subject: eve, AppID: "snowflake", Reason: "x"})
			return err
		}, code: workflow.EINVALID, msg: "no active access"},
		{name: "request for access already held", prep: func(f *fixture) { grantSnowflake(f, dave) }, do: req(workflow.RequestInput{Requester: dave, AppID: "snowflake"}), code: workflow.ECONFLICT, msg: "already have access"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.request(bob, "github", "repo")
			if c.prep != nil {
				c.prep(f)
			}
			before := f.task(1)
			beforeEvents := len(f.events(1))
			err := c.do(f)
			require.Error(t, err)
			assert.Equal(t, c.code, workflow.ErrorCode(err), "error: %v", err)
			if c.field != "" {
				var we *workflow.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, c.field, we.Field)
			}
			if c.msg != "" {
				assert.Contains(t, err.Error(), c.msg)
			}
			after := f.task(1)
			assert.Equal(t, before.Version, after.Version, "a refusal changes nothing")
			assert.Len(t, f.events(1), beforeEvents)
			f.verifyAudit()
		})
	}
}

// grantSnowflake gives subject active snowflake access (manager approval,
// no provisioning by hand).
func grantSnowflake(f *fixture, subject string) *workflow.Grant {
	f.t.Helper()
	task, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: subject, AppID: "snowflake", Justification: "analysis"})
	require.NoError(f.t, err)
	for task.Status == workflow.StatusOpen {
		task = f.decide(workflow.ActionApprove, task.ID, task.PendingAssignees()[0])
	}
	require.Equal(f.t, workflow.StatusDone, task.Status)
	gs := f.grants(subject)
	require.NotEmpty(f.t, gs)
	return gs[len(gs)-1]
}

func TestDenyEndsTheTask(t *testing.T) {
	t.Parallel()
	for _, step := range []int{0, 1} {
		t.Run(fmt.Sprintf("at step %d", step+1), func(t *testing.T) {
			f := setup(t)
			f.request(bob, "github", "repo")
			if step == 1 {
				f.decide(workflow.ActionApprove, 1, mgr)
			}
			denier := f.task(1).PendingAssignees()[0]
			task, err := f.e.Deny(f.ctx, workflow.Decision{TaskID: 1, Actor: denier, Comment: "not needed"})
			require.NoError(t, err)
			assert.Equal(t, workflow.StatusDenied, task.Status)
			assert.Equal(t, workflow.StepDenied, task.Steps[step].Status)
			assert.Equal(t, "not needed", task.Steps[step].Comment)
			for _, later := range task.Steps[step+1:] {
				assert.Equal(t, workflow.StepWaiting, later.Status, "later steps never run")
			}
			assert.Empty(t, task.PendingAssignees())
			assert.Empty(t, f.grants(bob))
			_, err = f.e.MarkProvisioned(f.ctx, workflow.Decision{TaskID: 1, Actor: prov1})
			assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
			assert.Contains(t, err.Error(), "already denied by "+denier)
		})
	}
}

func TestWontProvision(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin") // std: manager only
	f.decide(workflow.ActionApprove, 1, mgr)
	task := f.decide(workflow.ActionWontProvision, 1, prov1)
	assert.Equal(t, workflow.StatusNotProvisioned, task.Status)
	assert.Empty(t, f.grants(bob))
}

func TestProvisioningNoneGrantsAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(bob, "snowflake", "")
	require.Len(t, task.Steps, 1, "no provision step for an app nobody provisions")
	task = f.decide(workflow.ActionApprove, 1, mgr)
	assert.Equal(t, workflow.StatusDone, task.Status)
	g := f.grants(bob)
	require.Len(t, g, 1)
	assert.Equal(t, t0.Add(24*time.Hour), g[0].ExpiresAt)
}

func TestNoManagerNoFallbackIsAnError(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(dave, "github", "nomgr")
	assert.Equal(t, workflow.StatusError, task.Status)
	assert.Contains(t, task.ErrorReason, "nobody to act")
	_, err := f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: mgr})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))

	// The fallback catches what the manager rule cannot.
	task = f.request(dave, "github", "admin")
	assert.Equal(t, workflow.StatusOpen, task.Status)
	assert.ElementsMatch(t, []string{alice, sec1, sec2}, task.PendingAssignees())
	assert.Equal(t, workflow.ViaFallback, task.Steps[0].Assignees[0].Via)

	// An admin repairs the first after the config gives dave a manager.
	cat := testCatalog()
	cat.People[dave] = workflow.Person{Email: dave, Manager: ceo}
	f.e.SetCatalog(cat)
	task, err = f.e.ProcessNow(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin})
	require.NoError(t, err)
	assert.Equal(t, workflow.StatusOpen, task.Status)
	assert.Equal(t, []string{ceo}, task.PendingAssignees())
	f.verifyAudit()
}

func TestRequesterIsNeverAssigned(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	task := f.decide(workflow.ActionApprove, 1, mgr)
	assert.Contains(t, task.PendingAssignees(), alice)

	// alice is in security: for her own request she is left out.
	f2 := setup(t)
	f2.request(alice, "github", "repo")
	task = f2.decide(workflow.ActionApprove, 1, mgr)
	assert.ElementsMatch(t, []string{sec1, sec2}, task.PendingAssignees())
}

func TestTwoStepAllModeCardsStayValid(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	task := f.decide(workflow.ActionApprove, 1, mgr)
	rev := task.Revision
	task, err := f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: sec1, Revision: rev})
	require.NoError(t, err)
	assert.Equal(t, rev+1, task.Revision, "a partial approval moves the revision, so every card shows it")
	assert.Equal(t, rev+1, f.task(1).Revision)
	// sec2's card still shows rev: a partial approval does not make it stale.
	task, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: sec2, Revision: rev})
	require.NoError(t, err)
	assert.Equal(t, rev+2, task.Revision)
	_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: sec1, Revision: rev})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
	assert.Contains(t, err.Error(), "You already approved")
	_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: alice, Revision: rev + 3})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a revision the task never had is stale")

	// Anything but an approval ends the tolerance: a card drawn before a
	// reassignment is stale.
	task, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: alice, To: dave, Reason: "away", Revision: rev + 2})
	require.NoError(t, err)
	_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: dave, Revision: rev + 2})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a card from before the reassignment is stale")
	task, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: dave, Revision: task.Revision})
	require.NoError(t, err)
	assert.Equal(t, 2, task.Step, "every approver approved: the step passed")
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	t.Run("confirm then deprovision", func(t *testing.T) {
		f := setup(t)
		f.request(bob, "github", "admin")
		f.decide(workflow.ActionApprove, 1, mgr)
		f.decide(workflow.ActionProvisioned, 1, prov1)
		task, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: mgr, Subject: bob, AppID: "github", ResourceID: "admin", Reason: "left the team"})
		require.NoError(t, err)
		assert.Equal(t, workflow.KindRevoke, task.Kind)
		assert.Equal(t, []string{owner}, task.PendingAssignees())
		_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: task.ID, Actor: owner})
		assert.Equal(t, workflow.EINVALID, workflow.ErrorCode(err), "a revocation is confirmed, not approved")
		task = f.decide(workflow.ActionConfirm, task.ID, owner)
		assert.Equal(t, workflow.StepDeprovision, task.Policy.Steps[task.Step].Type)
		assert.Equal(t, workflow.GrantActive, f.grants(bob)[0].Status, "access stays until removed")
		task = f.decide(workflow.ActionDeprovisioned, task.ID, prov2)
		assert.Equal(t, workflow.StatusDone, task.Status)
		g := f.grants(bob)[0]
		assert.Equal(t, workflow.GrantRevoked, g.Status)
		assert.Equal(t, task.ID, g.EndTaskID)
		f.verifyAudit()
	})
	t.Run("deny keeps access", func(t *testing.T) {
		f := setup(t)
		grantSnowflake(f, bob)
		task, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: owner, Subject: bob, AppID: "snowflake", Reason: "unused"})
		require.NoError(t, err)
		_, err = f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: admin, Subject: bob, AppID: "snowflake", Reason: "unused"})
		assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "one open revocation per grant")
		// The owner proposed it, so the owner may not confirm it: nobody else
		// owns snowflake and the policy has no fallback.
		assert.Equal(t, workflow.StatusError, task.Status)
		_, err = f.e.ChangePolicy(f.ctx, workflow.AdminInput{TaskID: task.ID, Actor: admin, Policy: "std"})
		require.NoError(t, err)
		task = f.decide(workflow.ActionDeny, task.ID, mgr)
		assert.Equal(t, workflow.StatusDenied, task.Status)
		assert.Equal(t, workflow.GrantActive, f.grants(bob)[0].Status)
	})
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin")
	f.decide(workflow.ActionApprove, 1, mgr)
	f.decide(workflow.ActionProvisioned, 1, prov1) // 8h
	grantSnowflake(f, dave)                        // 24h, nobody provisions

	f.clock.Advance(8*time.Hour - time.Second)
	n, err := f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "not yet")

	f.clock.Advance(time.Second)
	n, err = f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "running twice does nothing twice")

	g := f.grants(bob)[0]
	assert.Equal(t, workflow.GrantExpired, g.Status)
	rt := f.task(g.EndTaskID)
	assert.Equal(t, workflow.KindRevoke, rt.Kind)
	assert.Equal(t, workflow.OriginExpiry, rt.Origin)
	require.Len(t, rt.Steps, 1, "no review")
	assert.ElementsMatch(t, []string{prov1, prov2}, rt.PendingAssignees())
	rt = f.decide(workflow.ActionDeprovisioned, rt.ID, prov1)
	assert.Equal(t, workflow.StatusDone, rt.Status)
	assert.Equal(t, workflow.GrantExpired, f.grants(bob)[0].Status)

	f.clock.Advance(16 * time.Hour)
	n, err = f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	dg := f.grants(dave)[0]
	assert.Equal(t, workflow.GrantExpired, dg.Status)
	assert.Zero(t, dg.EndTaskID, "nothing to remove by hand")
	f.verifyAudit()
}

func TestReassign(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	task, err := f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: mgr, To: ceo, Reason: "on leave"})
	require.NoError(t, err)
	assert.Equal(t, []string{ceo}, task.PendingAssignees())
	a := task.Steps[0].Assignees
	require.Len(t, a, 2)
	assert.Equal(t, workflow.AssignReplaced, a[0].State)
	assert.Equal(t, workflow.ViaReassign, a[1].Via)
	assert.Equal(t, mgr, a[1].From)
	_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: mgr})
	assert.Error(t, err, "the one who reassigned no longer acts")
	f.decide(workflow.ActionApprove, 1, ceo)

	f.request(bob, "github", "fixed")
	_, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 2, Actor: mgr, To: ceo, Reason: "x"})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))

	f.request(bob, "github", "limited")
	_, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 3, Actor: mgr, To: ceo, Reason: "x"})
	assert.Equal(t, workflow.EINVALID, workflow.ErrorCode(err))
	assert.Contains(t, err.Error(), sec1)
	_, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 3, Actor: mgr, To: sec1, Reason: "security should look"})
	require.NoError(t, err)
	assert.Contains(t, actions(f.events(3)), workflow.ActReassigned)
}

func TestEditDurationAndComment(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(bob, "github", "admin")
	rev := task.Revision
	task, err := f.e.EditDuration(f.ctx, workflow.EditDurationInput{TaskID: 1, Actor: mgr, Duration: 2 * time.Hour, Revision: rev})
	require.NoError(t, err)
	assert.Equal(t, 2*time.Hour, task.Duration)
	_, err = f.e.Approve(f.ctx, workflow.Decision{TaskID: 1, Actor: mgr, Revision: rev})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a card showing the old duration is stale")

	_, err = f.e.Comment(f.ctx, workflow.CommentInput{TaskID: 1, Actor: bob, Text: "need it for the incident"})
	require.NoError(t, err)
	f.decide(workflow.ActionApprove, 1, mgr)
	f.decide(workflow.ActionProvisioned, 1, prov1)
	assert.Equal(t, t0.Add(2*time.Hour), f.grants(bob)[0].ExpiresAt)
	evs := f.events(1)
	assert.Contains(t, actions(evs), workflow.ActCommented)
	assert.Contains(t, actions(evs), workflow.ActDurationEdited)
}

func TestAdminActions(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	f.decide(workflow.ActionApprove, 1, mgr)

	task, err := f.e.Restart(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin, Reason: "redo"})
	require.NoError(t, err)
	assert.Equal(t, 0, task.Step)
	assert.Equal(t, []string{mgr}, task.PendingAssignees())
	assert.Contains(t, actions(f.events(1)), workflow.ActApproved, "history is kept")

	task, err = f.e.SkipStep(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin, Reason: "manager away"})
	require.NoError(t, err)
	assert.Equal(t, workflow.StepSkipped, task.Steps[0].Status)
	assert.Equal(t, 1, task.Step)

	// Hard reset applies the policy as configured now.
	cat := testCatalog()
	app, _ := cat.App("github")
	app.Resources[1].RequestPolicy = "std"
	f.e.SetCatalog(cat)
	task, err = f.e.HardReset(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin})
	require.NoError(t, err)
	assert.Equal(t, "std", task.Policy.Name)
	assert.Equal(t, 0, task.Step)

	task, err = f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin, Reason: "duplicate"})
	require.NoError(t, err)
	assert.Equal(t, workflow.StatusCanceled, task.Status)
	_, err = f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))

	_, err = f.e.Delete(f.ctx, workflow.AdminInput{TaskID: 1, Actor: admin})
	require.NoError(t, err)
	_, err = f.e.Task(f.ctx, 1)
	assert.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	assert.Empty(t, f.events(1))
	adminChain := f.events(0)
	last := adminChain[len(adminChain)-1]
	assert.Equal(t, workflow.ActDeleted, last.Action)
	assert.Equal(t, "T-1", last.Details["task"])
	assert.NotEmpty(t, last.Details["last_hash"])
	assert.Equal(t, admin, last.Actor)
	assert.Equal(t, []string{workflow.ActRestarted, workflow.ActStepSkipped, workflow.ActHardReset, workflow.ActCanceled, workflow.ActDeleted}, actions(adminChain))

	next := f.request(bob, "github", "repo")
	assert.Equal(t, "T-2", next.Number(), "numbers are never reused")
	f.verifyAudit()
}

func TestRequesterCancelsOwnRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	task, err := f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: 1, Actor: bob})
	require.NoError(t, err)
	assert.Equal(t, workflow.StatusCanceled, task.Status)
	assert.Empty(t, f.events(0), "a requester's cancel is not an admin action")
}

func TestEmergency(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: bob, AppID: "aws", Justification: "prod down", Emergency: true})
	require.NoError(t, err)
	assert.True(t, task.Emergency)
	assert.Equal(t, "emergency", task.Policy.Name)
	assert.ElementsMatch(t, []string{alice, sec1, sec2}, task.PendingAssignees())
}

func TestReminder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "repo")
	_, err := f.e.SendReminder(f.ctx, bob, 1)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, err = f.e.SendReminder(f.ctx, bob, 1)
	require.NoError(t, err)
	var n int
	for _, a := range actions(f.events(1)) {
		if a == workflow.ActReminded {
			n++
		}
	}
	assert.Equal(t, 2, n)
}

// A revocation tells the holder and asks for the granting task's cards to
// be drawn again; GrantOutcome says what they show.
func TestRevocationTellsTheHolderAndTheGrantTask(t *testing.T) {
	t.Parallel()
	f := setup(t)
	grant := f.request(bob, "github", "admin")
	f.decide(workflow.ActionApprove, grant.ID, mgr)
	grant = f.decide(workflow.ActionProvisioned, grant.ID, prov1)
	out, err := f.e.GrantOutcome(f.ctx, grant)
	require.NoError(t, err)
	require.NotNil(t, out)
	assert.Equal(t, workflow.GrantActive, out.Grant.Status)
	assert.Nil(t, out.Ended)

	rev, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: mgr, Subject: bob, AppID: "github", ResourceID: "admin", Reason: "left the team"})
	require.NoError(t, err)
	f.decide(workflow.ActionConfirm, rev.ID, owner)
	// drain delivers every notice queued (the outbox gives the oldest of
	// each task at a time).
	drain := func() []workflow.Notice {
		var all []workflow.Notice
		for {
			ns, err := f.db.ClaimNotices(f.ctx, "test", f.clock.Now().Add(time.Hour), time.Minute, 1000)
			require.NoError(t, err)
			if len(ns) == 0 {
				return all
			}
			for _, n := range ns {
				require.NoError(t, f.db.NoticeDelivered(f.ctx, n.ID, "test", f.clock.Now()))
			}
			all = append(all, ns...)
		}
	}
	drain()
	f.decide(workflow.ActionDeprovisioned, rev.ID, prov2)
	all := drain()
	var told []string
	resent := false
	for _, n := range all {
		switch {
		case n.Kind() == workflow.NoticeDirect:
			told = append(told, n.Recipient+": "+n.Text)
		case n.Kind() == workflow.NoticeTaskChanged && n.TaskID == grant.ID:
			p := n.Payload.(workflow.TaskChanged)
			resent = p.Resend && p.GrantEvent == "revoked"
		}
	}
	assert.Equal(t, []string{bob + ": Your access to GitHub / org-admin was revoked (" + rev.Number() + ", proposed by " + mgr + "): “left the team”"}, told)
	assert.True(t, resent, "the granting task's cards are drawn again")

	out, err = f.e.GrantOutcome(f.ctx, f.task(grant.ID))
	require.NoError(t, err)
	assert.Equal(t, workflow.GrantRevoked, out.Grant.Status)
	require.NotNil(t, out.Ended)
	assert.Equal(t, rev.ID, out.Ended.ID)

	none, err := f.e.GrantOutcome(f.ctx, f.task(rev.ID))
	require.NoError(t, err)
	assert.Nil(t, none, "a revoke task has no grant outcome")
}
