package workflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// TestExpireGrantsInBulk expires more grants than one transaction takes,
// half of them provisioned by hand, each made by a task of its own: every
// grant ends once, every task that made one gets one "expired" event on
// its chain, the manual ones get a revoke task straight at deprovisioning,
// every holder is told once, and a second run does nothing.
func TestExpireGrantsInBulk(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const n = workflow.SweepBatch*2 + 3
	ends := f.clock.Now().Add(time.Hour)
	grants := make([]*workflow.Grant, n)
	require.NoError(t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		for i := range n {
			subject := fmt.Sprintf("u%d@example.com", i)
			app, res := "snowflake", ""
			if i%2 == 0 {
				app, res = "github", "repo"
			}
			src := &workflow.Task{Kind: workflow.KindGrant, Status: workflow.StatusDone, Revision: 3, Requester: subject, Subject: subject,
				AppID: app, ResourceID: res, Duration: time.Hour, Justification: "x", Origin: workflow.OriginRequest,
				Policy: workflow.Policy{Name: "p", Steps: []workflow.Step{review("manager")}},
				Steps:  []workflow.StepRun{{Status: workflow.StepApproved, StartedAt: tx.Now()}}}
			if err := tx.CreateTask(src); err != nil {
				return err
			}
			if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: src.ID, Actor: subject, Action: workflow.ActCreated, At: tx.Now()}); err != nil {
				return err
			}
			g := &workflow.Grant{Subject: subject, AppID: app, ResourceID: res, Status: workflow.GrantActive, StartsAt: tx.Now(), ExpiresAt: ends, TaskID: src.ID}
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
			grants[i] = g
		}
		return nil
	}))
	f.takeNotices(workflow.NoticeDirect)

	f.clock.Advance(time.Hour)
	got, err := f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, n, got)
	got, err = f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, got, "running twice at the same instant does nothing twice")

	told := map[string]int{}
	for _, nt := range f.takeNotices(workflow.NoticeDirect) {
		told[nt.Recipient]++
	}
	assert.Len(t, told, n)
	for i, g := range grants {
		back := f.grants(g.Subject)
		require.Len(t, back, 1)
		assert.Equal(t, workflow.GrantExpired, back[0].Status)
		assert.Equal(t, f.clock.Now().UTC(), back[0].EndedAt)
		assert.Equal(t, 1, told[g.Subject], g.Subject)
		assert.Equal(t, 1, count(f.events(g.TaskID), workflow.ActExpired), "T-%d", g.TaskID)
		src := f.task(g.TaskID)
		assert.EqualValues(t, 1, src.Version, "the task that made it gains an event, its row is not rewritten")
		evs := f.events(g.TaskID)
		assert.Equal(t, evs[len(evs)-1].Hash, src.AuditHead, "its audit head is its newest event")
		if i%2 == 1 {
			assert.Zero(t, back[0].EndTaskID, "provisioning none: nothing to remove by hand")
			continue
		}
		rt := f.task(back[0].EndTaskID)
		assert.Equal(t, workflow.OriginExpiry, rt.Origin)
		assert.Equal(t, g.ID, rt.GrantID)
		assert.ElementsMatch(t, []string{prov1, prov2}, rt.PendingAssignees())
	}
	f.verifyAudit()
}
