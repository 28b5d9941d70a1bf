package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditVerifyNamesTheFirstBrokenEvent tampers with copies of one
// database in the ways an insider would and expects verify to fail with
// exit code 1 and name the event.
func TestAuditVerifyNamesTheFirstBrokenEvent(t *testing.T) {
	t.Parallel()
	path, total := exportDB(t)
	code, out, errOut := run(t, nil, "audit", "verify", "--db", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "audit OK")
	require.Positive(t, total)

	tests := []struct {
		name, sql string
		want      []string
	}{
		{"edited comment", `UPDATE audit_events SET comment = 'fine' WHERE action = 'commented'`,
			[]string{"task T-1", "commented", "altered"}},
		{"removed event", `DELETE FROM audit_events WHERE task_id = 1 AND seq = 2`,
			[]string{"task T-1", "event 3", "missing or was inserted"}},
		{"rewritten actor of the admin chain", `UPDATE audit_events SET actor = 'eve@example.com' WHERE task_id = 0`,
			[]string{"admin chain", "deleted", "altered"}},
		{"re-hashed event", `UPDATE audit_events SET comment = 'fine', hash = 'x' WHERE action = 'commented'`,
			[]string{"task T-1", "commented"}},
	}
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "copy.db")
			require.NoError(t, os.WriteFile(p, orig, 0o600))
			raw, err := sql.Open("sqlite3", p)
			require.NoError(t, err)
			res, err := raw.Exec(tt.sql)
			require.NoError(t, err)
			n, _ := res.RowsAffected()
			require.Positive(t, n)
			require.NoError(t, raw.Close())
			code, _, errOut := run(t, nil, "audit", "verify", "--db", p)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "audit chain broken")
			for _, w := range tt.want {
				assert.Contains(t, errOut, w)
			}
		})
	}
}
