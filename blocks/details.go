package blocks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// DetailsInput is what the Details modal shows and to whom.
type DetailsInput struct {
	Task *workflow.Task
	Ent  workflow.Entitlement // zero-valued when the app left the configuration
	// Events are the task's audit events, in chain order (oldest first).
	Events  []workflow.AuditEvent
	Viewer  string // email of the person who opened it
	IsAdmin bool
	Dir     Directory
	Now     time.Time
	// Insights are what a reviewer should know; all of them are shown,
	// each with its explanation.
	Insights []workflow.Insight
	// Grant is what became of the access a finished grant task gave; nil
	// when unknown.
	Grant *workflow.GrantOutcome
}

// Bounds of the Details modal, chosen so that it stays well inside Slack's
// 100 blocks whatever the task holds.
const (
	maxDetailSteps     = 15 // step sections
	maxStepAssignees   = 25 // assignee lines in one step
	maxComments        = 20 // newest comments shown
	maxCommentLen      = 1000
	maxCommentBlocks   = 8
	maxHistory         = 50 // newest events shown
	maxHistoryLineLen  = 500
	maxHistoryBlocks   = 12
	exportHint         = "see `accessbot audit export`"
	detailsCloseButton = "Close"
)

// DetailsModal shows everything about a task: the request, the execution
// plan with every step and assignee, the instructions, the comments and the
// latest audit events.
func DetailsModal(in DetailsInput) slack.ModalViewRequest {
	t := in.Task
	w := words{dir: in.Dir, now: in.Now, grant: in.Grant}
	bs := []slack.Block{section(summary(w, t, in.Ent, bold))}
	if t.Emergency {
		bs = append(bs, section(":rotating_light: *Emergency* — asked for through the emergency policy."))
	}
	bs = append(bs, detailFacts(w, t, in.Ent))
	if j := justification(t); j != "" {
		bs = append(bs, section(j))
	}
	bs = append(bs, section(headline(w, t)))
	if part := viewerPart(t, in.Viewer, in.IsAdmin); part != "" {
		bs = append(bs, contextBlock(part))
	}
	if in.IsAdmin {
		bs = append(bs, adminMenu(t))
	}
	bs = append(bs, insightBlocks(w, in.Insights)...)
	bs = append(bs, slack.NewDividerBlock(), section(planTitle(t)))
	bs = append(bs, planBlocks(w, t, in.Viewer)...)
	if ins := strings.TrimSpace(in.Ent.Instructions); ins != "" {
		bs = append(bs, section(":clipboard: *Provisioning instructions*\n"+ins))
	}
	bs = append(bs, commentBlocks(w, in.Events)...)
	bs = append(bs, historyBlocks(w, in.Events, in.IsAdmin, maxViewBlocks-len(bs)-3)...)
	if in.IsAdmin && t.AuditHead != "" {
		bs = append(bs, contextBlock(fmt.Sprintf("Admin view · audit chain head `%s` · revision %d", truncateRunes(t.AuditHead, 16), t.Revision)))
	}
	meta := ModalMeta{TaskID: t.ID, Revision: t.Revision, Action: ActDetails}
	return modal(CbDetails, t.Number()+" details", "", detailsCloseButton, meta, bs)
}

// detailFacts are the request's facts as fields.
func detailFacts(w words, t *workflow.Task, ent workflow.Entitlement) slack.Block {
	app, res := entLabels(t, ent)
	fs := []string{
		"*Task*\n" + t.Number() + " · " + strings.ToLower(kindTitle(t.Kind)),
		"*Status*\n" + statusWord(t.Status),
	}
	if t.Kind == workflow.KindRevoke {
		by := "*Proposed by*\n" + w.who(t.Requester)
		switch {
		case t.Origin == workflow.OriginEmergencyReview:
			by = "*Opened by*\naccessbot, after an emergency grant"
		case t.Origin == workflow.OriginExpiry || t.Requester == workflow.SystemActor:
			by = "*Opened by*\naccessbot, at expiry"
		}
		fs = append(fs, by, "*Whose access*\n"+w.who(t.Subject))
	} else {
		fs = append(fs, "*Requester*\n"+w.who(t.Requester))
		if !sameEmail(t.Subject, t.Requester) && t.Subject != "" {
			fs = append(fs, "*For*\n"+w.who(t.Subject))
		}
	}
	fs = append(fs, "*App*\n"+escape(app))
	if res != "" {
		fs = append(fs, "*Resource*\n"+escape(res))
	}
	if t.Kind == workflow.KindGrant {
		d := workflow.FormatDuration(t.Duration)
		if ent.MaxDuration > 0 {
			d += " (at most " + workflow.FormatDuration(ent.MaxDuration) + ")"
		}
		if t.Extension {
			d += ", an extension"
		}
		fs = append(fs, "*Duration*\n"+d)
	}
	fs = append(fs, "*Submitted*\n"+date(t.CreatedAt))
	if t.Status.Closed() && !t.ClosedAt.IsZero() {
		fs = append(fs, "*Closed*\n"+date(t.ClosedAt))
	}
	if t.Origin != "" {
		fs = append(fs, "*Origin*\n"+escape(t.Origin))
	}
	return fields(fs...)
}

