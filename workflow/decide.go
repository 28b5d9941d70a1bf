package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Action is a decision on the current step.
type Action string

const (
	ActionApprove         Action = "approve"          // review of a grant task
	ActionConfirm         Action = "confirm"          // review of a revoke task
	ActionDeny            Action = "deny"             // review of either kind
	ActionProvisioned     Action = "provisioned"      // provision step
	ActionWontProvision   Action = "wont_provision"   // provision step
	ActionDeprovisioned   Action = "deprovisioned"    // deprovision step
	ActionWontDeprovision Action = "wont_deprovision" // deprovision step
)

// Decision is a person's decision on a task as they saw it.
type Decision struct {
	TaskID int64
	Actor  string
	// Revision is the task revision the person saw (on a card); 0 skips the
	// check (a command that names the task).
	Revision int64
	Comment  string
	// Message is the chat thread reply the decision came from, if any; the
	// comment is then a thread comment that its edits find again.
	Message MessageRef
}

// transition is what an action does to the current step.
type transition struct {
	step   StepType
	kind   Kind // "" for either kind
	state  AssignmentState
	passes bool // the assignee's decision counts towards passing the step
	status Status
	audit  string
	label  string
}

var transitions = map[Action]transition{
	ActionApprove:         {StepReview, KindGrant, AssignApproved, true, "", ActApproved, "approve"},
	ActionConfirm:         {StepReview, KindRevoke, AssignApproved, true, "", ActConfirmed, "confirm"},
	ActionDeny:            {StepReview, "", AssignDenied, false, StatusDenied, ActDenied, "deny"},
	ActionProvisioned:     {StepProvision, KindGrant, AssignDone, true, "", ActProvisioned, "mark provisioned"},
	ActionWontProvision:   {StepProvision, KindGrant, AssignNotDone, false, StatusNotProvisioned, ActNotProvisioned, "mark won't provision"},
	ActionDeprovisioned:   {StepDeprovision, KindRevoke, AssignDone, true, "", ActDeprovisioned, "mark deprovisioned"},
	ActionWontDeprovision: {StepDeprovision, KindRevoke, AssignNotDone, false, StatusNotDeprovisioned, ActNotDeprovision, "mark won't deprovision"},
}

// Approve approves the current review step of a grant task.
func (e *Engine) Approve(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionApprove, d)
}

// Deny denies the current review step; the task ends and later steps never run.
func (e *Engine) Deny(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionDeny, d)
}

// Confirm confirms the current review step of a revoke task.
func (e *Engine) Confirm(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionConfirm, d)
}

// MarkProvisioned says the access was granted by hand.
func (e *Engine) MarkProvisioned(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionProvisioned, d)
}

// WontProvision says the access will not be granted.
func (e *Engine) WontProvision(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionWontProvision, d)
}

// MarkDeprovisioned says the access was removed by hand.
func (e *Engine) MarkDeprovisioned(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionDeprovisioned, d)
}

// WontDeprovision says the access will not be removed.
func (e *Engine) WontDeprovision(ctx context.Context, d Decision) (*Task, error) {
	return e.Decide(ctx, ActionWontDeprovision, d)
}

