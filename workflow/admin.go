package workflow

import (
	"context"
	"fmt"
	"strings"
)

// AdminInput names a task an admin acts on.
type AdminInput struct {
	TaskID int64
	Actor  string
	Reason string
	Policy string // ChangePolicy only
	// Revision, when not 0, is the task revision the admin confirmed; a
	// task that moved on since is refused as stale.
	Revision int64
}

// ActAdminRefused records, on the admin chain, an admin operation refused
// because the admin asked for the task or is its subject.
const ActAdminRefused = "admin_refused"

// admin runs fn on a task after checking that the actor is an admin, and
// records the action on the global admin chain as well as the task's. An
// operation that would move the task on (pass a step, finish it) is refused
// when the admin asked for the task or is its subject, and the refusal is
// recorded on the admin chain.
func (e *Engine) admin(ctx context.Context, in AdminInput, action string, fn func(o *op, t *Task) error) (*Task, error) {
	actor := normEmail(in.Actor)
	reason, err := text("reason", in.Reason, false)
	if err != nil {
		return nil, err
	}
	in.Reason = reason
	var task *Task
	var self *Error
	err = e.update(ctx, func(o *op) error {
		if !o.cat.IsAdmin(actor) {
			return Errorf(EFORBIDDEN, "Only an accessbot admin can %s a task.", strings.ReplaceAll(action, "_", " "))
		}
		t, err := o.tx.Task(in.TaskID)
		if err != nil {
			return err
		}
		task = t
		if in.Revision != 0 && in.Revision != t.Revision {
			return staleError(t)
		}
		before := *t
		if err := fn(o, t); err != nil {
			return err
		}
		if selfServing(&before, t, actor) {
			self = o.selfRepairError(&before, actor, action)
			return self
		}
		return o.adminAudit(actor, action, in.Reason, map[string]string{"task": t.Number()})
	})
	if self != nil {
		// The operation was rolled back; its refusal is on record.
		if rerr := e.recordRefusal(ctx, actor, action, in.Reason, task, self); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return task, nil
}

// selfServing reports whether actor, who asked for the task or is its
// subject, moved it on from before to after: a later step, or finished where
// it was not. The subject ending their own revocation early (it keeps their
// access) counts too.
func selfServing(before, after *Task, actor string) bool {
	subject := actor == normEmail(before.Subject)
	requester := actor == normEmail(before.Requester) && before.Requester != SystemActor
	switch {
	case !subject && !requester:
		return false
	case after.Status == StatusDone && before.Status != StatusDone:
		return true
	case after.Step > before.Step && !after.Status.Closed():
		return true
	}
	return subject && before.Kind == KindRevoke && !before.Status.Closed() && after.Status.Closed()
}

// adminVerbs say what an admin action does to a task, for refusals.
var adminVerbs = map[string]string{
	ActStepSkipped: "skip its step", ActRestarted: "restart it", ActHardReset: "hard reset it",
	ActPolicyChanged: "change its policy", ActProcessedNow: "process it now", ActCanceled: "cancel it", ActDeleted: "delete it",
}

// selfRepairError refuses an admin operation on the admin's own task and
// names the admins who may do it instead.
func (o *op) selfRepairError(t *Task, actor, action string) *Error {
	var others []string
	for _, a := range o.cat.Admins {
		if a = normEmail(a); a != actor && a != normEmail(t.Subject) {
			others = append(others, a)
		}
	}
	sortStrings(others)
	whose := "You asked for " + t.Number()
	if actor == normEmail(t.Subject) && t.Kind == KindRevoke {
		whose = t.Number() + " is about your own access"
	}
	verb := adminVerbs[action]
	if verb == "" {
		verb = strings.ReplaceAll(action, "_", " ")
	}
	if len(others) == 0 {
		return Errorf(EFORBIDDEN, "%s, so you cannot %s: an admin never moves their own task on. accessbot has no other admin; add one to the configuration's admins.", whose, verb)
	}
	return Errorf(EFORBIDDEN, "%s, so you cannot %s: an admin never moves their own task on. Ask another admin: %s.", whose, verb, strings.Join(others, ", "))
}

// Cancel ends an open task, keeping it and its history. Admins may cancel
// any open task; a requester may cancel their own open request.
func (e *Engine) Cancel(ctx context.Context, in AdminInput) (*Task, error) {
	actor := normEmail(in.Actor)
	reason, err := text("reason", in.Reason, false)
	if err != nil {
		return nil, err
	}
	if !e.Catalog().IsAdmin(actor) {
		task, err := e.updateTask(ctx, in.TaskID, func(o *op, t *Task) error {
			if t.Kind != KindGrant || normEmail(t.Requester) != actor {
				return Errorf(EFORBIDDEN, "Only the requester or an admin can cancel %s.", t.Number())
			}
			return o.cancel(t, actor, reason)
		})
		return task, err
	}
	return e.admin(ctx, in, ActCanceled, func(o *op, t *Task) error { return o.cancel(t, actor, reason) })
}

func (o *op) cancel(t *Task, actor, reason string) error {
	if t.Status.Closed() {
		return Errorf(ECONFLICT, "%s is already %s; there is nothing to cancel.", t.Number(), statusWords(t.Status))
	}
	if err := o.audit(t, actor, ActCanceled, reason, nil); err != nil {
		return err
	}
	_, run, _ := t.Current()
	return o.end(t, run, actor, reason, StatusCanceled, StepCanceled)
}

// Delete removes a task from every list. Its audit chain goes with it; the
// global admin chain keeps who deleted which number, when, and the deleted
// chain's last hash.
func (e *Engine) Delete(ctx context.Context, in AdminInput) (*Task, error) {
	actor := normEmail(in.Actor)
	reason, err := text("reason", in.Reason, false)
	if err != nil {
		return nil, err
	}
	in.Reason = reason
	var task *Task
	var self *Error
	err = e.update(ctx, func(o *op) error {
		if !o.cat.IsAdmin(actor) {
			return Errorf(EFORBIDDEN, "Only an accessbot admin can delete a task.")
		}
		t, err := o.tx.Task(in.TaskID)
		if err != nil {
			return err
		}
		task = t
		if in.Revision != 0 && in.Revision != t.Revision {
			return staleError(t)
		}
		if actor == normEmail(t.Subject) && t.Kind == KindRevoke && !t.Status.Closed() {
			self = o.selfRepairError(t, actor, ActDeleted)
			return self
		}
		seq, hash, err := o.tx.AuditHead(t.ID)
		if err != nil {
			return err
		}
		if err := o.tx.DeleteTask(t.ID); err != nil {
			return err
		}
		o.notify(&Notice{TaskID: t.ID, Payload: TaskDeleted{Number: t.Number(), Actor: actor}})
		return o.adminAudit(actor, ActDeleted, in.Reason, map[string]string{
			"task": t.Number(), "kind": string(t.Kind), "subject": t.Subject, "app": t.AppID, "resource": t.ResourceID,
			"status": string(t.Status), "events": fmt.Sprint(seq), "last_hash": hash,
		})
	})
	if self != nil {
		if rerr := e.recordRefusal(ctx, actor, ActDeleted, in.Reason, task, self); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return task, nil
}

// recordRefusal writes, on the admin chain, an admin operation refused on
// the admin's own task (the operation itself was rolled back). A preview's
// refusal is recorded too: it is where an admin's attempt is refused first.
func (e *Engine) recordRefusal(ctx context.Context, actor, action, reason string, t *Task, why *Error) error {
	ctx = context.WithValue(ctx, dryRunKey{}, (*dryRun)(nil))
	return e.update(ctx, func(o *op) error {
		return o.adminAudit(actor, ActAdminRefused, reason, map[string]string{"task": t.Number(), "action": action, "why": why.Message})
	})
}

// Restart sends a task back to its first step with its own policy; its
// history is kept.
func (e *Engine) Restart(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, in, ActRestarted, func(o *op, t *Task) error {
		return o.reset(t, normEmail(in.Actor), ActRestarted, in.Reason, t.Policy)
	})
}

// HardReset sends a task back to its first step with its policy as
// configured now.
func (e *Engine) HardReset(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, in, ActHardReset, func(o *op, t *Task) error {
		pol, err := o.configuredPolicy(t)
		if err != nil {
			return err
		}
		return o.reset(t, normEmail(in.Actor), ActHardReset, in.Reason, pol)
	})
}