func statusWord(s workflow.Status) string {
	if s == workflow.StatusError {
		return ":warning: " + s.Words().State
	}
	return escape(s.Words().State)
}

// viewerPart says what the viewer has to do with the task.
func viewerPart(t *workflow.Task, viewer string, isAdmin bool) string {
	var parts []string
	if sameEmail(viewer, t.Requester) {
		if t.Kind == workflow.KindRevoke {
			parts = append(parts, "you proposed this revocation")
		} else {
			parts = append(parts, "you asked for this")
		}
	} else if sameEmail(viewer, t.Subject) {
		parts = append(parts, "it is about your access")
	}
	for i := range t.Steps {
		if i >= len(t.Policy.Steps) {
			break
		}
		a := assignmentOf(&t.Steps[i], viewer)
		if a == nil {
			continue
		}
		s := fmt.Sprintf("you are assigned to step %d (%s)", i+1, assignState(a.State))
		if a.State == workflow.AssignPending && i == t.Step && t.Status == workflow.StatusOpen {
			s = fmt.Sprintf("*step %d waits on you*", i+1)
		}
		parts = append(parts, s)
	}
	if isAdmin {
		parts = append(parts, "you are an admin")
	}
	if len(parts) == 0 {
		return ""
	}
	return ":bust_in_silhouette: Your part: " + strings.Join(parts, "; ") + "."
}

func planTitle(t *workflow.Task) string {
	n := len(t.Policy.Steps)
	steps := "steps"
	if n == 1 {
		steps = "step"
	}
	return fmt.Sprintf("*Plan* · policy _%s_ · %d %s", inline(nonEmpty(t.Policy.Name)), n, steps)
}

// planBlocks is a section per step: its rule, its state and its assignees.
func planBlocks(w words, t *workflow.Task, viewer string) []slack.Block {
	n := min(len(t.Steps), len(t.Policy.Steps))
	var bs []slack.Block
	for i := range min(n, maxDetailSteps) {
		bs = append(bs, section(stepDetail(w, t, i, viewer)))
	}
	if n > maxDetailSteps {
		bs = append(bs, contextBlock(fmt.Sprintf("%s %d more steps; %s.", ellipsis, n-maxDetailSteps, exportHint)))
	}
	return bs
}

