package scheduler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/store"
	"accessbot/workflow"
)

// testLogger logs to t.Log until the test ends; cron's loop goroutine logs
// "stop" a moment after Stop returns, which t.Log would refuse.
func testLogger(t *testing.T) zerolog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return zerolog.New(w).Level(zerolog.DebugLevel)
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// panicOnce is a job that panics on its first run and counts every run.
type panicOnce struct{ runs atomic.Int32 }

func (p *panicOnce) Run() {
	if p.runs.Add(1) == 1 {
		panic("first run fails")
	}
}

// TestChainOrder shows robfig/cron v3.0.1's trap: SkipIfStillRunning keeps
// its token while the job runs, so a panic that escapes it loses the token
// and every later run is skipped. With Recover inside (our order) the job
// runs again; with Recover outside it never does.
func TestChainOrder(t *testing.T) {
	t.Parallel()
	l := cronLogger{log: testLogger(t)}
	ours := &panicOnce{}
	job := cron.NewChain(cron.SkipIfStillRunning(l), cron.Recover(l)).Then(ours)
	job.Run()
	job.Run()
	assert.EqualValues(t, 2, ours.runs.Load(), "SkipIfStillRunning outside Recover: runs again")

	wrong := &panicOnce{}
	job = cron.NewChain(cron.Recover(l), cron.SkipIfStillRunning(l)).Then(wrong)
	job.Run()
	job.Run()
	assert.EqualValues(t, 1, wrong.runs.Load(), "Recover outside SkipIfStillRunning: skipped forever")
}

// TestPanickingJobRunsAgain runs the real cron loop newCron builds: a job
// that panics on its first tick runs again on the next.
func TestPanickingJobRunsAgain(t *testing.T) {
	t.Parallel()
	c := newCron(cronLogger{log: testLogger(t)})
	job := &panicOnce{}
	_, err := c.AddJob("@every 1s", job)
	require.NoError(t, err)
	c.Start()
	defer c.Stop()
	require.Eventually(t, func() bool { return job.runs.Load() >= 2 }, 5*time.Second, 20*time.Millisecond)
}

// TestSchedulerJobPanicsThenRuns does the same through a Scheduler, whose
// own job wrapper turns the panic into a logged error.
func TestSchedulerJobPanicsThenRuns(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	s := New(nil, testLogger(t), Options{Spec: "@every 1s", Jobs: []Job{{Name: "flaky", Run: func(context.Context) (any, error) {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		return "ok", nil
	}}}})
	require.NoError(t, s.Start())
	require.Eventually(t, func() bool { return runs.Load() >= 2 }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Stop(context.Background()))

	err := New(nil, testLogger(t), Options{Jobs: []Job{{Name: "bad", Run: func(context.Context) (any, error) { panic("again") }}}}).RunOnce(context.Background())
	assert.ErrorContains(t, err, "job bad panicked: again")
}

func TestStopWaitsForRunningJobs(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var jobCtx context.Context
	s := New(nil, testLogger(t), Options{Spec: "@every 1s", Jobs: []Job{{Name: "slow", Run: func(ctx context.Context) (any, error) {
		once.Do(func() { jobCtx = ctx; close(started) })
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	}}}})
	require.NoError(t, s.Start())
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the job never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the job is still running")
	assert.Error(t, jobCtx.Err(), "time is up: the job's context is canceled")
	close(release)
	require.NoError(t, s.Stop(context.Background()))
}

func TestStopWithNothingRunning(t *testing.T) {
	t.Parallel()
	s := New(nil, testLogger(t), Options{Jobs: []Job{}})
	require.NoError(t, s.Start())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
}

func TestBadSpec(t *testing.T) {
	t.Parallel()
	s := New(nil, testLogger(t), Options{Spec: "every minute", Jobs: []Job{{Name: "x", Run: func(context.Context) (any, error) { return nil, nil }}}})
	assert.ErrorContains(t, s.Start(), `schedule x with "every minute"`)
}

