package blocks

import (
	"fmt"
	"strings"
	"time"

	"accessbot/workflow"
)

// maxProgressSteps bounds the step lines a card lists.
const maxProgressSteps = 20

// headline says where the task is as a whole, in one line.
func headline(w words, t *workflow.Task) string {
	return headlineWith(w, t, bold, true)
}

// plainHeadline is headline for notification text: no emoji, no bold.
func plainHeadline(w words, t *workflow.Task) string {
	return headlineWith(w, t, asIs, false)
}

func headlineWith(w words, t *workflow.Task, b func(string) string, icons bool) string {
	icon := func(s string) string {
		if icons {
			return s + " "
		}
		return ""
	}
	by, comment, at := closing(t)
	switch t.Status {
	case workflow.StatusOpen:
		typ := stepTypeOf(t, t.Step)
		if typ == "" {
			return icon(":hourglass_flowing_sand:") + "Open."
		}
		if ConnectorBusy(t) {
			return icon(":gear:") + b(capitalize(connectorWorking(t.Kind, t.Steps[t.Step].Connector))) + fmt.Sprintf(" — step %d of %d.", t.Step+1, len(t.Policy.Steps))
		}
		s := fmt.Sprintf("%s%s to %s — step %d of %d", icon(":hourglass_flowing_sand:"), b("Waiting on "+w.list(t.PendingAssignees())), stepVerb(t.Kind, typ), t.Step+1, len(t.Policy.Steps))
		if started := t.Steps[t.Step].StartedAt; !started.IsZero() {
			s += ", since " + date(started)
		}
		return s + "."
	case workflow.StatusError:
		reason := inline(t.ErrorReason)
		if reason == "" {
			reason = "an unknown error"
		}
		return icon(":warning:") + b("Stopped:") + " " + truncate(reason, 1500) + "; admins have been told."
	case workflow.StatusDone:
		mark := ":white_check_mark:"
		if o := w.outcome(t); o != nil && o.Grant.Status == workflow.GrantRevoked {
			mark = ":no_entry:"
		} else if o != nil && o.Grant.Status == workflow.GrantExpired {
			mark = ":hourglass:"
		}
		return icon(mark) + doneLine(w, t, b)
	case workflow.StatusDenied:
		what := "Denied"
		if t.Kind == workflow.KindRevoke {
			what = "Revocation denied"
		}
		s := b(what) + " by " + w.who(by) + atDate(at) + withComment(comment)
		if t.Kind == workflow.KindRevoke {
			s += " The access stays."
		}
		return icon(":x:") + s
	case workflow.StatusNotProvisioned:
		return icon(":no_entry_sign:") + b("Not provisioned:") + " " + w.who(by) + " won't provision it" + withComment(comment)
	case workflow.StatusNotDeprovisioned:
		return icon(":no_entry_sign:") + b("Not deprovisioned:") + " " + w.who(by) + " won't deprovision it; the access may still be there" + withComment(comment)
	case workflow.StatusCanceled:
		who := b("Canceled by an admin") + " (" + w.who(by) + ")"
		if by == "" {
			who = b("Canceled by an admin")
		} else if sameEmail(by, t.Requester) {
			who = b("Canceled by the requester") + " (" + w.who(by) + ")"
		}
		return icon(":heavy_multiplication_x:") + who + atDate(at) + withComment(comment)
	}
	return icon(":grey_question:") + "Status: " + escape(string(t.Status)) + "."
}

// closing returns who ended the task's last step, their comment and when.
func closing(t *workflow.Task) (by, comment string, at time.Time) {
	at = t.ClosedAt
	if t.Step >= 0 && t.Step < len(t.Steps) {
		run := t.Steps[t.Step]
		by, comment = run.DecidedBy, run.Comment
		if !run.EndedAt.IsZero() {
			at = run.EndedAt
		}
	}
	if by == "" {
		by = t.Last.Actor
	}
	return by, comment, at
}

func atDate(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return " at " + date(at)
}

