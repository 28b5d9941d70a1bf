package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"

	"accessbot/workflow"
)

// DefaultPath is the SQLite database used when Open is given no DSN.
const DefaultPath = "./accessbot.db"

var _ workflow.Store = (*DB)(nil)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is accessbot's database: SQLite (one writer connection, a pool of
// readers) or PostgreSQL. It implements workflow.Store and the bot's outbox,
// chat user, card and de-duplication tables.
type DB struct {
	dialect dialect
	w       *sqlx.DB // writes: SQLite's single connection, or the PostgreSQL pool
	r       *sqlx.DB // reads: SQLite's read-only pool, or the same PostgreSQL pool
	clock   func() time.Time
	gate    *writeGate // SQLite writer only
}

// Open opens the database named by dsn and applies the migrations it lacks.
// A dsn starting with postgres:// or postgresql:// is a PostgreSQL URL;
// anything else is a SQLite file path, optionally written as "file:PATH" and
// with extra go-sqlite3 parameters ("" is DefaultPath). clock gives every
// time the store writes by itself (nil: time.Now).
func Open(ctx context.Context, dsn string, clock func() time.Time) (*DB, error) {
	if clock == nil {
		clock = time.Now
	}
	db := &DB{clock: clock}
	var err error
	if isPostgres(dsn) {
		err = db.openPostgres(ctx, dsn)
	} else {
		err = db.openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func (db *DB) openPostgres(ctx context.Context, dsn string) error {
	db.dialect = dialectPostgres
	pool, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("store: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(4)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("store: connect to postgres: %w", err)
	}
	db.w, db.r = pool, pool
	return nil
}

func (db *DB) openSQLite(ctx context.Context, dsn string) error {
	db.dialect = dialectSQLite
	wdsn, rdsn, err := sqliteDSNs(dsn)
	if err != nil {
		return err
	}
	w, err := sqlx.Open("sqlite3", wdsn)
	if err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	// One writer connection: every write transaction is BEGIN IMMEDIATE on
	// it, so writes queue in the pool instead of failing with SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	r, err := sqlx.Open("sqlite3", rdsn)
	if err != nil {
		w.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.w, db.r = w, r
	db.gate = newWriteGate()
	return nil
}

// sqliteDSNs returns the writer's and the readers' DSNs for dsn. Every
// connection gets WAL, foreign keys, a busy timeout and synchronous=FULL;
// the writer begins IMMEDIATE transactions, the readers are query-only.
func sqliteDSNs(dsn string) (writer, reader string, err error) {
	if dsn == "" {
		dsn = DefaultPath
	}
	path, raw, _ := strings.Cut(dsn, "?")
	if p, ok := strings.CutPrefix(path, "file:"); ok {
		path = p // a URI already: its escapes are the caller's
	} else {
		// SQLite reads the file: URI, where "#" starts a fragment and "%"
		// an escape; a plain path (t.TempDir() of a subtest "x#01") must
		// name the very file it says.
		path = strings.NewReplacer("%", "%25", "#", "%23").Replace(path)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", "", fmt.Errorf("store: sqlite DSN %q: %w", dsn, err)
	}
	if path == "" || path == ":memory:" || q.Get("mode") == "memory" {
		return "", "", fmt.Errorf("store: sqlite DSN %q: an in-memory database is not supported (the writer and the readers must share a file)", dsn)
	}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	if q.Get("_busy_timeout") == "" {
		q.Set("_busy_timeout", "10000")
	}
	// go-sqlite3 keeps each connection's statements prepared across
	// calls: a decision's queries would otherwise be parsed and planned
	// again on every run, which costs more than running them.
	if q.Get("_stmt_cache_size") == "" {
		q.Set("_stmt_cache_size", "512")
	}
	q.Set("_txlock", "immediate")
	writer = "file:" + path + "?" + q.Encode()
	q.Set("_txlock", "deferred")
	q.Set("_query_only", "1")
	reader = "file:" + path + "?" + q.Encode()
	return writer, reader, nil
}

// Close closes the database.
func (db *DB) Close() error {
	var err error
	if db.r != db.w {
		err = db.r.Close()
		// SQLite's advice for long-lived connections: refresh the query
		// planner's statistics where they are stale. Cheap; errors do not matter.
		db.w.Exec("PRAGMA optimize")
	}
	return errors.Join(err, db.w.Close())
}

// Ping checks that the database answers, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping readers: %w", err)
		}
	}
	return nil
}

