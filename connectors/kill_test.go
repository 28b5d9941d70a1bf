//go:build unix

package connectors_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/connectors"
	"accessbot/store"
	"accessbot/workflow"
)

// TestKill9MidCall runs a runner in a child process whose connector call
// hangs, kills the child with SIGKILL mid-call, and checks that after the
// lease the job runs again here and its outcome is recorded once.
func TestKill9MidCall(t *testing.T) {
	if dir := os.Getenv("ACCESSBOT_KILL_CHILD_DB"); dir != "" {
		killChild(t, dir)
		return
	}
	dbPath := filepath.Join(t.TempDir(), "kill.db")
	marker := filepath.Join(t.TempDir(), "started")
	v := newEnv(t, dbPath, &clock{now: time.Now().UTC()})
	id := v.approve(1)[0]

	child := exec.Command(os.Args[0], "-test.run=^TestKill9MidCall$", "-test.count=1")
	child.Env = append(os.Environ(), "ACCESSBOT_KILL_CHILD_DB="+dbPath, "OUT="+marker)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	require.NoError(t, child.Start())
	// Wait until the call is under way: the script wrote its child's pid.
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(marker)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 60*time.Second, 20*time.Millisecond, "the child never started the call")
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	if pg, err := syscall.Getpgid(pid); err == nil {
		_ = syscall.Kill(-pg, syscall.SIGKILL) // the orphaned script, for tidiness
	}

	jobs, err := v.db.Jobs(v.ctx, id)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, "killed", jobs[0].LeaseOwner, "the killed child held the lease")
	assert.Equal(t, workflow.JobPending, jobs[0].State)

	c := newCounter()
	r := v.runner("survivor", c)
	n, err := r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "the dead child's lease still holds")
	v.clock.Advance(2 * time.Minute)
	n, err = r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, workflow.StatusDone, v.status(id))
	_, calls := c.total()
	assert.Equal(t, 1, calls)
	evs := 0
	require.NoError(t, v.db.View(v.ctx, func(tx workflow.ReadTx) error {
		all, err := tx.AuditEvents(id)
		for _, e := range all {
			if e.Action == workflow.ActConnectorDone {
				evs++
				assert.Equal(t, "2", e.Details["attempt"], "the killed call counts as attempt 1")
			}
		}
		return err
	}))
	assert.Equal(t, 1, evs, "the outcome is recorded once")
}

// killChild is the child: a runner whose exec connector hangs.
func killChild(t *testing.T, dbPath string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, nil)
	require.NoError(t, err)
	e := workflow.NewEngine(db, catalog(), nil)
	hang := &connectors.Exec{Name: "noop", Command: []string{"./testdata/hang.sh"}, Env: []string{"OUT", "PATH"}, Timeout: 5 * time.Minute}
	r := &connectors.Runner{Engine: e, Queue: db, Connectors: map[string]workflow.Connector{"noop": hang}, Owner: "killed", Lease: time.Minute, Log: zerolog.Nop()}
	_, _ = r.RunOnce(ctx)
	t.Fatal("the call returned; it should have hung until the parent killed this process")
}
