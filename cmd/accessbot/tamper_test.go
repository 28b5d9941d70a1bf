package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/store"
	"accessbot/workflow"
)

// tamperWorld is a database an insider attacks: the DSN verify opens, the
// digest file the sink wrote (outside the database), the public key.
type tamperWorld struct {
	dsn, digests, pubKey string
	pg                   bool
}

// testPostgres returns a DSN for a schema of its own (dropped at cleanup),
// or skips the test when PostgreSQL does not answer.
func testPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ACCESSBOT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Skipf("PostgreSQL not reachable (set ACCESSBOT_TEST_POSTGRES): %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "accessbot_test_" + hex.EncodeToString(b)
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// keyPair makes a key pair with audit keygen and returns the private key
// and a file holding the public key only.
func keyPair(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	code, out, errOut := run(t, nil, "audit", "keygen")
	require.Equal(t, 0, code, errOut)
	priv, err := parsePrivateKey([]byte(out))
	require.NoError(t, err)
	rest := []byte(out)
	var pub []byte
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		require.NotNil(t, blk, "keygen printed a PUBLIC KEY block")
		if blk.Type == "PUBLIC KEY" {
			pub = pem.EncodeToMemory(blk)
			break
		}
	}
	path := filepath.Join(t.TempDir(), "audit.pub")
	require.NoError(t, os.WriteFile(path, pub, 0o644))
	return priv, path
}

