package workflow

import (
	"fmt"
	"strings"
	"time"
)

// ActDelegationSkipped records a delegation not followed because its
// delegate is already on a step in all mode (see assign).
const ActDelegationSkipped = "delegation_skipped"

// advance moves t to the step after the current one (t.Step = -1 starts the
// first) and completes the task after the last step.
func (o *op) advance(t *Task) error {
	o.bump(t)
	next := t.Step + 1
	if next >= len(t.Policy.Steps) {
		return o.complete(t)
	}
	t.Step = next
	_, err := o.startStep(t)
	return err
}

// startStep resolves the current step's assignees. When nobody can act the
// task goes to the error state and startStep returns false.
func (o *op) startStep(t *Task) (bool, error) {
	step := &t.Policy.Steps[t.Step]
	run := &t.Steps[t.Step]
	// Assignees of an earlier attempt at this step (ProcessNow) stay on
	// record, released.
	prev := run.Assignees
	for i := range prev {
		if prev[i].State == AssignPending {
			prev[i].State = AssignReleased
		}
	}
	prevConn := run.Connector
	*run = StepRun{Status: StepActive, StartedAt: o.now, Assignees: prev}
	t.Status = StatusOpen
	t.ErrorReason = ""
	t.RemindedAt, t.EscalatedAt = timeZero, timeZero
	if err := o.audit(t, SystemActor, ActStepStarted, "", map[string]string{"step": fmt.Sprint(t.Step + 1), "type": string(step.Type)}); err != nil {
		return false, err
	}
	if step.Connector != "" && step.Type != StepReview {
		return true, o.startConnector(t, step, run, prevConn)
	}
	return o.assignStep(t, step, run)
}

// assignStep assigns the people of the current step (for a connector step
// that failed: the provisioners). When nobody can act the task goes to the
// error state and assignStep returns false.
func (o *op) assignStep(t *Task, step *Step, run *StepRun) (bool, error) {
	people, via, reason := o.candidates(t, step)
	if len(people) == 0 {
		return false, o.fail(t, reason)
	}
	for _, p := range people {
		if err := o.assign(t, step, run, Assignment{Email: p, Via: via, State: AssignPending}, people...); err != nil {
			return false, err
		}
	}
	names := make([]string, 0, len(run.Assignees))
	for _, a := range run.Assignees {
		if a.State == AssignPending {
			names = append(names, a.Email)
		}
	}
	return true, o.audit(t, SystemActor, ActAssigned, "", map[string]string{"assignees": strings.Join(names, ","), "via": string(via)})
}

// candidates resolves who should act on step: its approvers (or the app's
// provisioners), else its fallback. The subject is never a candidate, nor is
// the requester for a review or for provisioning their own access
// (Task.barred).
func (o *op) candidates(t *Task, step *Step) ([]string, Via, string) {
	ent, err := o.cat.Entitlement(t.AppID, t.ResourceID)
	if err != nil {
		return nil, "", fmt.Sprintf("the app or resource %s/%s is no longer in the configuration", t.AppID, t.ResourceID)
	}
	rc := resolveContext{cat: o.cat, subject: t.Subject, ent: ent}
	principals := step.Approvers
	switch step.Type {
	case StepProvision:
		principals = ent.Provisioners
	case StepDeprovision:
		principals = ent.Deprovisioners
	}
	exclude := func(list []string) []string {
		var out []string
		for _, p := range list {
			if t.barred(p, step) {
				continue
			}
			out = append(out, p)
		}
		return out
	}
	if people := exclude(rc.resolve(principals)); len(people) > 0 {
		return people, ViaPolicy, ""
	}
	if people := exclude(rc.resolve(step.Fallback)); len(people) > 0 {
		return people, ViaFallback, ""
	}
	what := "approvers"
	if step.Type != StepReview {
		what = string(step.Type) + "ers"
	}
	reason := fmt.Sprintf("step %d (%s) has nobody to act: its %s (%s) resolve to nobody other than the requester or the subject, and it has no fallback that does", t.Step+1, step.Type, what, principalList(principals))
	if len(principals) == 0 {
		reason = fmt.Sprintf("step %d (%s) has nobody to act: %s has no %s configured and the step has no fallback", t.Step+1, step.Type, ent.Label(), what)
	}
	return nil, "", reason
}

