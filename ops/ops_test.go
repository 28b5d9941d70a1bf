package ops_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/ops"
	"accessbot/scheduler"
	"accessbot/store"
	"accessbot/workflow"
)

const testConfig = `
people:
  - email: alice@example.com
    manager: mgr@example.com
  - email: mgr@example.com
  - email: prov@example.com
groups:
  sre: [prov@example.com]
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  revoke:
    steps:
      - type: deprovision
apps:
  - id: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
`

// env is a running bot against the fake Slack with the endpoints served.
type env struct {
	t       *testing.T
	ctx     context.Context
	slack   *fakeslack.Server
	db      *store.DB
	engine  *workflow.Engine
	bot     *bot.Bot
	metrics *ops.Metrics
	http    *httptest.Server
	ids     map[string]string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(testConfig), 0o600))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	e := &env{t: t, ctx: ctx, slack: srv, ids: map[string]string{}}
	for i, name := range []string{"alice", "mgr", "prov"} {
		e.ids[name] = srv.AddUser(fakeslack.User{ID: "U0000000" + string(rune('A'+i)), Name: name, Email: name + "@example.com"}).ID
	}
	e.db, err = store.Open(ctx, filepath.Join(dir, "accessbot.db"), nil)
	require.NoError(t, err)
	e.engine = workflow.NewEngine(e.db, cat, nil)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	e.metrics = ops.NewMetrics(e.db, e.engine.Now, log)
	e.bot, err = bot.New(bot.Config{
		BotToken: srv.BotToken(), AppToken: srv.AppToken(), APIURL: srv.APIURL(),
		Engine: e.engine, Store: e.db, Log: log, Metrics: e.metrics,
		Workers: 4, Poll: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		RateScale: 100,
	})
	require.NoError(t, err)
	e.http = httptest.NewServer(ops.Endpoints{DB: e.db, Slack: e.bot, Metrics: e.metrics}.Handler())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.bot.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("bot did not stop")
		}
		e.http.Close()
		srv.Close()
		e.db.Close()
		cancel()
	})
	require.NoError(t, srv.WaitConnected(ctx, 1))
	return e
}

func (e *env) get(path string) (int, string) {
	e.t.Helper()
	res, err := http.Get(e.http.URL + path)
	require.NoError(e.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res.StatusCode, string(body)
}

// eventually polls cond every 10 ms for up to 20 s.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReadyFlipsWithSlackAndTheDatabase(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.eventually("ready", func() bool { code, _ := e.get("/readyz"); return code == 200 })
	_, body := e.get("/readyz")
	assert.Equal(t, "database: ok\nmigrations: ok\nslack: ok\n", body)

	// Slack goes away: the connection drops and cannot be reopened.
	e.slack.SetDown(true)
	e.slack.Disconnect("link_disabled")
	e.eventually("not ready while Slack is down", func() bool { code, _ := e.get("/readyz"); return code == 503 })
	code, body := e.get("/readyz")
	assert.Equal(t, 503, code)
	assert.Contains(t, body, "slack: not connected")
	assert.Contains(t, body, "database: ok")
	code, _ = e.get("/healthz")
	assert.Equal(t, 200, code, "alive while Slack is away: a restart would not help")

	e.slack.SetDown(false)
	e.eventually("ready again once Slack is back", func() bool { code, _ := e.get("/readyz"); return code == 200 })

	// The database closes.
	require.NoError(t, e.db.Close())
	code, body = e.get("/readyz")
	assert.Equal(t, 503, code)
	assert.Regexp(t, `(?m)^database: .*closed`, body)
	assert.Contains(t, body, "migrations: not checked")
	code, body = e.get("/healthz")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok\n", body)
}

// fakeDB is a database whose answers a test sets.
type fakeDB struct {
	pingErr error
	current bool
}

func (f fakeDB) Ping(context.Context) error                      { return f.pingErr }
func (f fakeDB) MigrationsCurrent(context.Context) (bool, error) { return f.current, nil }

type fakeSlack bool

func (f fakeSlack) Connected() bool { return bool(f) }

func TestReadyChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		db    fakeDB
		slack ops.Slack
		code  int
		want  []string
	}{
		{"all well", fakeDB{current: true}, fakeSlack(true), 200, []string{"database: ok", "migrations: ok", "slack: ok"}},
		{"migrations behind", fakeDB{current: false}, fakeSlack(true), 503, []string{"database: ok", "migrations: not current", "slack: ok"}},
		{"database down", fakeDB{pingErr: errors.New("connection refused")}, fakeSlack(true), 503, []string{"database: connection refused", "migrations: not checked", "slack: ok"}},
		{"slack down", fakeDB{current: true}, fakeSlack(false), 503, []string{"database: ok", "slack: not connected"}},
		{"no bot", fakeDB{current: true}, nil, 503, []string{"slack: not connected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ops.Endpoints{DB: tt.db, Slack: tt.slack}.Handler()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			assert.Equal(t, tt.code, rec.Code)
			for _, w := range tt.want {
				assert.Contains(t, rec.Body.String(), w)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			assert.Equal(t, 404, rec.Code, "no /metrics without Metrics")
		})
	}
}

// metric returns the value of the sample of name whose labels include want,
// from a text exposition, and whether there is one.
func metric(body, name string, want map[string]string) (float64, bool) {
	labelRE := regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		labels := map[string]string{}
		if i := strings.Index(line, "{"); i == len(name) {
			j := strings.LastIndex(line, "}")
			for _, m := range labelRE.FindAllStringSubmatch(line[i+1:j], -1) {
				labels[m[1]] = m[2]
			}
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		return v, true
	}
	return 0, false
}