// Decide applies a decision to the current step of a task.
func (e *Engine) Decide(ctx context.Context, action Action, d Decision) (*Task, error) {
	tr, ok := transitions[action]
	if !ok {
		return nil, Errorf(EINVALID, "%q is not an action", action)
	}
	d.Actor = normEmail(d.Actor)
	comment, err := text("comment", d.Comment, false)
	if err != nil {
		return nil, err
	}
	d.Comment = comment
	task, err := e.updateTask(ctx, d.TaskID, func(o *op, t *Task) error {
		// Read in the decision's transaction, from the task it loaded:
		// what the reviewer was shown (nil unless an open review step).
		var seen func() map[string]string
		if tr.step == StepReview {
			seen = func() map[string]string { return o.seenInsights(t, d.Actor) }
		}
		return o.decide(t, tr, d, seen)
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// decide applies a decision (d.Comment checked already) to the current
// step of t; seen reads what the reviewer was shown (nil: nothing). It
// is called only once the decision passed its checks: its reads run in
// the write transaction, and a refused click should not pay for them.
func (o *op) decide(t *Task, tr transition, d Decision, seen func() map[string]string) error {
	comment := d.Comment
	a, err := checkActor(t, d.Actor, d.Revision)
	if err != nil {
		return err
	}
	step, run, _ := t.Current()
	if step.Type != tr.step || (tr.kind != "" && tr.kind != t.Kind) {
		return Errorf(EINVALID, "%s is waiting for %s, so you cannot %s it.", t.Number(), stepWant(t, step), tr.label)
	}
	if step.Type == StepReview && d.Actor == normEmail(t.Requester) {
		return Errorf(EFORBIDDEN, "You cannot review your own request %s.", t.Number())
	}
	if step.Mode == ModeAll && tr.passes {
		// A step in all mode passes on as many distinct people as it
		// has assignees: one person's second assignment does not count.
		for _, x := range run.Assignees {
			if x.Email == d.Actor && x.State == tr.state {
				return &Error{Code: ECONFLICT, Message: fmt.Sprintf("You already %s step %d of %s at %s; it needs a different person for each approval.", stateVerb(x.State), t.Step+1, t.Number(), x.DecidedAt.UTC().Format("2006-01-02 15:04 MST")), Stale: &LastAction{Actor: d.Actor, Action: string(x.State), At: x.DecidedAt}}
			}
		}
	}
	var details map[string]string
	if step.Type == StepReview && seen != nil {
		// What the reviewer was shown, recorded with their decision.
		if s := seen(); len(s) > 0 {
			details = s
		}
	}
	a.State, a.DecidedAt = tr.state, o.now
	if t.Kind == KindGrant && step.Type == StepReview && tr.passes {
		// What the approval was for: a later raise of the duration
		// must not stretch it (EditDuration).
		a.Duration = t.Duration
		if details == nil {
			details = map[string]string{}
		}
		details["duration"] = FormatDuration(t.Duration)
	}
	src := SourceDecision
	if !d.Message.IsZero() {
		src = SourceThread
		if details == nil {
			details = map[string]string{}
		}
		details["source"] = src
		details = d.Message.details(details)
	}
	if err := o.audit(t, d.Actor, tr.audit, comment, details); err != nil {
		return err
	}
	if comment != "" {
		o.comment(t, d.Actor, comment, src, d.Message)
	}
	if !tr.passes {
		return o.end(t, run, d.Actor, comment, tr.status, stepStatusFor(tr.status))
	}
	if step.Mode == ModeAll && len(t.PendingAssignees()) > 0 {
		// The step still waits on others, but every card must show
		// this approval: the revision moves.
		if run.ApprovedTo != t.Revision {
			run.ApprovedFrom = t.Revision
		}
		run.ApprovedTo = t.Revision + 1 // the revision persist moves t to
		return o.move(t)
	}
	o.closeStep(run, d.Actor, comment, passedStatus(step.Type))
	if err := o.advance(t); err != nil {
		return err
	}
	return o.save(t)
}

// checkActor refuses a decision on a task that moved on, or by someone who
// is not a pending assignee of its current step.
func checkActor(t *Task, actor string, revision int64) (*Assignment, error) {
	if t.Status.Closed() || (revision != 0 && revision != t.Revision && !onlyApprovedSince(t, revision)) {
		return nil, staleError(t)
	}
	if t.Status == StatusError {
		return nil, Errorf(ECONFLICT, "%s is stopped with an error (%s); an admin must repair it first.", t.Number(), t.ErrorReason)
	}
	if a := t.pending(actor); a != nil {
		if step, _, _ := t.Current(); t.barred(actor, step) {
			// Assigned before the rule that bars them (an older task).
			return nil, Errorf(EFORBIDDEN, "%s; an admin can restart it to assign someone else.", t.barredWhy(actor))
		}
		return a, nil
	}
	_, run, _ := t.Current()
	for _, a := range run.Assignees {
		if a.Email == actor && a.State != AssignPending && a.State != AssignReplaced && a.State != AssignReleased {
			return nil, &Error{Code: ECONFLICT, Message: fmt.Sprintf("You already %s %s at %s.", stateVerb(a.State), t.Number(), a.DecidedAt.UTC().Format("2006-01-02 15:04 MST")), Stale: &LastAction{Actor: actor, Action: string(a.State), At: a.DecidedAt}}
		}
	}
	if actor == normEmail(t.Requester) && t.Kind == KindGrant {
		return nil, Errorf(EFORBIDDEN, "You cannot act on your own request %s; it waits on %s.", t.Number(), strings.Join(t.PendingAssignees(), ", "))
	}
	if actor == normEmail(t.Subject) {
		return nil, Errorf(EFORBIDDEN, "%s is about your own access, so you cannot act on it; it waits on %s.", t.Number(), strings.Join(t.PendingAssignees(), ", "))
	}
	return nil, Errorf(EFORBIDDEN, "You are not assigned to the current step of %s; it waits on %s.", t.Number(), strings.Join(t.PendingAssignees(), ", "))
}

// onlyApprovedSince reports whether every revision t moved through since
// revision was an approval in its current step of mode all: a card of that
// revision still asks what the step asks.
func onlyApprovedSince(t *Task, revision int64) bool {
	run, ok := t.currentRun()
	return ok && run.ApprovedTo == t.Revision && run.ApprovedFrom <= revision && revision < t.Revision
}

func stepWant(t *Task, s *Step) string { return WordsOf(t.Kind, s.Type).Want }

func passedStatus(s StepType) StepStatus {
	if s == StepReview {
		return StepApproved
	}
	return StepDone
}

func stepStatusFor(s Status) StepStatus {
	switch s {
	case StatusDenied:
		return StepDenied
	case StatusNotProvisioned, StatusNotDeprovisioned:
		return StepNotDone
	}
	return StepCanceled
}

// closeStep ends the current step; assignees who did not act are released.
func (o *op) closeStep(run *StepRun, by, comment string, status StepStatus) {
	run.Status, run.EndedAt, run.DecidedBy, run.Comment = status, o.now, by, comment
	for i := range run.Assignees {
		if run.Assignees[i].State == AssignPending {
			run.Assignees[i].State = AssignReleased
		}
	}
}

// end closes the task with status; later steps never run.
func (o *op) end(t *Task, run *StepRun, by, comment string, status Status, stepStatus StepStatus) error {
	if run != nil {
		o.closeStep(run, by, comment, stepStatus)
	}
	t.Status, t.ClosedAt = status, o.now
	return o.move(t)
}

// comment queues a comment notice so the bot mirrors it into the task's
// threads (but the one it came from). It follows the audit event that
// carries the comment: "seq" names that event, and so the comment.
func (o *op) comment(t *Task, actor, text, source string, from MessageRef) {
	o.notices = append(o.notices, &Notice{TaskID: t.ID, Text: text, CreatedAt: o.now, NextAt: o.now,
		Payload: CommentPosted{Actor: actor, Source: source, Seq: o.heads[t.ID].seq, From: from.ref()}})
}

// ReassignInput hands an assignee's part of the current step to someone else.
type ReassignInput struct {
	TaskID   int64
	Actor    string
	To       string
	Reason   string
	Revision int64
}

// Reassign replaces the actor on the current step with another person,
// within the step's reassign rule.
func (e *Engine) Reassign(ctx context.Context, in ReassignInput) (*Task, error) {
	in.Actor, in.To = normEmail(in.Actor), normEmail(in.To)
	reason, err := text("reason", in.Reason, true)
	if err != nil {
		return nil, err
	}
	in.Reason = reason
	task, err := e.updateTask(ctx, in.TaskID, func(o *op, t *Task) error { return o.reassign(t, in) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// reassign hands the actor's part of t's current step to in.To (in.Reason
// checked already).
func (o *op) reassign(t *Task, in ReassignInput) error {
	reason := in.Reason
	a, err := checkActor(t, in.Actor, in.Revision)
	if err != nil {
		return err
	}
	step, run, _ := t.Current()
	if step.Reassign.None {
		return Errorf(EFORBIDDEN, "Step %d of %s cannot be reassigned (its policy %q says so).", t.Step+1, t.Number(), t.Policy.Name)
	}
	if err := o.checkReassignTarget(t, step, in.Actor, in.To); err != nil {
		return err
	}
	a.State, a.DecidedAt = AssignReplaced, o.now
	if err := o.audit(t, in.Actor, ActReassigned, reason, map[string]string{"from": in.Actor, "to": in.To}); err != nil {
		return err
	}
	if err := o.assign(t, step, run, Assignment{Email: in.To, Via: ViaReassign, From: in.Actor, Reason: reason, State: AssignPending}); err != nil {
		return err
	}
	return o.move(t)
}

// CheckReassignTarget says whether the actor may reassign the task's current
// step to "to", so a modal can refuse before submitting.
func (e *Engine) CheckReassignTarget(ctx context.Context, id int64, actor, to string) error {
	t, err := e.Task(ctx, id)
	if err != nil {
		return err
	}
	step, _, ok := t.Current()
	if !ok {
		return staleError(t)
	}
	o := &op{cat: e.Catalog()}
	return o.checkReassignTarget(t, step, normEmail(actor), normEmail(to))
}

func (o *op) checkReassignTarget(t *Task, step *Step, actor, to string) error {
	switch {
	case !looksLikeEmail(to):
		return FieldError("to", "Choose a person to reassign to.")
	case to == actor:
		return FieldError("to", "Choose someone other than yourself.")
	case to == normEmail(t.Subject) && t.Kind == KindRevoke:
		return FieldError("to", "%s is about %s's own access; they cannot act on it.", t.Number(), to)
	case t.barred(to, step):
		return FieldError("to", "%s asked for this; they cannot act on their own request.", to)
	}
	for _, p := range t.PendingAssignees() {
		if p == to {
			return FieldError("to", "%s is already assigned to this step.", to)
		}
	}
	if _, run, ok := t.Current(); ok && step.Mode == ModeAll && onStep(run, to) {
		return FieldError("to", "%s already decided on this step, which needs a different person for each approval: choose someone else.", to)
	}
	if step.Reassign.Anyone() {
		return nil
	}
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		ent = Entitlement{}
	}
	allowed := resolveContext{cat: o.cat, subject: t.Subject, ent: ent}.resolve(step.Reassign.Allowed)
	for _, p := range allowed {
		if p == to {
			return nil
		}
	}
	return FieldError("to", "This step can only be reassigned to: %s.", strings.Join(allowed, ", "))
}

// EditDurationInput changes the requested duration of a grant task.
type EditDurationInput struct {
	TaskID   int64
	Actor    string
	Duration time.Duration
	Revision int64
}

// EditDuration lets a reviewer of the current step change how long the access
// lasts, within the maximum.
func (e *Engine) EditDuration(ctx context.Context, in EditDurationInput) (*Task, error) {
	in.Actor = normEmail(in.Actor)
	task, err := e.updateTask(ctx, in.TaskID, func(o *op, t *Task) error { return o.editDuration(t, in) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// editDuration changes the duration t asks for.
func (o *op) editDuration(t *Task, in EditDurationInput) error {
	if _, err := checkActor(t, in.Actor, in.Revision); err != nil {
		return err
	}
	step, _, _ := t.Current()
	if t.Kind != KindGrant || step.Type != StepReview {
		return Errorf(EINVALID, "Only a reviewer of a request can change its duration; %s is waiting for %s.", t.Number(), stepWant(t, step))
	}
	if in.Duration == 0 {
		return FieldError("duration", "Give a duration like 8h, 2d or 1w.")
	}
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		return err
	}
	d, err := checkDuration(ent, in.Duration, t.Emergency)
	if err != nil {
		return err
	}
	if d == t.Duration {
		return FieldError("duration", "%s already asks for %s.", t.Number(), FormatDuration(d))
	}
	if limit, by := ApprovedDuration(t); by != "" && longer(d, limit) {
		return FieldError("duration", "%s approved %s for %s, so it cannot be raised past that: an approval never stretches to a longer access. Choose %s or less, or deny it and ask for a new request.", by, t.Number(), FormatDuration(limit), FormatDuration(limit))
	}
	if err := o.audit(t, in.Actor, ActDurationEdited, "", map[string]string{"from": FormatDuration(t.Duration), "to": FormatDuration(d)}); err != nil {
		return err
	}
	t.Duration = d
	return o.move(t)
}

// ApprovedDuration is the shortest duration an approval of t was given
// for, and who gave it ("" when nobody approved yet). Lowering the duration
// keeps the approvals; raising it past this is refused (EditDuration). An
// approval recorded without its duration counts as the duration t asks for
// now.
func ApprovedDuration(t *Task) (time.Duration, string) {
	var limit time.Duration
	by := ""
	for i, r := range t.Steps {
		if i >= len(t.Policy.Steps) || t.Policy.Steps[i].Type != StepReview || t.Kind != KindGrant {
			continue
		}
		for _, a := range r.Assignees {
			if a.State != AssignApproved {
				continue
			}
			saw := a.Duration
			if saw == 0 {
				saw = t.Duration
			}
			if by == "" || longer(limit, saw) {
				limit, by = saw, a.Email
			}
		}
	}
	return limit, by
}

// CommentInput adds a comment to a task.
type CommentInput struct {
	TaskID int64
	Actor  string
	Text   string
	Source string // modal, thread, decision
	// Message is the chat thread reply the comment came from (source thread).
	Message MessageRef
}

// Comment adds a comment by someone involved in the task (or an admin).
// Finished tasks still take comments.
func (e *Engine) Comment(ctx context.Context, in CommentInput) (*Task, error) {
	in.Actor = normEmail(in.Actor)
	body, err := text("comment", in.Text, true)
	if err != nil {
		return nil, err
	}
	in.Text = body
	task, err := e.updateTask(ctx, in.TaskID, func(o *op, t *Task) error { return o.commentOn(t, in) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// commentOn adds a comment (in.Text checked already) to t.
func (o *op) commentOn(t *Task, in CommentInput) error {
	body := in.Text
	// A thread reply may also come from an owner of the app, who sees
	// the task's channel post.
	if !t.Involves(in.Actor) && !o.cat.IsAdmin(in.Actor) && (in.Message.IsZero() || !maySee(o.cat, in.Actor, t)) {
		return Errorf(EFORBIDDEN, "You are not involved in %s, so you cannot comment on it.", t.Number())
	}
	src := in.Source
	if src == "" {
		src = SourceModal
	}
	if err := o.audit(t, in.Actor, ActCommented, body, in.Message.details(map[string]string{"source": src})); err != nil {
		return err
	}
	o.comment(t, in.Actor, body, src, in.Message)
	return o.touch(t)
}

// ReminderInterval is how often a task may be reminded by hand.
const ReminderInterval = time.Hour

// SendReminder reminds the current assignees of a task at once. Anyone
// involved (or an admin) may, at most once an hour a task.
func (e *Engine) SendReminder(ctx context.Context, actor string, id int64) (*Task, error) {
	actor = normEmail(actor)
	task, err := e.updateTask(ctx, id, func(o *op, t *Task) error { return o.remind(t, actor) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// remind reminds t's current assignees at the actor's asking.
func (o *op) remind(t *Task, actor string) error {
	if !t.Involves(actor) && !o.cat.IsAdmin(actor) {
		return Errorf(EFORBIDDEN, "You are not involved in %s, so you cannot send a reminder for it.", t.Number())
	}
	if t.Status != StatusOpen {
		return Errorf(ECONFLICT, "%s is %s; there is nobody to remind.", t.Number(), t.Status)
	}
	if !t.RemindedAt.IsZero() && o.now.Sub(t.RemindedAt) < ReminderInterval {
		next := t.RemindedAt.Add(ReminderInterval)
		return Errorf(ECONFLICT, "%s was reminded at %s; the next reminder can go at %s.", t.Number(), t.RemindedAt.UTC().Format("15:04 MST"), next.UTC().Format("15:04 MST"))
	}
	people := t.PendingAssignees()
	t.RemindedAt = o.now
	if err := o.audit(t, actor, ActReminded, "", map[string]string{"to": strings.Join(people, ","), "by": "hand"}); err != nil {
		return err
	}
	o.notices = append(o.notices, &Notice{TaskID: t.ID, Recipients: people, CreatedAt: o.now, NextAt: o.now, Payload: TaskReminder{Actor: actor}})
	return o.touch(t)
}

func stateVerb(s AssignmentState) string {
	switch s {
	case AssignDone:
		return "marked done"
	case AssignNotDone:
		return "marked won't do"
	}
	return string(s)
}
