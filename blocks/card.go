package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// CardInput is what a card shows and to whom.
type CardInput struct {
	Task *workflow.Task
	// Role says whose card it is: an assignee's DM, the requester's status
	// message or a channel post.
	Role workflow.CardRole
	// Viewer is the email of the card's owner ("" for a channel card).
	Viewer string
	// Step is the step an assignee card is for (workflow.Card.Step). When the
	// viewer has no assignment on it, the card is about the latest step they
	// are assigned on. Ignored for other roles.
	Step int
	// Ent is the app or resource; zero-valued when the app left the
	// configuration (the card then shows the task's ids).
	Ent workflow.Entitlement
	Dir Directory
	Now time.Time
	// Account is the subject's account in the app's system (the
	// configuration's people[].accounts), "" when none is known.
	Account string
	// Insights are what the viewer should know to review the task; the
	// strongest few make one line on the card. The bot passes them only
	// for a reviewer's card while the review waits on them.
	Insights []workflow.Insight
	// Grant is what became of the access a finished grant task gave (the
	// bot reads it with Engine.GrantOutcome); nil draws the task alone.
	Grant *workflow.GrantOutcome
}

// Card renders a task card: the notification (fallback) text and the
// blocks. The card has buttons only while its viewer can act: the task is
// open, the card is an assignee card for the current step and the viewer is
// pending on it, or it is a channel card and the current step is a
// provision or deprovision step. Otherwise it shows what happened.
func Card(in CardInput) (fallbackText string, blocks []slack.Block) {
	if in.Task == nil {
		return "This task no longer exists.", []slack.Block{section("This task no longer exists.")}
	}
	c := newCard(in)
	return c.fallback(), fitBlocks(c.blocks(), maxMessageBlocks)
}

// DeletedCard replaces every card of a task an admin deleted.
func DeletedCard(number string) (fallbackText string, blocks []slack.Block) {
	text := fmt.Sprintf("%s was deleted by an admin.", truncate(number, 40))
	return text, []slack.Block{section(":wastebasket: " + escape(text))}
}

// card is one rendering of a task for one viewer.
type card struct {
	in   CardInput
	t    *workflow.Task
	w    words
	step int                  // the step the card is about; -1 when none
	mine *workflow.Assignment // the viewer's assignment on step (assignee cards)
}

func newCard(in CardInput) *card {
	c := &card{in: in, t: in.Task, w: words{dir: in.Dir, now: in.Now, grant: in.Grant}, step: -1}
	t := c.t
	valid := func(i int) bool { return i >= 0 && i < len(t.Steps) && i < len(t.Policy.Steps) }
	if valid(t.Step) {
		c.step = t.Step
	}
	if in.Role != workflow.CardAssignee {
		return c
	}
	if valid(in.Step) && assignmentOf(&t.Steps[in.Step], in.Viewer) != nil {
		c.step = in.Step
	} else {
		for i := len(t.Steps) - 1; i >= 0; i-- {
			if valid(i) && assignmentOf(&t.Steps[i], in.Viewer) != nil {
				c.step = i
				break
			}
		}
	}
	if c.step >= 0 {
		c.mine = assignmentOf(&t.Steps[c.step], in.Viewer)
	}
	return c
}

// assignmentOf returns email's pending assignment on a step, else their
// latest one, else nil.
func assignmentOf(run *workflow.StepRun, email string) *workflow.Assignment {
	var last *workflow.Assignment
	for i := range run.Assignees {
		a := &run.Assignees[i]
		if !sameEmail(a.Email, email) {
			continue
		}
		if a.State == workflow.AssignPending {
			return a
		}
		last = a
	}
	return last
}

// def and run return the card's step, or nil.
func (c *card) def() *workflow.Step {
	if c.step < 0 {
		return nil
	}
	return &c.t.Policy.Steps[c.step]
}

func (c *card) run() *workflow.StepRun {
	if c.step < 0 {
		return nil
	}
	return &c.t.Steps[c.step]
}