// buildTamperWorld runs three days through the engine, with a digest
// written at the end of each (to the database and to a file):
//
//	day 1: alice asks (T-1)                                      digest #1
//	day 2: mgr comments on and approves T-1                      digest #2
//	day 3: alice asks for admin (T-2), an admin deletes it, she
//	       asks again (T-3) and an admin restarts T-3: the admin
//	       chain holds the deletion, then the restart           digest #3
func buildTamperWorld(t *testing.T, pg bool) tamperWorld {
	t.Helper()
	ctx := context.Background()
	w := tamperWorld{pg: pg, digests: filepath.Join(t.TempDir(), "digests.log")}
	if pg {
		w.dsn = testPostgres(t)
	} else {
		w.dsn = filepath.Join(t.TempDir(), "a.db")
	}
	key, pub := keyPair(t)
	w.pubKey = pub
	cat, err := config.Parse([]byte(exportConfig))
	require.NoError(t, err)
	clk := &fakeClock{now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, w.dsn, clk.Now)
	require.NoError(t, err)
	defer db.Close()
	sink, err := os.OpenFile(w.digests, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer sink.Close()
	dg := &workflow.Digester{Store: db, Key: key, Sink: func(l string) error { _, err := sink.WriteString(l + "\n"); return err }}
	digest := func() {
		res, err := dg.Run(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Digests)
	}
	e := workflow.NewEngine(db, cat, clk.Now)
	t1, err := e.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", ResourceID: "read", Justification: "on call"})
	require.NoError(t, err)
	digest()
	clk.Set(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
	_, err = e.Comment(ctx, workflow.CommentInput{TaskID: t1.ID, Actor: "mgr@example.com", Text: "ok for a week"})
	require.NoError(t, err)
	_, err = e.Approve(ctx, workflow.Decision{TaskID: t1.ID, Actor: "mgr@example.com"})
	require.NoError(t, err)
	digest()
	clk.Set(time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC))
	t2, err := e.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", ResourceID: "admin", Justification: "x"})
	require.NoError(t, err)
	_, err = e.Delete(ctx, workflow.AdminInput{TaskID: t2.ID, Actor: "admin@example.com", Reason: "asked twice"})
	require.NoError(t, err)
	t3, err := e.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", ResourceID: "admin", Justification: "y"})
	require.NoError(t, err)
	require.Equal(t, int64(3), t3.ID)
	_, err = e.Restart(ctx, workflow.AdminInput{TaskID: t3.ID, Actor: "admin@example.com", Reason: "policy fixed"})
	require.NoError(t, err)
	digest()
	res, err := dg.Run(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Digests, "nothing changed: no digest")
	return w
}

// raw opens the database behind verify's back, as an insider would.
func (w tamperWorld) raw(t *testing.T) *sqlx.DB {
	t.Helper()
	driver := "sqlite3"
	if w.pg {
		driver = "pgx"
	}
	db, err := sqlx.Open(driver, w.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func (w tamperWorld) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	db := w.raw(t)
	res, err := db.Exec(db.Rebind(q), args...)
	require.NoError(t, err, q)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Positive(t, n, "the tampering changed something: %s", q)
}

// events reads a chain as stored.
func (w tamperWorld) events(t *testing.T, taskID int64) []workflow.AuditEvent {
	t.Helper()
	db, err := store.OpenReadOnly(context.Background(), w.dsn)
	require.NoError(t, err)
	defer db.Close()
	var evs []workflow.AuditEvent
	require.NoError(t, db.View(context.Background(), func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(taskID)
		return err
	}))
	return evs
}

// rehash rewrites a chain from event seq on: edit changes that event, then
// every hash and link after it is recomputed, as someone who read the
// (public, unkeyed) hash function would.
func (w tamperWorld) rehash(t *testing.T, taskID int64, action string, edit func(*workflow.AuditEvent)) {
	t.Helper()
	db := w.raw(t)
	evs := w.events(t, taskID)
	seq := int64(-1)
	for _, ev := range evs {
		if ev.Action == action && seq < 0 {
			seq = ev.Seq
		}
	}
	require.Positive(t, seq, "T-%d has a %s event", taskID, action)
	prev := ""
	for i := range evs {
		ev := &evs[i]
		if ev.Seq < seq {
			prev = ev.Hash
			continue
		}
		if ev.Seq == seq {
			edit(ev)
		}
		ev.PrevHash = prev
		ev.Hash = ev.ComputeHash()
		prev = ev.Hash
		_, err := db.Exec(db.Rebind("UPDATE audit_events SET comment = ?, actor = ?, prev_hash = ?, hash = ? WHERE id = ?"), ev.Comment, ev.Actor, ev.PrevHash, ev.Hash, ev.ID)
		require.NoError(t, err)
	}
}

// rewriteDigests replaces the database's digests from seq on with
// digests that name the chains' heads as they are now, chained and
// unsigned (the attacker has no private key), or signed with forger.
func (w tamperWorld) rewriteDigests(t *testing.T, from int64, forger ed25519.PrivateKey) {
	t.Helper()
	db := w.raw(t)
	var lines []string
	require.NoError(t, db.Select(&lines, "SELECT line FROM audit_digests ORDER BY seq"))
	prev := ""
	for _, l := range lines {
		d, err := workflow.ParseDigest(l)
		require.NoError(t, err)
		if d.Body.Seq < from {
			prev = d.Hash
			continue
		}
		b := d.Body
		b.Prev = prev
		for i, h := range b.Heads {
			id, err := workflow.ParseChainLabel(h.Chain)
			require.NoError(t, err)
			var cur struct {
				Seq  int64  `db:"seq"`
				Hash string `db:"hash"`
			}
			err = db.Get(&cur, db.Rebind("SELECT seq, hash FROM audit_events WHERE task_id = ? AND seq = ?"), id, h.Seq)
			if err == nil {
				b.Heads[i].Hash = cur.Hash
			}
		}
		nd, err := workflow.MakeDigest(b, forger)
		require.NoError(t, err)
		prev = nd.Hash
		_, err = db.Exec(db.Rebind("UPDATE audit_digests SET line = ?, hash = ? WHERE seq = ?"), nd.Line, nd.Hash, b.Seq)
		require.NoError(t, err)
	}
}

// verifyMode is how verify is run: what the auditor has besides the database.
type verifyMode int

const (
	dbOnly  verifyMode = iota // the digests in the database, no key
	withKey                   // and the public key
	withAll                   // and the digest file from outside the database
)

func (m verifyMode) String() string {
	return [...]string{"database digests only", "with --public-key", "with --digests and --public-key"}[m]
}

func (w tamperWorld) verify(t *testing.T, m verifyMode) (int, string, string) {
	t.Helper()
	args := []string{"audit", "verify", "--db", w.dsn}
	if m >= withKey {
		args = append(args, "--public-key", w.pubKey)
	}
	if m >= withAll {
		args = append(args, "--digests", w.digests)
	}
	return run(t, nil, args...)
}

// tamperCases are what an insider with database access (and no private
// key, and no access to the digest file) does. caughtFrom is the weakest
// mode that catches it: dbOnly for everything the database's own digests
// and task numbers show, withKey for forged digests, withAll where the
// attacker also deleted the database's newest digests.
var tamperCases = []struct {
	name       string
	tamper     func(t *testing.T, w tamperWorld)
	caughtFrom verifyMode
	want       []string
}{
	{"edit", func(t *testing.T, w tamperWorld) {
		w.exec(t, "UPDATE audit_events SET comment = 'fine' WHERE action = 'commented'")
	}, dbOnly, []string{"task T-1", "commented", "altered"}},
	{"re-hash", func(t *testing.T, w tamperWorld) {
		w.rehash(t, 1, workflow.ActCommented, func(e *workflow.AuditEvent) { e.Comment = "fine" })
	}, dbOnly, []string{"task T-1", "re-hashed", "digest #2"}},
	{"re-hash and rewrite the database's digests", func(t *testing.T, w tamperWorld) {
		w.rehash(t, 1, workflow.ActCommented, func(e *workflow.AuditEvent) { e.Comment = "fine" })
		w.rewriteDigests(t, 2, nil)
	}, withKey, []string{"digest #2", "not signed"}},
	{"re-hash and sign the digests with another key", func(t *testing.T, w tamperWorld) {
		w.rehash(t, 1, workflow.ActCommented, func(e *workflow.AuditEvent) { e.Comment = "fine" })
		_, forger, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		w.rewriteDigests(t, 2, forger)
	}, withKey, []string{"digest #2", "not among the public keys"}},
	{"delete tail", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 1 AND seq = (SELECT MAX(seq) FROM audit_events WHERE task_id = 1)")
	}, dbOnly, []string{"task T-1", "newest events were deleted", "digest #2"}},
	{"delete tail and the newest digests", func(t *testing.T, w tamperWorld) {
		// Only what digest #1 did not yet cover, so what is left agrees.
		var line string
		require.NoError(t, w.raw(t).Get(&line, "SELECT line FROM audit_digests WHERE seq = 1"))
		d, err := workflow.ParseDigest(line)
		require.NoError(t, err)
		require.Equal(t, "T-1", d.Body.Heads[0].Chain)
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 1 AND seq > ?", d.Body.Heads[0].Seq)
		w.exec(t, "DELETE FROM audit_digests WHERE seq >= 2")
	}, withAll, []string{"digest #2", "missing from the database", "task T-1", "newest events were deleted"}},
	{"delete chain", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 3")
	}, dbOnly, []string{"task T-3", "whole chain was deleted"}},
	{"delete chain and every digest", func(t *testing.T, w tamperWorld) {
		// Without any digest, the task row still shows its chain is gone.
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 3")
		w.exec(t, "DELETE FROM audit_digests")
	}, dbOnly, []string{"task T-3", "the task exists but its audit chain is empty"}},
	{"delete chain and task", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 3")
		w.exec(t, "DELETE FROM tasks WHERE id = 3")
	}, dbOnly, []string{"task T-3", "whole chain was deleted", "no record of deleting T-3"}},
	{"delete admin tail", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 0 AND seq = (SELECT MAX(seq) FROM audit_events WHERE task_id = 0)")
	}, dbOnly, []string{"admin chain", "newest events were deleted", "digest #3"}},
	{"delete the admin record of a deletion and the newest digest", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 0 AND action = 'restarted'")
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 0 AND action = 'deleted'")
		w.exec(t, "DELETE FROM audit_digests WHERE seq = 3")
	}, dbOnly, []string{"task T-2", "no record of its deletion"}},
	{"delete admin tail and the newest digest", func(t *testing.T, w tamperWorld) {
		w.exec(t, "DELETE FROM audit_events WHERE task_id = 0 AND action = 'restarted'")
		w.exec(t, "DELETE FROM audit_digests WHERE seq = 3")
	}, withAll, []string{"digest #3", "missing from the database", "admin chain"}},
	{"reorder", func(t *testing.T, w tamperWorld) {
		w.exec(t, "UPDATE audit_events SET seq = seq + 100 WHERE task_id = 1 AND seq IN (2, 3)")
		w.exec(t, "UPDATE audit_events SET seq = 3 WHERE task_id = 1 AND seq = 102")
		w.exec(t, "UPDATE audit_events SET seq = 2 WHERE task_id = 1 AND seq = 103")
	}, dbOnly, []string{"task T-1", "event 2"}},
	{"insert", func(t *testing.T, w tamperWorld) {
		w.exec(t, "UPDATE audit_events SET seq = seq + 100 WHERE task_id = 1 AND seq >= 2")
		w.exec(t, "UPDATE audit_events SET seq = seq - 99 WHERE task_id = 1 AND seq >= 100")
		w.exec(t, "INSERT INTO audit_events (task_id, seq, at, actor, action, step, comment, details_json, prev_hash, hash) "+
			"SELECT task_id, 2, at, 'mgr@example.com', 'approved', step, '', NULL, hash, 'x' FROM audit_events WHERE task_id = 1 AND seq = 1")
	}, dbOnly, []string{"task T-1", "event 2", "approved"}},
}

