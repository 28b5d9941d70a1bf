package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

// The crash test builds the real binary, runs `accessbot serve` against
// the fake Slack (in this process, over a real WebSocket) and kills it with
// SIGKILL at a random moment of each 100-click burst, then starts it again
// on the same database. Every acked click must have exactly one decision
// and one audit event, no task moves twice, every card is posted exactly
// once, and the outbox is empty within seconds of the restart.
//
// ACCESSBOT_CRASH_KILLS sets the number of kill runs: CI (make test) runs
// the default 3; the full run is
//
//	ACCESSBOT_CRASH_KILLS=20 go test ./cmd/accessbot -run TestCrash -count=1 -v
//
// -short skips it. With PostgreSQL reachable (ACCESSBOT_TEST_POSTGRES or
// 127.0.0.1:5432, db test) it runs there too, in a schema of its own.

const (
	maxCrashRuns    = 100 // one resource a run, so each run's requests are new
	crashClicks     = 100
	crashApprovers  = 10
	crashLease      = "2s"
	crashOutboxWait = 20 * time.Second // lease (2 s) + a card per approver DM at scaled limits, with a margin for a busy machine
)

func crashConfig() string {
	var b strings.Builder
	b.WriteString("people:\n")
	for i := range crashApprovers {
		fmt.Fprintf(&b, "  - email: a%d@example.com\n", i)
	}
	for i := range crashClicks {
		fmt.Fprintf(&b, "  - email: r%d@example.com\n    manager: a%d@example.com\n", i, i%crashApprovers)
	}
	b.WriteString(`policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  revoke:
    steps:
      - type: deprovision
apps:
  - id: vpn
    provisioning: none
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
`)
	for run := range maxCrashRuns {
		fmt.Fprintf(&b, "      - id: res%d\n", run)
	}
	return b.String()
}

func crashKills(t *testing.T) int {
	if testing.Short() {
		t.Skip("-short: the crash test builds and kills the real binary")
	}
	n := 3
	if v := os.Getenv("ACCESSBOT_CRASH_KILLS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "ACCESSBOT_CRASH_KILLS")
		require.LessOrEqual(t, n, maxCrashRuns, "ACCESSBOT_CRASH_KILLS")
	}
	return n
}

// buildBinary builds cmd/accessbot once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "accessbot-crash-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "accessbot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestCrashSQLite(t *testing.T) {
	kills := crashKills(t)
	runCrash(t, filepath.Join(t.TempDir(), "accessbot.db"), kills)
}

