package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// A reviewer's card carries the insights line and their Details modal every
// insight; the requester sees neither; the decision records what the
// reviewer saw, and the card loses the line once the review is done.
func TestInsightsOnReviewCard(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	assert.Contains(t, card.AllText(), "*Insights*")
	assert.Contains(t, card.AllText(), "You are their manager")
	assert.NotContains(t, h.card(task.ID, workflow.CardRequester, "alice", -1).AllText(), "Insights")

	h.click("mgr", card, blocks.ActDetails)
	var view fakeslack.View
	h.eventually("the details modal", func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids["mgr"])
		return ok
	})
	assert.Contains(t, view.AllText(), "*Insights* (")
	assert.Contains(t, view.AllText(), "manager in accessbot's configuration")
	assert.Contains(t, view.AllText(), "Asks for 1w: the default; within the maximum of 4w.")

	h.click("mgr", card, blocks.ActApprove)
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
	_, evs, err := h.engine.TaskFor(h.ctx, email("admin"), task.ID)
	require.NoError(t, err)
	var recorded string
	for _, e := range evs {
		if e.Action == workflow.ActApproved {
			recorded = e.Details["insights"]
		}
	}
	assert.Contains(t, recorded, "reviewer_is_manager:info")
	assert.Contains(t, recorded, "duration:info[default=1w max=4w requested=1w]")

	for _, c := range h.settled(task.ID) {
		if c.Role == workflow.CardAssignee && c.Email == email("mgr") {
			assert.False(t, strings.Contains(h.msg(c).AllText(), "*Insights*"), "no insights once decided")
		}
	}
}