// now is the time of a transaction: the clock's, in UTC, to the microsecond
// (what PostgreSQL keeps), so a time written and read back is equal.
func (db *DB) now() time.Time { return db.clock().UTC().Truncate(time.Microsecond) }

// pgLockSQL serialises Update transactions across replicas: a
// transaction-scoped advisory lock keyed by a constant ("accb") and the
// schema's hash, so two deployments in one database do not wait on each other.
const pgLockSQL = "SELECT pg_advisory_xact_lock(1633903458, hashtext(current_schema()))"

// Update runs fn in one write transaction. When ctx carries a
// workflow.Receipt, its envelope is marked done in the same transaction
// (ECONFLICT, nothing written, when it was done already). Writes are serialised: SQLite
// has one writer connection whose transactions BEGIN IMMEDIATE, PostgreSQL
// takes a transaction-scoped advisory lock before fn runs, so replicas
// queue too; version guards and unique indexes back this up with ECONFLICT.
// An error from fn (or a panic) rolls everything back; fn's error is
// returned as it is. fn must not call Update (the writer is busy with it).
func (db *DB) Update(ctx context.Context, fn func(workflow.Tx) error) error {
	db.gate.enter(false)
	defer db.gate.leave()
	sx, err := db.beginWrite(ctx)
	if err != nil {
		return dbErr(err, "begin write transaction")
	}
	defer sx.rollback()
	if db.dialect == dialectPostgres {
		if _, err := sx.q.ExecContext(ctx, pgLockSQL); err != nil {
			return dbErr(err, "lock for writing")
		}
	}
	c := conn{ctx: ctx, q: sx.q, d: db.dialect}
	tx := &writeTx{readTx: readTx{conn: c}, now: db.now(), heads: map[int64]auditHead{}, stored: map[int64]storedTask{}}
	if err := fn(tx); err != nil {
		return err
	}
	// The envelope that asked for this is done in the same commit as its
	// effect (the first of its transactions that commits).
	rc := workflow.ReceiptOf(ctx)
	if rc != nil && !rc.Recorded() {
		if err := markReceipt(c, rc, tx.now); err != nil {
			return err
		}
	}
	if err := sx.commit(); err != nil {
		return dbErr(err, "commit")
	}
	if rc != nil {
		rc.SetRecorded()
	}
	return nil
}

// View runs fn on a consistent read snapshot (SQLite: a read transaction on
// the read pool; PostgreSQL: REPEATABLE READ, READ ONLY).
func (db *DB) View(ctx context.Context, fn func(workflow.ReadTx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == dialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sx, err := db.r.BeginTxx(ctx, opts)
	if err != nil {
		return dbErr(err, "begin read transaction")
	}
	defer sx.Rollback()
	if err := fn(&readTx{conn: conn{ctx: ctx, q: sx, d: db.dialect}}); err != nil {
		return err
	}
	if err := sx.Commit(); err != nil {
		return dbErr(err, "end read transaction")
	}
	return nil
}

// write runs fn in a write transaction without Update's PostgreSQL lock
// (callers that need it, migrate and ClaimNotices, take it themselves): for
// the bot's tables, whose rows no engine transaction reads.
func (db *DB) write(ctx context.Context, what string, fn func(c conn) error) error {
	return db.writeAs(ctx, false, what, fn)
}

// writeAs is write; urgent transactions go first (writeGate).
func (db *DB) writeAs(ctx context.Context, urgent bool, what string, fn func(c conn) error) error {
	db.gate.enter(urgent)
	defer db.gate.leave()
	sx, err := db.beginWrite(ctx)
	if err != nil {
		return dbErr(err, what)
	}
	defer sx.rollback()
	if err := fn(conn{ctx: ctx, q: sx.q, d: db.dialect}); err != nil {
		return err
	}
	return dbErr(sx.commit(), what)
}

// sqlWrite is an open write transaction. On PostgreSQL it is a
// database/sql transaction. On SQLite it is the writer connection itself
// between BEGIN IMMEDIATE and COMMIT: database/sql starts a goroutine for
// every query run in one of its transactions (to watch the transaction's
// context), and on SQLite's single writer a decision's dozen queries paid
// for those hand-offs more than for some of the queries.
type sqlWrite struct {
	q        sqlx.ExtContext
	commit   func() error
	rollback func() // after commit, or a second time: nothing
}

func (db *DB) beginWrite(ctx context.Context) (*sqlWrite, error) {
	if db.dialect == dialectPostgres {
		sx, err := db.w.BeginTxx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &sqlWrite{q: sx, commit: sx.Commit, rollback: func() { sx.Rollback() }}, nil
	}
	cx, err := db.w.Connx(ctx)
	if err != nil {
		return nil, err
	}
	// The end of a transaction runs whatever became of ctx: a connection
	// must never go back to the pool inside one.
	end := context.WithoutCancel(ctx)
	if _, err := cx.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		release(cx, end, false)
		return nil, err
	}
	open := true
	w := &sqlWrite{q: sqliteConn{Conn: cx, db: db.w}}
	w.commit = func() error {
		if !open {
			return sql.ErrTxDone
		}
		open = false
		_, err := cx.ExecContext(end, "COMMIT")
		// A failed COMMIT (SQLITE_BUSY, a full disk) can leave the
		// transaction open: roll it back before the connection is reused.
		release(cx, end, err != nil)
		return err
	}
	w.rollback = func() {
		if open {
			open = false
			release(cx, end, true)
		}
	}
	return w, nil
}