func principalList(ps []Principal) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// assign adds a to the step, following delegation where the step allows it.
// A person already pending on the step is not added twice. In a step in all
// mode, which needs as many distinct people as it has assignees, a
// delegation to someone already on the step (pending or decided) or among
// others (the people being assigned with a) falls back to a.Email, and
// someone who already decided on it is not added again.
func (o *op) assign(t *Task, step *Step, run *StepRun, a Assignment, others ...string) error {
	distinct := step.Mode == ModeAll
	if step.Delegate {
		final, chain, rules, err := o.delegateOf(a.Email, func(p string) bool { return t.barred(p, step) })
		if err != nil {
			return err
		}
		if final != a.Email && distinct && (onStep(run, final) || slicesContains(others, final)) {
			if err := o.audit(t, SystemActor, ActDelegationSkipped, "", map[string]string{
				"from": a.Email, "to": final, "chain": strings.Join(chain, " -> "), "rule": strings.Join(rules, "; "),
				"reason": final + " is already on this step, which needs distinct people: it stays with " + a.Email,
			}); err != nil {
				return err
			}
			final = a.Email
		}
		if final != a.Email {
			if err := o.audit(t, SystemActor, ActDelegated, "", map[string]string{
				"from": a.Email, "to": final, "chain": strings.Join(chain, " -> "), "rule": strings.Join(rules, "; "),
			}); err != nil {
				return err
			}
			if a.Via == ViaReassign {
				a.Reason = strings.TrimSpace(a.Reason + " (then delegated by " + a.Email + ")")
			} else {
				a.From = a.Email
				a.Via = ViaDelegated
			}
			a.Email = final
		}
	}
	for _, x := range run.Assignees {
		if x.Email == a.Email && (x.State == AssignPending || (distinct && onStep(run, x.Email))) {
			return nil
		}
	}
	run.Assignees = append(run.Assignees, a)
	return nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// delegateOf follows email's chain of active delegations and says which
// delegation each hop followed. A cycle, or a chain that reaches someone
// barred from the step (the requester, the subject), falls back to email
// itself.
func (o *op) delegateOf(email string, barred func(string) bool) (string, []string, []string, error) {
	chain := []string{email}
	var rules []string
	seen := map[string]bool{email: true}
	cur := email
	for {
		d, err := o.rd.Delegation(cur)
		if ErrorCode(err) == ENOTFOUND {
			break
		}
		if err != nil {
			return "", nil, nil, err
		}
		if !d.ActiveAt(o.now) {
			break
		}
		next := normEmail(d.Delegate)
		if seen[next] || barred(next) {
			return email, []string{email}, nil, nil
		}
		seen[next] = true
		chain = append(chain, next)
		rules = append(rules, delegationRule(d))
		cur = next
	}
	return cur, chain, rules, nil
}

// delegationRule names the delegation a hop followed, for the audit log.
func delegationRule(d *Delegation) string {
	when := "permanent"
	switch {
	case !d.Starts.IsZero() && !d.Ends.IsZero():
		when = "from " + formatExpiry(d.Starts) + " until " + formatExpiry(d.Ends)
	case !d.Ends.IsZero():
		when = "until " + formatExpiry(d.Ends)
	case !d.Starts.IsZero():
		when = "from " + formatExpiry(d.Starts)
	}
	return fmt.Sprintf("delegation of %s to %s (%s, set by %s)", d.Email, d.Delegate, when, d.SetBy)
}

// fail puts t in the error state, where admins see it and ProcessNow retries.
func (o *op) fail(t *Task, reason string) error {
	t.Status = StatusError
	t.ErrorReason = reason
	return o.audit(t, SystemActor, ActError, "", map[string]string{"reason": reason})
}

// complete ends a task whose steps all passed: a grant task makes its grant
// active (or extends the one it extends), a revoke task revokes the grant.
func (o *op) complete(t *Task) error {
	t.Status = StatusDone
	t.ClosedAt = o.now
	t.Step = len(t.Policy.Steps) - 1
	if t.Kind == KindGrant {
		return o.grant(t)
	}
	return o.revoke(t)
}

func (o *op) grant(t *Task) error {
	by := t.Last.Actor
	expires := timeZero
	if t.Duration != Permanent {
		expires = o.now.Add(t.Duration)
	}
	res := t.ResourceID
	existing, err := o.rd.FindGrants(GrantQuery{Subject: t.Subject, AppID: t.AppID, ResourceID: &res, Status: GrantActive, Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		g := existing[0]
		if g.Permanent() || (!expires.IsZero() && !expires.After(g.ExpiresAt)) {
			// The extension gives nothing the grant does not have already.
			t.GrantID = g.ID
			return o.audit(t, SystemActor, ActExtended, "", map[string]string{"grant": fmt.Sprint(g.ID), "expires": formatExpiry(g.ExpiresAt), "note": "existing access already lasts as long"})
		}
		prev := g.TaskID
		g.ExpiresAt, g.TaskID, g.GrantedBy, g.WarnedAt = expires, t.ID, by, timeZero
		o.saveGrant(g)
		if prev != 0 && prev != t.ID {
			// The task that held the grant until now says it was extended.
			o.notify(&Notice{TaskID: prev, Payload: TaskChanged{Resend: true, Grant: g.ID, GrantEvent: "extended"}})
		}
		t.GrantID = g.ID
		if err := o.audit(t, SystemActor, ActExtended, "", map[string]string{"grant": fmt.Sprint(g.ID), "expires": formatExpiry(expires)}); err != nil {
			return err
		}
		if t.Emergency {
			return o.followUpEmergency(t, g)
		}
		return nil
	}
	g := &Grant{Subject: t.Subject, AppID: t.AppID, ResourceID: t.ResourceID, Status: GrantActive,
		StartsAt: o.now, ExpiresAt: expires, TaskID: t.ID, GrantedBy: by, UpdatedAt: o.now}
	details := map[string]string{"grant": "", "expires": formatExpiry(expires)}
	// The grant gets its id when persist writes it, before the task and
	// the event that name it.
	o.createGrant(g, func() { t.GrantID, details["grant"] = g.ID, fmt.Sprint(g.ID) })
	if err := o.audit(t, SystemActor, ActGranted, "", details); err != nil {
		return err
	}
	if t.Emergency {
		return o.followUpEmergency(t, g)
	}
	return nil
}

func (o *op) revoke(t *Task) error {
	g, err := o.rd.Grant(t.GrantID)
	if err != nil {
		return err
	}
	if g.Status != GrantActive {
		// An expired grant whose access was removed by hand: nothing more to
		// record on the grant, the task's own events say it, and its holder
		// was told at expiry.
		return nil
	}
	g.Status, g.EndedAt, g.EndTaskID = GrantRevoked, o.now, t.ID
	o.saveGrant(g)
	if err := o.audit(t, SystemActor, ActRevoked, "", map[string]string{"grant": fmt.Sprint(g.ID)}); err != nil {
		return err
	}
	if !strings.EqualFold(g.Subject, t.Requester) {
		text := fmt.Sprintf("Your access to %s was revoked (%s, proposed by %s)", o.accessLabel(g.AppID, g.ResourceID), t.Number(), t.Requester)
		if r := strings.Join(strings.Fields(t.Justification), " "); r != "" {
			text += ": “" + r + "”"
		} else {
			text += "."
		}
		o.notify(&Notice{Recipient: g.Subject, Text: text,
			Payload: DirectMessage{Grant: g.ID, Event: "revoked", Task: t.Number()}})
	}
	o.grantEnded(g)
	// An extension that added nothing also shows the grant; its cards
	// follow too (a handful of tasks: one revocation at a time).
	others, err := o.rd.FindTasks(TaskQuery{Kind: KindGrant, GrantID: g.ID, Statuses: []Status{StatusDone}, Lean: true, Limit: 50})
	if err != nil {
		return err
	}
	for _, other := range others {
		if other.ID != g.TaskID {
			o.notify(&Notice{TaskID: other.ID, Payload: TaskChanged{Resend: true, Grant: g.ID, GrantEvent: string(g.Status)}})
		}
	}
	return nil
}

// grantEnded asks for the cards of the grant task that made (or last
// extended) g to be drawn again: they say what became of the access.
func (o *op) grantEnded(g *Grant) {
	if g.TaskID != 0 {
		o.notify(&Notice{TaskID: g.TaskID, Payload: TaskChanged{Resend: true, Grant: g.ID, GrantEvent: string(g.Status)}})
	}
}

// accessLabel names an app or resource as people know it ("GitHub /
// org-admin"), or by its ids once it left the configuration.
func (o *op) accessLabel(appID, resourceID string) string {
	if ent, err := o.cat.Entitlement(appID, resourceID); err == nil {
		return ent.Label()
	}
	if resourceID != "" {
		return appID + "/" + resourceID
	}
	return appID
}

var timeZero time.Time

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