// actionable reports whether the card shows buttons: the rule delivery
// records as the card's Final (workflow.CardActionable).
func (c *card) actionable() bool {
	return workflow.CardActionable(c.t, workflow.Card{Role: c.in.Role, Email: c.in.Viewer, Step: c.in.Step})
}

// title is the card's header: "T-12 · Access request".
func (c *card) title() string {
	if c.in.Role == workflow.CardRequester || c.step < 0 {
		return c.t.Number() + " · " + kindTitle(c.t.Kind)
	}
	return c.t.Number() + " · " + title(c.t.Kind, c.def().Type)
}

func (c *card) blocks() []slack.Block {
	t := c.t
	ref := EncodeRef(t.ID, t.Revision)
	bs := []slack.Block{
		header(c.title()),
		slack.NewSectionBlock(md(summary(c.w, t, c.in.Ent, bold), maxSectionText), nil,
			slack.NewAccessory(button(ActDetails, t.Number()+" details", ref, ""))),
	}
	if t.Emergency {
		bs = append(bs, section(":rotating_light: *Emergency* — asked for through the emergency policy."))
	}
	bs = append(bs, factsBlock(c.w, t, c.in.Ent, c.step, c.in.Account))
	if j := justification(t); j != "" {
		bs = append(bs, section(j))
	}
	if line := insightLine(c.in.Insights); line != "" {
		bs = append(bs, contextBlock(line))
	}
	act := c.actionable()
	if c.in.Role == workflow.CardAssignee && c.mine != nil {
		if note := c.assignmentNote(); note != "" {
			bs = append(bs, section(note))
		}
	}
	if cr := c.connectorFailed(); act && cr != nil {
		bs = append(bs, section(connectorFailedNote(t.Kind, cr)))
	}
	if act {
		if ins := instructions(c.in.Ent, c.def().Type); ins != "" {
			bs = append(bs, section(ins))
		}
	}
	if people := c.peopleLine(); people != "" {
		bs = append(bs, contextBlock(people))
	}
	if act {
		bs = append(bs, c.actions())
	} else {
		bs = append(bs, section(c.outcome()))
	}
	if c.in.Role == workflow.CardRequester && t.Kind == workflow.KindGrant && !t.Emergency && !t.Status.Closed() && c.in.Ent.EmergencyPolicy != "" {
		bs = append(bs, actions(button(ActDeclareEmergency, "Declare an emergency…", ref, slack.StyleDanger)))
	}
	return append(bs, contextBlock(c.footer()))
}

func bold(s string) string { return "*" + s + "*" }
func asIs(s string) string { return s }

// summary is one sentence: who asks what.
func summary(w words, t *workflow.Task, ent workflow.Entitlement, b func(string) string) string {
	label := b(escape(entLabel(t, ent)))
	req, subj := w.who(t.Requester), w.who(t.Subject)
	if t.Kind == workflow.KindRevoke {
		if t.Origin == workflow.OriginEmergencyReview {
			return fmt.Sprintf("%s got emergency access to %s: review it. Confirm removes the access now; Deny keeps it until it expires.", subj, label)
		}
		if t.Origin == workflow.OriginExpiry || t.Requester == workflow.SystemActor {
			if n := len(t.Policy.Steps); n > 0 && t.Policy.Steps[n-1].Connector != "" {
				return fmt.Sprintf("%s's access to %s expired; the %s connector removes it.", subj, label, escape(t.Policy.Steps[n-1].Connector))
			}
			return fmt.Sprintf("%s's access to %s expired; it must be removed by hand.", subj, label)
		}
		return fmt.Sprintf("%s proposes removing %s's access to %s.", req, subj, label)
	}
	whom := ""
	if !sameEmail(t.Requester, t.Subject) && t.Subject != "" {
		whom = " for " + subj
	}
	var s string
	if t.Duration == workflow.Permanent {
		s = fmt.Sprintf("%s asks for %s access to %s%s.", req, b("permanent"), label, whom)
	} else {
		s = fmt.Sprintf("%s asks for access to %s%s for %s.", req, label, whom, b(workflow.FormatDuration(t.Duration)))
	}
	if t.Extension {
		s += " It extends access already held."
	}
	return s
}

