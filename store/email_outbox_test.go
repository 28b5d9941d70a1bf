package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestEmailOutboxSQLite(t *testing.T) {
	t.Parallel()
	testEmailOutbox(t, openSQLite)
}

func TestEmailOutboxPostgres(t *testing.T) {
	t.Parallel()
	if _, err := postgresBase(); err != nil {
		t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
	}
	testEmailOutbox(t, openPostgres)
}

func testEmailOutbox(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	update(t, db, func(tx workflow.Tx) error {
		var ns []*workflow.Notice
		for i := range 30 {
			ns = append(ns, &workflow.Notice{Payload: workflow.DirectMessage{Topic: "delegation"}, Recipient: fmt.Sprintf("u%d@x.com", i), Text: "hi"})
		}
		// Two of one task: the second waits for the first to finish.
		ns = append(ns, &workflow.Notice{Payload: workflow.TaskChanged{}, TaskID: 7}, &workflow.Notice{Payload: workflow.TaskReminder{}, TaskID: 7, Recipients: []string{"a@x.com"}})
		return tx.EnqueueEmails(ns)
	})
	// Workers claiming at once (replicas) never hold the same row.
	var (
		mu     sync.Mutex
		seen   = map[int64]int{}
		wg     sync.WaitGroup
		failed error
	)
	for w := range 6 {
		wg.Go(func() {
			for {
				ns, err := db.ClaimEmails(ctx, fmt.Sprintf("w%d", w), base, time.Minute, 4)
				mu.Lock()
				if err != nil {
					failed = err
				}
				for _, n := range ns {
					seen[n.ID]++
				}
				mu.Unlock()
				if err != nil || len(ns) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, failed)
	require.Len(t, seen, 31, "30 direct rows and the first of T-7")
	for id, n := range seen {
		require.Equal(t, 1, n, "row %d claimed %d times", id, n)
	}

	// During the lease nothing is claimed; after it, everything unfinished.
	ns, err := db.ClaimEmails(ctx, "late", base.Add(59*time.Second), time.Minute, 100)
	require.NoError(t, err)
	require.Empty(t, ns)
	ns, err = db.ClaimEmails(ctx, "next", base.Add(time.Minute), time.Minute, 100)
	require.NoError(t, err)
	require.Len(t, ns, 31)
	require.Equal(t, workflow.DirectMessage{Topic: "delegation"}, ns[0].Payload)

	// Only the holder finishes or reschedules a row (guarded updates).
	var first, task7 workflow.Notice
	for _, n := range ns {
		if n.TaskID == 7 {
			task7 = n
		} else if first.ID == 0 {
			first = n
		}
	}
	require.Equal(t, workflow.ErrorCode(db.EmailDone(ctx, first.ID, "w0", base)), workflow.ECONFLICT, "an expired lease's owner cannot finish it")
	require.NoError(t, db.EmailDone(ctx, first.ID, "next", base.Add(time.Minute)))
	require.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(db.EmailDone(ctx, first.ID, "next", base.Add(time.Minute))), "finished once")
	require.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(db.EmailDone(ctx, 99999, "next", base)))

	// T-7's second row waits until the first is finished.
	require.NoError(t, db.EmailRetry(ctx, task7.ID, "next", base.Add(time.Hour), "451 try later"))
	ns, err = db.ClaimEmails(ctx, "again", base.Add(2*time.Minute), time.Minute, 100)
	require.NoError(t, err)
	for _, n := range ns {
		require.NotEqual(t, int64(7), n.TaskID, "the retry waits its backoff and the later row waits for it")
	}
	ns, err = db.ClaimEmails(ctx, "again2", base.Add(time.Hour), time.Minute, 100)
	require.NoError(t, err)
	var got7 []workflow.Notice
	for _, n := range ns {
		if n.TaskID == 7 {
			got7 = append(got7, n)
		}
	}
	require.Len(t, got7, 1)
	require.Equal(t, task7.ID, got7[0].ID)
	require.Equal(t, 1, got7[0].Attempts)
	require.Equal(t, "451 try later", got7[0].LastError)
	require.NoError(t, db.EmailDropped(ctx, task7.ID, "again2", base.Add(time.Hour), "550 no such user"))
	depth, _, err := db.EmailOutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 30, depth, "32 rows: one finished, one dropped")

	// The sent log: recorded once, listed in order.
	for i, p := range []string{"assigned:0", "reminder:9"} {
		e := workflow.SentEmail{TaskID: 7, Recipient: "a@x.com", Purpose: p, MessageID: fmt.Sprintf("<m%d@x>", i), SentAt: base.Add(time.Duration(i) * time.Second)}
		require.NoError(t, db.RecordEmailSent(ctx, e))
		require.NoError(t, db.RecordEmailSent(ctx, e), "twice is a no-op")
	}
	sent, err := db.SentEmails(ctx, 7, "a@x.com")
	require.NoError(t, err)
	require.Len(t, sent, 2)
	require.Equal(t, "<m0@x>", sent[0].MessageID)
	require.Equal(t, "reminder:9", sent[1].Purpose)
	require.True(t, sent[1].SentAt.Equal(base.Add(time.Second)))
	_, err = db.ClaimEmails(ctx, "", base, time.Minute, 1)
	require.Error(t, err)
}
