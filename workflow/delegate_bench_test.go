package workflow_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"accessbot/store"
	"accessbot/workflow"
)

// BenchmarkSwitchDelegationsIdle is the scheduler's every-minute run with
// 2,000 delegations stored (half of them windows) and none due: one read,
// no write.
//
//	go test -run '^$' -bench SwitchDelegationsIdle ./workflow/
func BenchmarkSwitchDelegationsIdle(b *testing.B) {
	ctx := context.Background()
	c := &clock{now: t0}
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), c.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := workflow.NewEngine(db, testCatalog(), c.Now)
	for i := range 2000 {
		in := workflow.DelegateInput{Actor: fmt.Sprintf("p%d@example.com", i), Delegate: deputy}
		if i%2 == 1 {
			in.Start, in.End = "2026-12-01", "2026-12-15"
		}
		if _, err := e.SetDelegation(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		res, err := e.SwitchDelegations(ctx)
		if err != nil || res != (workflow.SwitchResult{}) {
			b.Fatal(res, err)
		}
	}
	b.StopTimer()
}