func TestCrashPostgres(t *testing.T) {
	kills := crashKills(t)
	base := os.Getenv("ACCESSBOT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL not reachable: %v", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "accessbot_crash_" + hex.EncodeToString(b[:])
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	runCrash(t, base+sep+"search_path="+schema, kills)
}

// crashBot is one run of the binary.
type crashBot struct {
	cmd  *exec.Cmd
	done chan struct{}
}

type crashRig struct {
	t     *testing.T
	ctx   context.Context
	slack *fakeslack.Server
	bin   string
	env   []string
	log   *os.File
	bot   *crashBot
	ids   map[string]string // email -> Slack id
}

func (r *crashRig) start() {
	r.t.Helper()
	connects := r.slack.ConnectCount()
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = r.log, r.log
	require.NoError(r.t, cmd.Start())
	b := &crashBot{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(b.done) }()
	r.bot = b
	r.wait("the bot's connection", 30*time.Second, func() bool {
		select {
		case <-b.done:
			r.t.Fatalf("accessbot exited at start-up; see %s", r.log.Name())
		default:
		}
		return r.slack.ConnectCount() > connects && r.slack.Connections() == 1
	})
}

func (r *crashRig) kill() {
	_ = r.bot.cmd.Process.Signal(syscall.SIGKILL)
	<-r.bot.done
	r.wait("the fake to drop the dead connection", 10*time.Second, func() bool { return r.slack.Connections() == 0 })
}

func (r *crashRig) wait(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %s waiting for %s (bot log: %s)", limit, what, r.log.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runCrash(t *testing.T, dsn string, kills int) {
	bin, err := buildBinary()
	require.NoError(t, err)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(crashConfig()), 0o600))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(kills+2)*2*time.Minute)
	defer cancel()

	srv, err := fakeslack.New(fakeslack.Options{AckTimeout: 2 * time.Second})
	require.NoError(t, err)
	defer srv.Close()
	ids := map[string]string{}
	n := 0
	add := func(email string) {
		n++
		ids[email] = srv.AddUser(fakeslack.User{ID: fmt.Sprintf("U%08d", n), Name: strings.TrimSuffix(email, "@example.com"), Email: email}).ID
	}
	for i := range crashApprovers {
		add(fmt.Sprintf("a%d@example.com", i))
	}
	for i := range crashClicks {
		add(fmt.Sprintf("r%d@example.com", i))
	}
	// The test's own connection, to make tasks and to read what happened.
	db, err := store.Open(ctx, dsn, nil)
	require.NoError(t, err)
	defer db.Close()
	engine := workflow.NewEngine(db, cat, nil)

	logf, err := os.Create(filepath.Join(dir, "bot.log"))
	require.NoError(t, err)
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			// The bot's log outlives the test's directory.
			keep := filepath.Join(os.TempDir(), "accessbot-"+t.Name()+".log")
			if b, err := os.ReadFile(logf.Name()); err == nil && os.WriteFile(keep, b, 0o600) == nil {
				t.Logf("bot log kept at %s", keep)
			}
		}
	})
	r := &crashRig{t: t, ctx: ctx, slack: srv, bin: bin, log: logf, ids: ids, env: append(os.Environ(),
		"SLACK_BOT_TOKEN="+srv.BotToken(), "SLACK_APP_TOKEN="+srv.AppToken(), "SLACK_API_URL="+srv.APIURL(),
		"ACCESSBOT_CONFIG="+cfgPath, "ACCESSBOT_DB="+dsn, "ACCESSBOT_HTTP_ADDR=off",
		"ACCESSBOT_LEASE="+crashLease, "ACCESSBOT_SLACK_RATE_SCALE=100", "ACCESSBOT_LOG_LEVEL=info", "ACCESSBOT_LOG_FORMAT=json")}
	r.start()
	defer func() {
		if r.bot != nil {
			_ = r.bot.cmd.Process.Signal(syscall.SIGKILL)
			<-r.bot.done
		}
	}()

	totalAcked, totalReplayed := 0, 0
	for run := range kills {
		acked, replayed, restart := r.burst(engine, db, run)
		totalAcked += acked
		totalReplayed += replayed

		// The outbox empties within seconds of the restart.
		r.wait("the outbox to empty after the restart", crashOutboxWait, func() bool {
			depth, _, err := db.OutboxStats(ctx)
			require.NoError(t, err)
			return depth == 0
		})
		t.Logf("run %d: %d clicks acked, %d of them acked but not decided when the bot was killed (finished by the restart); outbox empty %s after the restart",
			run+1, acked, replayed, time.Since(restart).Round(10*time.Millisecond))
	}
	t.Logf("%d kills: %d acked clicks (%d of them undecided at a kill), none lost", kills, totalAcked, totalReplayed)
	r.checkCards(engine, db)
}

