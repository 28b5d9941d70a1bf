package blocks

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// The Details modal shows a comment as its edits and deletion left it; the
// audit chain keeps every version, the screen only the newest.
func TestDetailsShowsEditedAndDeletedComments(t *testing.T) {
	task := grantTask()
	at := task.CreatedAt
	thread := func(ts string) map[string]string {
		return map[string]string{"source": "thread", "channel": "D1", "ts": ts}
	}
	events := []workflow.AuditEvent{
		{TaskID: task.ID, Seq: 1, At: at, Actor: task.Requester, Action: workflow.ActCreated},
		{TaskID: task.ID, Seq: 2, At: at, Actor: "mgr@example.com", Action: workflow.ActCommented, Comment: "first draft", Details: thread("1.1")},
		{TaskID: task.ID, Seq: 3, At: at, Actor: "mgr@example.com", Action: workflow.ActCommented, Comment: "secret token pasted", Details: thread("1.2")},
		{TaskID: task.ID, Seq: 4, At: at, Actor: "mgr@example.com", Action: workflow.ActCommentEdited, Comment: "second draft", Details: map[string]string{"comment_seq": "2"}},
		{TaskID: task.ID, Seq: 5, At: at, Actor: "mgr@example.com", Action: workflow.ActCommentEdited, Comment: "secret token again", Details: map[string]string{"comment_seq": "3"}},
		{TaskID: task.ID, Seq: 6, At: at, Actor: "mgr@example.com", Action: workflow.ActCommentDeleted, Details: map[string]string{"comment_seq": "3"}},
	}
	m := DetailsModal(DetailsInput{Task: task, Events: events, Viewer: task.Requester, Dir: dir, Now: at})
	b, err := json.Marshal(m)
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, "second draft")
	assert.Contains(t, s, "(edited)")
	assert.Contains(t, s, "_deleted_")
	assert.Contains(t, s, "edited a comment")
	assert.Contains(t, s, "deleted a comment")
	assert.NotContains(t, s, "secret token", "a deleted comment's text is not shown")
}