func TestAuditTamperSQLite(t *testing.T) {
	t.Parallel()
	testAuditTamper(t, false)
}

func TestAuditTamperPostgres(t *testing.T) {
	t.Parallel()
	testPostgres(t) // skips when unreachable
	testAuditTamper(t, true)
}

func testAuditTamper(t *testing.T, pg bool) {
	t.Run("untouched", func(t *testing.T) {
		w := buildTamperWorld(t, pg)
		for _, m := range []verifyMode{dbOnly, withKey, withAll} {
			code, out, errOut := w.verify(t, m)
			assert.Equal(t, 0, code, "%s: %s", m, errOut)
			assert.Contains(t, out, "audit OK", m)
			assert.Contains(t, out, "digests OK: 3", m)
			assert.NotContains(t, errOut, "broken", m)
			if m >= withKey {
				assert.Contains(t, out, "signatures OK: 3 signed digests", m)
			}
		}
	})
	for _, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			w := buildTamperWorld(t, pg)
			tc.tamper(t, w)
			for _, m := range []verifyMode{dbOnly, withKey, withAll} {
				code, out, errOut := w.verify(t, m)
				if m < tc.caughtFrom {
					// What this mode cannot see: said in the README; the
					// stronger modes below must catch it.
					t.Logf("%s: not caught %s (exit %d): %s%s", tc.name, m, code, out, errOut)
					continue
				}
				assert.Equal(t, 1, code, "%s must be caught %s; stdout: %s stderr: %s", tc.name, m, out, errOut)
				assert.Contains(t, errOut, "audit chain broken", m)
				if m > tc.caughtFrom && m == withAll && tc.caughtFrom == withKey {
					// The file's copy is believed over the forged one,
					// so it is named instead of the signature.
					assert.Contains(t, errOut, "differs from its copy", m)
					continue
				}
				for _, s := range tc.want {
					assert.Contains(t, errOut, s, m)
				}
				assert.NotContains(t, out, "audit OK", m)
			}
		})
	}
}

