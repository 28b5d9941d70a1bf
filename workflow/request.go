package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxTextLen bounds justifications, reasons and comments.
const MaxTextLen = 3000

// RequestInput is a request for access.
type RequestInput struct {
	Requester     string
	AppID         string
	ResourceID    string
	Duration      time.Duration // 0: the default; Permanent where allowed
	Justification string
	Emergency     bool
	// Extension asks to lengthen an active grant rather than being refused
	// because one exists.
	Extension bool
}

// Request creates a grant task and starts its first step.
func (e *Engine) Request(ctx context.Context, in RequestInput) (*Task, error) {
	in.Requester = normEmail(in.Requester)
	if !looksLikeEmail(in.Requester) {
		return nil, Errorf(EINVALID, "the requester %q is not an email address", in.Requester)
	}
	just, err := text("justification", in.Justification, true)
	if err != nil {
		return nil, err
	}
	var task *Task
	err = e.update(ctx, func(o *op) error {
		ent, err := o.cat.Entitlement(in.AppID, in.ResourceID)
		if err != nil {
			return err
		}
		polName := ent.RequestPolicy
		if in.Emergency {
			if ent.EmergencyPolicy == "" {
				return FieldError("emergency", "%s has no emergency policy, so it cannot be requested as an emergency. Untick emergency to request it normally.", ent.Label())
			}
			polName = ent.EmergencyPolicy
		}
		dur, err := checkDuration(ent, in.Duration, in.Emergency)
		if err != nil {
			return err
		}
		if err := o.refuseDuplicate(in.Requester, ent, in.Extension); err != nil {
			return err
		}
		pol, ok := o.cat.Policies[polName]
		if !ok {
			return Errorf(EINTERNAL, "policy %q of %s is missing from the configuration", polName, ent.Label())
		}
		id, err := o.ids.NextTaskID()
		if err != nil {
			return err
		}
		t := &Task{
			ID: id, Kind: KindGrant, Status: StatusOpen, Requester: in.Requester, Subject: in.Requester,
			AppID: ent.App.ID, ResourceID: ent.ResourceID(), Duration: dur, Justification: just,
			Emergency: in.Emergency, Extension: in.Extension, Origin: OriginRequest,
			Policy: pol.snapshot(KindGrant, ent.Settings), CreatedAt: o.now,
		}
		if err := o.begin(t, in.Requester, map[string]string{"duration": FormatDuration(dur), "emergency": fmt.Sprint(in.Emergency)}); err != nil {
			return err
		}
		task = t
		if in.Emergency {
			o.emergencyAlert(t, ent, "asks for")
		}
		return o.create(t)
	})
	return task, err
}

// emergencyAlert tells every admin (but the requester) by DM, and the
// emergency channel when one is configured, of an emergency request at
// once. The requester's own words stay on the task (its cards escape them).
func (o *op) emergencyAlert(t *Task, ent Entitlement, verb string) {
	msg := fmt.Sprintf(":rotating_light: Emergency request %s: %s %s %s for %s, under the emergency policy %q. Its reviewers are %s. Open the task (Details) to see why.",
		t.Number(), normEmail(t.Requester), verb, ent.Label(), FormatDuration(t.Duration), t.Policy.Name, strings.Join(t.PendingAssignees(), ", "))
	for _, a := range o.cat.Admins {
		if a = normEmail(a); a != "" && a != normEmail(t.Requester) {
			o.notify(&Notice{Recipient: a, Text: msg, Payload: DirectMessage{Event: "emergency", Task: t.Number()}})
		}
	}
	if ch := o.cat.EmergencyChannel; ch != "" {
		o.notify(&Notice{Text: msg, Payload: ChannelMessage{Channel: ch, Event: "emergency", Task: t.Number()}})
	}
}

// OriginEmergencyReview is the origin of the follow-up review the owners of
// an app get after an emergency grant.
const OriginEmergencyReview = "emergency_review"

