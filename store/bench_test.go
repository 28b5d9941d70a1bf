package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRawInsert measures one-row write transactions through the
// writer (BenchInsert: what Update costs with nothing in it but an insert)
// on a SQLite file with the production settings.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for b.Loop() {
		if err := db.BenchInsert(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}