// TestAuditTamperNeedsTheDigests shows what each mode cannot see, so the
// README's promises stay true: a database with its digests scrubbed along
// with its events passes the weaker modes (they warn what they could not
// check), and only the file from outside catches it.
func TestAuditTamperNeedsTheDigests(t *testing.T) {
	t.Parallel()
	w := buildTamperWorld(t, false)
	w.rehash(t, 1, workflow.ActCommented, func(e *workflow.AuditEvent) { e.Comment = "fine" })
	w.rewriteDigests(t, 2, nil)
	code, out, errOut := w.verify(t, dbOnly)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "audit OK")
	assert.Contains(t, errOut, "signatures were not checked", "it says what it could not rule out")
	assert.Contains(t, errOut, "give --digests FILE")
	code, _, errOut = w.verify(t, withAll)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "digest #2 in the database differs from its copy")
	assert.Contains(t, errOut, "re-hashed")
}

// TestAuditVerifyIsReadOnly: a mistyped path is refused and not created
// (by verify and export), and verify writes nothing to a database it reads.
func TestAuditVerifyIsReadOnly(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "typo.db")
	code, out, errOut := run(t, nil, "audit", "verify", "--db", missing)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "no SQLite database at")
	assert.Contains(t, errOut, "--db or ACCESSBOT_DB")
	_, err := os.Stat(missing)
	assert.True(t, os.IsNotExist(err), "verify did not create %s", missing)
	code, out, errOut = run(t, nil, "audit", "export", "--db", missing)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "no SQLite database at")
	_, err = os.Stat(missing)
	assert.True(t, os.IsNotExist(err), "export did not create %s", missing)

	code, _, errOut = run(t, nil, "audit", "verify", "--db", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is a directory")

	notOurs := filepath.Join(t.TempDir(), "other.db")
	raw, err := sql.Open("sqlite3", notOurs)
	require.NoError(t, err)
	_, err = raw.Exec("CREATE TABLE x (y INTEGER)")
	require.NoError(t, err)
	require.NoError(t, raw.Close())
	code, _, errOut = run(t, nil, "audit", "verify", "--db", notOurs)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not accessbot's")

	w := buildTamperWorld(t, false)
	before, err := os.ReadFile(w.dsn)
	require.NoError(t, err)
	code, _, errOut = w.verify(t, withAll)
	require.Equal(t, 0, code, errOut)
	after, err := os.ReadFile(w.dsn)
	require.NoError(t, err)
	assert.Equal(t, before, after, "verify changed nothing in the file")
}