// factsBlock is the fields section: people, app, duration, step.
func factsBlock(w words, t *workflow.Task, ent workflow.Entitlement, step int, account string) slack.Block {
	app, res := entLabels(t, ent)
	fs := []string{"*Requester*\n" + w.who(t.Requester)}
	if t.Kind == workflow.KindRevoke {
		fs[0] = "*Proposed by*\n" + w.who(t.Requester)
		switch {
		case t.Origin == workflow.OriginEmergencyReview:
			fs[0] = "*Opened by*\naccessbot, after an emergency grant"
		case t.Origin == workflow.OriginExpiry || t.Requester == workflow.SystemActor:
			fs[0] = "*Opened by*\naccessbot, at expiry"
		}
		fs = append(fs, "*Whose access*\n"+w.who(t.Subject))
	} else if !sameEmail(t.Subject, t.Requester) && t.Subject != "" {
		fs = append(fs, "*For*\n"+w.who(t.Subject))
	}
	fs = append(fs, "*App*\n"+escape(app))
	if res != "" {
		fs = append(fs, "*Resource*\n"+escape(res))
	}
	if account != "" {
		fs = append(fs, "*Account*\n"+escape(truncate(account, 200)))
	}
	if t.Kind == workflow.KindGrant {
		d := "*Duration*\n" + workflow.FormatDuration(t.Duration)
		if cur, _, ok := t.Current(); ok && cur.Type == workflow.StepReview {
			if _, by := workflow.ApprovedDuration(t); by != "" {
				d += "\n_approved: it can be lowered, not raised_"
			}
		}
		fs = append(fs, d)
	}
	if n := len(t.Policy.Steps); n > 0 && step >= 0 {
		fs = append(fs, fmt.Sprintf("*Step*\n%d of %d · %s · policy _%s_", step+1, n, stepName(t.Kind, t.Policy.Steps[step].Type), inline(t.Policy.Name)))
	}
	return fields(fs...)
}

// justification is the request's justification or the revocation's reason.
func justification(t *workflow.Task) string {
	q := quote(t.Justification)
	if q == "" {
		return ""
	}
	if t.Kind == workflow.KindRevoke {
		return "*Reason*\n" + q
	}
	return "*Justification*\n" + q
}

// instructions are the app's provisioning instructions, on the cards of a
// provision or deprovision step. They come from the configuration and may
// hold mrkdwn links, so they are not escaped.
func instructions(ent workflow.Entitlement, typ workflow.StepType) string {
	ins := strings.TrimSpace(ent.Instructions)
	if ins == "" {
		return ""
	}
	switch typ {
	case workflow.StepProvision:
		return ":clipboard: *How to provision*\n" + ins
	case workflow.StepDeprovision:
		return ":clipboard: *How to deprovision* (the provisioning instructions)\n" + ins
	}
	return ""
}

// assignmentNote says how the viewer came to be assigned.
func (c *card) assignmentNote() string {
	a := c.mine
	switch a.Via {
	case workflow.ViaDelegated:
		return fmt.Sprintf(":arrow_right_hook: Delegated to you by %s.", c.w.who(a.From))
	case workflow.ViaReassign:
		s := fmt.Sprintf(":leftwards_arrow_with_hook: Reassigned to you by %s", c.w.who(a.From))
		if r := inline(a.Reason); r != "" {
			s += ": " + truncate(r, 1000)
		}
		return s
	case workflow.ViaFallback:
		return ":information_source: You are this step's fallback: its approvers resolved to nobody who can act."
	case workflow.ViaEscalated:
		s := ":arrow_double_up: Escalated to you"
		if a.From != "" {
			s += " from " + c.w.who(a.From)
		}
		return s + "."
	}
	return ""
}

