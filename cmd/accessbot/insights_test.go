package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/store"
	"accessbot/workflow"
)

// The insights a decision records are inside the hash chain: audit verify
// passes with them and names the event when they are altered.
func TestAuditVerifyCoversInsights(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "a.db")
	cat, err := config.Load("../../examples/config.yaml")
	require.NoError(t, err)
	db, err := store.Open(ctx, dbPath, time.Now)
	require.NoError(t, err)
	e := workflow.NewEngine(db, cat, time.Now)
	app := cat.Apps[0]
	res := ""
	if len(app.Resources) > 0 {
		res = app.Resources[0].ID
	}
	task, err := e.Request(ctx, workflow.RequestInput{Requester: "sofia.rossi@acme.example", AppID: app.ID, ResourceID: res, Justification: "audit test"})
	require.NoError(t, err)
	require.NotEmpty(t, task.PendingAssignees())
	_, err = e.Approve(ctx, workflow.Decision{TaskID: task.ID, Actor: task.PendingAssignees()[0]})
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
