package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func request() workflow.ConnectorRequest {
	return workflow.ConnectorRequest{
		Action: workflow.JobGrant, IdempotencyKey: "accessbot-T-7-step2-grant-1", Task: "T-7", App: "github", Resource: "admin",
		Subject: workflow.ConnectorSubject{Email: "ann@x.io", Account: "octocat"}, Approvers: []string{"bob@x.io"},
		ExpiresAt: "2026-12-03T14:02:00Z", Attempt: 1,
	}
}

func execFor(t *testing.T, script string) (*Exec, string) {
	out := filepath.Join(t.TempDir(), "out")
	t.Setenv("OUT", out)
	t.Setenv("ACCESSBOT_TEST_SECRET", "must-not-reach-the-script")
	return &Exec{Name: "script", Command: []string{"./testdata/" + script}, Env: []string{"OUT", "PATH"}, Timeout: 10 * time.Second}, out
}

func TestExecSuccess(t *testing.T) {
	e, out := execFor(t, "ok.sh")
	res, err := e.Grant(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "recorded by ok.sh", res.Message)

	var got workflow.ConnectorRequest
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got), "stdin is the request as JSON")
	assert.Equal(t, request(), got)
	for _, k := range []string{`"action":"grant"`, `"idempotency_key":"accessbot-T-7-step2-grant-1"`, `"task":"T-7"`, `"subject":{"email":"ann@x.io","account":"octocat"}`, `"approvers":["bob@x.io"]`, `"expires_at":"2026-12-03T14:02:00Z"`} {
		assert.Contains(t, string(b), k)
	}
	env, err := os.ReadFile(out + ".env")
	require.NoError(t, err)
	assert.NotContains(t, string(env), "ACCESSBOT_TEST_SECRET", "the environment is clean but for the names passed through")
	assert.Contains(t, string(env), "OUT="+out)
}

func TestExecTempFailThenSuccess(t *testing.T) {
	e, _ := execFor(t, "tempfail.sh")
	_, err := e.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Retry, "exit 75 is retried")
	assert.Contains(t, ce.Message, "backend busy")
	res, err := e.Grant(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "done on run 2", res.Message)
}

func TestExecFailure(t *testing.T) {
	e, _ := execFor(t, "fail.sh")
	_, err := e.Revoke(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.False(t, ce.Retry, "another exit status is a failure")
	assert.Equal(t, "./testdata/fail.sh failed (exit status 3): no such user in the directory", ce.Message)
}

func TestExecMissingProgram(t *testing.T) {
	e := &Exec{Name: "x", Command: []string{"./testdata/nope.sh"}}
	_, err := e.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.False(t, ce.Retry)
}

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	e, out := execFor(t, "hang.sh")
	e.Timeout = 300 * time.Millisecond
	_, err := e.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Retry, "a timeout is retried")
	assert.Contains(t, ce.Message, "did not finish within 300ms and was killed")

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	// The child the script started dies with it (the whole group is killed);
	// it is reaped by init, so look until it is gone.
	require.Eventually(t, func() bool {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return true
		}
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return strings.Contains(string(st), ") Z ")
	}, 20*time.Second, 20*time.Millisecond, "the script's child %d still runs", pid)
}