// burst makes 100 tasks (one per requester), waits for their cards, sends
// one approve click on each at once and kills the bot at a random moment
// of the burst; clicks that were not acked are clicked again once the bot
// is back, as a person would. It checks every acked click took effect
// exactly once.
func (r *crashRig) burst(engine *workflow.Engine, db *store.DB, run int) (acked, replayed int, restart time.Time) {
	t, ctx := r.t, r.ctx
	tasks := make([]*workflow.Task, crashClicks)
	for i := range crashClicks {
		task, err := engine.Request(ctx, workflow.RequestInput{Requester: fmt.Sprintf("r%d@example.com", i), AppID: "vpn", ResourceID: fmt.Sprintf("res%d", run), Justification: fmt.Sprintf("run %d", run)})
		require.NoError(t, err)
		tasks[i] = task
	}
	cards := make([]workflow.Card, crashClicks)
	r.wait("every approver card", 60*time.Second, func() bool {
		for i, task := range tasks {
			if cards[i].TS != "" {
				continue
			}
			cs, err := db.Cards(ctx, task.ID)
			require.NoError(t, err)
			for _, c := range cs {
				if c.Role == workflow.CardAssignee {
					cards[i] = c
				}
			}
			if cards[i].TS == "" {
				return false
			}
		}
		return true
	})

	var mu sync.Mutex
	ackedTasks := map[int64]bool{}
	var unacked []int
	var wg sync.WaitGroup
	for i := range crashClicks {
		wg.Go(func() {
			time.Sleep(time.Duration(mrand.IntN(300)) * time.Millisecond)
			d, err := r.slack.Click(ctx, r.ids[cards[i].Email], cards[i].Channel, cards[i].TS, "approve")
			mu.Lock()
			defer mu.Unlock()
			if err == nil && d.Ack.EnvelopeID != "" {
				ackedTasks[tasks[i].ID] = true
			} else {
				unacked = append(unacked, i)
			}
		})
	}
	time.Sleep(time.Duration(mrand.IntN(300)) * time.Millisecond)
	r.kill()
	wg.Wait()
	// Acked clicks the dead bot had not decided yet: the restarted bot
	// must finish them from its inbox.
	for id := range ackedTasks {
		if approvals(t, db, id) == 0 {
			replayed++
		}
	}
	restart = time.Now()
	r.start()

	// The people whose click got no ack click again, if their card still
	// offers Approve (the restarted bot may have finished the click).
	for _, i := range unacked {
		d, err := r.slack.Click(ctx, r.ids[cards[i].Email], cards[i].Channel, cards[i].TS, "approve")
		if err == nil && d.Ack.EnvelopeID != "" {
			ackedTasks[tasks[i].ID] = true
		} else if err != nil && !strings.Contains(err.Error(), "no button") {
			t.Logf("click again on T-%d: %v", tasks[i].ID, err)
		}
	}
	r.wait("every acked click's task done", 30*time.Second, func() bool {
		for _, task := range tasks {
			if !ackedTasks[task.ID] {
				continue
			}
			cur, err := engine.Task(ctx, task.ID)
			require.NoError(t, err)
			if cur.Status != workflow.StatusDone {
				return false
			}
		}
		return true
	})
	for _, task := range tasks {
		got := approvals(t, db, task.ID)
		if ackedTasks[task.ID] {
			assert.Equal(t, 1, got, "acked click on T-%d: exactly one decision and one audit event", task.ID)
		} else {
			assert.LessOrEqual(t, got, 1, "T-%d moved twice", task.ID)
		}
	}
	return len(ackedTasks), replayed, restart
}

// approvals counts a task's approve audit events.
func approvals(t *testing.T, db *store.DB, id int64) int {
	t.Helper()
	var evs []workflow.AuditEvent
	require.NoError(t, db.View(context.Background(), func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(id)
		return err
	}))
	n := 0
	for _, ev := range evs {
		if ev.Action == workflow.ActApproved {
			n++
		}
	}
	return n
}

// checkCards: every card was posted exactly once: each DM holds one
// top-level bot message per card the database knows, no more.
func (r *crashRig) checkCards(engine *workflow.Engine, db *store.DB) {
	t := r.t
	posted := 0
	for _, id := range r.ids {
		for _, m := range r.slack.DMs(id) {
			if m.BotID != "" && m.ThreadTS == "" && !m.Ephemeral {
				posted++
			}
		}
	}
	var cards int
	tasks, err := engine.Tasks(r.ctx, workflow.TaskQuery{})
	require.NoError(t, err)
	for _, task := range tasks {
		cs, err := db.Cards(r.ctx, task.ID)
		require.NoError(t, err)
		cards += len(cs)
	}
	assert.Equal(t, cards, posted, "every card posted exactly once (no duplicate posts)")
	t.Logf("%d cards, %d posts", cards, posted)
}