// withComment ends a sentence with what the person wrote: `: “…”` or ".".
func withComment(c string) string {
	c = inline(c)
	if c == "" {
		return "."
	}
	return ": “" + truncate(c, 1000) + "”"
}

// stepVerb is what the assignees of a step are asked to do.
func stepVerb(k workflow.Kind, s workflow.StepType) string { return workflow.WordsOf(k, s).Verb }

// doneLine says what a finished task achieved.
func doneLine(w words, t *workflow.Task, b func(string) string) string {
	last := len(t.Steps) - 1
	by, at := "", t.ClosedAt
	var typ workflow.StepType
	if last >= 0 && last < len(t.Policy.Steps) {
		by, typ = t.Steps[last].DecidedBy, t.Policy.Steps[last].Type
		if !t.Steps[last].EndedAt.IsZero() {
			at = t.Steps[last].EndedAt
		}
	}
	verb := map[workflow.StepType]string{
		workflow.StepReview:      "approved",
		workflow.StepProvision:   "provisioned",
		workflow.StepDeprovision: "deprovisioned",
	}[typ]
	if typ == workflow.StepReview && t.Kind == workflow.KindRevoke {
		verb = "confirmed"
	}
	if last >= 0 && t.Steps[last].Status == workflow.StepSkipped {
		verb = "skipped by an admin"
	}
	done := ""
	if verb != "" && by != "" {
		done = " " + capitalize(verb) + " by " + w.who(by) + atDate(at) + "."
	}
	if cr := connectorOf(t, last); cr != nil && cr.State == workflow.ConnectorDone && last >= 0 && t.Steps[last].Status == workflow.StepDone {
		done = " " + connectorDid(t.Kind, cr)
	}
	if t.Kind == workflow.KindRevoke {
		return b("Access removed.") + done
	}
	if g := w.outcome(t); g != nil {
		return grantLine(w, t, g, b) + done
	}
	switch {
	case t.Duration == workflow.Permanent:
		return b("Access granted") + ", permanently." + done
	case t.Duration <= 0 || t.ClosedAt.IsZero():
		return b("Access granted.") + done
	}
	exp := t.ClosedAt.Add(t.Duration)
	if !w.now.IsZero() && !w.now.Before(exp) {
		return b("Access granted") + "; it expired at " + date(exp) + "." + done
	}
	return b("Access active until "+date(exp)) + "." + done
}

// progress lists every step with its state, for cards that follow a task
// of more than one step.
func progress(w words, t *workflow.Task, current int) string {
	n := min(len(t.Steps), len(t.Policy.Steps))
	if n < 2 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n*Steps* · policy _" + inline(t.Policy.Name) + "_")
	for i := range min(n, maxProgressSteps) {
		icon, phrase := stepState(w, t, i)
		name := capitalize(stepName(t.Kind, t.Policy.Steps[i].Type))
		if i == current && t.Status == workflow.StatusOpen {
			name = "*" + name + "*"
		}
		fmt.Fprintf(&b, "\n%s %d. %s: %s", icon, i+1, name, truncateMrkdwn(phrase, 600))
	}
	if n > maxProgressSteps {
		fmt.Fprintf(&b, "\n%s %d more steps; see the details.", ellipsis, n-maxProgressSteps)
	}
	return b.String()
}

