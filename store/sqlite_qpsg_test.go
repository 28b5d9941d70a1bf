package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every connection of a store must have the planner stability flag on:
// without it each cached statement with a "column = ?" term is compiled
// again on every run (sqlite_qpsg.go).
func TestSQLiteConnectionsPlanStably(t *testing.T) {
	require.NoError(t, qpsgErr)
	on0, _ := qpsgConnections()
	db, _ := openSQLite(t, newClock().Now)
	ctx := context.Background()
	// Hold two readers at once so that two reader connections exist.
	for range 2 {
		sx, err := db.r.BeginTxx(ctx, nil)
		require.NoError(t, err)
		defer sx.Rollback()
		var n int
		require.NoError(t, sx.GetContext(ctx, &n, "SELECT COUNT(*) FROM tasks"))
	}
	require.NoError(t, db.writer(ctx).get(new(int), "SELECT COUNT(*) FROM tasks"))
	on, off := qpsgConnections()
	require.Zero(t, off, "connections SQLite refused the flag on")
	require.GreaterOrEqual(t, on-on0, 3, "the writer and two readers were opened with the flag")
}
