package workflow_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"accessbot/store"
	"accessbot/workflow"
)

// BenchmarkDecisions measures approvals per second through the engine on a
// file database (each a full transaction: load, check, save, audit, outbox),
// and, on the same settings, the raw rate of one-row insert transactions.
//
//	go test -run '^$' -bench Decisions -benchtime 2000x ./workflow/
func BenchmarkDecisions(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := workflow.NewEngine(db, testCatalog(), time.Now)
	// aws with the std policy: requesters unknown to the config have no
	// manager, so the security group reviews; each approval moves a task on
	// to provisioning.
	ids := make([]int64, b.N)
	for i := range b.N {
		task, err := e.Request(ctx, workflow.RequestInput{Requester: fmt.Sprintf("u%d@example.com", i), AppID: "aws", Justification: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = task.ID
	}
	approver := sec1
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := e.Approve(ctx, workflow.Decision{TaskID: ids[i], Actor: approver}); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	decisions := float64(b.N) / elapsed.Seconds()
	raw, err := store.RawInsertRate(ctx, db, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(decisions, "decisions/s")
	b.ReportMetric(raw, "raw_inserts/s")
	b.ReportMetric(decisions/raw, "ratio")
}

// BenchmarkDecisionsConcurrent is BenchmarkDecisions with 16 deciders at
// once, as the bot's workers decide a burst of clicks: the engine commits
// the decisions that run at the same time together (group commit), so the
// rate is compared with the raw one-row commit rate of the same run
// (target ratio >= 0.5).
func BenchmarkDecisionsConcurrent(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "bench.db"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := workflow.NewEngine(db, testCatalog(), time.Now)
	ids := make([]int64, b.N)
	for i := range b.N {
		task, err := e.Request(ctx, workflow.RequestInput{Requester: fmt.Sprintf("u%d@example.com", i), AppID: "aws", Justification: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = task.ID
	}
	next := make(chan int64, b.N)
	for _, id := range ids {
		next <- id
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range next {
				if _, err := e.Approve(ctx, workflow.Decision{TaskID: id, Actor: sec1}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	decisions := float64(b.N) / elapsed.Seconds()
	raw, err := store.RawInsertRate(ctx, db, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(decisions, "decisions/s")
	b.ReportMetric(raw, "raw_inserts/s")
	b.ReportMetric(decisions/raw, "ratio")
}
