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