// emergencyReviewPolicy is the policy of that follow-up: the app's and the
// resource's owners (else the admins) confirm to revoke the access or deny
// to keep it.
func (o *op) emergencyReviewPolicy(ent Entitlement) Policy {
	var admins []Principal
	for _, a := range o.cat.Admins {
		admins = append(admins, Principal("user:"+normEmail(a)))
	}
	p := Policy{Name: "emergency-review", Steps: []Step{{
		Type: StepReview, Approvers: []Principal{PrincipalResourceOwners, PrincipalAppOwners},
		Mode: ModeAny, Delegate: true, Fallback: admins,
	}}}
	return p.snapshot(KindRevoke, ent.Settings)
}

// followUpEmergency opens the follow-up review of the emergency grant g
// made by t, unless a revocation of g is open already.
func (o *op) followUpEmergency(t *Task, g *Grant) error {
	if g.ID != 0 {
		// (A grant made in this operation has no revocation yet.)
		open, err := o.rd.FindTasks(TaskQuery{Kind: KindRevoke, GrantID: g.ID, Statuses: []Status{StatusOpen, StatusError}, Limit: 1})
		if err != nil || len(open) > 0 {
			return err
		}
	}
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		return nil // the app left the configuration: nobody to ask
	}
	id, err := o.ids.NextTaskID()
	if err != nil {
		return err
	}
	r := &Task{
		ID: id, Kind: KindRevoke, Status: StatusOpen, Requester: SystemActor, Subject: t.Subject,
		AppID: t.AppID, ResourceID: t.ResourceID, Origin: OriginEmergencyReview, GrantID: g.ID,
		Justification: fmt.Sprintf("Follow-up review of the emergency access %s granted. Confirm to revoke it now; deny to keep it until it expires.", t.Number()),
		Policy:        o.emergencyReviewPolicy(ent), CreatedAt: o.now,
	}
	details := map[string]string{"grant": fmt.Sprint(g.ID), "emergency_task": t.Number()}
	o.onGrantID(g, func() { r.GrantID, details["grant"] = g.ID, fmt.Sprint(g.ID) })
	if err := o.begin(r, SystemActor, details); err != nil {
		return err
	}
	if err := o.audit(t, SystemActor, ActEmergencyFollowUp, "", map[string]string{"review": r.Number()}); err != nil {
		return err
	}
	return o.create(r)
}

// Emergency audit actions: a requester declaring an open request an
// emergency, and the follow-up review opened after an emergency grant.
const (
	ActEmergencyDeclared = "emergency_declared"
	ActEmergencyFollowUp = "emergency_follow_up"
)

// EmergencyInput turns an open request into an emergency.
type EmergencyInput struct {
	TaskID   int64
	Actor    string
	Reason   string
	Revision int64
}

