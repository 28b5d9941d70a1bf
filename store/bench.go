package store

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"accessbot/workflow"
)

// benchPrefix marks the seen_keys rows BenchInsert writes.
const benchPrefix = "bench/"

var benchSeq atomic.Int64

// BenchInsert runs one write transaction that holds one tiny insert (a
// seen_keys row under "bench/"), through exactly the path Update takes: the
// writer pool, BEGIN IMMEDIATE (SQLite) or the advisory lock (PostgreSQL),
// commit. It exists for benchmarks: it is the floor an engine operation's
// cost is measured against. RawInsertRate removes the rows afterwards.
func (db *DB) BenchInsert(ctx context.Context) error {
	key := benchPrefix + strconv.FormatInt(benchSeq.Add(1), 10)
	return db.Update(ctx, func(t workflow.Tx) error {
		tx := t.(*writeTx)
		_, err := tx.exec("INSERT INTO seen_keys (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, tx.t(tx.now))
		return dbErr(err, "bench insert")
	})
}

// RawInsertRate runs n BenchInsert transactions one after another on db and
// returns how many it committed per second of wall time, then deletes the
// rows it wrote. Engine benchmarks in other packages compare against it.
func RawInsertRate(ctx context.Context, db *DB, n int) (perSec float64, err error) {
	if n <= 0 {
		return 0, fmt.Errorf("store: RawInsertRate: n must be positive, not %d", n)
	}
	defer func() {
		_, cerr := db.writer(context.WithoutCancel(ctx)).exec("DELETE FROM seen_keys WHERE key LIKE ?", benchPrefix+"%")
		if err == nil && cerr != nil {
			err = dbErr(cerr, "remove bench rows")
		}
	}()
	start := time.Now()
	for range n {
		if err := db.BenchInsert(ctx); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