// peopleLine names who else is on the card's step while it waits.
func (c *card) peopleLine() string {
	t := c.t
	run, def := c.run(), c.def()
	if run == nil || t.Status != workflow.StatusOpen || c.step != t.Step {
		return ""
	}
	switch {
	case c.in.Role == workflow.CardRequester:
		return "" // the outcome names them
	case c.in.Role == workflow.CardChannel && !c.actionable():
		return "" // the outcome names them
	case c.in.Role == workflow.CardAssignee && (c.mine == nil || c.mine.State == workflow.AssignReplaced || c.mine.State == workflow.AssignReleased):
		return "" // no longer theirs
	}
	if def.Mode == workflow.ModeAll && def.Type == workflow.StepReview {
		var parts []string
		for _, a := range run.Assignees {
			if a.State == workflow.AssignReplaced || a.State == workflow.AssignReleased {
				continue
			}
			parts = append(parts, c.w.who(a.Email)+" ("+assignState(a.State)+")")
		}
		return "Every assignee must approve: " + joinCapped(parts, maxListed)
	}
	var others []string
	for _, a := range run.Assignees {
		if a.State == workflow.AssignPending && !sameEmail(a.Email, c.in.Viewer) {
			others = append(others, a.Email)
		}
	}
	switch {
	case len(others) == 0:
		return ""
	case c.in.Role == workflow.CardChannel && len(others) == 1:
		return "Assigned: " + c.w.list(others) + "."
	case c.in.Role == workflow.CardChannel:
		return "Assigned: " + c.w.list(others) + ". Any one of them can act."
	}
	return "Also assigned: " + c.w.list(others) + ". Any one of you can act."
}

func joinCapped(parts []string, max int) string {
	if len(parts) <= max {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts[:max], ", ") + fmt.Sprintf(" and %d more", len(parts)-max)
}

func assignState(s workflow.AssignmentState) string {
	switch s {
	case workflow.AssignPending:
		return "waiting"
	case workflow.AssignNotDone:
		return "won't do"
	}
	return string(s)
}

// actions are the card's buttons and overflow menu for its step.
func (c *card) actions() slack.Block {
	t, def := c.t, c.def()
	ref := EncodeRef(t.ID, t.Revision)
	opt := func(text, o string) *slack.OptionBlockObject {
		return option(text, EncodeOption(o, t.ID, t.Revision))
	}
	var els []slack.BlockElement
	var opts []*slack.OptionBlockObject
	switch {
	case def.Type == workflow.StepReview && t.Kind == workflow.KindGrant:
		els = append(els, button(ActApprove, "Approve", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger))
		// Slack allows five overflow options; Details is the task-number button.
		opts = append(opts, opt("Approve with comment", OptApproveComment), opt("Deny with comment", OptDenyComment),
			opt("Edit duration", OptEditDuration), opt("Comment", OptComment), opt("Send reminder", OptRemind))
	case def.Type == workflow.StepReview:
		els = append(els, button(ActConfirm, "Confirm", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger))
		opts = append(opts, opt("Confirm with comment", OptConfirmComment), opt("Deny with comment", OptDenyComment),
			opt("Comment", OptComment), opt("Details", OptDetails), opt("Send reminder", OptRemind))
	case def.Type == workflow.StepProvision:
		els = append(els, button(ActProvisioned, "Provisioned", ref, slack.StylePrimary), button(ActWontProvision, "Won't provision", ref, slack.StyleDanger))
		opts = append(opts, opt("Provisioned, with comment", OptProvisionedComment), opt("Won't provision, with comment", OptWontProvisionComment),
			opt("Comment", OptComment), opt("Details", OptDetails), opt("Send reminder", OptRemind))
	default:
		els = append(els, button(ActDeprovisioned, "Deprovisioned", ref, slack.StylePrimary), button(ActWontDeprovision, "Won't deprovision", ref, slack.StyleDanger))
		opts = append(opts, opt("Deprovisioned, with comment", OptDeprovisionedComment), opt("Won't deprovision, with comment", OptWontDeprovisionComment),
			opt("Comment", OptComment), opt("Details", OptDetails), opt("Send reminder", OptRemind))
	}
	if c.connectorFailed() != nil {
		els = append(els, button(ActRetryConnector, "Retry", ref, ""))
	}
	if !def.Reassign.None {
		els = append(els, button(ActReassign, "Reassign…", ref, ""))
	}
	if len(opts) > maxOverflowOptions {
		opts = opts[:maxOverflowOptions]
	}
	els = append(els, slack.NewOverflowBlockElement(ActMore, opts...))
	return actions(els...)
}