// DeclareEmergency lets the requester of an open request escalate it to an
// emergency: it restarts under the emergency policy of its app or resource,
// its duration is capped to the emergency maximum, the admins are told at
// once, and the task's audit chain records who declared it and why.
func (e *Engine) DeclareEmergency(ctx context.Context, in EmergencyInput) (*Task, error) {
	in.Actor = normEmail(in.Actor)
	reason, err := text("reason", in.Reason, true)
	if err != nil {
		return nil, err
	}
	in.Reason = reason
	task, err := e.updateTask(ctx, in.TaskID, func(o *op, t *Task) error { return o.declareEmergency(t, in) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// declareEmergency restarts t under its emergency policy (in.Reason
// checked already).
func (o *op) declareEmergency(t *Task, in EmergencyInput) error {
	reason := in.Reason
	switch {
	case t.Kind != KindGrant || normEmail(t.Requester) != in.Actor:
		return Errorf(EFORBIDDEN, "Only the requester of %s can declare it an emergency.", t.Number())
	case t.Status.Closed():
		return staleError(t)
	case in.Revision != 0 && in.Revision != t.Revision:
		return staleError(t)
	case t.Emergency:
		return Errorf(ECONFLICT, "%s is already an emergency request.", t.Number())
	}
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		return err
	}
	if ent.EmergencyPolicy == "" {
		return Errorf(EINVALID, "%s has no emergency policy, so %s cannot become an emergency; ask its reviewers or an admin instead.", ent.Label(), t.Number())
	}
	pol, ok := o.cat.Policies[ent.EmergencyPolicy]
	if !ok {
		return Errorf(EINTERNAL, "policy %q of %s is missing from the configuration", ent.EmergencyPolicy, ent.Label())
	}
	details := map[string]string{"policy": pol.Name, "from_policy": t.Policy.Name}
	if longer(t.Duration, ent.EmergencyCap()) {
		details["duration_from"], details["duration_to"] = FormatDuration(t.Duration), FormatDuration(ent.EmergencyCap())
		t.Duration = ent.EmergencyCap()
	}
	if err := o.audit(t, in.Actor, ActEmergencyDeclared, reason, details); err != nil {
		return err
	}
	t.Emergency = true
	if err := o.reset(t, in.Actor, ActRestarted, "declared an emergency", pol.snapshot(KindGrant, ent.Settings)); err != nil {
		return err
	}
	o.emergencyAlert(t, ent, "declared an emergency for")
	return nil
}

// begin records a new task's creation and starts its first step.
func (o *op) begin(t *Task, actor string, details map[string]string) error {
	o.newChain(t.ID)
	t.Steps = make([]StepRun, len(t.Policy.Steps))
	for i := range t.Steps {
		t.Steps[i].Status = StepWaiting
	}
	t.Step = -1
	if details == nil {
		details = map[string]string{}
	}
	details["policy"] = t.Policy.Name
	details["app"] = t.AppID
	details["resource"] = t.ResourceID
	details["subject"] = t.Subject
	comment := t.Justification
	if err := o.audit(t, actor, ActCreated, comment, details); err != nil {
		return err
	}
	return o.advance(t)
}

// checkDuration applies the default and refuses what the entitlement forbids.
// Emergency access is capped by Entitlement.EmergencyCap: its default is
// the usual default or the cap, whichever is shorter, and it is never
// permanent.
func checkDuration(ent Entitlement, d time.Duration, emergency bool) (time.Duration, error) {
	if d == 0 {
		d = ent.DefaultDuration
		if emergency && (d == 0 || longer(d, ent.EmergencyCap())) {
			d = ent.EmergencyCap()
		}
	}
	if d == 0 {
		d = Permanent
	}
	if emergency && longer(d, ent.EmergencyCap()) {
		return 0, FieldError("duration", "Emergency access to %s lasts at most %s. Ask for %s or less; ask for longer access in a normal request.", ent.Label(), FormatDuration(ent.EmergencyCap()), FormatDuration(ent.EmergencyCap()))
	}
	if d < 0 && d != Permanent {
		return 0, FieldError("duration", "a duration must be positive")
	}
	if ent.MaxDuration > 0 && longer(d, ent.MaxDuration) {
		return 0, FieldError("duration", "%s is longer than the maximum of %s for %s. Ask for %s or less.", FormatDuration(d), FormatDuration(ent.MaxDuration), ent.Label(), FormatDuration(ent.MaxDuration))
	}
	return d, nil
}

// refuseDuplicate refuses a second open request for the same access, and a
// request for access already held (unless it asks to extend it).
func (o *op) refuseDuplicate(subject string, ent Entitlement, extension bool) error {
	res := ent.ResourceID()
	open, err := o.rd.FindTasks(TaskQuery{Kind: KindGrant, Subject: subject, AppID: ent.App.ID, ResourceID: &res, Statuses: []Status{StatusOpen, StatusError}, Limit: 1})
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return &Error{Code: ECONFLICT, Field: "resource", Message: fmt.Sprintf("You already have an open request for %s: %s.", ent.Label(), open[0].Number())}
	}
	if extension {
		return nil
	}
	held, err := o.rd.FindGrants(GrantQuery{Subject: subject, AppID: ent.App.ID, ResourceID: &res, Status: GrantActive, Limit: 1})
	if err != nil {
		return err
	}
	if len(held) > 0 {
		until := "permanently"
		if !held[0].Permanent() {
			until = "until " + held[0].ExpiresAt.UTC().Format("2006-01-02 15:04 MST")
		}
		return &Error{Code: ECONFLICT, Field: "resource", Message: fmt.Sprintf("You already have access to %s %s. Ask for an extension instead.", ent.Label(), until)}
	}
	return nil
}

// text trims s and checks it against the limits of free text: every
// justification, reason and comment goes through it. Text that is not valid
// UTF-8 or holds a NUL byte is refused (PostgreSQL cannot store it, and no
// keyboard types it); other control and bidi characters are kept and shown
// escaped by the renderers.
func text(field, s string, required bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", FieldError(field, "The %s is not valid UTF-8 text; type or paste it again as plain text.", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", FieldError(field, "The %s holds a NUL character, which accessbot does not store; remove it and try again.", field)
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", FieldError(field, "A %s is required: say why in a sentence.", field)
	}
	if n := utf8.RuneCountInString(s); n > MaxTextLen {
		return "", FieldError(field, "The %s is %d characters long; keep it under %d.", field, n, MaxTextLen)
	}
	return s, nil
}

