package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AdminOp names an admin operation on a task, as the slash commands spell it.
type AdminOp string

// Admin operations. Destructive ones (Destructive reports which) are
// confirmed by a person before they run.
const (
	OpProcessNow   AdminOp = "process-now"
	OpCancel       AdminOp = "cancel"
	OpDelete       AdminOp = "delete"
	OpRestart      AdminOp = "restart"
	OpHardReset    AdminOp = "hard-reset"
	OpChangePolicy AdminOp = "change-policy"
	OpSkipStep     AdminOp = "skip-step"
)

// AdminOps lists the operations in the order menus show them.
func AdminOps() []AdminOp {
	return []AdminOp{OpProcessNow, OpCancel, OpRestart, OpSkipStep, OpHardReset, OpChangePolicy, OpDelete}
}

// Destructive reports whether op throws away work or history: it needs a
// confirmation first.
func (op AdminOp) Destructive() bool {
	switch op {
	case OpDelete, OpHardReset, OpChangePolicy, OpSkipStep:
		return true
	}
	return false
}

// RunAdmin runs op on a task. The result is the task after it (for
// OpDelete, the task as it was).
func (e *Engine) RunAdmin(ctx context.Context, op AdminOp, in AdminInput) (*Task, error) {
	return e.admin(ctx, op, in, false)
}

// PreviewAdmin decides op on a read snapshot without writing it, so a
// confirmation can say exactly what op would do, and refuse at once what
// the state makes senseless, with the same checks and messages as the
// operation itself. It returns the task as op would leave it (nil for
// OpDelete).
func (e *Engine) PreviewAdmin(ctx context.Context, op AdminOp, in AdminInput) (*Task, error) {
	return e.admin(ctx, op, in, true)
}

// StuckTask is a task that needs an admin, with why.
type StuckTask struct {
	Task   *Task
	Reason string
}

// Stuck lists, for an admin, the tasks stopped with an error and the open
// tasks whose current step has waited past reminders.escalate_after
// (escalated or not), errors first, each kind oldest first, at most limit of
// each. It also returns how many there are in all.
func (e *Engine) Stuck(ctx context.Context, actor string, limit int) ([]StuckTask, int, error) {
	cat := e.Catalog()
	if !cat.IsAdmin(actor) {
		return nil, 0, Errorf(EFORBIDDEN, "Only an accessbot admin can list stuck tasks.")
	}
	now := e.Now()
	esc := cat.Reminders.EscalateAfter
	var out []StuckTask
	total := 0
	err := e.store.View(ctx, func(tx ReadTx) error {
		errQ := TaskQuery{Statuses: []Status{StatusError}, Limit: limit}
		ts, err := tx.FindTasks(errQ)
		if err != nil {
			return err
		}
		n, err := tx.CountTasks(errQ)
		if err != nil {
			return err
		}
		total += n
		for _, t := range ts {
			out = append(out, StuckTask{Task: t, Reason: "stopped with an error: " + nonEmptyReason(t.ErrorReason)})
		}
		if esc <= 0 {
			return nil
		}
		waitQ := TaskQuery{Statuses: []Status{StatusOpen}, StepStartedBefore: now.Add(-esc), ByStepStart: true, Limit: limit}
		if ts, err = tx.FindTasks(waitQ); err != nil {
			return err
		}
		if n, err = tx.CountTasks(waitQ); err != nil {
			return err
		}
		total += n
		for _, t := range ts {
			out = append(out, StuckTask{Task: t, Reason: waitingReason(t, now, esc)})
		}
		return nil
	})
	return out, total, err
}

func nonEmptyReason(s string) string {
	if strings.TrimSpace(s) == "" {
		return "no reason recorded"
	}
	return s
}

// waitingReason says how long the current step has waited and on whom.
func waitingReason(t *Task, now time.Time, esc time.Duration) string {
	step, run, ok := t.Current()
	if !ok {
		return "waiting"
	}
	waited := ageWords(now.Sub(run.StartedAt))
	s := fmt.Sprintf("step %d (%s) has waited %s since %s, past escalation after %s", t.Step+1, step.Type,
		waited, run.StartedAt.UTC().Format("2006-01-02 15:04 MST"), FormatDuration(esc))
	if p := t.PendingAssignees(); len(p) > 0 {
		s += "; waiting on " + strings.Join(p, ", ")
	} else {
		s += "; nobody is assigned"
	}
	if !t.EscalatedAt.IsZero() {
		s += "; escalated " + t.EscalatedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	return s
}

// ageWords is a wait as people say it: "3d 4h", "5h 20m", "12m".
func ageWords(d time.Duration) string {
	d = d.Truncate(time.Minute)
	days, hours, mins := d/day, (d%day)/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}

// ActConfigReloaded records, on the admin chain, that a configuration was
// put in force and what changed.
const ActConfigReloaded = "config_reloaded"

// RecordReload writes who reloaded the configuration (an email, or the
// signal) and a summary of what changed on the admin chain. The caller puts
// the new catalog in force only once this is recorded.
func (e *Engine) RecordReload(ctx context.Context, actor, summary string) error {
	actor = strings.TrimSpace(actor)
	if actor == "" {
		actor = SystemActor
	}
	return e.update(ctx, func(o *op) error {
		return o.adminAudit(actor, ActConfigReloaded, "", map[string]string{"summary": summary})
	})
}
