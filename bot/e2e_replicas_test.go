package bot_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

// postgresSchema returns the DSN of a fresh schema on the test PostgreSQL
// (dropped at cleanup), or skips the test when none answers.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ACCESSBOT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL not reachable: %v", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "accessbot_replicas_" + hex.EncodeToString(b[:])
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestTwoReplicas runs two bots (two store connections, two lease owners)
// on one PostgreSQL database against a Slack that answers chat.update
// slowly (three leases long), fails calls with 500 and rate-limits with
// 429: every card is posted exactly once, and every click decided once.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cardsConfig(n)), 0o600))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	ids := map[string]string{}
	for i, name := range []string{"alice", "sec1"} {
		ids[name] = srv.AddUser(fakeslack.User{ID: fmt.Sprintf("U0000000%c", 'A'+i), Name: name, Email: email(name)}).ID
	}

	var engines []*workflow.Engine
	var dbs []*store.DB
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	for i := range 2 {
		db, err := store.Open(ctx, dsn, nil)
		require.NoError(t, err)
		defer db.Close()
		e := workflow.NewEngine(db, cat, nil)
		b, err := bot.New(bot.Config{
			BotToken: srv.BotToken(), AppToken: srv.AppToken(), APIURL: srv.APIURL(),
			Engine: e, Store: db, Owner: fmt.Sprintf("replica-%d", i),
			Log:     zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t))).Level(zerolog.WarnLevel).With().Int("replica", i).Logger(),
			Workers: 4, Poll: 20 * time.Millisecond, LeaseTTL: time.Second,
			RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, RateScale: 100,
		})
		require.NoError(t, err)
		wg.Go(func() { assert.NoError(t, b.Run(runCtx)) })
		engines, dbs = append(engines, e), append(dbs, db)
	}
	defer func() { stop(); wg.Wait() }()
	require.NoError(t, srv.WaitFor(ctx, func() bool { return srv.Connections() == 2 }))

	// Slow, failing and rate-limited Slack from the first card on.
	srv.FailNext("chat.postMessage", 6, fakeslack.FailStatus(500))
	srv.FailNext("chat.postMessage", 4, fakeslack.FailRateLimited(1))
	srv.FailNext("chat.postMessage", 6, fakeslack.FailDelay(3*time.Second))
	srv.FailNext("chat.update", 10, fakeslack.FailDelay(3*time.Second))
	srv.FailNext("chat.update", 5, fakeslack.FailStatus(500))
	srv.FailNext("chat.update", 5, fakeslack.FailRateLimited(1))

	var tasks []*workflow.Task
	for i := 1; i <= n; i++ {
		task, err := engines[i%2].Request(ctx, workflow.RequestInput{Requester: email("alice"), AppID: "vpn", ResourceID: fmt.Sprintf("r%03d", i), Justification: "two replicas"})
		require.NoError(t, err)
		tasks = append(tasks, task)
	}
	cardOf := func(id int64, role workflow.CardRole) (workflow.Card, bool) {
		cs, err := dbs[0].Cards(ctx, id)
		require.NoError(t, err)
		for _, c := range cs {
			if c.Role == role {
				return c, true
			}
		}
		return workflow.Card{}, false
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s", what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	wait("every card posted", func() bool {
		for _, task := range tasks {
			if _, ok := cardOf(task.ID, workflow.CardAssignee); !ok {
				return false
			}
			if _, ok := cardOf(task.ID, workflow.CardRequester); !ok {
				return false
			}
		}
		return true
	})
	for _, task := range tasks {
		c, _ := cardOf(task.ID, workflow.CardAssignee)
		_, err := srv.Click(ctx, ids["sec1"], c.Channel, c.TS, "approve")
		require.NoError(t, err)
	}
	wait("every task done and the outbox empty", func() bool {
		for _, task := range tasks {
			cur, err := engines[0].Task(ctx, task.ID)
			require.NoError(t, err)
			if cur.Status != workflow.StatusDone {
				return false
			}
		}
		depth, _, err := dbs[0].OutboxStats(ctx)
		require.NoError(t, err)
		return depth == 0
	})

	posts := 0
	for _, name := range []string{"alice", "sec1"} {
		for _, m := range srv.DMs(ids[name]) {
			if m.BotID != "" && m.ThreadTS == "" && !m.Ephemeral {
				posts++
			}
		}
	}
	assert.Equal(t, 2*n, posts, "every card posted once by one of the replicas: 0 duplicate posts")
	for _, task := range tasks {
		approved := 0
		evs, err := func() (evs []workflow.AuditEvent, err error) {
			err = dbs[0].View(ctx, func(tx workflow.ReadTx) error { evs, err = tx.AuditEvents(task.ID); return err })
			return evs, err
		}()
		require.NoError(t, err)
		for _, ev := range evs {
			if ev.Action == workflow.ActApproved {
				approved++
			}
		}
		assert.Equal(t, 1, approved, "T-%d decided once", task.ID)
	}
	t.Logf("chat.postMessage %v, chat.update %v", srv.Counts()["chat.postMessage"], srv.Counts()["chat.update"])
}