// CheckText applies the free-text rules of the engine (length, UTF-8, NUL)
// to s, so an edge can refuse a field before it calls the engine.
func CheckText(field, s string, required bool) (string, error) { return text(field, s, required) }

// RevocationInput proposes to revoke someone's access.
type RevocationInput struct {
	Actor      string
	Subject    string
	AppID      string
	ResourceID string
	Reason     string
}

// ProposeRevocation creates a revoke task for an active grant. It may be
// proposed by the subject's manager, an owner of the app or resource, or an
// admin.
func (e *Engine) ProposeRevocation(ctx context.Context, in RevocationInput) (*Task, error) {
	in.Actor, in.Subject = normEmail(in.Actor), normEmail(in.Subject)
	reason, err := text("reason", in.Reason, true)
	if err != nil {
		return nil, err
	}
	var task *Task
	err = e.update(ctx, func(o *op) error {
		ent, err := o.cat.Entitlement(in.AppID, in.ResourceID)
		if err != nil {
			return err
		}
		if !o.mayRevoke(in.Actor, in.Subject, ent) {
			return Errorf(EFORBIDDEN, "Only %s's manager, an owner of %s or an admin can propose revoking it.", in.Subject, ent.Label())
		}
		res := ent.ResourceID()
		held, err := o.rd.FindGrants(GrantQuery{Subject: in.Subject, AppID: ent.App.ID, ResourceID: &res, Status: GrantActive, Limit: 1})
		if err != nil {
			return err
		}
		if len(held) == 0 {
			return FieldError("resource", "%s has no active access to %s, so there is nothing to revoke.", in.Subject, ent.Label())
		}
		g := held[0]
		open, err := o.rd.FindTasks(TaskQuery{Kind: KindRevoke, GrantID: g.ID, Statuses: []Status{StatusOpen, StatusError}, Limit: 1})
		if err != nil {
			return err
		}
		if len(open) > 0 {
			return Errorf(ECONFLICT, "%s already proposes revoking %s's access to %s.", open[0].Number(), in.Subject, ent.Label())
		}
		pol, ok := o.cat.Policies[ent.RevocationPolicy]
		if !ok {
			return Errorf(EINTERNAL, "revocation policy %q of %s is missing from the configuration", ent.RevocationPolicy, ent.Label())
		}
		id, err := o.ids.NextTaskID()
		if err != nil {
			return err
		}
		t := &Task{
			ID: id, Kind: KindRevoke, Status: StatusOpen, Requester: in.Actor, Subject: in.Subject,
			AppID: ent.App.ID, ResourceID: res, Justification: reason, Origin: OriginProposal, GrantID: g.ID,
			Policy: pol.snapshot(KindRevoke, ent.Settings), CreatedAt: o.now,
		}
		if err := o.begin(t, in.Actor, map[string]string{"grant": fmt.Sprint(g.ID)}); err != nil {
			return err
		}
		task = t
		return o.create(t)
	})
	return task, err
}

func (o *op) mayRevoke(actor, subject string, ent Entitlement) bool {
	if o.cat.IsAdmin(actor) {
		return true
	}
	if m := o.cat.Person(subject).Manager; m != "" && normEmail(m) == actor {
		return true
	}
	rc := resolveContext{cat: o.cat, subject: subject, ent: ent}
	for _, p := range rc.resolve(append(append([]Principal(nil), ent.Owners...), ent.App.Owners...)) {
		if p == actor {
			return true
		}
	}
	return false
}

