package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestDigestsSQLite(t *testing.T) {
	t.Parallel()
	testDigests(t, openSQLite)
}

func TestDigestsPostgres(t *testing.T) {
	t.Parallel()
	if _, err := postgresBase(); err != nil {
		t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
	}
	testDigests(t, openPostgres)
}

// testDigests: ChangedHeads names the newest event of each chain written
// after a watermark; digests are stored in order, a taken seq is a
// conflict, and they read back as written; a read-only open reads them and
// refuses to write.
func testDigests(t *testing.T, open opener) {
	ctx := context.Background()
	db, dsn := open(t, newClock().Now)
	appendN := func(task int64, n int) {
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error {
			for range n {
				if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: task, Actor: "a", Action: workflow.ActCommented}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	changed := func(after int64) ([]workflow.TaskHead, int64) {
		var hs []workflow.TaskHead
		var top int64
		require.NoError(t, db.UpdateDigests(ctx, func(tx workflow.DigestTx) (err error) {
			hs, top, err = tx.ChangedHeads(after)
			return err
		}))
		return hs, top
	}
	hs, top := changed(0)
	assert.Empty(t, hs)
	assert.Zero(t, top)

	appendN(0, 1)
	appendN(2, 3)
	appendN(1, 2)
	hs, top = changed(0)
	require.Len(t, hs, 3)
	assert.Equal(t, []int64{0, 1, 2}, []int64{hs[0].TaskID, hs[1].TaskID, hs[2].TaskID}, "by task")
	assert.Equal(t, []int64{1, 2, 3}, []int64{hs[0].Seq, hs[1].Seq, hs[2].Seq}, "each chain's newest")
	var seq int64
	var hash string
	require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) (err error) { seq, hash, err = tx.AuditHead(2); return err }))
	assert.Equal(t, hash, hs[2].Hash)
	assert.Equal(t, int64(6), top)

	appendN(2, 1)
	hs, top2 := changed(top)
	require.Len(t, hs, 1, "only the chain written after the watermark")
	assert.Equal(t, int64(2), hs[0].TaskID)
	assert.Equal(t, seq+1, hs[0].Seq)
	assert.Equal(t, top+1, top2)

	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	d1, err := workflow.MakeDigest(workflow.DigestBody{Seq: 1, At: at, ThroughEvent: top2}, nil)
	require.NoError(t, err)
	d2, err := workflow.MakeDigest(workflow.DigestBody{Seq: 2, At: at, Prev: d1.Hash, ThroughEvent: top2}, nil)
	require.NoError(t, err)
	require.NoError(t, db.UpdateDigests(ctx, func(tx workflow.DigestTx) error {
		if err := tx.AppendDigest(d1); err != nil {
			return err
		}
		return tx.AppendDigest(d2)
	}))
	err = db.UpdateDigests(ctx, func(tx workflow.DigestTx) error { return tx.AppendDigest(d2) })
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a seq is written once: %v", err)
	var mark workflow.DigestMark
	require.NoError(t, db.UpdateDigests(ctx, func(tx workflow.DigestTx) (err error) { mark, err = tx.LastDigest(); return err }))
	assert.Equal(t, workflow.DigestMark{Seq: 2, Hash: d2.Hash, ThroughEvent: top2}, mark)

	ro, err := OpenReadOnly(ctx, dsn)
	require.NoError(t, err)
	defer ro.Close()
	var lines []string
	require.NoError(t, ro.ViewAudit(ctx, func(tx workflow.AuditReadTx) error {
		return tx.WalkDigests(func(_ int64, l string) error { lines = append(lines, l); return nil })
	}))
	assert.Equal(t, []string{d1.Line, d2.Line}, lines, "read back as written")
	err = ro.Update(ctx, func(tx workflow.Tx) error {
		return tx.AppendAudit(&workflow.AuditEvent{TaskID: 9, Actor: "a", Action: workflow.ActCommented})
	})
	assert.Error(t, err, "a read-only open writes nothing")
}

// TestOpenReadOnlyCreatesNothing: a missing file is refused and not made,
// and a database without the digest table (older than migration 0015)
// reads as having none.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nope.db")
	_, err := OpenReadOnly(ctx, missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no SQLite database at")
	_, err = os.Stat(missing)
	assert.True(t, os.IsNotExist(err))

	db, dsn := openSQLite(t, nil)
	_, err = db.writer(ctx).exec("DROP TABLE audit_digests")
	require.NoError(t, err)
	ro, err := OpenReadOnly(ctx, dsn)
	require.NoError(t, err)
	defer ro.Close()
	err = ro.ViewAudit(ctx, func(tx workflow.AuditReadTx) error {
		return tx.WalkDigests(func(int64, string) error { return nil })
	})
	assert.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
}
