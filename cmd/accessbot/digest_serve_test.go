package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

// serveForDigests boots serve against the fake Slack with vars added to
// its environment, makes a request through its database once it is
// connected, calls during(ctx) while it runs, then stops it and returns
// the task and what serve wrote.
func serveForDigests(t *testing.T, vars map[string]string, during func(ctx context.Context, task *workflow.Task, stdout *syncBuffer)) (task *workflow.Task, dbPath, stdout, stderr string) {
	t.Helper()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	for i, name := range []string{"alice", "mgr", "prov"} {
		srv.AddUser(fakeslack.User{ID: "U00000000" + string(rune('A'+i)), Name: name, Email: name + "@example.com"})
	}
	cfgPath, dbPath := writeConfig(t)
	env := map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath,
	}
	for k, v := range vars {
		env[k] = v
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	code := make(chan int, 1)
	go func() { code <- Main(runCtx, nil, envOf(env, &out, &errOut)) }()
	require.NoError(t, srv.WaitConnected(ctx, 1))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)
	db, err := store.Open(ctx, dbPath, nil)
	require.NoError(t, err)
	task, err = workflow.NewEngine(db, cat, nil).Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", Justification: "deploy"})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	if during != nil {
		during(ctx, task, &out)
	}
	stop()
	select {
	case c := <-code:
		require.Equal(t, 0, c, "stderr: %s", errOut.String())
	case <-ctx.Done():
		t.Fatal("Main did not return after its context ended")
	}
	return task, dbPath, out.String(), errOut.String()
}

// headOf reads a chain's newest event from the database.
func headOf(t *testing.T, dbPath string, taskID int64) (int64, string) {
	t.Helper()
	db, err := store.OpenReadOnly(context.Background(), dbPath)
	require.NoError(t, err)
	defer db.Close()
	var seq int64
	var hash string
	require.NoError(t, db.View(context.Background(), func(tx workflow.ReadTx) (err error) {
		seq, hash, err = tx.AuditHead(taskID)
		return err
	}))
	return seq, hash
}

// digestNaming returns the digest lines of text whose heads name chain.
func digestNaming(t *testing.T, text, chain string) []workflow.Digest {
	var out []workflow.Digest
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, workflow.DigestMarker) {
			continue
		}
		d, err := workflow.ParseDigest(l)
		require.NoError(t, err)
		for _, h := range d.Body.Heads {
			if h.Chain == chain {
				out = append(out, d)
			}
		}
	}
	return out
}

// TestServeWritesADigestAtShutdown: with an interval far away, the request
// made while serve ran is in the digest serve writes as it stops, signed,
// in the file and in the database; verify with both passes.
func TestServeWritesADigestAtShutdown(t *testing.T) {
	t.Parallel()
	code, pair, _ := run(t, nil, "audit", "keygen")
	require.Equal(t, 0, code)
	file := filepath.Join(t.TempDir(), "digests.log")
	task, dbPath, stdout, stderr := serveForDigests(t, map[string]string{
		"ACCESSBOT_AUDIT_DIGEST_EVERY": "24h", "ACCESSBOT_AUDIT_DIGESTS": file, "ACCESSBOT_AUDIT_KEY": pair,
	}, nil)
	assert.NotContains(t, stderr, "PRIVATE KEY", "the key is never logged")
	assert.NotContains(t, stderr, "NOT signed")
	assert.NotContains(t, stdout, workflow.DigestMarker, "the file sink, not stdout")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	got := digestNaming(t, string(b), task.Number())
	require.Len(t, got, 1, "one digest names %s: %s", task.Number(), b)
	seq, hash := headOf(t, dbPath, task.ID)
	for _, h := range got[0].Body.Heads {
		if h.Chain == task.Number() {
			assert.Equal(t, seq, h.Seq)
			assert.Equal(t, hash, h.Hash, "the digest names the head as it was when serve stopped")
		}
	}
	pubPath := filepath.Join(t.TempDir(), "k.pub")
	require.NoError(t, os.WriteFile(pubPath, []byte(pair[strings.Index(pair, "-----BEGIN PUBLIC KEY"):]), 0o644))
	code, out, errOut := run(t, nil, "audit", "verify", "--db", dbPath, "--digests", file, "--public-key", pubPath)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "signatures OK: 1 signed digests")
}

// TestServeWritesDigestsOnItsInterval: with a one-second interval the
// scheduler writes a digest of the request while serve keeps running
// (here to stdout, unsigned: serve warns that it is).
func TestServeWritesDigestsOnItsInterval(t *testing.T) {
	t.Parallel()
	_, _, _, stderr := serveForDigests(t, map[string]string{"ACCESSBOT_AUDIT_DIGEST_EVERY": "1s"},
		func(ctx context.Context, task *workflow.Task, stdout *syncBuffer) {
			deadline := time.Now().Add(30 * time.Second)
			for len(digestNaming(t, stdout.String(), task.Number())) == 0 {
				require.True(t, time.Now().Before(deadline), "no digest of %s on stdout within 30s", task.Number())
				time.Sleep(50 * time.Millisecond)
			}
		})
	assert.Contains(t, stderr, "audit digests are NOT signed", "serve says the digests are unsigned")
	assert.Contains(t, stderr, `"job":"audit_digest"`, "the scheduler ran the job")
}

// TestServeRefusesBadDigestSettings: a bad interval, key or sink stops
// serve before anything opens, with a message naming the setting (and
// never the key).
func TestServeRefusesBadDigestSettings(t *testing.T) {
	t.Parallel()
	cfgPath, dbPath := writeConfig(t)
	keyFile := filepath.Join(t.TempDir(), "k.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n-----END PRIVATE KEY-----\n"), 0o600))
	tests := []struct {
		name string
		set  map[string]string
		code int
		want string
	}{
		{"interval", map[string]string{"ACCESSBOT_AUDIT_DIGEST_EVERY": "soon"}, 2, `ACCESSBOT_AUDIT_DIGEST_EVERY "soon": give a duration from 1s to 24h`},
		{"interval too short", map[string]string{"ACCESSBOT_AUDIT_DIGEST_EVERY": "10ms"}, 2, "from 1s to 24h"},
		{"key not PEM", map[string]string{"ACCESSBOT_AUDIT_KEY": "hunter2-secret"}, 1, "ACCESSBOT_AUDIT_KEY: no PRIVATE KEY block"},
		{"key file not a key", map[string]string{"ACCESSBOT_AUDIT_KEY_FILE": keyFile}, 1, "PRIVATE KEY block does not parse"},
		{"key file missing", map[string]string{"ACCESSBOT_AUDIT_KEY_FILE": keyFile + ".gone"}, 1, "cannot read"},
		{"two keys", map[string]string{"ACCESSBOT_AUDIT_KEY": "x", "ACCESSBOT_AUDIT_KEY_FILE": keyFile}, 2, "give the signing key one way"},
		{"sink", map[string]string{"ACCESSBOT_AUDIT_DIGESTS": filepath.Join(t.TempDir(), "no", "such", "dir.log")}, 1, "give a writable file outside the database, stdout, or off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath}
			for k, v := range tt.set {
				vars[k] = v
			}
			var stdout, stderr syncBuffer
			code := Main(context.Background(), []string{"serve"}, envOf(vars, &stdout, &stderr))
			assert.Equal(t, tt.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tt.want)
			assert.NotContains(t, stderr.String(), "hunter2")
			assert.NotContains(t, stderr.String(), "c2VjcmV0")
			_, err := os.Stat(dbPath)
			assert.True(t, os.IsNotExist(err), "nothing was opened")
		})
	}
}