// expiryPolicy is the policy of a revoke task made by an expiry: straight to
// deprovisioning.
var expiryPolicy = Policy{Name: "expiry", Steps: []Step{{Type: StepDeprovision, Delegate: true, Implicit: true}}}

// ExpireGrants ends every active grant whose expiry has passed: the grant is
// marked expired and, for apps provisioned by hand, a revoke task goes
// straight to deprovisioning. It returns how many grants it expired. Running
// it twice at the same instant does nothing the second time.
func (e *Engine) ExpireGrants(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := e.sweep(ctx, func(o *op) error {
			due, err := o.rd.FindGrants(GrantQuery{Status: GrantActive, ExpiresBefore: o.now, ByExpiry: true, Limit: SweepBatch})
			if err != nil {
				return err
			}
			n = len(due)
			return o.expireAll(due)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < SweepBatch {
			return total, nil
		}
	}
}

// expireAll expires gs, reading the tasks that made them and their chain
// heads in one go and writing the grants and those tasks in bulk.
func (o *op) expireAll(gs []*Grant) error {
	var srcIDs []int64
	for _, g := range gs {
		if g.TaskID != 0 {
			srcIDs = append(srcIDs, g.TaskID)
		}
	}
	// The tasks that made the grants only gain an event, which needs
	// their number, step and chain head: they are neither read whole nor
	// rewritten.
	srcs := map[int64]*Task{}
	if len(srcIDs) > 0 {
		steps, err := o.tx.TaskSteps(srcIDs)
		if err != nil {
			return err
		}
		for id, s := range steps {
			srcs[id] = &Task{ID: id, Step: s.Step}
			if _, known := o.heads[id]; !known {
				o.heads[id] = chainHead{seq: s.Head.Seq, hash: s.Head.Hash}
			}
		}
	}
	for _, g := range gs {
		if err := o.expire(g, srcs[g.TaskID]); err != nil {
			return fmt.Errorf("expire grant %d: %w", g.ID, err)
		}
	}
	o.endGrants(gs)
	return nil
}

// expire ends g, records it on src (the task that made it; nil when it is
// gone) and, for an app provisioned by hand, opens the revoke task that
// goes straight to deprovisioning. The caller saves g and src.
func (o *op) expire(g *Grant, src *Task) error {
	g.Status, g.EndedAt, g.UpdatedAt = GrantExpired, o.now, o.now
	label := g.AppID
	if g.ResourceID != "" {
		label += "/" + g.ResourceID
	}
	manual := true
	ent, err := o.cat.Entitlement(g.AppID, g.ResourceID)
	if err == nil {
		label = ent.Label()
		// Automatic apps too: the revoke task's deprovision step is the
		// connector's.
		manual = ent.Provisioning != ProvisioningNone
	}
	if src != nil {
		if err := o.audit(src, SystemActor, ActExpired, "", map[string]string{"grant": fmt.Sprint(g.ID)}); err != nil {
			return err
		}
		o.grantEnded(g)
	}
	o.notify(&Notice{Recipient: g.Subject, Text: fmt.Sprintf("Your access to %s has expired.", label), Payload: DirectMessage{Grant: g.ID, Event: "expired"}})
	if !manual {
		return nil
	}
	id, err := o.ids.NextTaskID()
	if err != nil {
		return err
	}
	g.EndTaskID = id
	t := &Task{
		ID: id, Kind: KindRevoke, Status: StatusOpen, Requester: SystemActor, Subject: g.Subject,
		AppID: g.AppID, ResourceID: g.ResourceID, Justification: "The access expired.", Origin: OriginExpiry,
		GrantID: g.ID, Policy: expiryPolicy, CreatedAt: o.now,
	}
	t.Policy = expiryPolicy.withConnector(ent.Settings)
	t.Policy.Steps = append([]Step(nil), t.Policy.Steps...)
	if err := o.begin(t, SystemActor, map[string]string{"grant": fmt.Sprint(g.ID)}); err != nil {
		return err
	}
	return o.create(t)
}
