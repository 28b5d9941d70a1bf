package scheduler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/store"
	"accessbot/workflow"
)

// TestDigestJobHasItsOwnInterval: the digest job is scheduled on its own
// interval beside the engine's jobs (on the default spec), and a run writes
// a digest of what changed.
func TestDigestJobHasItsOwnInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"), c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e := workflow.NewEngine(db, engineCatalog(), c.Now)
	var lines []string
	d := &workflow.Digester{Store: db, Sink: func(l string) error { lines = append(lines, l); return nil }}
	s := New(e, testLogger(t), Options{Jobs: append(Jobs(e), DigestJob(d, 7*time.Minute))})
	require.NoError(t, s.Start())
	t.Cleanup(func() { s.Stop(context.Background()) })
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var gaps []time.Duration
	for _, en := range s.cron.Entries() {
		gaps = append(gaps, en.Schedule.Next(t0).Sub(t0))
	}
	assert.ElementsMatch(t, []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute, 7 * time.Minute}, gaps)

	_, err = e.Request(ctx, workflow.RequestInput{Requester: alice, AppID: "github", Justification: "x"})
	require.NoError(t, err)
	require.NoError(t, s.RunOnce(ctx))
	require.Len(t, lines, 1, "RunOnce ran the digest job")
	dg, err := workflow.ParseDigest(lines[0])
	require.NoError(t, err)
	assert.Equal(t, "T-1", dg.Body.Heads[0].Chain)
}
