package connectors_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/connectors"
	"accessbot/store"
	"accessbot/workflow"
)

const (
	requester = "ann@x.io"
	manager   = "bob@x.io"
	provider  = "it@x.io"
)

func catalog() *workflow.Catalog {
	review := workflow.Step{Type: workflow.StepReview, Approvers: []workflow.Principal{"user:" + manager}, Mode: workflow.ModeAny}
	return &workflow.Catalog{
		People: map[string]workflow.Person{
			requester: {Email: requester, Manager: manager, Accounts: map[string]string{"gh": "ann-gh"}},
			manager:   {Email: manager},
			provider:  {Email: provider},
		},
		Groups:     map[string][]string{},
		Connectors: map[string]*workflow.ConnectorSpec{"noop": {Name: "noop", Type: "exec"}},
		Policies: map[string]*workflow.Policy{
			"std":    {Name: "std", Steps: []workflow.Step{review}},
			"revoke": {Name: "revoke", Steps: []workflow.Step{{Type: workflow.StepDeprovision}}},
		},
		Apps: []*workflow.App{{ID: "gh", Name: "GitHub", Settings: workflow.Settings{
			Provisioners: []workflow.Principal{"user:" + provider}, Provisioning: workflow.ProvisioningAutomatic, Connector: "noop",
			RequestPolicy: "std", RevocationPolicy: "revoke", DefaultDuration: 8 * time.Hour,
		}}},
	}
}

// counter is a connector that counts its calls by idempotency key.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	fail  int // transient failures to give first
	delay time.Duration
}

func newCounter() *counter { return &counter{calls: map[string]int{}} }

func (c *counter) Grant(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return workflow.ConnectorResult{}, workflow.TransientFailure(0, "HTTP 500")
	}
	c.calls[r.IdempotencyKey]++
	return workflow.ConnectorResult{Message: "ok"}, nil
}

func (c *counter) Revoke(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return c.Grant(ctx, r)
}

func (c *counter) total() (keys, calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.calls {
		calls += n
	}
	return len(c.calls), calls
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type env struct {
	t     testing.TB
	ctx   context.Context
	db    *store.DB
	e     *workflow.Engine
	clock *clock
}

func newEnv(t testing.TB, dsn string, c *clock) *env {
	ctx := context.Background()
	if c == nil {
		c = &clock{now: time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	}
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "test.db")
	}
	db, err := store.Open(ctx, dsn, c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &env{t: t, ctx: ctx, db: db, e: workflow.NewEngine(db, catalog(), c.Now), clock: c}
}

func (v *env) runner(owner string, c workflow.Connector) *connectors.Runner {
	return &connectors.Runner{Engine: v.e, Queue: v.db, Connectors: map[string]workflow.Connector{"noop": c}, Owner: owner,
		Lease: time.Minute, Workers: 8, Retry: workflow.RetryPolicy{MaxAttempts: 5, Base: time.Second, Cap: time.Minute}, Log: zerolog.Nop()}
}

// approve has n people request the app and the manager approve each,
// clicking twice.
func (v *env) approve(n int) []int64 {
	var ids []int64
	for i := range n {
		who := requester
		if i > 0 {
			who = fmt.Sprintf("p%d@x.io", i)
		}
		task, err := v.e.Request(v.ctx, workflow.RequestInput{Requester: who, AppID: "gh", Justification: "on call"})
		require.NoError(v.t, err)
		_, err = v.e.Approve(v.ctx, workflow.Decision{TaskID: task.ID, Actor: manager, Revision: task.Revision})
		require.NoError(v.t, err)
		// A second click of the same button changes nothing.
		_, err = v.e.Approve(v.ctx, workflow.Decision{TaskID: task.ID, Actor: manager, Revision: task.Revision})
		require.Error(v.t, err)
		ids = append(ids, task.ID)
	}
	return ids
}

func (v *env) status(id int64) workflow.Status {
	t, err := v.e.Task(v.ctx, id)
	require.NoError(v.t, err)
	return t.Status
}

func TestRunnerGrantsOnce(t *testing.T) {
	v := newEnv(t, "", nil)
	c := newCounter()
	r := v.runner("a", c)
	id := v.approve(1)[0]
	n, err := r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	keys, calls := c.total()
	assert.Equal(t, 1, keys)
	assert.Equal(t, 1, calls)
	assert.Equal(t, workflow.StatusDone, v.status(id))
}

func TestRunnerRetriesThenSucceeds(t *testing.T) {
	v := newEnv(t, "", nil)
	c := newCounter()
	c.fail = 2
	r := v.runner("a", c)
	id := v.approve(1)[0]
	for range 3 {
		n, err := r.RunOnce(v.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		v.clock.Advance(time.Minute) // past the backoff
	}
	assert.Equal(t, workflow.StatusDone, v.status(id))
	_, calls := c.total()
	assert.Equal(t, 1, calls, "one grant")
	jobs, err := v.db.Jobs(v.ctx, id)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, 3, jobs[0].Attempts)
}

// TestRunnerTakesOverFromADeadHolder: a runner claimed the job and died
// mid-call (its lease is never released); once the lease ends another
// runner runs it, and the outcome is recorded once.
func TestRunnerTakesOverFromADeadHolder(t *testing.T) {
	v := newEnv(t, "", nil)
	id := v.approve(1)[0]
	dead, err := v.db.ClaimJobs(v.ctx, "dead", v.clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	c := newCounter()
	r := v.runner("b", c)
	n, err := r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "not while the lease holds")
	v.clock.Advance(61 * time.Second)
	n, err = r.RunOnce(v.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, workflow.StatusDone, v.status(id))
	_, err = v.e.FinishJob(v.ctx, dead[0], workflow.JobOutcome{Called: true}, workflow.RetryPolicy{})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "the dead holder's outcome, had it come, is dropped")
}

