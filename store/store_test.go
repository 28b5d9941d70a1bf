package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// opener opens a fresh, empty database for one test and returns it with the
// DSN that opens it again.
type opener func(t *testing.T, clock func() time.Time) (*DB, string)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testStore(t, openSQLite)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	if _, err := postgresBase(); err != nil {
		t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
	}
	testStore(t, openPostgres)
}

func openSQLite(t *testing.T, clock func() time.Time) (*DB, string) {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "accessbot.db")
	db, err := Open(context.Background(), dsn, clock)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func postgresDSN() string {
	if dsn := os.Getenv("ACCESSBOT_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return defaultPostgres
}

// postgresBase checks once, within 2 s, that PostgreSQL answers.
var postgresBase = sync.OnceValues(func() (string, error) {
	dsn := postgresDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	return dsn, db.PingContext(ctx)
})

// openPostgres opens a database in a schema of its own, dropped at cleanup.
func openPostgres(t *testing.T, clock func() time.Time) (*DB, string) {
	t.Helper()
	base, err := postgresBase()
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "accessbot_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + "search_path=" + schema
	db, err := Open(ctx, dsn, clock)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// redact hides a password in a DSN for skip messages.
func redact(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.Index(dsn, "@"); i >= 0 && j > i {
		if k := strings.Index(dsn[i+3:j], ":"); k >= 0 {
			return dsn[:i+3+k] + ":***" + dsn[j:]
		}
	}
	return dsn
}

// fakeClock is a settable clock; its times have nanoseconds and a non-UTC
// zone on purpose, so tests see the store normalise them.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	zone := time.FixedZone("CEST", 2*3600)
	return &fakeClock{t: time.Date(2025, 6, 2, 9, 30, 15, 123456789, zone)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// micro is t as the store keeps it.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func requireCode(t *testing.T, code string, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, workflow.ErrorCode(err), "error: %v", err)
}

// update runs fn in an Update and requires it to succeed.
func update(t *testing.T, db *DB, fn func(tx workflow.Tx) error) {
	t.Helper()
	require.NoError(t, db.Update(context.Background(), fn))
}

func view(t *testing.T, db *DB, fn func(tx workflow.ReadTx) error) {
	t.Helper()
	require.NoError(t, db.View(context.Background(), fn))
}

func TestSQLiteDSN(t *testing.T) {
	t.Parallel()
	w, r, err := sqliteDSNs("file:/tmp/x.db?cache=private&_busy_timeout=500")
	require.NoError(t, err)
	for _, want := range []string{"_journal_mode=WAL", "_foreign_keys=on", "_synchronous=FULL", "_busy_timeout=500", "cache=private"} {
		require.Contains(t, w, want)
		require.Contains(t, r, want)
	}
	require.True(t, strings.HasPrefix(w, "file:/tmp/x.db?"), w)
	require.Contains(t, w, "_txlock=immediate")
	require.Contains(t, r, "_txlock=deferred")
	require.Contains(t, r, "_query_only=1")
	require.NotContains(t, w, "_query_only")

	w, _, err = sqliteDSNs("")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(w, "file:./accessbot.db?"), w)

	for _, bad := range []string{":memory:", "file::memory:", "file:x.db?mode=memory"} {
		_, _, err := sqliteDSNs(bad)
		require.Error(t, err, bad)
	}
}

// TestSQLitePathWithHash opens a database in a directory whose name has a
// "#" and a "%" (t.TempDir() of a subtest named twice): the file must be
// made where the path says, not at a path cut short.
func TestSQLitePathWithHash(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a#01 100%")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, "accessbot.db")
	db, err := Open(context.Background(), path, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "the database is where the path says")
}

// TestSQLitePragmas checks that every connection of both pools runs with
// the settings of its DSN.
func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t, newClock().Now)
	ctx := context.Background()
	check := func(pool string, c conn, queryOnly int) {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000",
			"synchronous": "2", // FULL
			"query_only":  map[int]string{0: "0", 1: "1"}[queryOnly],
		} {
			var got string
			require.NoError(t, c.get(&got, "PRAGMA "+pragma))
			require.Equal(t, want, got, "%s: PRAGMA %s", pool, pragma)
		}
	}
	check("writer", db.writer(ctx), 0)
	// Hold several read connections at once so that more than one is checked.
	var txs []*readTx
	for range 3 {
		sx, err := db.r.BeginTxx(ctx, nil)
		require.NoError(t, err)
		defer sx.Rollback()
		txs = append(txs, &readTx{conn{ctx: ctx, q: sx, d: dialectSQLite}})
	}
	for _, tx := range txs {
		check("reader", tx.conn, 1)
	}
	// A reader cannot write.
	err := db.View(ctx, func(rt workflow.ReadTx) error {
		_, err := rt.(*readTx).exec("INSERT INTO seen_keys (key, seen_at) VALUES ('x', 'y')")
		return err
	})
	require.ErrorContains(t, err, "readonly")
}

func TestMigrationsInStep(t *testing.T) {
	t.Parallel()
	lite, err := migrations(dialectSQLite)
	require.NoError(t, err)
	pg, err := migrations(dialectPostgres)
	require.NoError(t, err)
	require.NotEmpty(t, lite)
	require.Equal(t, len(lite), len(pg), "both dialects need the same migrations")
	for i := range lite {
		require.Equal(t, lite[i].version, pg[i].version)
		require.Equal(t, lite[i].name, pg[i].name)
	}
}

// TestSQLiteOpenTwice opens one file from two handles at once, then again.
func TestSQLiteOpenTwice(t *testing.T) {
	t.Parallel()
	clock := newClock()
	db, dsn := openSQLite(t, clock.Now)
	ctx := context.Background()
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(newTask("alice@x.com")) })
	other, err := Open(ctx, "file:"+dsn, clock.Now)
	require.NoError(t, err)
	defer other.Close()
	view(t, other, func(tx workflow.ReadTx) error {
		_, err := tx.Task(1)
		return err
	})
	update(t, other, func(tx workflow.Tx) error { return tx.CreateTask(newTask("bob@x.com")) })
	update(t, db, func(tx workflow.Tx) error {
		id, err := tx.NextTaskID()
		require.Equal(t, int64(3), id)
		return err
	})
}

// A COMMIT that fails leaves SQLite's transaction open: the writer must
// roll it back before its connection serves the next transaction, or every
// later write would fail ("cannot start a transaction within a
// transaction") and the failed one's rows could be committed with it.
func TestSQLiteFailedCommitLeavesNothing(t *testing.T) {
	t.Parallel()
	db, _ := openSQLite(t, newClock().Now)
	ctx := context.Background()
	err := db.Update(ctx, func(wt workflow.Tx) error {
		tx := wt.(*writeTx)
		// A deferred foreign key is checked at COMMIT, which then fails.
		if _, err := tx.exec("PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		_, err := tx.exec("INSERT INTO task_people (task_id, role, email) VALUES (999, 'requester', 'ghost@x.com')")
		return err
	})
	require.ErrorContains(t, err, "FOREIGN KEY")
	for range 2 {
		require.NoError(t, db.Update(ctx, func(tx workflow.Tx) error { return tx.CreateTask(newTask("alice@x.com")) }))
	}
	var n int
	require.NoError(t, db.reader(ctx).get(&n, "SELECT COUNT(*) FROM task_people WHERE email = 'ghost@x.com'"))
	require.Zero(t, n)
	require.NoError(t, db.reader(ctx).get(&n, "SELECT COUNT(*) FROM tasks"))
	require.Equal(t, 2, n)
}