// ChangePolicy resets a revoke task with a named policy. Request tasks keep
// the policy their app gives them (use HardReset).
func (e *Engine) ChangePolicy(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, in, ActPolicyChanged, func(o *op, t *Task) error {
		if t.Kind == KindGrant {
			return Errorf(EINVALID, "%s is an access request; its policy comes from its app. Use hard-reset to apply the app's policy as configured now.", t.Number())
		}
		p, ok := o.cat.Policies[in.Policy]
		if !ok {
			return FieldError("policy", "There is no policy %q. Policies: %s.", in.Policy, strings.Join(o.policyNames(), ", "))
		}
		if err := p.CheckFor(KindRevoke); err != nil {
			return FieldError("policy", "Policy %q cannot run a revocation: %v.", in.Policy, err)
		}
		ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
		if err != nil {
			return err
		}
		return o.reset(t, normEmail(in.Actor), ActPolicyChanged, in.Reason, p.snapshot(KindRevoke, ent.Settings))
	})
}

func (o *op) policyNames() []string {
	var names []string
	for n := range o.cat.Policies {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// configuredPolicy is the policy the configuration gives t now.
func (o *op) configuredPolicy(t *Task) (Policy, error) {
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if t.Origin == OriginExpiry {
		return expiryPolicy.withConnector(ent.Settings), nil
	}
	if err != nil {
		return Policy{}, Errorf(EINVALID, "%s is for %s/%s, which is no longer in the configuration.", t.Number(), t.AppID, t.ResourceID)
	}
	name := ent.RequestPolicy
	switch {
	case t.Kind == KindRevoke:
		name = ent.RevocationPolicy
	case t.Emergency && ent.EmergencyPolicy != "":
		name = ent.EmergencyPolicy
	}
	p, ok := o.cat.Policies[name]
	if !ok {
		return Policy{}, Errorf(EINTERNAL, "policy %q is missing from the configuration", name)
	}
	return p.snapshot(t.Kind, ent.Settings), nil
}

// reset starts t again from its first step with pol. A finished grant task
// cannot be reset: its access is live and is ended by a revocation.
func (o *op) reset(t *Task, actor, action, reason string, pol Policy) error {
	if t.Status == StatusDone {
		return Errorf(EINVALID, "%s is done; its outcome stands. Propose a revocation or a new request instead.", t.Number())
	}
	if t.Kind == KindRevoke {
		if g, err := o.tx.Grant(t.GrantID); err == nil && g.Status != GrantActive && t.Origin != OriginExpiry {
			return Errorf(EINVALID, "%s's grant is already %s; there is nothing left to revoke.", t.Number(), g.Status)
		}
	}
	if err := o.audit(t, actor, action, reason, map[string]string{"policy": pol.Name}); err != nil {
		return err
	}
	t.Policy = pol
	t.Steps = make([]StepRun, len(pol.Steps))
	for i := range t.Steps {
		t.Steps[i].Status = StepWaiting
	}
	t.Step, t.Status, t.ErrorReason, t.ClosedAt = -1, StatusOpen, "", timeZero
	if err := o.advance(t); err != nil {
		return err
	}
	return o.save(t)
}

// SkipStep treats the current step as passed.
func (e *Engine) SkipStep(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, in, ActStepSkipped, func(o *op, t *Task) error {
		if t.Status.Closed() {
			return Errorf(EINVALID, "%s is %s; it has no step to skip.", t.Number(), statusWords(t.Status))
		}
		actor := normEmail(in.Actor)
		if err := o.audit(t, actor, ActStepSkipped, in.Reason, map[string]string{"step": fmt.Sprint(t.Step + 1)}); err != nil {
			return err
		}
		o.closeStep(&t.Steps[t.Step], actor, in.Reason, StepSkipped)
		if err := o.advance(t); err != nil {
			return err
		}
		return o.save(t)
	})
}

// ProcessNow re-evaluates a task: an errored step resolves its assignees
// again, a step left with nobody pending gets them again, and the bot is
// asked to send again whatever did not reach Slack.
func (e *Engine) ProcessNow(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, in, ActProcessedNow, func(o *op, t *Task) error {
		if err := o.audit(t, normEmail(in.Actor), ActProcessedNow, in.Reason, nil); err != nil {
			return err
		}
		if t.Status == StatusError || (t.Status == StatusOpen && len(t.PendingAssignees()) == 0) {
			t.Revision++
			if _, err := o.startStep(t); err != nil {
				return err
			}
		}
		// Asked for first so that save's own notice is the one with resend.
		o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{Resend: true}})
		return o.save(t)
	})
}

// MarkError stops a task with an error found outside the engine (a person
// who cannot be reached in Slack). ProcessNow retries it.
func (e *Engine) MarkError(ctx context.Context, id int64, reason string) (*Task, error) {
	task, err := e.updateTask(ctx, id, func(o *op, t *Task) error {
		if t.Status != StatusOpen {
			return nil
		}
		if err := o.fail(t, reason); err != nil {
			return err
		}
		t.Revision++
		return o.save(t)
	})
	return task, err
}

func statusWords(s Status) string {
	switch s {
	case StatusNotProvisioned:
		return "marked won't provision"
	case StatusNotDeprovisioned:
		return "marked won't deprovision"
	case StatusError:
		return "stopped with an error"
	}
	return string(s)
}
