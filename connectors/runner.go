package connectors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"accessbot/workflow"
)

// Queue is what the runner needs of storage: claiming due jobs under a
// lease. store.DB implements it.
type Queue interface {
	ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*workflow.ConnectorJob, error)
}

// Runner runs connector jobs. Each claim leases a job to this runner for
// Lease; the call is bounded well inside it, so a job never runs in two
// places at once, and a runner that dies leaves its jobs to be claimed again
// when their lease ends.
type Runner struct {
	Engine     *workflow.Engine
	Queue      Queue
	Connectors map[string]workflow.Connector
	Retry      workflow.RetryPolicy
	// Lease is how long a claim lasts (default 5 minutes); a call gets at
	// most three quarters of it.
	Lease time.Duration
	// Poll is how often due jobs are looked for without a Kick (default 1s).
	Poll time.Duration
	// Workers is how many jobs run at once (default 4).
	Workers int
	Owner   string // default: host, pid and a random part
	Log     zerolog.Logger

	once sync.Once
	kick chan struct{}
	mu   sync.RWMutex // guards Connectors once running (SetConnectors)
}

// SetConnectors replaces the connectors (a configuration reload); calls
// under way finish with the ones they started with.
func (r *Runner) SetConnectors(m map[string]workflow.Connector) {
	r.mu.Lock()
	r.Connectors = m
	r.mu.Unlock()
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.kick = make(chan struct{}, 1)
		if r.Lease <= 0 {
			r.Lease = 5 * time.Minute
		}
		if r.Poll <= 0 {
			r.Poll = time.Second
		}
		if r.Workers <= 0 {
			r.Workers = 4
		}
		if r.Owner == "" {
			r.Owner = NewOwner()
		}
	})
}

// NewOwner names a runner uniquely: host, pid and a random part.
func NewOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Kick makes the runner look for due jobs now (the engine calls it after a
// commit that wrote jobs).
func (r *Runner) Kick() {
	r.init()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run runs jobs until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	t := time.NewTicker(r.Poll)
	defer t.Stop()
	for {
		n, err := r.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Error().Err(err).Msg("connector jobs")
		}
		if n >= r.Workers {
			continue // there may be more due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.kick:
		}
	}
}

// RunOnce claims up to Workers due jobs, runs them at once and returns how
// many it ran.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	r.init()
	jobs, err := r.Queue.ClaimJobs(ctx, r.Owner, r.Engine.Now(), r.Lease, r.Workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { r.run(ctx, j) })
	}
	wg.Wait()
	return len(jobs), nil
}

// run calls j's connector (unless its task moved on) and records the
// outcome under the lease.
func (r *Runner) run(ctx context.Context, j *workflow.ConnectorJob) {
	log := r.Log.With().Int64("task", j.TaskID).Int64("job", j.ID).Str("connector", j.Connector).Int("attempt", j.Attempts).Logger()
	req, ok, err := r.Engine.JobRequest(ctx, j)
	if err != nil {
		log.Error().Err(err).Msg("read connector job; it runs again when its lease ends")
		return
	}
	out := workflow.JobOutcome{Called: ok}
	if ok {
		out.Result, out.Err = r.call(ctx, j, req)
	}
	if ctx.Err() != nil && out.Err != nil {
		return // shutting down: the lease ends and the job runs again
	}
	if _, err := r.Engine.FinishJob(context.WithoutCancel(ctx), j, out, r.Retry); err != nil {
		if workflow.ErrorCode(err) == workflow.ECONFLICT {
			log.Warn().Err(err).Msg("connector job outcome dropped: the lease was lost")
			return
		}
		log.Error().Err(err).Msg("record connector job; it runs again when its lease ends")
		return
	}
	ev := log.Info()
	if out.Err != nil {
		ev = log.Warn().Str("error", out.Err.Error())
	}
	ev.Bool("called", ok).Str("action", string(j.Action)).Msg("connector job")
}

func (r *Runner) call(ctx context.Context, j *workflow.ConnectorJob, req workflow.ConnectorRequest) (res workflow.ConnectorResult, err error) {
	r.mu.RLock()
	c := r.Connectors[j.Connector]
	r.mu.RUnlock()
	if c == nil {
		return res, workflow.PermanentFailure("connector %q is not configured (any more): do the step by hand, or add it back and press Retry", j.Connector)
	}
	ctx, cancel := context.WithTimeout(ctx, r.Lease*3/4)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = workflow.PermanentFailure("connector %s panicked: %v", j.Connector, p)
		}
	}()
	if j.Action == workflow.JobRevoke {
		return c.Revoke(ctx, req)
	}
	return c.Grant(ctx, req)
}
