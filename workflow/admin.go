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

// adminDecision is an admin operation: the action it records, and its
// decision on the task. A decision that is an admin's self-service returns
// the refusal as self too: it is recorded on the admin chain.
type adminDecision struct {
	action string
	// forbidden refuses an actor who is not an admin; "" lets anyone
	// through to decide (a requester's own cancel).
	forbidden string
	decide    func(o *op, t *Task) (self *Error, err error)
}

// adminDecide is the decision of an admin operation on a task.
func (e *Engine) adminDecide(which AdminOp, in AdminInput) (adminDecision, error) {
	actor := in.Actor
	repair := func(action string, fn func(o *op, t *Task) error) adminDecision {
		return adminDecision{action: action, forbidden: "Only an accessbot admin can " + strings.ReplaceAll(action, "_", " ") + " a task.", decide: adminRepair(in, action, fn)}
	}
	switch which {
	case OpProcessNow:
		return repair(ActProcessedNow, func(o *op, t *Task) error { return o.processNow(t, actor, in.Reason) }), nil
	case OpCancel:
		if !e.Catalog().IsAdmin(actor) {
			return adminDecision{action: ActCanceled, decide: func(o *op, t *Task) (*Error, error) {
				if t.Kind != KindGrant || normEmail(t.Requester) != actor {
					return nil, Errorf(EFORBIDDEN, "Only the requester or an admin can cancel %s.", t.Number())
				}
				return nil, o.cancel(t, actor, in.Reason)
			}}, nil
		}
		return repair(ActCanceled, func(o *op, t *Task) error { return o.cancel(t, actor, in.Reason) }), nil
	case OpDelete:
		return adminDecision{action: ActDeleted, forbidden: "Only an accessbot admin can delete a task.", decide: func(o *op, t *Task) (*Error, error) {
			return o.delete(t, in)
		}}, nil
	case OpRestart:
		return repair(ActRestarted, func(o *op, t *Task) error {
			return o.reset(t, actor, ActRestarted, in.Reason, t.Policy)
		}), nil
	case OpHardReset:
		return repair(ActHardReset, func(o *op, t *Task) error { return o.hardReset(t, actor, in.Reason) }), nil
	case OpChangePolicy:
		return repair(ActPolicyChanged, func(o *op, t *Task) error { return o.changePolicy(t, actor, in.Reason, in.Policy) }), nil
	case OpSkipStep:
		return repair(ActStepSkipped, func(o *op, t *Task) error { return o.skipStep(t, actor, in.Reason) }), nil
	}
	return adminDecision{}, Errorf(EINVALID, "%q is not an admin operation", string(which))
}

// adminRepair is the decision of an admin operation that changes a task:
// fn on the task as the admin confirmed it, recorded on the global admin
// chain as well as the task's. An operation that would move the task on
// (pass a step, finish it) is refused when the admin asked for the task or
// is its subject.
func adminRepair(in AdminInput, action string, fn func(o *op, t *Task) error) func(o *op, t *Task) (*Error, error) {
	return func(o *op, t *Task) (*Error, error) {
		if in.Revision != 0 && in.Revision != t.Revision {
			return nil, staleError(t)
		}
		before := *t
		if err := fn(o, t); err != nil {
			return nil, err
		}
		if selfServing(&before, t, in.Actor) {
			self := o.selfRepairError(&before, in.Actor, action)
			return self, self
		}
		return nil, o.adminAudit(in.Actor, action, in.Reason, map[string]string{"task": t.Number()})
	}
}

// decideAdmin loads the task of in and decides d on it; it returns the
// task as loaded or as d left it.
func (o *op) decideAdmin(d adminDecision, in AdminInput) (*Task, *Error, error) {
	if d.forbidden != "" && !o.cat.IsAdmin(in.Actor) {
		return nil, nil, Errorf(EFORBIDDEN, "%s", d.forbidden)
	}
	t, err := o.load(in.TaskID)
	if err != nil {
		return nil, nil, err
	}
	self, err := d.decide(o, t)
	return t, self, err
}

