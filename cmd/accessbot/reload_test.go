package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

func TestReloaderAppliesOnlyValidFiles(t *testing.T) {
	t.Parallel()
	cfgPath, dbPath := writeConfig(t)
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	db, err := store.Open(context.Background(), dbPath, nil)
	require.NoError(t, err)
	defer db.Close()
	e := workflow.NewEngine(db, cat, nil)
	var logs lockedLog
	reload := reloader(cfgPath, e, zerolog.New(&logs))

	summary, err := reload(context.Background(), "admin@example.com")
	require.NoError(t, err)
	assert.Contains(t, summary, "1 app")
	assert.Contains(t, summary, "nothing changed")

	changed := strings.Replace(mainConfig, "approvers: [manager]", "approvers: [group:sre]", 1)
	changed += "  - id: jira\n    provisioning: none\n    request_policy: std\n    revocation_policy: revoke\n    default_duration: 1d\n"
	require.NoError(t, os.WriteFile(cfgPath, []byte(changed), 0o600))
	summary, err = reload(context.Background(), "admin@example.com")
	require.NoError(t, err)
	assert.Contains(t, summary, "policies changed: std")
	assert.Contains(t, summary, "apps added: jira")
	assert.NotSame(t, cat, e.Catalog())
	assert.Equal(t, []workflow.Principal{"group:sre"}, e.Catalog().Policies["std"].Steps[0].Approvers)

	running := e.Catalog()
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.Replace(changed, "request_policy: std", "request_policy: nosuch", 1)), 0o600))
	_, err = reload(context.Background(), "admin@example.com")
	require.Error(t, err)
	assert.Contains(t, err.Error(), cfgPath)
	assert.Contains(t, err.Error(), `apps[0].request_policy: unknown policy "nosuch"`)
	var ve *config.ValidationError
	assert.ErrorAs(t, err, &ve, "the problems stay inspectable")
	assert.Same(t, running, e.Catalog(), "a broken file changes nothing")
	assert.Contains(t, logs.String(), "configuration reload refused")

	var reloads []workflow.AuditEvent
	require.NoError(t, db.View(context.Background(), func(tx workflow.ReadTx) (err error) {
		reloads, err = tx.AuditEvents(0)
		return err
	}))
	require.Len(t, reloads, 2, "each applied reload is on the admin chain; the refused one is not")
	assert.Equal(t, workflow.ActConfigReloaded, reloads[1].Action)
	assert.Equal(t, "admin@example.com", reloads[1].Actor)
	assert.Contains(t, reloads[1].Details["summary"], "apps added: jira")
}

type lockedLog struct{ syncBuffer }

// TestSIGHUPReloads boots serve and sends it SIGHUP with a broken and then
// a good file.
func TestSIGHUPReloads(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
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

	waitLog := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(stderr.String(), what) {
			require.True(t, time.Now().Before(deadline), "no %q in the log:\n%s", what, stderr.String())
			time.Sleep(10 * time.Millisecond)
		}
	}
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.Replace(mainConfig, "request_policy: std", "request_policy: nosuch", 1)), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	waitLog("configuration reload refused")
	assert.Contains(t, stderr.String(), `unknown policy \"nosuch\"`)

	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.Replace(mainConfig, "approvers: [manager]", "approvers: [group:sre]", 1)), 0o600))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	waitLog("policies changed: std")

	stop()
	select {
	case c := <-code:
		assert.Equal(t, 0, c, "stderr: %s", stderr.String())
	case <-ctx.Done():
		t.Fatal("Main did not return")
	}
}
