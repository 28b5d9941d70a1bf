package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"accessbot/workflow"
)

var (
	_ workflow.DigestStore = (*DB)(nil)
	_ workflow.DigestTx    = (*writeTx)(nil)
	_ workflow.AuditReadTx = (*readTx)(nil)
)

// UpdateDigests runs fn in a write transaction, serialised with every other
// write like Update (on PostgreSQL under the same lock, so no transaction
// that appends audit events is in flight: the highest event id is exact).
func (db *DB) UpdateDigests(ctx context.Context, fn func(workflow.DigestTx) error) error {
	return db.Update(ctx, func(tx workflow.Tx) error { return fn(tx.(*writeTx)) })
}

// ViewAudit runs fn on one read snapshot of the audit log, the digests and
// the task numbers.
func (db *DB) ViewAudit(ctx context.Context, fn func(workflow.AuditReadTx) error) error {
	return db.View(ctx, func(tx workflow.ReadTx) error { return fn(tx.(*readTx)) })
}

// LastDigest returns where the digest chain stands.
func (tx *writeTx) LastDigest() (workflow.DigestMark, error) {
	var r struct {
		Seq          int64  `db:"seq"`
		Hash         string `db:"hash"`
		ThroughEvent int64  `db:"through_event"`
	}
	err := tx.get(&r, "SELECT seq, hash, through_event FROM audit_digests ORDER BY seq DESC"+limit(1, 0))
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.DigestMark{}, nil
	}
	if err != nil {
		return workflow.DigestMark{}, dbErr(err, "read the newest audit digest")
	}
	return workflow.DigestMark{Seq: r.Seq, Hash: r.Hash, ThroughEvent: r.ThroughEvent}, nil
}

// ChangedHeads returns the heads of the chains with an event whose id is
// above afterEvent, by task, and the highest event id there is.
func (tx *writeTx) ChangedHeads(afterEvent int64) ([]workflow.TaskHead, int64, error) {
	var maxID sql.NullInt64
	if err := tx.get(&maxID, "SELECT MAX(id) FROM audit_events"); err != nil {
		return nil, 0, dbErr(err, "read the newest audit event")
	}
	if !maxID.Valid || maxID.Int64 <= afterEvent {
		return nil, maxID.Int64, nil
	}
	var rows []struct {
		TaskID int64  `db:"task_id"`
		Seq    int64  `db:"seq"`
		Hash   string `db:"hash"`
	}
	err := tx.sel(&rows, "SELECT e.task_id, e.seq, e.hash FROM audit_events e"+
		" JOIN (SELECT task_id, MAX(seq) AS seq FROM audit_events WHERE id > ? GROUP BY task_id) h"+
		" ON e.task_id = h.task_id AND e.seq = h.seq ORDER BY e.task_id", afterEvent)
	if err != nil {
		return nil, 0, dbErr(err, "read the changed audit chain heads")
	}
	out := make([]workflow.TaskHead, len(rows))
	for i, r := range rows {
		out[i] = workflow.TaskHead{TaskID: r.TaskID, ChainHead: workflow.ChainHead{Seq: r.Seq, Hash: r.Hash}}
	}
	return out, maxID.Int64, nil
}

// AppendDigest stores d; a seq already taken is ECONFLICT.
func (tx *writeTx) AppendDigest(d workflow.Digest) error {
	_, err := tx.exec("INSERT INTO audit_digests (seq, at, through_event, hash, line) VALUES (?, ?, ?, ?, ?)",
		d.Body.Seq, tx.t(d.Body.At), d.Body.ThroughEvent, d.Hash, d.Line)
	return dbErr(err, fmt.Sprintf("store audit digest #%d", d.Body.Seq))
}

// WalkDigests calls fn with every stored digest by seq, walkBatch at a
// time; ENOTFOUND when there is no digest table.
func (tx *readTx) WalkDigests(fn func(seq int64, line string) error) error {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_digests'"
	if tx.d == dialectPostgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'audit_digests'"
	}
	var n int
	if err := tx.get(&n, q); err != nil {
		return dbErr(err, "look for the audit digest table")
	}
	if n == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "the database has no audit digest table (no accessbot that writes digests has opened it)")
	}
	var last int64
	for {
		var rows []struct {
			Seq  int64  `db:"seq"`
			Line string `db:"line"`
		}
		if err := tx.sel(&rows, "SELECT seq, line FROM audit_digests WHERE seq > ? ORDER BY seq"+limit(walkBatch, 0), last); err != nil {
			return dbErr(err, "read audit digests")
		}
		for _, r := range rows {
			if err := fn(r.Seq, r.Line); err != nil {
				return err
			}
		}
		if len(rows) < walkBatch {
			return nil
		}
		last = rows[len(rows)-1].Seq
	}
}

// TaskNumbers returns the numbers of the tasks there are, ascending, and
// the highest number handed out.
func (tx *readTx) TaskNumbers() ([]int64, int64, error) {
	var ids []int64
	if err := tx.sel(&ids, "SELECT id FROM tasks ORDER BY id"); err != nil {
		return nil, 0, dbErr(err, "read task numbers")
	}
	var counter int64
	err := tx.get(&counter, "SELECT value FROM counters WHERE name = 'task'")
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return ids, counter, dbErr(err, "read the task counter")
}

// OpenReadOnly opens an existing database to read it, as audit verify
// does: it never creates a file, applies no migration and writes nothing.
// A SQLite path that does not exist is an error; SQLite opens in mode=ro,
// PostgreSQL sessions default to read-only transactions.
func OpenReadOnly(ctx context.Context, dsn string) (*DB, error) {
	db := &DB{clock: time.Now}
	if isPostgres(dsn) {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		if err := db.openPostgres(ctx, dsn+sep+"default_transaction_read_only=on"); err != nil {
			return nil, err
		}
		return db, nil
	}
	db.dialect = dialectSQLite
	if dsn == "" {
		dsn = DefaultPath
	}
	path, _, _ := strings.Cut(dsn, "?")
	path = strings.TrimPrefix(path, "file:")
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: no SQLite database at %q (%v): check --db or ACCESSBOT_DB; verify never creates one", path, errors.Unwrap(err))
	} else if fi.IsDir() {
		return nil, fmt.Errorf("store: %q is a directory, not a SQLite database: check --db or ACCESSBOT_DB", path)
	}
	_, rdsn, err := sqliteDSNs(dsn)
	if err != nil {
		return nil, err
	}
	// The readers' DSN, without setting the journal mode (a write) and
	// with mode=ro, so SQLite itself refuses to create or change the file.
	base, query, _ := strings.Cut(rdsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite DSN %q: %w", dsn, err)
	}
	q.Del("_journal_mode")
	q.Set("mode", "ro")
	rdsn = base + "?" + q.Encode()
	r, err := sqlx.Open("sqlite3", rdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(1)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("store: open sqlite %q read-only: %w", path, err)
	}
	var n int
	if err := r.GetContext(ctx, &n, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('audit_events', 'tasks')"); err != nil {
		r.Close()
		return nil, fmt.Errorf("store: %q is not a SQLite database accessbot can read: %w", path, err)
	}
	if n != 2 {
		r.Close()
		return nil, fmt.Errorf("store: %q is a SQLite database but not accessbot's (it has no audit_events table): check --db or ACCESSBOT_DB", path)
	}
	db.w, db.r = r, r
	return db, nil
}
