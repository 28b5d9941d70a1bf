package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestDelegationResolution(t *testing.T) {
	t.Parallel()
	type deleg struct {
		from, to     string
		starts, ends time.Time
	}
	cases := []struct {
		name     string
		res      string
		delegs   []deleg
		want     string
		wantVia  workflow.Via
		wantFrom string
	}{
		{name: "none", res: "admin", want: mgr, wantVia: workflow.ViaPolicy},
		{name: "direct", res: "admin", delegs: []deleg{{from: mgr, to: deputy}}, want: deputy, wantVia: workflow.ViaDelegated, wantFrom: mgr},
		{name: "chain", res: "admin", delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: ceo}}, want: ceo, wantVia: workflow.ViaDelegated, wantFrom: mgr},
		{name: "cycle falls back to the original", res: "admin", delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: mgr}}, want: mgr, wantVia: workflow.ViaPolicy},
		{name: "chain ending at the requester falls back", res: "admin", delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: bob}}, want: mgr, wantVia: workflow.ViaPolicy},
		{name: "blocked step keeps the original", res: "blocked", delegs: []deleg{{from: mgr, to: deputy}}, want: mgr, wantVia: workflow.ViaPolicy},
		{name: "window not started", res: "admin", delegs: []deleg{{from: mgr, to: deputy, starts: t0.Add(time.Hour)}}, want: mgr, wantVia: workflow.ViaPolicy},
		{name: "window over", res: "admin", delegs: []deleg{{from: mgr, to: deputy, starts: t0.Add(-48 * time.Hour), ends: t0}}, want: mgr, wantVia: workflow.ViaPolicy},
		{name: "inside window", res: "admin", delegs: []deleg{{from: mgr, to: deputy, starts: t0.Add(-time.Hour), ends: t0.Add(time.Hour)}}, want: deputy, wantVia: workflow.ViaDelegated, wantFrom: mgr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			for _, d := range c.delegs {
				f.setDelegation(d.from, d.to, d.starts, d.ends)
			}
			task := f.request(bob, "github", c.res)
			require.Equal(t, []string{c.want}, task.PendingAssignees())
			a := task.Steps[0].Assignees[0]
			assert.Equal(t, c.wantVia, a.Via)
			assert.Equal(t, c.wantFrom, a.From)
			hasDelegated := false
			for _, e := range f.events(task.ID) {
				if e.Action == workflow.ActDelegated {
					hasDelegated = true
					assert.Equal(t, mgr, e.Details["from"])
					assert.Equal(t, c.want, e.Details["to"])
				}
			}
			assert.Equal(t, c.wantVia == workflow.ViaDelegated, hasDelegated, "the audit log names every delegated assignment")
			f.decide(workflow.ActionApprove, task.ID, c.want)
		})
	}
}

func TestDelegationDoesNotMoveExistingTasks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.request(bob, "github", "admin")
	f.setDelegation(mgr, deputy, time.Time{}, time.Time{})
	assert.Equal(t, []string{mgr}, f.task(1).PendingAssignees())
	assert.Equal(t, []string{deputy}, f.request(bob, "github", "repo").PendingAssignees(), "new tasks follow it")
}

func TestReassignOntoADelegator(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.setDelegation(ceo, deputy, time.Time{}, time.Time{})
	f.request(bob, "github", "admin")
	task, err := f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: 1, Actor: mgr, To: ceo, Reason: "escalate"})
	require.NoError(t, err)
	assert.Equal(t, []string{deputy}, task.PendingAssignees())
	a := task.Steps[0].Assignees[1]
	assert.Equal(t, workflow.ViaReassign, a.Via)
	assert.Equal(t, mgr, a.From)
	assert.Contains(t, a.Reason, "delegated by "+ceo)
}