// admin runs op on a task: the decision, then (unless preview) its
// persisting. A preview decides on a read snapshot and writes nothing but
// the record of a self-service refusal, where an admin's attempt is
// refused first. The result is the task as op leaves it (for OpDelete, as
// it was; for a preview of OpDelete, nil).
func (e *Engine) admin(ctx context.Context, which AdminOp, in AdminInput, preview bool) (*Task, error) {
	in.Actor = normEmail(in.Actor)
	reason, err := text("reason", in.Reason, false)
	if err != nil {
		return nil, err
	}
	in.Reason = reason
	d, err := e.adminDecide(which, in)
	if err != nil {
		return nil, err
	}
	var task *Task
	var self *Error
	run := func(o *op) (err error) {
		task, self, err = o.decideAdmin(d, in)
		return err
	}
	if preview {
		err = e.view(ctx, run)
	} else {
		err = e.update(ctx, run)
	}
	if self != nil {
		// Nothing of the operation was written; its refusal is on record.
		if rerr := e.recordRefusal(ctx, in.Actor, d.action, in.Reason, task, self); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	if preview && which == OpDelete {
		return nil, nil
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
	return e.admin(ctx, OpCancel, in, false)
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
	return e.admin(ctx, OpDelete, in, false)
}

func (o *op) delete(t *Task, in AdminInput) (*Error, error) {
	if in.Revision != 0 && in.Revision != t.Revision {
		return nil, staleError(t)
	}
	if in.Actor == normEmail(t.Subject) && t.Kind == KindRevoke && !t.Status.Closed() {
		self := o.selfRepairError(t, in.Actor, ActDeleted)
		return self, self
	}
	h, err := o.head(t.ID)
	if err != nil {
		return nil, err
	}
	o.deleteTask(t)
	o.notify(&Notice{TaskID: t.ID, Payload: TaskDeleted{Number: t.Number(), Actor: in.Actor}})
	return nil, o.adminAudit(in.Actor, ActDeleted, in.Reason, map[string]string{
		"task": t.Number(), "kind": string(t.Kind), "subject": t.Subject, "app": t.AppID, "resource": t.ResourceID,
		"status": string(t.Status), "events": fmt.Sprint(h.seq), "last_hash": h.hash,
	})
}

// recordRefusal writes, on the admin chain, an admin operation refused on
// the admin's own task (nothing of the operation itself was written).
func (e *Engine) recordRefusal(ctx context.Context, actor, action, reason string, t *Task, why *Error) error {
	return e.update(ctx, func(o *op) error {
		return o.adminAudit(actor, ActAdminRefused, reason, map[string]string{"task": t.Number(), "action": action, "why": why.Message})
	})
}

// Restart sends a task back to its first step with its own policy; its
// history is kept.
func (e *Engine) Restart(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, OpRestart, in, false)
}

// HardReset sends a task back to its first step with its policy as
// configured now.
func (e *Engine) HardReset(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, OpHardReset, in, false)
}

func (o *op) hardReset(t *Task, actor, reason string) error {
	pol, err := o.configuredPolicy(t)
	if err != nil {
		return err
	}
	return o.reset(t, actor, ActHardReset, reason, pol)
}

// ChangePolicy resets a revoke task with a named policy. Request tasks keep
// the policy their app gives them (use HardReset).
func (e *Engine) ChangePolicy(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, OpChangePolicy, in, false)
}

func (o *op) changePolicy(t *Task, actor, reason, policy string) error {
	if t.Kind == KindGrant {
		return Errorf(EINVALID, "%s is an access request; its policy comes from its app. Use hard-reset to apply the app's policy as configured now.", t.Number())
	}
	p, ok := o.cat.Policies[policy]
	if !ok {
		return FieldError("policy", "There is no policy %q. Policies: %s.", policy, strings.Join(o.policyNames(), ", "))
	}
	if err := p.CheckFor(KindRevoke); err != nil {
		return FieldError("policy", "Policy %q cannot run a revocation: %v.", policy, err)
	}
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		return err
	}
	return o.reset(t, actor, ActPolicyChanged, reason, p.snapshot(KindRevoke, ent.Settings))
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
		if g, err := o.rd.Grant(t.GrantID); err == nil && g.Status != GrantActive && t.Origin != OriginExpiry {
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
	return e.admin(ctx, OpSkipStep, in, false)
}

func (o *op) skipStep(t *Task, actor, reason string) error {
	if t.Status.Closed() {
		return Errorf(EINVALID, "%s is %s; it has no step to skip.", t.Number(), statusWords(t.Status))
	}
	if err := o.audit(t, actor, ActStepSkipped, reason, map[string]string{"step": fmt.Sprint(t.Step + 1)}); err != nil {
		return err
	}
	o.closeStep(&t.Steps[t.Step], actor, reason, StepSkipped)
	if err := o.advance(t); err != nil {
		return err
	}
	return o.save(t)
}

// ProcessNow re-evaluates a task: an errored step resolves its assignees
// again, a step left with nobody pending gets them again, and the bot is
// asked to send again whatever did not reach Slack.
func (e *Engine) ProcessNow(ctx context.Context, in AdminInput) (*Task, error) {
	return e.admin(ctx, OpProcessNow, in, false)
}

func (o *op) processNow(t *Task, actor, reason string) error {
	if err := o.audit(t, actor, ActProcessedNow, reason, nil); err != nil {
		return err
	}
	if t.Status == StatusError || (t.Status == StatusOpen && len(t.PendingAssignees()) == 0) {
		o.bump(t)
		if _, err := o.startStep(t); err != nil {
			return err
		}
	}
	// Asked for first so that save's own notice is the one with resend.
	o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{Resend: true}})
	return o.save(t)
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
		return o.move(t)
	})
	return task, err
}

func statusWords(s Status) string { return s.Words().Outcome }
