package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"accessbot/workflow"
)

// TestRemindCommandInThread sends a reminder with `/access remind`: the assignee is
// reminded in the thread of their card; a second one within the hour, one
// by an outsider and a bad task number are refused with what to do.
func TestRemindCommandInThread(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)

	out := h.command("alice", "/access", "remind "+task.Number())
	assert.Contains(t, out, "Reminder sent for *"+task.Number()+"*")
	h.eventually("the reminder in mgr's card thread", func() bool {
		return len(h.slack.Thread(card.Channel, card.TS)) > 0
	})
	assert.Equal(t, 1, remindedEvents(h, task.ID), "one reminded event")

	assert.Contains(t, h.command("alice", "/access", "remind "+task.Number()), "the next reminder can go at")
	assert.Contains(t, h.command("eve", "/access", "remind "+task.Number()), "not involved")
	assert.Contains(t, h.command("alice", "/access", "remind twelve"), "write it as T-12")
	assert.Contains(t, h.command("alice", "/access", "remind"), "/access remind T-12")
	assert.Equal(t, 1, remindedEvents(h, task.ID), "refusals change nothing")
}

func remindedEvents(h *harness, id int64) int {
	n := 0
	for _, e := range h.events(id) {
		if e.Action == workflow.ActReminded {
			n++
		}
	}
	return n
}