// TestMetricsAfterAFlow runs a request through the bot (a card to the
// manager, an approval by a click, a provisioning card), with one 429 from
// Slack on the way and a run of the scheduler's jobs, and reads the
// exposition.
func TestMetricsAfterAFlow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.slack.FailNext("chat.update", 1, fakeslack.FailRateLimited(1))
	_, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", Justification: "deploy"})
	require.NoError(t, err)

	var card fakeslack.Message
	e.eventually("the manager's card", func() bool {
		for _, m := range e.slack.DMs(e.ids["mgr"]) {
			if _, ok := m.FindAction("approve"); ok {
				card = m
				return true
			}
		}
		return false
	})
	_, err = e.slack.Click(e.ctx, e.ids["mgr"], card.Channel, card.TS, "approve")
	require.NoError(t, err)
	e.eventually("the provisioning card", func() bool {
		for _, m := range e.slack.DMs(e.ids["prov"]) {
			if _, ok := m.FindAction("provisioned"); ok {
				return true
			}
		}
		return false
	})
	e.eventually("the outbox drained", func() bool {
		n, _, err := e.db.OutboxStats(e.ctx)
		return err == nil && n == 0
	})

	// The scheduler's jobs: one fine, one failing.
	sched := scheduler.New(e.engine, zerolog.Nop(), scheduler.Options{Observe: e.metrics.JobRun, Jobs: []scheduler.Job{
		{Name: "fine", Run: func(context.Context) (any, error) { return nil, nil }},
		{Name: "broken", Run: func(context.Context) (any, error) { return nil, errors.New("boom") }},
		{Name: "panicky", Run: func(context.Context) (any, error) { panic("oops") }},
	}})
	require.Error(t, sched.RunOnce(e.ctx))

	code, body := e.get("/metrics")
	require.Equal(t, 200, code)
	t.Log(grep(body, "accessbot_"))
	at := func(name string, labels map[string]string) float64 {
		t.Helper()
		v, ok := metric(body, name, labels)
		assert.True(t, ok, "%s%v is in the exposition", name, labels)
		return v
	}
	assert.Equal(t, 1.0, at("accessbot_envelopes_total", map[string]string{"type": "interactive", "kind": "block_actions"}))
	assert.GreaterOrEqual(t, at("accessbot_ack_latency_seconds_count", nil), 1.0)
	assert.Less(t, at("accessbot_ack_latency_seconds_sum", nil), 3.0, "acks well inside Slack's 3 s")
	assert.GreaterOrEqual(t, at("accessbot_slack_api_calls_total", map[string]string{"method": "chat.postMessage", "result": "ok"}), 3.0,
		"cards to the manager, the requester and the provisioner")
	assert.GreaterOrEqual(t, at("accessbot_slack_api_calls_total", map[string]string{"method": "users.lookupByEmail", "result": "ok"}), 1.0, "the Slack accounts of the people")
	assert.Equal(t, 1.0, at("accessbot_slack_api_calls_total", map[string]string{"method": "chat.update", "result": "rate_limited"}))
	assert.Equal(t, 1.0, at("accessbot_slack_rate_limited_total", map[string]string{"method": "chat.update"}))
	assert.Equal(t, 1.0, at("accessbot_tasks", map[string]string{"kind": "grant", "status": "open"}))
	assert.Equal(t, 1.0, at("accessbot_store_up", nil))
	assert.Equal(t, 0.0, at("accessbot_outbox_depth", nil))
	assert.Equal(t, 0.0, at("accessbot_outbox_oldest_age_seconds", nil))
	for _, job := range []string{"fine", "broken", "panicky"} {
		assert.Equal(t, 1.0, at("accessbot_job_runs_total", map[string]string{"job": job}), job)
	}
	_, ok := metric(body, "accessbot_job_failures_total", map[string]string{"job": "fine"})
	assert.False(t, ok, "a job that never failed has no failures series")
	assert.Equal(t, 1.0, at("accessbot_job_failures_total", map[string]string{"job": "broken"}))
	assert.Equal(t, 1.0, at("accessbot_job_failures_total", map[string]string{"job": "panicky"}))
	assert.Contains(t, body, "go_goroutines", "the Go runtime's metrics are there too")

	require.NoError(t, e.db.Close())
	_, body = e.get("/metrics")
	v, _ := metric(body, "accessbot_store_up", nil)
	assert.Equal(t, 0.0, v, "a closed store reports down instead of failing the scrape")
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestOutboxAge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	stats := fakeStats{depth: 3, oldest: now.Add(-90 * time.Second), counts: []workflow.TaskCount{
		{Kind: workflow.KindGrant, Status: workflow.StatusOpen, N: 2},
		{Kind: workflow.KindRevoke, Status: workflow.StatusDone, N: 5},
	}}
	m := ops.NewMetrics(stats, func() time.Time { return now }, zerolog.Nop())
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	v, _ := metric(body, "accessbot_outbox_depth", nil)
	assert.Equal(t, 3.0, v)
	v, _ = metric(body, "accessbot_outbox_oldest_age_seconds", nil)
	assert.Equal(t, 90.0, v)
	v, _ = metric(body, "accessbot_tasks", map[string]string{"kind": "revoke", "status": "done"})
	assert.Equal(t, 5.0, v)
	v, _ = metric(body, "accessbot_tasks", map[string]string{"kind": "grant", "status": "open"})
	assert.Equal(t, 2.0, v)
}

type fakeStats struct {
	depth  int
	oldest time.Time
	counts []workflow.TaskCount
}

func (f fakeStats) OutboxStats(context.Context) (int, time.Time, error) {
	return f.depth, f.oldest, nil
}
func (f fakeStats) TaskCounts(context.Context) ([]workflow.TaskCount, error) {
	return f.counts, nil
}