// stepState is an icon and a phrase for one step: "approved by @x at …".
func stepState(w words, t *workflow.Task, i int) (icon, phrase string) {
	run := t.Steps[i]
	typ := t.Policy.Steps[i].Type
	by := w.who(run.DecidedBy)
	at := atDate(run.EndedAt)
	switch run.Status {
	case workflow.StepWaiting, "":
		return ":white_circle:", "not started"
	case workflow.StepActive:
		if t.Status == workflow.StatusError && i == t.Step {
			return ":warning:", "stopped"
		}
		if i != t.Step || t.Status.Closed() {
			return ":heavy_minus_sign:", "ended"
		}
		if ConnectorBusy(t) {
			return ":gear:", connectorWorking(t.Kind, run.Connector)
		}
		s := "waiting on " + w.list(t.PendingAssignees())
		if !run.StartedAt.IsZero() {
			s += " since " + date(run.StartedAt)
		}
		return ":hourglass_flowing_sand:", s
	case workflow.StepApproved:
		verb := "approved"
		if t.Kind == workflow.KindRevoke {
			verb = "confirmed"
		}
		if t.Policy.Steps[i].Mode == workflow.ModeAll {
			var who []string
			for _, a := range run.Assignees {
				if a.State == workflow.AssignApproved {
					who = append(who, a.Email)
				}
			}
			if len(who) > 1 {
				by = w.list(who)
			}
		}
		return ":white_check_mark:", verb + " by " + by + at + withComment(run.Comment)
	case workflow.StepDenied:
		return ":x:", "denied by " + by + at + withComment(run.Comment)
	case workflow.StepDone:
		verb := "provisioned"
		if typ == workflow.StepDeprovision {
			verb = "deprovisioned"
		}
		if run.Connector != nil && run.Connector.State == workflow.ConnectorDone {
			s := connectorDid(t.Kind, run.Connector)
			return ":white_check_mark:", string(s[0]-'A'+'a') + s[1:]
		}
		if run.DecidedBy == "" || run.DecidedBy == workflow.SystemActor {
			return ":white_check_mark:", "done" + at + "."
		}
		return ":white_check_mark:", verb + " by " + by + at + withComment(run.Comment)
	case workflow.StepNotDone:
		verb := "won't provision"
		if typ == workflow.StepDeprovision {
			verb = "won't deprovision"
		}
		return ":no_entry_sign:", "marked " + verb + " by " + by + at + withComment(run.Comment)
	case workflow.StepSkipped:
		if run.DecidedBy == "" || run.DecidedBy == workflow.SystemActor {
			return ":fast_forward:", "skipped" + at + withComment(run.Comment)
		}
		return ":fast_forward:", "skipped by an admin (" + by + ")" + at + withComment(run.Comment)
	case workflow.StepCanceled:
		if run.DecidedBy == "" {
			return ":heavy_multiplication_x:", "canceled" + at + "."
		}
		return ":heavy_multiplication_x:", "canceled by " + by + at + withComment(run.Comment)
	}
	return ":grey_question:", escape(string(run.Status))
}

// outcome is what became of the grant t made, when the reader knows it.
func (w words) outcome(t *workflow.Task) *workflow.GrantOutcome {
	if g := w.grant; g != nil && g.Grant != nil && t.Kind == workflow.KindGrant && g.Grant.ID == t.GrantID {
		return g
	}
	return nil
}

// grantLine says where the access a finished grant task gave stands now:
// active until when, extended by a later task, expired, or revoked.
func grantLine(w words, t *workflow.Task, o *workflow.GrantOutcome, b func(string) string) string {
	g := o.Grant
	end := ""
	if o.Ended != nil {
		end = o.Ended.Number()
	} else if g.EndTaskID != 0 {
		end = fmt.Sprintf("T-%d", g.EndTaskID)
	}
	switch g.Status {
	case workflow.GrantRevoked:
		s := b("Access revoked")
		if o.Ended != nil && o.Ended.Requester != "" && o.Ended.Requester != workflow.SystemActor {
			s += " by " + w.who(o.Ended.Requester)
		}
		s += atDate(g.EndedAt)
		if end != "" {
			s += ", " + end
		}
		return s + "."
	case workflow.GrantExpired:
		at := g.ExpiresAt
		if at.IsZero() {
			at = g.EndedAt
		}
		s := b("Access expired at " + date(at))
		if end != "" {
			s += "; its removal by hand is " + end
		}
		return s + "."
	}
	if g.TaskID > t.ID {
		// A later request extended the grant; its cards say how long for.
		return b("Access granted") + fmt.Sprintf("; later extended by T-%d.", g.TaskID)
	}
	if g.Permanent() {
		return b("Access granted") + ", permanently."
	}
	if !w.now.IsZero() && !w.now.Before(g.ExpiresAt) {
		return b("Access granted") + "; it expired at " + date(g.ExpiresAt) + "."
	}
	return b("Access active until "+date(g.ExpiresAt)) + "."
}
