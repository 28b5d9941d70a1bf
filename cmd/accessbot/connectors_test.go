package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/connectors"
	"accessbot/connectors/fakegithub"
	"accessbot/store"
	"accessbot/workflow"
)

const checkConfigYAML = `
people:
  - email: ann@x.io
    manager: bob@x.io
    accounts: {github: ann-gh}
  - email: bob@x.io
connectors:
  github:
    type: github
    org: acme
    token_env: GH_TOKEN
    base_url: BASE
  script:
    type: exec
    command: [/bin/true]
policies:
  std:
    steps: [{type: review, approvers: [manager]}]
  revoke:
    steps: [{type: deprovision}]
apps:
  - id: gh
    provisioning: automatic
    connector: github
    provisioners: [bob@x.io]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1d
    resources: [{id: admins}]
`

// TestConnectorsCheck grants through the github connector, then has
// `accessbot connectors check` compare: no drift, a membership removed in
// GitHub, and one still there after the grant expired.
func TestConnectorsCheck(t *testing.T) {
	gh := fakegithub.New("acme", "ghp_check")
	t.Cleanup(gh.Close)
	gh.AddTeam("admins")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(checkConfigYAML, "BASE", gh.BaseURL(), 1)), 0o600))
	dsn := filepath.Join(dir, "accessbot.db")
	env := map[string]string{"GH_TOKEN": "ghp_check", "ACCESSBOT_CONFIG": cfg, "ACCESSBOT_DB": dsn}

	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	cat, err := config.Load(cfg)
	require.NoError(t, err)
	db, err := store.Open(ctx, dsn, clock)
	require.NoError(t, err)
	engine := workflow.NewEngine(db, cat, clock)
	conns, _, err := buildConnectors(cat, func(k string) string { return env[k] })
	require.NoError(t, err)
	task, err := engine.Request(ctx, workflow.RequestInput{Requester: "ann@x.io", AppID: "gh", ResourceID: "admins", Justification: "x"})
	require.NoError(t, err)
	_, err = engine.Approve(ctx, workflow.Decision{TaskID: task.ID, Actor: "bob@x.io"})
	require.NoError(t, err)
	r := &connectors.Runner{Engine: engine, Queue: db, Connectors: conns, Log: zerolog.Nop()}
	n, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.True(t, gh.IsMember("admins", "ann-gh"))
	db.Close()

	code, out, errOut := run(t, env, "connectors", "check")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "script (exec): cannot check; skipped")
	assert.Contains(t, out, "no drift: 1 grants checked")

	gh.RemoveMember("admins", "ann-gh")
	code, out, _ = run(t, env, "connectors", "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "github: ann@x.io (ann-gh) gh/admins: granted here (grant 1) but missing there")

	// The grant ends here, but the membership comes back in GitHub.
	db, err = store.Open(ctx, dsn, clock)
	require.NoError(t, err)
	engine = workflow.NewEngine(db, cat, clock)
	now = now.Add(48 * time.Hour)
	_, err = engine.ExpireGrants(ctx)
	require.NoError(t, err)
	db.Close()
	gh.AddMember("admins", "ann-gh")
	code, out, _ = run(t, env, "connectors", "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "github: ann@x.io (ann-gh) gh/admins: still present there after it expired (grant 1)")

	code, _, errOut = run(t, map[string]string{"ACCESSBOT_CONFIG": cfg, "ACCESSBOT_DB": dsn}, "connectors", "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "connectors.github.token_env: the environment variable GH_TOKEN is not set")
	assert.NotContains(t, errOut, "ghp_check")
}

func TestReloadRebuildsConnectors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "accessbot.yaml")
	write := func(yaml string) { require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o600)) }
	write(strings.Replace(checkConfigYAML, "BASE", "https://github.example.com/api/v3/", 1))
	cat, err := config.Load(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "accessbot.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	engine := workflow.NewEngine(db, cat, nil)
	getenv := func(string) string { return "" } // no GH_TOKEN: github is unusable
	conns, longest := serveConnectors(cat, getenv, zerolog.Nop())
	_, ok := conns["github"].(unusable)
	require.True(t, ok, "a connector without its secret stands in as unusable")
	r := newRunner(engine, db, conns, longest, zerolog.Nop())

	write(strings.Replace(strings.Replace(checkConfigYAML, "BASE", "https://github.example.com/api/v3/", 1), "command: [/bin/true]", "command: [/bin/true, again]", 1))
	getenv = func(k string) string { return map[string]string{"GH_TOKEN": "t"}[k] }
	reload := reloadConnectors(reloader(cfg, engine, zerolog.Nop()), engine, r, getenv, zerolog.Nop())
	_, err = reload(ctx, "admin@x.io")
	require.NoError(t, err)
	_, ok = r.Connectors["github"].(*connectors.GitHub)
	assert.True(t, ok, "the reload read the secret again")
	assert.Equal(t, []string{"/bin/true", "again"}, r.Connectors["script"].(*connectors.Exec).Command)
}