func TestAuditVerifyReadOnlyPostgres(t *testing.T) {
	t.Parallel()
	w := buildTamperWorld(t, true)
	db, err := store.OpenReadOnly(context.Background(), w.dsn)
	require.NoError(t, err)
	defer db.Close()
	err = db.Update(context.Background(), func(tx workflow.Tx) error {
		_, err := tx.NextTaskID()
		return err
	})
	require.Error(t, err, "a read-only PostgreSQL session refuses writes")
	assert.Contains(t, err.Error(), "read-only")
}

// TestAuditVerifyBadDigestInput: files and keys that are not what verify
// needs get a message that says so.
func TestAuditVerifyBadDigestInput(t *testing.T) {
	t.Parallel()
	w := buildTamperWorld(t, false)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	require.NoError(t, os.WriteFile(empty, []byte("just a log line\n"), 0o600))
	code, out, _ := run(t, nil, "audit", "keygen")
	require.Equal(t, 0, code)
	pair := filepath.Join(dir, "pair.pem")
	require.NoError(t, os.WriteFile(pair, []byte(out), 0o600))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--digests", filepath.Join(dir, "nope.log")}, "--digests: cannot read"},
		{[]string{"--digests", empty}, "no digest in it"},
		{[]string{"--public-key", pair}, "holds a PRIVATE KEY"},
		{[]string{"--public-key", empty}, "no PUBLIC KEY block"},
		{[]string{"extra"}, "takes no arguments"},
	}
	for _, tt := range tests {
		code, _, errOut := run(t, nil, append([]string{"audit", "verify", "--db", w.dsn}, tt.args...)...)
		assert.NotEqual(t, 0, code, "%v", tt.args)
		assert.Contains(t, errOut, tt.want, "%v", tt.args)
		assert.NotContains(t, errOut, "BEGIN PRIVATE KEY", "a key is never echoed")
	}

	// A digest line in the file that was altered is a problem named by line.
	b, err := os.ReadFile(w.digests)
	require.NoError(t, err)
	altered := filepath.Join(dir, "altered.log")
	require.NoError(t, os.WriteFile(altered, []byte(strings.Replace(string(b), `"seq":1,`, `"seq":1 ,`, 1)), 0o600))
	code, _, errOut := run(t, nil, "audit", "verify", "--db", w.dsn, "--digests", altered)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "altered.log line 1")
	assert.Contains(t, errOut, "hash is not the hash of its body")
}

