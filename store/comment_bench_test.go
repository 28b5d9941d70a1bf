package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"accessbot/workflow"
)

// BenchmarkCardByMessage measures the one lookup a thread reply costs (is
// its thread a task's card?) among 20,000 cards, for a miss (the common
// case: a thread that is no task's) and a hit.
func BenchmarkCardByMessage(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := range 20000 {
		c := &workflow.Card{TaskID: int64(i/4 + 1), Role: workflow.CardAssignee, Email: "x@y", Channel: fmt.Sprintf("D%04d", i%500), TS: fmt.Sprintf("%d.000100", 1700000000+i)}
		if err := db.SaveCard(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, channel, ts string }{
		{"miss", "D0007", "1800000000.000100"},
		{"hit", "D0007", "1700010007.000100"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_, err := db.CardByMessage(ctx, tc.channel, tc.ts)
				if err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND {
					b.Fatal(err)
				}
			}
		})
	}
}