// pgDSN opens a fresh schema on the test PostgreSQL, or skips.
func pgDSN(t testing.TB) string {
	base := os.Getenv("ACCESSBOT_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Skipf("PostgreSQL not reachable at 127.0.0.1:5432: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "accessbot_conn_" + hex.EncodeToString(b)
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestTwoReplicasOnPostgres: two replicas (each its own pool, engine and
// runner) drain the same jobs at once: every job is called exactly once and
// every task ends done.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := pgDSN(t)
	c := &clock{now: time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	a := newEnv(t, dsn, c)
	b := newEnv(t, dsn, c)
	ids := a.approve(30)
	conn := newCounter()
	conn.delay = 2 * time.Millisecond
	ra, rb := a.runner("replica-a", conn), b.runner("replica-b", conn)
	ra.Workers, rb.Workers = 3, 3
	var wg sync.WaitGroup
	ran := make([]int, 2)
	for i, r := range []*connectors.Runner{ra, rb} {
		wg.Go(func() {
			for {
				n, err := r.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					left, err := a.db.PendingJobs(context.Background())
					if err != nil || left == 0 {
						return
					}
					continue
				}
				ran[i] += n
			}
		})
	}
	wg.Wait()
	keys, calls := conn.total()
	assert.Equal(t, len(ids), keys)
	assert.Equal(t, len(ids), calls, "no job was called twice")
	assert.Equal(t, len(ids), ran[0]+ran[1])
	t.Logf("replica a ran %d jobs, replica b %d", ran[0], ran[1])
	for _, id := range ids {
		assert.Equal(t, workflow.StatusDone, a.status(id))
	}
}

// BenchmarkConnectorJobs reports decisions/s (the approvals that write a
// connector job, each one transaction) and connector jobs/s (claim, no-op
// call, outcome under the lease, the task moved on and the grant made) on
// SQLite. The requests are made before the clock starts.
func BenchmarkConnectorJobs(b *testing.B) {
	v := newEnv(b, "", nil)
	r := v.runner("bench", newCounter())
	r.Workers = 16
	ids := make([]int64, b.N)
	for i := range b.N {
		task, err := v.e.Request(v.ctx, workflow.RequestInput{Requester: fmt.Sprintf("p%d@x.io", i), AppID: "gh", Justification: "on call"})
		require.NoError(b, err)
		ids[i] = task.ID
	}
	b.ResetTimer()
	start := time.Now()
	for _, id := range ids {
		_, err := v.e.Approve(v.ctx, workflow.Decision{TaskID: id, Actor: manager})
		require.NoError(b, err)
	}
	decide := time.Since(start)
	start = time.Now()
	done := 0
	for done < len(ids) {
		n, err := r.RunOnce(v.ctx)
		require.NoError(b, err)
		done += n
	}
	run := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/decide.Seconds(), "decisions/s")
	b.ReportMetric(float64(b.N)/run.Seconds(), "jobs/s")
}
