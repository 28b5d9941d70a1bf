// Package scheduler runs the engine's periodic jobs (expire grants, warn of
// expiring grants, remind and escalate, switch temporary delegations on and
// off) on robfig/cron, and, when cmd adds it, the audit digest job on its
// own interval (Job.Spec).
//
// Each job is its own cron entry on the same spec (unless it has its own),
// so at a tick the jobs run side by side, and a slow one delays only its
// own next run. No job depends on another having run first.
//
// Every job decides from stored state and records what it did, so a run
// that comes late, a skipped minute, a restart or a second replica sends
// nothing twice; the scheduler only adds timing, overlap protection (a run
// still going when the next tick comes makes that tick skip), panic
// recovery and logging. The cron chain is SkipIfStillRunning outside
// Recover: robfig/cron v3.0.1's SkipIfStillRunning hands its token back only
// when the job returns, so with Recover outside it a panicking job would be
// skipped forever (TestPanickingJobRunsAgain proves the order).
package scheduler
