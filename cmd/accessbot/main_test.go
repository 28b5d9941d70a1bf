package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

const mainConfig = `
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

// syncBuffer is a bytes.Buffer safe to read while Main writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeConfig(t *testing.T) (cfg, db string) {
	dir := t.TempDir()
	cfg = filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(mainConfig), 0o600))
	return cfg, filepath.Join(dir, "accessbot.db")
}

// envOf is the environment of vars; the endpoints take a free port unless
// vars names one, so tests never fight over 8080.
func envOf(vars map[string]string, stdout, stderr *syncBuffer) Env {
	return Env{Stdout: stdout, Stderr: stderr, Getenv: func(k string) string {
		if k == "ACCESSBOT_HTTP_ADDR" && vars[k] == "" {
			return "127.0.0.1:0"
		}
		return vars[k]
	}}
}

// TestServeIsTheDefaultCommand boots the whole binary against the fake
// Slack, creates a request in its database and approves it by a click.
func TestServeIsTheDefaultCommand(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	ids := map[string]string{}
	for i, name := range []string{"alice", "mgr", "prov"} {
		ids[name] = srv.AddUser(fakeslack.User{ID: "U00000000" + string(rune('A'+i)), Name: name, Email: name + "@example.com"}).ID
	}
	cfgPath, dbPath := writeConfig(t)
	var stdout, stderr syncBuffer
	env := envOf(map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath,
	}, &stdout, &stderr)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	code := make(chan int, 1)
	go func() { code <- Main(runCtx, nil, env) }()
	require.NoError(t, srv.WaitConnected(ctx, 1))

	// The request comes through the database, as /access will later.
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	db, err := store.Open(ctx, dbPath, nil)
	require.NoError(t, err)
	defer db.Close()
	engine := workflow.NewEngine(db, cat, nil)
	task, err := engine.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", Justification: "deploy"})
	require.NoError(t, err)

	card := func(name, action string) fakeslack.Message {
		var msg fakeslack.Message
		require.NoError(t, srv.WaitFor(ctx, func() bool {
			for _, m := range srv.DMs(ids[name]) {
				if _, ok := m.FindAction(action); ok {
					msg = m
					return true
				}
			}
			return false
		}), "a card with %q for %s", action, name)
		return msg
	}
	m := card("mgr", "approve")
	_, err = srv.Click(ctx, ids["mgr"], m.Channel, m.TS, "approve")
	require.NoError(t, err)
	card("prov", "provisioned")
	got, err := engine.Task(ctx, task.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Step, "the provisioning step is current")

	stop()
	select {
	case c := <-code:
		assert.Equal(t, 0, c, "stderr: %s", stderr.String())
	case <-ctx.Done():
		t.Fatal("Main did not return after its context ended")
	}
	assert.NotContains(t, stderr.String(), srv.BotToken(), "no token in the logs")
	assert.NotContains(t, stderr.String(), srv.AppToken(), "no token in the logs")
}

func TestServeRefusesBadTokens(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	cfgPath, dbPath := writeConfig(t)
	base := map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath,
	}
	tests := []struct {
		name    string
		set     map[string]string
		authErr string
		want    string
	}{
		{"no bot token", map[string]string{"SLACK_BOT_TOKEN": ""}, "", "SLACK_BOT_TOKEN is not set"},
		{"user token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-123"}, "", "SLACK_BOT_TOKEN is not a bot token"},
		{"no app token", map[string]string{"SLACK_APP_TOKEN": ""}, "", "SLACK_APP_TOKEN is not set"},
		{"bad api url", map[string]string{"SLACK_API_URL": "http://127.0.0.1:1/api"}, "", "SLACK_API_URL"},
		{"rejected bot token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-wrong"}, "", "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)"},
		{"rejected app token", map[string]string{"SLACK_APP_TOKEN": "xapp-wrong"}, "", "SLACK_APP_TOKEN was rejected by Slack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tt.set {
				vars[k] = v
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := Main(ctx, []string{"serve"}, envOf(vars, &stdout, &stderr))
			assert.Equal(t, 1, code)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			assert.Contains(t, last, tt.want)
			if strings.Contains(tt.want, "SLACK_") && !strings.Contains(tt.want, "URL") {
				assert.Contains(t, last, "README")
			}
			assert.NotContains(t, stderr.String(), "wrong", "tokens never appear")
		})
	}
}
