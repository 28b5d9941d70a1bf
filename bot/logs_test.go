package bot_test

import (
	"bufio"
	"context"
	"encoding/json"
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

// Real-looking tokens, in Slack's shapes.
const (
	realBotToken = "xoxb-2718281828-3141592653589-Zq8Hn2Lw5Vt7Rk1Pj4Xc9Bm6"
	realAppToken = "xapp-1-A0R3ALAPP01-4159265358979-3f2a9c7e1b4d8a6f0e5c3b2a1d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"
)

// logBuffer collects JSON log lines; safe for the bot's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log's lines, decoded.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

// setupLogged is setup with real-looking tokens and the bot's raw log (no
// filter, at trace level) in buf as well as in the test's log.
func setupLogged(t *testing.T, buf *logBuffer) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(testConfig), 0o600))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	srv, err := fakeslack.New(fakeslack.Options{BotToken: realBotToken, AppToken: realAppToken})
	require.NoError(t, err)
	srv.AddChannel("C0ACCESS01", "access-github", true)
	h := &harness{t: t, ctx: ctx, slack: srv, ids: map[string]string{}, stopBot: func() {}}
	for i, name := range []string{"alice", "carol", "mgr", "sec1", "sec2", "prov", "eve", "admin"} {
		h.ids[name] = srv.AddUser(fakeslack.User{ID: "U0000000" + string(rune('A'+i)), Name: name, Email: email(name)}).ID
	}
	h.db, err = store.Open(ctx, filepath.Join(dir, "accessbot.db"), nil)
	require.NoError(t, err)
	h.engine = workflow.NewEngine(h.db, cat, nil)
	b, err := bot.New(bot.Config{
		BotToken: srv.BotToken(), AppToken: srv.AppToken(), APIURL: srv.APIURL(),
		Engine: h.engine, Store: h.db,
		Log:     zerolog.New(zerolog.MultiLevelWriter(buf, zerolog.NewTestWriter(t))).Level(zerolog.TraceLevel),
		Workers: 4, Poll: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		RateScale: 100,
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	h.stopBot = func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("bot did not stop within 10 s")
		}
		h.stopBot = func() {}
	}
	t.Cleanup(func() {
		h.stopBot()
		srv.Close()
		h.db.Close()
		cancel()
	})
	require.NoError(t, srv.WaitConnected(ctx, 1))
	return h
}

// TestLogsOfAUnitOfWork checks that the lines written while handling an
// envelope name the envelope, the person and (where known) the task, that
// a notice's lines name the task, and that no token appears anywhere, even
// at trace level, through failing calls, a reconnect and a rejected start.
func TestLogsOfAUnitOfWork(t *testing.T) {
	var buf logBuffer
	h := setupLogged(t, &buf)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)

	// mgr approves; a second click on the same card is stale and refused.
	h.click("mgr", card, "approve")
	h.settled(task.ID)
	h.click("mgr", card, "approve")
	h.eventually("the stale click's answer", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) > 0 })
	// Failures whose errors carry HTTP statuses and URLs, a 429, Slack's
	// auth error on a person lookup, and a reconnect.
	h.slack.FailNext("users.info", 1, fakeslack.FailError("invalid_auth"))
	h.command("carol", "/access", "help")
	h.slack.FailNext("chat.postMessage", 1, fakeslack.FailStatus(500))
	h.slack.FailNext("conversations.open", 1, fakeslack.FailRateLimited(1))
	task2 := h.request("carol", "vpn")
	h.card(task2.ID, workflow.CardAssignee, "sec1", 0)
	h.slack.Disconnect("refresh_requested")
	h.eventually("the reconnect", func() bool { return h.slack.ConnectCount() >= 2 && h.slack.Connections() == 1 })
	h.stopBot()

	lines := buf.lines(t)
	require.NotEmpty(t, lines)
	find := func(msg string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		for _, l := range lines {
			if l["message"] == msg && (match == nil || match(l)) {
				return l
			}
		}
		t.Errorf("no %q line", msg)
		return map[string]any{}
	}
	by := func(name string) func(map[string]any) bool {
		return func(l map[string]any) bool { return l["slack_user"] == h.ids[name] }
	}
	for _, l := range []map[string]any{
		find("decided", by("mgr")),
		find("refused", by("mgr")),
	} {
		assert.NotEmpty(t, l["envelope_id"], "%v", l)
		assert.NotEmpty(t, l["slack_user"], "%v", l)
		assert.EqualValues(t, task.ID, l["task"], "%v", l)
	}
	unknown := find("command from an unknown person", by("carol"))
	assert.NotEmpty(t, unknown["envelope_id"], "%v", unknown)
	failed := find("delivery failed", nil)
	assert.NotEmpty(t, failed["task"], "%v", failed)
	assert.NotEmpty(t, failed["notice"], "%v", failed)
	limited := find("rate limited by Slack", nil)
	assert.NotEmpty(t, limited["task"], "a 429 met while delivering a notice names the task: %v", limited)

	// Every line that names a person in a unit of work names its envelope
	// too, unless it comes from the outbox (which names the task); and no
	// line names a field twice.
	raw := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, l := range lines {
		if l["slack_user"] != nil && l["envelope_id"] == nil && l["task"] == nil {
			t.Errorf("a line about a person without its envelope or task: %v", l)
		}
		for _, key := range []string{"slack_user", "envelope_id", "task"} {
			assert.LessOrEqual(t, strings.Count(raw[i], `"`+key+`":`), 1, "%s twice in %s", key, raw[i])
		}
	}

	// A start with rejected tokens, logged the same way.
	wrong := strings.Replace(realBotToken, "Zq8", "Yy7", 1)
	b, err := bot.New(bot.Config{BotToken: wrong, AppToken: realAppToken, APIURL: h.slack.APIURL(), Engine: h.engine, Store: h.db,
		Log: zerolog.New(&buf).Level(zerolog.TraceLevel)})
	require.NoError(t, err)
	err = b.Run(h.ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SLACK_BOT_TOKEN was rejected by Slack")

	out := buf.String() + err.Error()
	assert.Contains(t, out, `"level":"debug"`)
	for _, tok := range []string{realBotToken, realAppToken, wrong} {
		assert.NotContains(t, out, tok)
		assert.NotContains(t, out, tok[len(tok)-16:], "not even the end of a token")
	}
}
