package blocks

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestAdminConfirmModals(t *testing.T) {
	t.Parallel()
	skipped := atProvisioning()
	tests := []struct {
		name string
		in   AdminConfirmInput
		want []string
	}{
		{"delete", AdminConfirmInput{Op: workflow.OpDelete, Task: grantTask(), Events: 7},
			[]string{"will be *deleted*", "(7 events) is removed", "cannot be undone"}},
		{"skip_step", AdminConfirmInput{Op: workflow.OpSkipStep, Task: grantTask(), After: skipped},
			[]string{"Step 1 (review)", "treated as done", "Afterwards:"}},
		{"hard_reset", AdminConfirmInput{Op: workflow.OpHardReset, Task: atProvisioning(), After: grantTask(), Reason: "policy fixed"},
			[]string{"as configured now", "starts again at step 1"}},
		{"change_policy_choose", AdminConfirmInput{Op: workflow.OpChangePolicy, Task: revokeTask(), Policies: []string{"revoke", "quick-revoke"}},
			[]string{"the policy you choose below"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.in.Dir, tt.in.Ent = dir, github()
			tt.in.Meta = AdminMeta{TaskID: tt.in.Task.ID, Revision: tt.in.Task.Revision, Op: tt.in.Op, ResponseURL: "https://hooks.slack.com/commands/T1/2/abc"}
			m := AdminConfirmModal(tt.in)
			checkLimits(t, tt.name, m, surfaceModal)
			golden(t, "modal_admin_"+tt.name, m)
			text := render(t, m)
			for _, w := range tt.want {
				assert.Contains(t, string(text), w)
			}
			meta, err := DecodeAdminMeta(m.PrivateMetadata)
			require.NoError(t, err)
			assert.Equal(t, tt.in.Meta, meta)
		})
	}
}

func TestAdminMetaAndOptionsRefuseJunk(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "{}", `{"task":1,"rev":1,"op":"cancel"}`, `{"task":0,"rev":1,"op":"delete"}`, `{"task":1,"rev":1,"op":"delete","x":1}`} {
		_, err := DecodeAdminMeta(s)
		assert.Error(t, err, s)
	}
	for _, s := range []string{"", "delete", "explode|1:1", "delete|x:1"} {
		_, _, _, err := DecodeAdminOption(s)
		assert.Error(t, err, s)
	}
	op, id, rev, err := DecodeAdminOption("hard-reset|12:3")
	require.NoError(t, err)
	assert.Equal(t, "hard-reset", op)
	assert.Equal(t, int64(12), id)
	assert.Equal(t, int64(3), rev)
}

func TestAdminMenuFitsTheState(t *testing.T) {
	t.Parallel()
	values := func(task *workflow.Task) string {
		var out []string
		sel := adminMenu(task).(*slack.ActionBlock).Elements.ElementSet[0].(*slack.SelectBlockElement)
		for _, o := range sel.Options {
			op, _, _, err := DecodeAdminOption(o.Value)
			require.NoError(t, err)
			out = append(out, op)
		}
		return strings.Join(out, " ")
	}
	assert.Equal(t, "process-now remind cancel restart skip-step hard-reset delete", values(grantTask()))
	assert.Equal(t, "process-now cancel restart skip-step hard-reset change-policy delete", values(func() *workflow.Task {
		t := revokeTask()
		t.Status = workflow.StatusError
		return t
	}()))
	assert.Equal(t, "process-now delete", values(provisioned()))
}

func TestStuckMessage(t *testing.T) {
	t.Parallel()
	ents := func(*workflow.Task) workflow.Entitlement { return github() }
	text, bs := StuckMessage(nil, 0, ents, dir)
	assert.Contains(t, text, "No task is stuck")
	assert.Len(t, bs, 1)

	var items []workflow.StuckTask
	for i := range 60 {
		task := errored()
		task.ID = int64(100 + i)
		items = append(items, workflow.StuckTask{Task: task, Reason: "nobody can review"})
	}
	text, bs = StuckMessage(items, 75, ents, dir)
	msg := struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{text, bs}
	checkLimits(t, "stuck", msg, surfaceMessage)
	assert.Equal(t, "75 tasks need an admin", text)
	assert.Contains(t, string(render(t, bs[len(bs)-1])), "and 35 more")
	text, bs = StuckMessage(items[:2], 2, ents, dir)
	golden(t, "message_stuck_first_two", struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{text, bs})
}