// outcome says what happened on the card's step and where the task is now.
func (c *card) outcome() string {
	t := c.t
	if c.in.Role != workflow.CardAssignee || c.mine == nil {
		return headline(c.w, t) + progress(c.w, t, c.step)
	}
	run := c.run()
	mine := ""
	switch {
	case c.mine.State == workflow.AssignReplaced:
		mine = c.reassignedAway()
	case c.mine.State == workflow.AssignReleased && run.Status == workflow.StepActive && t.Status == workflow.StatusOpen:
		mine = ":heavy_minus_sign: You are no longer assigned to this step."
	case run.Status == workflow.StepActive && t.Status == workflow.StatusOpen && c.mine.State != workflow.AssignPending:
		mine = fmt.Sprintf(":white_check_mark: You %s at %s; the step waits on %s.", stateVerb(t.Kind, c.mine.State), date(c.mine.DecidedAt), c.w.list(t.PendingAssignees()))
	case run.Status == workflow.StepActive:
		// The task stopped or ended while the step waited: the headline says how.
	default:
		icon, phrase := stepState(c.w, t, c.step)
		mine = icon + " " + capitalize(phrase)
	}
	now := headline(c.w, t)
	switch {
	case mine == "":
		return now
	case t.Step == c.step && t.Status == workflow.StatusOpen:
		return mine
	case t.Step == c.step && c.mine.State != workflow.AssignReplaced:
		// The viewer's step ended the task: the headline says it all.
		return now
	}
	return mine + "\n*Now:* " + now
}

// reassignedAway says to whom the viewer handed the step.
func (c *card) reassignedAway() string {
	run := c.run()
	for i := len(run.Assignees) - 1; i >= 0; i-- {
		a := run.Assignees[i]
		if a.Via == workflow.ViaReassign && sameEmail(a.From, c.in.Viewer) {
			s := ":leftwards_arrow_with_hook: Reassigned to " + c.w.who(a.Email)
			if r := inline(a.Reason); r != "" {
				s += ": " + truncate(r, 1000)
			}
			return s
		}
	}
	return ":leftwards_arrow_with_hook: You handed this step to someone else."
}

// stateVerb is what an assignee did, in the past tense.
func stateVerb(k workflow.Kind, s workflow.AssignmentState) string {
	switch {
	case s == workflow.AssignApproved && k == workflow.KindRevoke:
		return "confirmed"
	case s == workflow.AssignDone:
		return "marked it done"
	case s == workflow.AssignNotDone:
		return "marked it won't do"
	}
	return string(s)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// footer is the card's last line: when the task was submitted and how long
// its current step has waited.
func (c *card) footer() string {
	t := c.t
	s := "Submitted " + date(t.CreatedAt)
	if ago := c.w.since(t.CreatedAt); ago != "" && t.Status == workflow.StatusOpen {
		s += " (" + ago + " ago)"
	}
	if t.Status.Closed() && !t.ClosedAt.IsZero() {
		s += " · closed " + date(t.ClosedAt)
	}
	return s
}

// fallback is the notification text.
func (c *card) fallback() string {
	t := c.t
	s := c.title() + ": " + summary(c.w, t, c.in.Ent, asIs)
	if t.Emergency {
		s = "Emergency! " + s
	}
	if c.actionable() && c.in.Role == workflow.CardAssignee {
		s += " Waiting on you."
	} else {
		s += " " + plainHeadline(c.w, t)
	}
	return truncateMrkdwn(s, maxFallbackText)
}
