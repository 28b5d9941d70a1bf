package workflow

import (
	"slices"
	"time"
)

// A reminder sweep plans on read snapshots and then reminds in write
// transactions. Reading every due task whole twice cost most of a sweep,
// so the plan reads tasks Lean and keeps what reminding needs of each due
// task (its current step's run, its versions and reminder time); the write
// transaction reminds from that and records the reminder times under both
// versions, so a task that moved on since (decided, or reminded by another
// replica) is not written, and is read and decided again.

// planned is what a sweep keeps of a task due a reminder.
type planned struct {
	version    int64
	remindRev  int64
	status     Status
	step       int
	remindedAt time.Time
	run        StepRun
}

func planOf(t *Task, run *StepRun) *planned {
	return &planned{version: t.Version, remindRev: t.RemindRev, status: t.Status, step: t.Step, remindedAt: t.RemindedAt, run: *run}
}

// task rebuilds the task as planned: enough to remind it (ID, Version,
// Status, Step, the current step's run, RemindedAt), no policy.
func (p *planned) task(id int64) *Task {
	steps := make([]StepRun, p.step+1)
	steps[p.step] = p.run
	steps[p.step].Assignees = slices.Clone(p.run.Assignees)
	return &Task{ID: id, Version: p.version, RemindRev: p.remindRev, Status: p.status, Step: p.step, Steps: steps, RemindedAt: p.remindedAt}
}