// TestAuditExportReverifies re-verifies every chain from the JSON export
// alone with the canonical form docs/AUDIT.md gives, written here without
// workflow's code: if the document and the hash drift apart, this fails.
func TestAuditExportReverifies(t *testing.T) {
	t.Parallel()
	path, total := exportDB(t)
	code, out, errOut := run(t, nil, "audit", "export", "--db", path, "--format", "json")
	require.Equal(t, 0, code, errOut)
	type canonical struct { // docs/AUDIT.md, "The hash"
		TaskID   int64             `json:"task_id"`
		Seq      int64             `json:"seq"`
		At       string            `json:"at"`
		Actor    string            `json:"actor"`
		Action   string            `json:"action"`
		Step     int               `json:"step"`
		Comment  string            `json:"comment,omitempty"`
		Details  map[string]string `json:"details,omitempty"`
		PrevHash string            `json:"prev_hash"`
	}
	prev := map[string]string{}
	admin := 0
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r exportRow
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		c := canonical{Seq: r.Seq, At: r.Time, Actor: r.Actor, Action: r.Action, Comment: r.Comment, Details: r.Details, PrevHash: r.PrevHash}
		if r.Chain == "admin" {
			admin++
		} else {
			id, err := workflow.ParseChainLabel(r.Chain)
			require.NoError(t, err)
			c.TaskID = id
			assert.Equal(t, r.Chain, r.Task, "a task chain's events are about its task")
		}
		if r.Step != "" {
			var s int
			require.NoError(t, json.Unmarshal([]byte(r.Step), &s))
			c.Step = s - 1
		}
		assert.Equal(t, prev[r.Chain], r.PrevHash, "%s event %d links to the one before", r.Chain, r.Seq)
		b, err := json.Marshal(c)
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(b), r.Hash, "%s event %d: the documented form gives its hash", r.Chain, r.Seq)
		prev[r.Chain] = r.Hash
		n++
	}
	assert.Equal(t, total, n)
	assert.Positive(t, admin, "the admin chain is exported, labelled admin")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestAuditVerifyReadsDigestsFromALog: the stdout lines, as a log pipeline
// keeps them (a timestamp in front, other lines between), and split over
// two files (one a replica), verify like the sink's file.
func TestAuditVerifyReadsDigestsFromALog(t *testing.T) {
	t.Parallel()
	w := buildTamperWorld(t, false)
	b, err := os.ReadFile(w.digests)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 3)
	dir := t.TempDir()
	a, c := filepath.Join(dir, "replica-a.log"), filepath.Join(dir, "replica-b.log")
	require.NoError(t, os.WriteFile(a, []byte("2026-11-22T16:00:00Z stdout F "+lines[0]+"\nsome other line\n2026-11-22T16:00:01Z stdout F "+lines[2]+"\n"), 0o600))
	require.NoError(t, os.WriteFile(c, []byte(lines[1]+"\n"), 0o600))
	code, out, errOut := run(t, nil, "audit", "verify", "--db", w.dsn, "--digests", a, "--digests", c, "--public-key", w.pubKey)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "digests OK: 3 (3 in the database, 3 from --digests)")
	assert.NotContains(t, errOut, "warning")
}