// release hands the writer connection back to the pool, rolling back
// first if asked; should the rollback fail, the connection is discarded
// instead (the pool opens a new one): it may still be inside the
// transaction. (A rollback also fails when SQLite ended the transaction
// itself; a new connection costs little next to guessing.)
func release(cx *sqlx.Conn, ctx context.Context, rollback bool) {
	if rollback {
		if _, err := cx.ExecContext(ctx, "ROLLBACK"); err != nil {
			cx.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	cx.Close()
}

// sqliteConn is the SQLite writer connection as the sqlx.ExtContext a
// conn runs its SQL on.
type sqliteConn struct {
	*sqlx.Conn
	db *sqlx.DB
}

func (c sqliteConn) DriverName() string { return c.db.DriverName() }

func (c sqliteConn) BindNamed(query string, arg any) (string, []any, error) {
	return c.db.BindNamed(query, arg)
}

// writer and reader are the pools outside transactions.
func (db *DB) writer(ctx context.Context) conn { return conn{ctx: ctx, q: db.w, d: db.dialect} }
func (db *DB) reader(ctx context.Context) conn { return conn{ctx: ctx, q: db.r, d: db.dialect} }

// conn runs the store's SQL, written with ? placeholders, on a transaction
// or a pool of either dialect.
type conn struct {
	ctx context.Context
	q   sqlx.ExtContext
	d   dialect
}

func (c conn) exec(query string, args ...any) (sql.Result, error) {
	query = c.q.Rebind(query)
	return c.q.ExecContext(c.ctx, query, args...)
}

// execN runs query and returns the number of rows it changed.
func (c conn) execN(query string, args ...any) (int64, error) {
	res, err := c.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) get(dest any, query string, args ...any) error {
	query = c.q.Rebind(query)
	return sqlx.GetContext(c.ctx, c.q, dest, query, args...)
}

func (c conn) sel(dest any, query string, args ...any) error {
	query = c.q.Rebind(query)
	return sqlx.SelectContext(c.ctx, c.q, dest, query, args...)
}

// insertID runs an INSERT ... RETURNING id.
func (c conn) insertID(query string, args ...any) (int64, error) {
	var id int64
	query = c.q.Rebind(query + " RETURNING id")
	err := c.q.QueryRowxContext(c.ctx, query, args...).Scan(&id)
	return id, err
}

// dbErr maps a driver error to accessbot's vocabulary: constraint and
// serialisation conflicts become ECONFLICT, *workflow.Error passes through,
// the rest is wrapped with what the store was doing.
func dbErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var we *workflow.Error
	if errors.As(err, &we) {
		return err
	}
	if isConflict(err) {
		return workflow.Errorf(workflow.ECONFLICT, "%s: it was changed at the same time; try again", what)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// isConflict reports unique violations, serialisation failures and
// deadlocks: errors a concurrent writer caused.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "40001", "40P01": // unique_violation, serialization_failure, deadlock_detected
			return true
		}
		return false
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}