func stepDetail(w words, t *workflow.Task, i int, viewer string) string {
	def, run := t.Policy.Steps[i], t.Steps[i]
	icon, phrase := stepState(w, t, i)
	name := capitalize(stepName(t.Kind, def.Type))
	if i == t.Step && t.Status == workflow.StatusOpen {
		name += " (current)"
	}
	var rule []string
	switch {
	case def.Type != workflow.StepReview:
		rule = append(rule, "any one of them marks it")
	case def.Mode == workflow.ModeAll:
		rule = append(rule, "every assignee must approve")
	default:
		rule = append(rule, "any one approval passes")
	}
	if !def.Delegate {
		rule = append(rule, "no delegation")
	}
	if def.Reassign.None {
		rule = append(rule, "no reassignment")
	}
	if def.Implicit {
		rule = append(rule, "added because the app is provisioned by hand")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d. %s* · %s\n%s %s", i+1, name, strings.Join(rule, ", "), icon, truncateMrkdwn(phrase, 1000))
	// Room for the assignees, keeping some for the "and N more" line.
	room := maxSectionText - utf8.RuneCountInString(b.String()) - 40
	for j, a := range run.Assignees {
		line := "\n• " + truncateMrkdwn(assigneeLine(w, a, viewer), 500)
		n := utf8.RuneCountInString(line)
		if j == maxStepAssignees || n > room {
			fmt.Fprintf(&b, "\n%s and %d more", ellipsis, len(run.Assignees)-j)
			break
		}
		b.WriteString(line)
		room -= n
	}
	return b.String()
}

// assigneeLine is one assignee in the plan: state, how they came, and
// whether it is the viewer.
func assigneeLine(w words, a workflow.Assignment, viewer string) string {
	s := w.who(a.Email) + " — " + assignState(a.State)
	if !a.DecidedAt.IsZero() {
		s += " " + date(a.DecidedAt)
	}
	switch a.Via {
	case workflow.ViaDelegated:
		s += " · delegated by " + w.who(a.From)
	case workflow.ViaReassign:
		s += " · reassigned by " + w.who(a.From)
		if r := inline(a.Reason); r != "" {
			s += ": “" + truncate(r, 200) + "”"
		}
	case workflow.ViaFallback:
		s += " · fallback"
	case workflow.ViaEscalated:
		s += " · escalated"
	}
	if sameEmail(a.Email, viewer) {
		s += " :point_left: *you*"
	}
	return s
}

// commentBlocks shows the newest comments, oldest of them first.
func commentBlocks(w words, events []workflow.AuditEvent) []slack.Block {
	var comments []workflow.AuditEvent
	for _, e := range events {
		if e.Action == workflow.ActCommented && strings.TrimSpace(e.Comment) != "" {
			comments = append(comments, e)
		}
	}
	if len(comments) == 0 {
		return nil
	}
	sort.SliceStable(comments, func(i, j int) bool { return comments[i].Seq < comments[j].Seq })
	bs := []slack.Block{slack.NewDividerBlock(), section(fmt.Sprintf("*Comments* (%d)", len(comments)))}
	skipped := max(0, len(comments)-maxComments)
	lines := make([]string, 0, len(comments)-skipped)
	changes := workflow.CommentChanges(events)
	for _, c := range comments[skipped:] {
		body := quote(truncate(c.Comment, maxCommentLen))
		if ch, ok := changes[c.Seq]; ok && ch.Deleted {
			body = "_deleted_"
		} else if ok {
			body = quote(truncate(ch.Text, maxCommentLen)) + "\n_(edited)_"
		}
		lines = append(lines, fmt.Sprintf("*%s* · %s\n%s", w.who(c.Actor), date(c.At), body))
	}
	texts, used := joinLines(lines, maxSectionText, maxCommentBlocks)
	// Keep the newest: when the texts cannot hold every line, start later.
	for used < len(lines) {
		skipped++
		lines = lines[1:]
		texts, used = joinLines(lines, maxSectionText, maxCommentBlocks)
	}
	if skipped > 0 {
		bs = append(bs, contextBlock(fmt.Sprintf("%s %d earlier comments; %s.", ellipsis, skipped, exportHint)))
	}
	for _, s := range texts {
		bs = append(bs, section(s))
	}
	return bs
}

// historyBlocks shows the newest audit events first, within room blocks.
func historyBlocks(w words, events []workflow.AuditEvent, isAdmin bool, room int) []slack.Block {
	if len(events) == 0 || room < 3 {
		return nil
	}
	evs := append([]workflow.AuditEvent(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Seq > evs[j].Seq })
	lines := make([]string, 0, min(len(evs), maxHistory))
	changes := workflow.CommentChanges(events)
	for _, e := range evs[:min(len(evs), maxHistory)] {
		// A comment its author deleted in Slack stays in the audit export,
		// not on screen.
		seq := e.Seq
		if e.Action == workflow.ActCommentEdited {
			seq, _ = strconv.ParseInt(e.Details["comment_seq"], 10, 64)
		}
		if changes[seq].Deleted {
			e.Comment = ""
		}
		lines = append(lines, truncateMrkdwn(eventLine(w, e, isAdmin), maxHistoryLineLen))
	}
	texts, used := joinLines(lines, maxSectionText, min(maxHistoryBlocks, room-3))
	bs := []slack.Block{slack.NewDividerBlock(), section(fmt.Sprintf("*History* · %d events, newest first", len(evs)))}
	for _, s := range texts {
		bs = append(bs, section(s))
	}
	if more := len(evs) - used; more > 0 {
		bs = append(bs, contextBlock(fmt.Sprintf("%s %d more events; %s.", ellipsis, more, exportHint)))
	}
	return bs
}

// eventLine is one audit event: "<date> · @actor approved step 1: “…”".
func eventLine(w words, e workflow.AuditEvent, isAdmin bool) string {
	d := e.Details
	step := fmt.Sprintf("step %d", e.Step+1)
	var what string
	switch e.Action {
	case workflow.ActCreated:
		what = "opened the task"
	case workflow.ActAssigned:
		what = "assigned " + step + " to " + w.list(splitList(d["assignees"]))
		if v := d["via"]; v != "" && v != string(workflow.ViaPolicy) {
			what += " (" + escape(v) + ")"
		}
	case workflow.ActDelegated:
		what = "followed a delegation: " + w.who(d["from"]) + " → " + w.who(d["to"])
	case workflow.ActReassigned:
		what = "reassigned " + step + " to " + w.who(d["to"])
	case workflow.ActApproved, workflow.ActDenied, workflow.ActConfirmed, workflow.ActProvisioned, workflow.ActDeprovisioned, workflow.ActCanceled, workflow.ActRestarted:
		what = e.Action + " " + step
	case workflow.ActNotProvisioned:
		what = "marked won't provision"
	case workflow.ActNotDeprovision:
		what = "marked won't deprovision"
	case workflow.ActCommented:
		what = "commented"
	case workflow.ActCommentEdited:
		what = "edited a comment"
	case workflow.ActCommentDeleted:
		what = "deleted a comment"
	case workflow.ActDurationEdited:
		what = "changed the duration from " + escape(d["from"]) + " to " + escape(d["to"])
	case workflow.ActStepStarted:
		what = "started " + step
		if typ := d["type"]; typ != "" {
			what += " (" + escape(typ) + ")"
		}
	case workflow.ActStepSkipped:
		what = "skipped " + step
	case workflow.ActStepAuto:
		what = "passed " + step + " (nothing to do by hand)"
	case workflow.ActGranted, workflow.ActExtended:
		what = e.Action + " the access" + expiryWords(d["expires"])
	case workflow.ActError:
		what = "stopped: " + inline(d["reason"])
	case workflow.ActReminded:
		what = "sent a reminder to " + w.list(splitList(d["to"]))
	case workflow.ActHardReset:
		what = "hard reset the task"
	case workflow.ActPolicyChanged:
		what = "changed the policy to _" + inline(d["policy"]) + "_"
	case workflow.ActProcessedNow:
		what = "processed the task again"
	case workflow.ActNotifiedByEmail:
		what = "notified " + w.who(d["email"]) + " by email (not reachable in Slack; no card)"
	case workflow.ActEmailFailed:
		what = "could not email " + w.who(d["email"]) + ": " + inline(d["reason"])
	case workflow.ActConnectorQueued:
		what = "asked the " + escape(d["connector"]) + " connector to " + escape(d["action"]) + " the access"
	case workflow.ActConnectorDone:
		what = "the " + escape(d["connector"]) + " connector did it (attempt " + escape(d["attempt"]) + ")"
		if m := inline(d["message"]); m != "" {
			what += ": " + truncate(m, 300)
		}
	case workflow.ActConnectorRetry:
		what = "the " + escape(d["connector"]) + " connector failed on attempt " + escape(d["attempt"]) + " and retries: " + truncate(inline(d["error"]), 300)
	case workflow.ActConnectorFailed:
		what = "the " + escape(d["connector"]) + " connector failed (attempt " + escape(d["attempt"]) + "), so people take the step: " + truncate(inline(d["error"]), 300)
	case workflow.ActConnectorRetried:
		what = "pressed Retry for the " + escape(d["connector"]) + " connector"
	case workflow.ActConnectorStale:
		what = "the " + escape(d["connector"]) + " connector finished (" + escape(d["outcome"]) + ") after the task had moved on"
	default:
		what = escape(strings.ReplaceAll(e.Action, "_", " "))
	}
	s := date(e.At) + " · " + w.who(e.Actor) + " " + what
	if c := inline(e.Comment); c != "" && e.Action != workflow.ActCreated {
		s += ": “" + truncate(c, 300) + "”"
	}
	if isAdmin {
		s = fmt.Sprintf("`#%d` ", e.Seq) + s
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// expiryWords reads the engine's RFC 3339 expiry ("never" when permanent).
func expiryWords(s string) string {
	if s == "" {
		return ""
	}
	if s == "never" {
		return ", permanently"
	}
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return " until " + escape(s)
	}
	return " until " + date(at)
}
