package scheduler

import (
	"context"
	"time"

	"accessbot/workflow"
)

// Job is one periodic piece of work. Run returns a summary of what it did
// (logged with every run) or an error.
type Job struct {
	Name string
	Run  func(ctx context.Context) (any, error)
	// Spec, when set, is the job's own schedule instead of Options.Spec.
	Spec string
}

// Job names.
const (
	JobExpireGrants = "expire_grants"
	JobWarnExpiring = "warn_expiring"
	JobRemindSweep  = "remind_sweep"
	// JobSwitchDelegations turns temporary delegations on at their start
	// and off after their end.
	JobSwitchDelegations = "switch_delegations"
	// JobAuditDigest writes a signed digest of the audit chain heads that
	// changed (workflow.Digester), on its own interval.
	JobAuditDigest = "audit_digest"
)

// DigestJob is the audit digest job, run every interval.
func DigestJob(d *workflow.Digester, every time.Duration) Job {
	return Job{Name: JobAuditDigest, Spec: "@every " + every.String(), Run: func(ctx context.Context) (any, error) {
		return d.Run(ctx)
	}}
}

// Jobs returns the engine's periodic jobs. RunOnce runs them in this order;
// the cron loop runs them side by side, which is safe because none relies
// on another: the expiry warning only looks at grants that have not ended.
func Jobs(e *workflow.Engine) []Job {
	return []Job{
		{Name: JobExpireGrants, Run: func(ctx context.Context) (any, error) {
			n, err := e.ExpireGrants(ctx)
			return map[string]int{"expired": n}, err
		}},
		{Name: JobWarnExpiring, Run: func(ctx context.Context) (any, error) {
			n, err := e.WarnExpiring(ctx)
			return map[string]int{"warned": n}, err
		}},
		{Name: JobRemindSweep, Run: func(ctx context.Context) (any, error) {
			return e.RemindSweep(ctx)
		}},
		{Name: JobSwitchDelegations, Run: func(ctx context.Context) (any, error) {
			return e.SwitchDelegations(ctx)
		}},
	}
}

// JobPrune deletes delivered notices and handled envelopes past their
// retention.
const JobPrune = "prune"

// Pruner is what JobPrune needs from storage; *store.DB implements it.
type Pruner interface {
	// PruneOutbox deletes notices delivered before before (pending,
	// leased and dead ones are kept).
	PruneOutbox(ctx context.Context, before time.Time) (int64, error)
	// PruneInbox deletes envelopes handled before before.
	PruneInbox(ctx context.Context, before time.Time) (int64, error)
}

// PruneJob keeps delivered notices for outbox and handled envelopes for
// inbox (which must be longer than Slack redelivers an envelope: a
// redelivery of a pruned one would be handled again) and deletes the rest.
// now is the engine's clock.
func PruneJob(p Pruner, now func() time.Time, outbox, inbox time.Duration) Job {
	return Job{Name: JobPrune, Run: func(ctx context.Context) (any, error) {
		t := now()
		notices, err := p.PruneOutbox(ctx, t.Add(-outbox))
		if err != nil {
			return nil, err
		}
		envelopes, err := p.PruneInbox(ctx, t.Add(-inbox))
		return map[string]int64{"notices": notices, "envelopes": envelopes}, err
	}}
}