func TestRunOnceJoinsErrors(t *testing.T) {
	t.Parallel()
	var order []string
	job := func(name string, err error) Job {
		return Job{Name: name, Run: func(context.Context) (any, error) { order = append(order, name); return nil, err }}
	}
	boom := errors.New("boom")
	s := New(nil, testLogger(t), Options{Jobs: []Job{job("a", nil), job("b", boom), job("c", nil)}})
	err := s.RunOnce(context.Background())
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "b: boom")
	assert.Equal(t, []string{"a", "b", "c"}, order, "a failing job does not stop the others")
}

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const (
	alice = "alice@example.com"
	mgr   = "mgr@example.com"
)

func engineCatalog() *workflow.Catalog {
	step := workflow.Step{Type: workflow.StepReview, Approvers: []workflow.Principal{"manager"}, Mode: workflow.ModeAny, Delegate: true}
	return &workflow.Catalog{
		Admins:   []string{"admin@example.com"},
		People:   map[string]workflow.Person{alice: {Email: alice, Manager: mgr}},
		Policies: map[string]*workflow.Policy{"std": {Name: "std", Steps: []workflow.Step{step}}},
		Apps: []*workflow.App{
			{ID: "snowflake", Name: "Snowflake", Settings: workflow.Settings{Provisioning: workflow.ProvisioningNone,
				RequestPolicy: "std", RevocationPolicy: "std", DefaultDuration: 24 * time.Hour}},
			{ID: "github", Name: "GitHub", Settings: workflow.Settings{Provisioning: workflow.ProvisioningNone,
				RequestPolicy: "std", RevocationPolicy: "std", DefaultDuration: 24 * time.Hour}},
		},
		Reminders: workflow.Reminders{After: 4 * time.Hour, Every: 24 * time.Hour,
			BusinessHours: workflow.BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour}, ExpiryWarning: time.Hour},
	}
}

// TestRunOnceTwiceSendsOnce runs every engine job twice at the same
// instant, at each stage of a grant's life, and counts what was sent.
func TestRunOnceTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} // Monday
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"), c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e := workflow.NewEngine(db, engineCatalog(), c.Now)
	s := New(e, testLogger(t), Options{})

	held, err := e.Request(ctx, workflow.RequestInput{Requester: alice, AppID: "snowflake", Justification: "x"})
	require.NoError(t, err)
	_, err = e.Approve(ctx, workflow.Decision{TaskID: held.ID, Actor: mgr}) // grant until Tue 10:00
	require.NoError(t, err)
	waiting, err := e.Request(ctx, workflow.RequestInput{Requester: alice, AppID: "github", Justification: "x"})
	require.NoError(t, err)

	sent := func() map[workflow.NoticeKind]int {
		ns, err := db.ClaimNotices(ctx, "test", c.Now().Add(time.Hour), time.Minute, 1000)
		require.NoError(t, err)
		out := map[workflow.NoticeKind]int{}
		for _, n := range ns {
			if n.Kind() != workflow.NoticeTaskChanged {
				out[n.Kind()]++
			}
			require.NoError(t, db.NoticeDelivered(ctx, n.ID, "test", c.Now()))
		}
		return out
	}
	sent()
	twice := func() map[workflow.NoticeKind]int {
		require.NoError(t, s.RunOnce(ctx))
		require.NoError(t, s.RunOnce(ctx))
		return sent()
	}

	c.Advance(5 * time.Hour) // Mon 15:00: the github request waited 5h
	assert.Equal(t, map[workflow.NoticeKind]int{workflow.NoticeDigest: 1}, twice())
	c.Advance(18*time.Hour + 30*time.Minute) // Tue 09:30: the grant ends within the hour
	assert.Equal(t, map[workflow.NoticeKind]int{workflow.NoticeExpiryWarning: 1}, twice())
	c.Advance(30 * time.Minute) // Tue 10:00: it ends; the reminder is not due before 15:00
	assert.Equal(t, map[workflow.NoticeKind]int{workflow.NoticeDirect: 1}, twice())
	c.Advance(5 * time.Hour) // Tue 15:00: the second reminder
	assert.Equal(t, map[workflow.NoticeKind]int{workflow.NoticeDigest: 1}, twice())

	g, err := e.Task(ctx, held.ID)
	require.NoError(t, err)
	require.NotZero(t, g.GrantID)
	w, err := e.Task(ctx, waiting.ID)
	require.NoError(t, err)
	assert.Equal(t, c.Now().UTC(), w.RemindedAt)
}
