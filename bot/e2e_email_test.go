package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/workflow"
)

// emailConfig is testConfig with an email channel: eve wants email only,
// sec1 both.
var emailConfig = strings.Replace(testConfig, "  - email: eve@example.com\n", "  - email: eve@example.com\n    notify: email\n", 1) + `
email:
  host: 127.0.0.1
  from: accessbot@example.com
`

// TestAssigneeMissingInSlackIsEmailed: with an email channel, carol's
// manager ghost (not in Slack) gets the assignment by email; the task stays
// open, and Details shows the card-less assignment.
func TestAssigneeMissingInSlackIsEmailed(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, emailConfig, 45*time.Second)
	task := h.request("carol", "github")
	carolCard := h.card(task.ID, workflow.CardRequester, "carol", -1)
	h.settled(task.ID)
	require.Equal(t, workflow.StatusOpen, h.task(task.ID).Status, "the task does not stop")

	// Take every row off the email outbox (a task's rows come one at a time).
	var rows []workflow.Notice
	for {
		got, err := h.db.ClaimEmails(h.ctx, "test", time.Now().Add(time.Hour), time.Minute, 100)
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		for _, r := range got {
			require.NoError(t, h.db.EmailDone(h.ctx, r.ID, "test", time.Now()))
		}
		rows = append(rows, got...)
	}
	var fallback []workflow.Notice
	for _, r := range rows {
		if p, ok := r.Payload.(workflow.TaskChanged); r.TaskID == task.ID && ok && p.Fallback {
			fallback = append(fallback, r)
		}
	}
	require.Len(t, fallback, 1, "one email for ghost, however often the cards are synced")
	assert.Equal(t, email("ghost"), fallback[0].Recipient)

	h.click("carol", carolCard, blocks.ActDetails)
	details := h.topModal("carol", blocks.CbDetails)
	assert.Contains(t, details.AllText(), "notified ghost@example.com by email (not reachable in Slack; no card)")
}

// TestEmailOnlyPersonGetsNoSlackCards: eve (notify: email) requests; she
// gets no requester card and no DMs in Slack.
func TestEmailOnlyPersonGetsNoSlackCards(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, emailConfig, 45*time.Second)
	task := h.request("eve", "vpn")
	h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	cards := h.settled(task.ID)
	for _, c := range cards {
		assert.NotEqual(t, email("eve"), c.Email, "no card for eve")
	}
	assert.Empty(t, h.slack.DMs(h.ids["eve"]))
}

// TestRequesterMissingInSlackIsEmailed: ghost (not in Slack) asks; with an
// email channel the outcome is queued for ghost by email, once.
func TestRequesterMissingInSlackIsEmailed(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, emailConfig, 45*time.Second)
	task := h.request("ghost", "vpn")
	h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	h.settled(task.ID)
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("sec1")})
	require.NoError(t, err)
	h.settled(task.ID)
	var evs []workflow.AuditEvent
	require.NoError(t, h.db.View(h.ctx, func(tx workflow.ReadTx) (err error) { evs, err = tx.AuditEvents(task.ID); return err }))
	n := 0
	for _, ev := range evs {
		if ev.Action == workflow.ActNotifiedByEmail {
			n++
			assert.Equal(t, email("ghost"), ev.Details["email"])
			assert.Equal(t, "requester", ev.Details["role"])
		}
	}
	assert.Equal(t, 1, n, "recorded once, however often the cards are synced")
}
