package workflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// auditCount is how many events a task's chain holds.
func (f *fixture) auditCount(id int64) int {
	f.t.Helper()
	var n int
	require.NoError(f.t, f.db.View(f.ctx, func(tx workflow.ReadTx) error {
		evs, err := tx.AuditEvents(id)
		n = len(evs)
		return err
	}))
	return n
}

// TestPreviewAdminChangesNothing: a preview says what the operation would
// leave and refuses what it would refuse, and writes nothing either way.
func TestPreviewAdminChangesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(alice, "github", "admin") // std: manager, then provisioning
	before := f.task(task.ID)
	events := f.auditCount(task.ID)

	tests := []struct {
		op      workflow.AdminOp
		in      workflow.AdminInput
		check   func(t *testing.T, after *workflow.Task)
		wantErr string
	}{
		{workflow.OpSkipStep, workflow.AdminInput{}, func(t *testing.T, after *workflow.Task) {
			assert.Equal(t, 1, after.Step, "the provisioning step would be current")
			assert.Equal(t, []string{prov1, prov2}, after.PendingAssignees())
		}, ""},
		{workflow.OpDelete, workflow.AdminInput{}, func(t *testing.T, after *workflow.Task) { assert.Nil(t, after) }, ""},
		{workflow.OpHardReset, workflow.AdminInput{}, func(t *testing.T, after *workflow.Task) {
			assert.Equal(t, "std", after.Policy.Name)
			assert.Equal(t, 0, after.Step)
		}, ""},
		{workflow.OpChangePolicy, workflow.AdminInput{Policy: "revoke"}, nil, "is an access request"},
		{workflow.OpRestart, workflow.AdminInput{Revision: before.Revision + 5}, nil, "moved on"},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			in := tt.in
			in.TaskID, in.Actor = task.ID, admin
			after, err := f.e.PreviewAdmin(f.ctx, tt.op, in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, workflow.ErrorMessage(err), tt.wantErr)
			} else {
				require.NoError(t, err)
				tt.check(t, after)
			}
			now := f.task(task.ID)
			assert.Equal(t, before.Version, now.Version, "nothing was written")
			assert.Equal(t, events, f.auditCount(task.ID))
			assert.Zero(t, f.auditCount(0), "no admin event either")
		})
	}
	_, err := f.e.PreviewAdmin(f.ctx, workflow.OpDelete, workflow.AdminInput{TaskID: task.ID, Actor: eve})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))

	// The real operation with the confirmed revision goes through.
	_, err = f.e.RunAdmin(f.ctx, workflow.OpSkipStep, workflow.AdminInput{TaskID: task.ID, Actor: admin, Revision: before.Revision})
	require.NoError(t, err)
	assert.Equal(t, 1, f.task(task.ID).Step)
}

func TestStuckListsErrorsAndLongWaits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cat := f.e.Catalog()
	c2 := *cat
	c2.Reminders.EscalateAfter = 48 * time.Hour
	f.e.SetCatalog(&c2)

	broken := f.request(dave, "github", "nomgr") // dave has no manager and nomgr no fallback
	require.Equal(t, workflow.StatusError, f.task(broken.ID).Status)
	old := f.request(alice, "github", "admin")
	f.clock.Advance(72 * time.Hour)
	fresh := f.request(bob, "github", "admin")

	_, _, err := f.e.Stuck(f.ctx, eve, 10)
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))

	got, total, err := f.e.Stuck(f.ctx, admin, 10)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	require.Len(t, got, 2)
	assert.Equal(t, broken.ID, got[0].Task.ID)
	assert.Contains(t, got[0].Reason, "stopped with an error")
	assert.Equal(t, old.ID, got[1].Task.ID)
	assert.Contains(t, got[1].Reason, "has waited 3d 0h")
	assert.Contains(t, got[1].Reason, "waiting on "+mgr)
	for _, s := range got {
		assert.NotEqual(t, fresh.ID, s.Task.ID)
	}
}
