package store

import (
	"context"
	"fmt"

	"accessbot/workflow"
)

var _ workflow.BatchStore = (*DB)(nil)

// UpdateBatch runs independent operations in one write transaction (one
// commit for all: a group commit), each in a savepoint of its own. An
// operation that fails is rolled back to its savepoint and gets its error;
// the others still commit. Each operation's context receipt is marked in
// its savepoint, as Update does. A failed commit is every operation's error.
func (db *DB) UpdateBatch(ctx context.Context, items []workflow.BatchItem) []error {
	errs := make([]error, len(items))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	db.gate.enter(false)
	defer db.gate.leave()
	sx, err := db.beginWrite(ctx)
	if err != nil {
		return fail(dbErr(err, "begin write transaction"))
	}
	defer sx.rollback()
	if db.dialect == dialectPostgres {
		if _, err := sx.q.ExecContext(ctx, pgLockSQL); err != nil {
			return fail(dbErr(err, "lock for writing"))
		}
	}
	c := conn{ctx: ctx, q: sx.q, d: db.dialect}
	tx := &writeTx{readTx: readTx{conn: c}, now: db.now()}
	ok := make([]bool, len(items))
	// An operation alone needs no savepoint: its failure rolls the whole
	// transaction back. A savepoint is not free: SQLite copies every page
	// the operation changes into a statement journal, which spills to a
	// temporary file beyond 64 KiB (a decision's pages are about that).
	alone := len(items) == 1
	for i, it := range items {
		if err := it.Ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if alone {
			tx.heads, tx.stored = map[int64]auditHead{}, map[int64]storedTask{}
			if err := runItem(it, tx, c); err != nil {
				errs[i] = err
				return errs
			}
			ok[i] = true
			continue
		}
		if _, err := sx.q.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			return fail(dbErr(err, "savepoint"))
		}
		// Chain heads and task rows read by an operation rolled back would
		// be wrong for the next: each starts knowing none.
		tx.heads = map[int64]auditHead{}
		tx.stored = map[int64]storedTask{}
		err := runItem(it, tx, c)
		if err != nil {
			if _, rerr := sx.q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				return fail(dbErr(rerr, "roll back to savepoint"))
			}
			errs[i] = err
			continue
		}
		if _, err := sx.q.ExecContext(ctx, "RELEASE SAVEPOINT op"); err != nil {
			return fail(dbErr(err, "release savepoint"))
		}
		ok[i] = true
	}
	if err := sx.commit(); err != nil {
		for i := range ok {
			ok[i] = false
		}
		return fail(dbErr(err, "commit"))
	}
	for i, it := range items {
		if rc := workflow.ReceiptOf(it.Ctx); ok[i] && rc != nil {
			rc.SetRecorded()
		}
	}
	return errs
}

// runItem runs one operation of a batch and marks its receipt; a panic is
// its error.
func runItem(it workflow.BatchItem, tx *writeTx, c conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: operation panicked: %v", r)
		}
	}()
	if err := it.Fn(tx); err != nil {
		return err
	}
	if rc := workflow.ReceiptOf(it.Ctx); rc != nil && !rc.Recorded() {
		return markReceipt(c, rc, tx.now)
	}
	return nil
}
