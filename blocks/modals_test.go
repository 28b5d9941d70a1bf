package blocks

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

var cardMeta = ModalMeta{TaskID: 12, Revision: 3, Channel: "D0MGR", MessageTS: "1741615200.000100"}

func TestModals(t *testing.T) {
	t.Parallel()
	delegated := grantTask()
	delegated.Steps[0].Assignees = []workflow.Assignment{{Email: deputy, Via: workflow.ViaDelegated, From: mgr, State: workflow.AssignPending}}
	noMax := github()
	noMax.MaxDuration = 0

	for _, tc := range []struct {
		name     string
		modal    slack.ModalViewRequest
		callback string
		action   string // the metadata's action
		inputs   []string
		has      []string
	}{
		{name: "details", callback: CbDetails, action: ActDetails,
			modal: DetailsModal(DetailsInput{Task: delegated, Ent: github(), Events: events(), Viewer: deputy, Dir: dir, Now: now}),
			has: []string{"T-12 details", "*Plan* · policy _two-step_ · 3 steps", "*step 1 waits on you*", ":point_left: *you*",
				"delegated by <@U0MGR>", "*Comments* (2)", "It's for tonight's &lt;release&gt;, thanks!", "*History* · 8 events, newest first",
				"changed the duration from 1d to 8h", "Provisioning instructions"}},
		{name: "details_admin_closed", callback: CbDetails, action: ActDetails,
			modal: DetailsModal(DetailsInput{Task: provisioned(), Ent: github(), Events: events(), Viewer: admin, IsAdmin: true, Dir: dir, Now: now}),
			has:   []string{"you are an admin", "`#8`", "audit chain head `9f2c1e0d8b7a6f5e`", "*Closed*"}},
		{name: "reassign", callback: CbReassign, action: ActReassign, inputs: []string{BlockReassignTo, BlockReason},
			modal: ReassignModal(dir, grantTask(), github(), cardMeta, "Only members of group security can take this step."),
			has:   []string{"Reassign T-12", "users_select", "Only members of group security", "step 1 of 3 (review)"}},
		{name: "edit_duration", callback: CbEditDuration, action: OptEditDuration, inputs: []string{BlockDuration},
			modal: EditDurationModal(dir, grantTask(), github(), cardMeta),
			has:   []string{`"initial_value": "8h"`, "The maximum for GitHub / Org admin is 1w."}},
		{name: "edit_duration_no_max", callback: CbEditDuration, action: OptEditDuration, inputs: []string{BlockDuration},
			modal: EditDurationModal(dir, grantTask(), noMax, cardMeta),
			has:   []string{"or permanent. GitHub / Org admin has no maximum."}},
		{name: "comment", callback: CbComment, action: OptComment, inputs: []string{BlockComment},
			modal: CommentModal(dir, grantTask(), cardMeta),
			has:   []string{"Comment on T-12", `"multiline": true`}},
		{name: "decision_approve", callback: CbDecision, action: string(workflow.ActionApprove), inputs: []string{BlockComment},
			modal: DecisionModal(dir, grantTask(), OptApproveComment, cardMeta),
			has:   []string{"Approve with comment", "You are about to *approve* *T-12*."}},
		{name: "decision_deny", callback: CbDecision, action: string(workflow.ActionDeny), inputs: []string{BlockComment},
			modal: DecisionModal(dir, grantTask(), ActDeny, cardMeta),
			has:   []string{"Deny with comment", `"text": "Reason"`}},
		{name: "decision_wont_provision", callback: CbDecision, action: string(workflow.ActionWontProvision), inputs: []string{BlockComment},
			modal: DecisionModal(dir, atProvisioning(), OptWontProvisionComment, ModalMeta{}),
			has:   []string{"Won't provision", "decline to provision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			golden(t, "modal_"+tc.name, tc.modal)
			checkLimits(t, tc.name, tc.modal, surfaceModal)
			assert.Equal(t, tc.callback, tc.modal.CallbackID)
			meta, err := DecodeMeta(tc.modal.PrivateMetadata)
			require.NoError(t, err)
			assert.Equal(t, tc.action, meta.Action)
			assert.Positive(t, meta.TaskID)
			var inputs []string
			for _, b := range tc.modal.Blocks.BlockSet {
				if in, ok := b.(*slack.InputBlock); ok {
					inputs = append(inputs, in.BlockID)
					assert.False(t, in.Optional, "every input is required")
				}
			}
			assert.Equal(t, tc.inputs, inputs)
			raw := string(render(t, tc.modal))
			for _, s := range tc.has {
				assert.Contains(t, raw, s)
			}
		})
	}
}

// The metadata comes back as the card put it, with what it left out filled
// in from the task.
func TestModalMetaRoundTrip(t *testing.T) {
	t.Parallel()
	m := DecisionModal(dir, grantTask(), OptDenyComment, cardMeta)
	got, err := DecodeMeta(m.PrivateMetadata)
	require.NoError(t, err)
	assert.Equal(t, ModalMeta{TaskID: 12, Revision: 3, Action: "deny", Channel: "D0MGR", MessageTS: "1741615200.000100"}, got)

	m = CommentModal(dir, atProvisioning(), ModalMeta{})
	got, err = DecodeMeta(m.PrivateMetadata)
	require.NoError(t, err)
	assert.Equal(t, ModalMeta{TaskID: 12, Revision: 7, Action: OptComment}, got)
}

// Titles stay within 24 characters, also for large task numbers.
func TestModalTitlesFit(t *testing.T) {
	t.Parallel()
	task := grantTask()
	task.ID = 9_223_372_036_854_775_807
	for _, m := range []slack.ModalViewRequest{
		ReassignModal(dir, task, github(), ModalMeta{}, ""),
		EditDurationModal(dir, task, github(), ModalMeta{}),
		CommentModal(dir, task, ModalMeta{}),
		DecisionModal(dir, task, "approve", ModalMeta{}),
		DecisionModal(dir, task, "nonsense", ModalMeta{}),
		DetailsModal(DetailsInput{Task: task, Dir: dir, Now: now}),
	} {
		assert.LessOrEqual(t, len([]rune(m.Title.Text)), maxViewTitle, m.Title.Text)
		assert.True(t, strings.HasPrefix(m.Title.Text, "") && m.Title.Text != "")
		checkLimits(t, m.CallbackID, m, surfaceModal)
	}
}
