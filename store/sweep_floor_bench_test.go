package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"accessbot/workflow"
)

// BenchmarkExpiryWrites measures the writes an expiry sweep of 100,000
// grants cannot do without: each grant's end, one event on the audit chain
// of the task that made it and one notice to its holder, issued as
// ExpireGrants issues them (bulk statements, workflow.SweepBatch grants a
// transaction, in expiry order) but with no reads and no engine. It is the
// floor under the expire figure of workflow's BenchmarkSweeps on the same
// machine; writes_s is its wall time.
//
//	go test -run '^$' -bench ExpiryWrites -benchtime 1x ./store/
func BenchmarkExpiryWrites(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		now := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
		db, err := Open(ctx, filepath.Join(b.TempDir(), "floor.db"), func() time.Time { return now })
		if err != nil {
			b.Fatal(err)
		}
		// Grant i was made by task i+1, whose chain holds one event, and
		// ends within the hour, as in BenchmarkSweeps.
		grants := make([]*workflow.Grant, n)
		heads := make(map[int64]auditHead, n)
		err = db.Update(ctx, func(t workflow.Tx) error {
			tx := t.(*writeTx)
			for i := range n {
				g := &workflow.Grant{Subject: fmt.Sprintf("u%d@example.com", i), AppID: "snowflake", Status: workflow.GrantActive, TaskID: int64(i + 1),
					StartsAt: now.Add(-23 * time.Hour), ExpiresAt: now.Add(-time.Hour + time.Second + time.Duration(i%3599)*time.Second)}
				if err := tx.CreateGrant(g); err != nil {
					return err
				}
				grants[i] = g
				ev := &workflow.AuditEvent{TaskID: g.TaskID, Actor: "accessbot", Action: workflow.ActGranted, Details: map[string]string{"grant": fmt.Sprint(g.ID)}}
				if err := tx.AppendAudit(ev); err != nil {
					return err
				}
				heads[ev.TaskID] = auditHead{seq: ev.Seq, hash: ev.Hash}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		// The sweep's order: soonest to expire first.
		byExpiry := make([]*workflow.Grant, 0, n)
		for s := range 3599 {
			for i := s; i < n; i += 3599 {
				byExpiry = append(byExpiry, grants[i])
			}
		}
		b.StartTimer()
		start := time.Now()
		for len(byExpiry) > 0 {
			batch := byExpiry[:min(len(byExpiry), workflow.SweepBatch)]
			byExpiry = byExpiry[len(batch):]
			err := db.Update(ctx, func(t workflow.Tx) error {
				tx := t.(*writeTx)
				evs := make([]*workflow.AuditEvent, len(batch))
				ns := make([]*workflow.Notice, len(batch))
				for i, g := range batch {
					g.Status, g.EndedAt = workflow.GrantExpired, now
					h := heads[g.TaskID]
					ev := &workflow.AuditEvent{TaskID: g.TaskID, Seq: h.seq + 1, PrevHash: h.hash, At: now, Actor: workflow.SystemActor, Action: workflow.ActExpired, Details: map[string]string{"grant": fmt.Sprint(g.ID)}}
					ev.Hash = ev.ComputeHash()
					evs[i] = ev
					tx.heads[g.TaskID] = h // what the sweep's head read leaves known
					ns[i] = &workflow.Notice{Payload: workflow.DirectMessage{Grant: g.ID, Event: "expired"}, Recipient: g.Subject, Text: "Your access to Snowflake has expired."}
				}
				if err := tx.EndGrants(batch); err != nil {
					return err
				}
				if err := tx.AppendAudits(evs); err != nil {
					return err
				}
				return tx.EnqueueAll(ns)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "writes_s")
		b.StopTimer()
		db.Close()
	}
}
