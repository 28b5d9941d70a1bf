package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/store"
	"accessbot/workflow"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errOut.String()
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "check-config", "../../examples/config.yaml")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "OK: ")
	assert.Equal(t, 1, strings.Count(out, "\n"), "a one-line summary")

	good, err := os.ReadFile("../../examples/config.yaml")
	require.NoError(t, err)
	broken := strings.Replace(string(good), "    request_policy: standard", "    request_policy: nosuch-standard", 1)
	broken = strings.Replace(broken, "\nadmins:", "\ncolour: blue\nadmins:", 1)
	path := filepath.Join(t.TempDir(), "broken.yaml")
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o600))
	code, _, errOut := run(t, nil, "check-config", path)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `apps\[\d+\]\.request_policy: unknown policy "nosuch-standard"`, errOut)
	assert.Contains(t, errOut, `unknown field "colour"`)

	code, _, errOut = run(t, nil, "check-config", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "missing.yaml")
}

func TestUsage(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, nil, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "check-config")
	code, _, errOut := run(t, nil, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)
}

// TestAuditVerify builds a database through the engine, verifies it, then
// alters one event and expects verify to name it.
func TestAuditVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath, db, e, task := exampleRequest(t, "someone@example.com")
	_, err := e.Comment(ctx, workflow.CommentInput{TaskID: task.ID, Actor: "someone@example.com", Text: "hello"})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	env := map[string]string{"ACCESSBOT_DB": dbPath}
	code, out, errOut := run(t, env, "audit", "verify")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "audit OK")

	raw, err := sql.Open("sqlite3", dbPath)
	require.NoError(t, err)
	_, err = raw.Exec(`UPDATE audit_events SET comment = 'edited' WHERE action = 'commented'`)
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	code, _, errOut = run(t, nil, "audit", "verify", "--db", dbPath)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "commented")
	assert.Contains(t, errOut, "altered")
}

// exampleRequest opens a new database with examples/config.yaml and has
// requester ask for the first app (its first resource, if any).
func exampleRequest(t *testing.T, requester string) (dbPath string, db *store.DB, e *workflow.Engine, task *workflow.Task) {
	t.Helper()
	ctx := context.Background()
	dbPath = filepath.Join(t.TempDir(), "a.db")
	cat, err := config.Load("../../examples/config.yaml")
	require.NoError(t, err)
	db, err = store.Open(ctx, dbPath, time.Now)
	require.NoError(t, err)
	e = workflow.NewEngine(db, cat, time.Now)
	app := cat.Apps[0]
	res := ""
	if len(app.Resources) > 0 {
		res = app.Resources[0].ID
	}
	task, err = e.Request(ctx, workflow.RequestInput{Requester: requester, AppID: app.ID, ResourceID: res, Justification: "audit test"})
	require.NoError(t, err)
	return dbPath, db, e, task
}

// serve without a configuration file says how to give one, in one line.
func TestServeWithoutConfigSaysHowToFixIt(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "accessbot.yaml")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"environment", map[string]string{"ACCESSBOT_CONFIG": missing}, []string{"serve"}},
		{"flag", nil, []string{"serve", "--config", missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, tc.env, tc.args...)
			assert.Equal(t, 1, code)
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %s", errOut)
			for _, s := range []string{"no configuration file at " + missing, "--config", "ACCESSBOT_CONFIG", "examples/config.yaml"} {
				assert.Contains(t, errOut, s)
			}
		})
	}
}
