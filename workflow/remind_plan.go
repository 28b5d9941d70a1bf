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

// planned returns the tasks of ids as planned, and reads whole the ones
// not planned. SaveReminders refuses those that moved on since.
func (o *op) planned(ids []int64, plans map[int64]*planned) ([]*Task, error) {
	tasks := make([]*Task, 0, len(ids))
	var unplanned []int64
	for _, id := range ids {
		if p := plans[id]; p != nil {
			tasks = append(tasks, p.task(id))
		} else {
			unplanned = append(unplanned, id)
		}
	}
	if len(unplanned) == 0 {
		return tasks, nil
	}
	again, err := o.tx.FindTasks(TaskQuery{IDs: unplanned})
	if err != nil {
		return nil, err
	}
	return append(tasks, again...), nil
}
