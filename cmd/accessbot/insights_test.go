package main

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// The insights a decision records are inside the hash chain: audit verify
// passes with them and names the event when they are altered.
func TestAuditVerifyCoversInsights(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath, db, e, task := exampleRequest(t, "sofia.rossi@acme.example")
	require.NotEmpty(t, task.PendingAssignees())
	_, err := e.Approve(ctx, workflow.Decision{TaskID: task.ID, Actor: task.PendingAssignees()[0]})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	raw, err := sql.Open("sqlite3", dbPath)
	require.NoError(t, err)
	defer raw.Close()
	var details string
	require.NoError(t, raw.QueryRow(`SELECT details_json FROM audit_events WHERE action = 'approved'`).Scan(&details))
	require.Contains(t, details, `"insights"`)

	code, out, errOut := run(t, map[string]string{"ACCESSBOT_DB": dbPath}, "audit", "verify")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "audit OK")

	_, err = raw.Exec(`UPDATE audit_events SET details_json = '{"insights":"none"}' WHERE action = 'approved'`)
	require.NoError(t, err)
	code, _, errOut = run(t, nil, "audit", "verify", "--db", dbPath)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "approved")
	assert.Contains(t, errOut, "altered")
}
