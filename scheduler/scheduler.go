package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"accessbot/workflow"
)

// Defaults of Options.
const (
	DefaultSpec       = "@every 1m"
	DefaultJobTimeout = 5 * time.Minute
)

// Options configure a Scheduler; zero fields take the defaults.
type Options struct {
	// Spec is the cron schedule of every job (robfig/cron syntax, e.g.
	// "@every 1m" or "*/5 * * * *").
	Spec string
	// JobTimeout bounds one run of one job.
	JobTimeout time.Duration
	// Jobs replaces the engine's jobs (Jobs(e)); for tests.
	Jobs []Job
	// Observe, when set, is told of every run of a job: its name, how long
	// it took and its error (a panic is an error). For metrics.
	Observe func(job string, elapsed time.Duration, err error)
}

// Scheduler runs jobs on a cron schedule.
type Scheduler struct {
	log     zerolog.Logger
	opts    Options
	jobs    []Job
	cron    *cron.Cron
	ctx     context.Context // jobs run under it; Stop cancels it when time is up
	cancel  context.CancelFunc
	mu      sync.Mutex
	started bool
}

// New returns a scheduler of the engine's jobs; Start starts it.
func New(e *workflow.Engine, log zerolog.Logger, opts Options) *Scheduler {
	if opts.Spec == "" {
		opts.Spec = DefaultSpec
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = DefaultJobTimeout
	}
	jobs := opts.Jobs
	if jobs == nil {
		jobs = Jobs(e)
	}
	log = log.With().Str("component", "scheduler").Logger()
	cl := cronLogger{log: log}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		log: log, opts: opts, jobs: jobs, ctx: ctx, cancel: cancel,
		cron: newCron(cl),
	}
}

// newCron returns the cron loop with overlap protection and panic recovery.
// SkipIfStillRunning must wrap Recover: see the package doc.
func newCron(l cron.Logger) *cron.Cron {
	return cron.New(cron.WithLogger(l), cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)))
}

// Start schedules every job and starts the cron loop. A bad Spec is an
// error and starts nothing.
func (s *Scheduler) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	for _, j := range s.jobs {
		spec := j.Spec
		if spec == "" {
			spec = s.opts.Spec
		}
		if _, err := s.cron.AddFunc(spec, func() { s.run(s.ctx, j) }); err != nil {
			return fmt.Errorf("scheduler: schedule %s with %q: %w", j.Name, spec, err)
		}
	}
	s.cron.Start()
	s.started = true
	s.log.Info().Str("spec", s.opts.Spec).Int("jobs", len(s.jobs)).Msg("scheduler started")
	return nil
}

// Stop stops scheduling and waits for running jobs until ctx ends; then it
// cancels their context and returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	select {
	case <-done.Done():
		s.cancel()
		s.log.Info().Msg("scheduler stopped")
		return nil
	case <-ctx.Done():
		s.cancel()
		s.log.Warn().Msg("scheduler stopped before its running jobs finished")
		return fmt.Errorf("scheduler: stop: %w", ctx.Err())
	}
}

// RunOnce runs every job now, one after another, and returns their errors
// joined: for tests and the sandbox, whose clock control runs the jobs at
// once. A panicking job is an error, not a crash.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	var errs []error
	for _, j := range s.jobs {
		errs = append(errs, s.run(ctx, j))
	}
	return errors.Join(errs...)
}

// run runs one job with the time limit and logs its result.
func (s *Scheduler) run(ctx context.Context, j Job) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.JobTimeout)
	defer cancel()
	start := time.Now()
	if s.opts.Observe != nil {
		// Deferred first, so it runs last and sees a recovered panic's error.
		defer func() { s.opts.Observe(j.Name, time.Since(start), err) }()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scheduler: job %s panicked: %v", j.Name, r)
			s.log.Error().Str("job", j.Name).Dur("elapsed", time.Since(start)).Interface("panic", r).
				Bytes("stack", debug.Stack()).Msg("job panicked")
		}
	}()
	res, err := j.Run(ctx)
	ev := s.log.Info()
	if err != nil {
		ev = s.log.Error().Err(err)
	}
	ev.Str("job", j.Name).Dur("elapsed", time.Since(start)).Interface("result", res).Msg("job ran")
	if err != nil {
		return fmt.Errorf("%s: %w", j.Name, err)
	}
	return nil
}
