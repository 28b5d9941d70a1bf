package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"

	"accessbot/workflow"
)

// Link makes the link that opens accessbot's App Home in Slack.
type Link struct {
	TeamID string // T…
	AppID  string // A…
}

// AppHome is Slack's deep link into the App Home tab
// (slack://app?team=T…&id=A…&tab=home); "" without ids.
func (l Link) AppHome() string {
	if l.TeamID == "" || l.AppID == "" {
		return ""
	}
	return "slack://app?team=" + url.QueryEscape(l.TeamID) + "&id=" + url.QueryEscape(l.AppID) + "&tab=home"
}

// Web is the https form, which opens Slack (app or browser) on the app:
// https://slack.com/app_redirect?app=A…&team=T….
func (l Link) Web() string {
	if l.TeamID == "" || l.AppID == "" {
		return ""
	}
	return "https://slack.com/app_redirect?app=" + url.QueryEscape(l.AppID) + "&team=" + url.QueryEscape(l.TeamID)
}

// Kind is what an email tells.
type Kind string

const (
	KindAssigned   Kind = "assigned"   // a step of a task waits on the recipient
	KindReassigned Kind = "reassigned" // ... handed to them by someone, with the reason
	KindReminder   Kind = "reminder"   // Send reminder, or a task's reminder
	KindDigest     Kind = "digest"     // the scheduled reminder: every task waiting on them
	KindOutcome    Kind = "outcome"    // the recipient's request (or access) reached an outcome
	KindWarning    Kind = "warning"    // the recipient's access ends soon
	KindDirect     Kind = "direct"     // a plain message (delegation set, started, ended; expiry)
)

// Outcomes of a request, as KindOutcome names them.
const (
	OutcomeApproved       = "approved"
	OutcomeDenied         = "denied"
	OutcomeProvisioned    = "provisioned"
	OutcomeNotProvisioned = "not provisioned"
	OutcomeCanceled       = "canceled"
	OutcomeRevoked        = "revoked"
	OutcomeExpired        = "expired"
)

// Input is what one email is rendered from.
type Input struct {
	Kind      Kind
	Recipient string
	Task      *workflow.Task       // nil for digests and direct messages
	Ent       workflow.Entitlement // of Task; zero when the app left the config
	From      string               // reassigned or delegated from
	Reason    string               // why it was reassigned
	Outcome   string               // KindOutcome: one of the Outcome constants
	Text      string               // KindDirect, KindWarning, KindDigest: the message
	Topic     string               // KindDirect: what it is about ("delegation")
	Tasks     []*workflow.Task     // KindDigest: the tasks waiting
	Link      Link
}

// Rendered is an email's subject and parts.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// fact is one line of an email's facts.
type fact struct{ Name, Value string }

type view struct {
	Greeting string
	Lead     string // the one sentence that says what this is
	Facts    []fact
	Body     string // free text (direct messages), may span lines
	Tasks    []string
	Action   string           // what to do, in Slack
	AppHome  htmltemplate.URL // built from checked ids; html/template would blank the slack: scheme
	Web      string
}

// Limits keep emails readable whatever a request holds.
const (
	maxSubject = 200
	maxFact    = 2000
	maxBody    = 8000
)

// Render renders one email. It is pure: same input, same email.
func Render(in Input) Rendered {
	v := view{Greeting: "Hello " + firstName(in.Recipient) + ",", AppHome: htmltemplate.URL(in.Link.AppHome()), Web: in.Link.Web()}
	t := in.Task
	var subject string
	switch in.Kind {
	case KindAssigned, KindReassigned:
		subject = t.Number() + ": " + todo(t, in.Ent)
		v.Lead = fmt.Sprintf("%s waits on you: %s.", t.Number(), todo(t, in.Ent))
		if in.Kind == KindReassigned {
			v.Lead = fmt.Sprintf("%s reassigned %s to you: %s.", in.From, t.Number(), todo(t, in.Ent))
		} else if in.From != "" {
			v.Lead = fmt.Sprintf("%s waits on you as %s's delegate: %s.", t.Number(), in.From, todo(t, in.Ent))
		}
		v.Facts = taskFacts(t, in.Ent)
		if in.Reason != "" {
			v.Facts = append(v.Facts, fact{"Reason for reassigning", in.Reason})
		}
		v.Action = "Open accessbot's App Home in Slack to act on it; emails carry no buttons."
	case KindReminder:
		subject = t.Number() + ": reminder: " + todo(t, in.Ent)
		v.Lead = fmt.Sprintf("Reminder: %s still waits on you: %s.", t.Number(), todo(t, in.Ent))
		v.Facts = taskFacts(t, in.Ent)
		v.Action = "Open accessbot's App Home in Slack to act on it."
	case KindDigest:
		n := len(in.Tasks)
		subject = fmt.Sprintf("%d tasks wait on you", n)
		if n == 1 {
			subject = "1 task waits on you"
		}
		v.Lead = "Reminder: " + subject + "."
		for _, dt := range in.Tasks {
			v.Tasks = append(v.Tasks, dt.Number()+": "+todo(dt, workflow.Entitlement{}))
		}
		v.Action = "Open accessbot's App Home in Slack to act on them."
	case KindOutcome:
		subject = t.Number() + ": " + outcomeLine(t, in.Ent, in.Outcome)
		v.Lead = outcomeLine(t, in.Ent, in.Outcome) + "."
		v.Facts = taskFacts(t, in.Ent)
		v.Action = "See the task in accessbot's App Home in Slack."
	case KindWarning:
		subject = "your access ends soon"
		v.Lead = "Your access ends soon."
		v.Body = in.Text
		v.Action = "Request an extension in Slack if you still need it."
	default:
		subject = directSubject(in)
		v.Lead = ""
		v.Body = in.Text
	}
	if t != nil && in.Kind != KindDigest {
		if subject == "" {
			subject = t.Number()
		}
	}
	subject = "[accessbot] " + workflow.Truncate(oneLine(subject), maxSubject)
	v.Body = workflow.Truncate(v.Body, maxBody)
	for i := range v.Facts {
		v.Facts[i].Value = workflow.Truncate(v.Facts[i].Value, maxFact)
	}
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, v); err != nil {
		panic("email: text template: " + err.Error()) // the templates are fixed; a test renders each kind
	}
	if err := htmlTmpl.Execute(&hb, v); err != nil {
		panic("email: html template: " + err.Error())
	}
	return Rendered{Subject: subject, Text: tb.String(), HTML: hb.String()}
}

func directSubject(in Input) string {
	switch in.Topic {
	case "delegation":
		return "your delegation"
	case OutcomeExpired:
		return "your access has expired"
	}
	first, _, _ := strings.Cut(in.Text, ".")
	return workflow.Truncate(first, 80)
}

// todo says what the current step asks: "approve alice's access to GitHub / admin".
func todo(t *workflow.Task, ent workflow.Entitlement) string {
	who, what := possessive(t.Subject), label(t, ent)
	step := workflow.StepReview
	if t.Step >= 0 && t.Step < len(t.Policy.Steps) {
		step = t.Policy.Steps[t.Step].Type
	}
	switch {
	case step == workflow.StepProvision:
		return "provision " + who + " access to " + what
	case step == workflow.StepDeprovision:
		return "remove " + who + " access to " + what
	case t.Kind == workflow.KindRevoke:
		return "confirm removing " + who + " access to " + what
	}
	return "approve " + who + " access to " + what
}

func outcomeLine(t *workflow.Task, ent workflow.Entitlement, outcome string) string {
	what := label(t, ent)
	switch outcome {
	case OutcomeApproved:
		if t.Status == workflow.StatusOpen {
			return "your request for " + what + " was approved; it waits on provisioning"
		}
		return "your request for " + what + " was approved"
	case OutcomeProvisioned:
		return "your access to " + what + " was provisioned"
	case OutcomeRevoked:
		return "your access to " + what + " was revoked"
	}
	return "your request for " + what + " was " + outcome
}

func taskFacts(t *workflow.Task, ent workflow.Entitlement) []fact {
	fs := []fact{{"Task", t.Number() + " (" + string(t.Kind) + ")"}, {"Status", strings.ReplaceAll(string(t.Status), "_", " ")}}
	if t.Kind == workflow.KindRevoke {
		fs = append(fs, fact{"Whose access", t.Subject})
	} else {
		fs = append(fs, fact{"Requester", t.Requester})
		if !strings.EqualFold(t.Subject, t.Requester) && t.Subject != "" {
			fs = append(fs, fact{"For", t.Subject})
		}
	}
	fs = append(fs, fact{"Access", label(t, ent)})
	if t.Kind == workflow.KindGrant {
		d := workflow.FormatDuration(t.Duration)
		if t.Extension {
			d += ", an extension"
		}
		fs = append(fs, fact{"Duration", d})
	}
	if t.Emergency {
		fs = append(fs, fact{"Emergency", "asked for through the emergency policy"})
	}
	if j := strings.TrimSpace(t.Justification); j != "" {
		fs = append(fs, fact{"Justification", j})
	}
	if t.Step >= 0 && t.Step < len(t.Policy.Steps) && !t.Status.Closed() {
		fs = append(fs, fact{"Step", fmt.Sprintf("%d of %d: %s", t.Step+1, len(t.Policy.Steps), t.Policy.Steps[t.Step].Type)})
	}
	fs = append(fs, fact{"Submitted", t.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")})
	return fs
}

func label(t *workflow.Task, ent workflow.Entitlement) string {
	if ent.App != nil {
		return ent.Label()
	}
	if t.ResourceID != "" {
		return t.AppID + "/" + t.ResourceID
	}
	return t.AppID
}

// possessive is "alice's" for alice@example.com.
func possessive(email string) string {
	name := firstName(email)
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

func firstName(email string) string {
	local, _, _ := strings.Cut(email, "@")
	if local == "" {
		return "there"
	}
	return local
}

// oneLine folds line breaks (and other controls) to spaces: a header
// value must never start a new header.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
}

// MessageID is the Message-ID of the email of outbox row id to recipient
// about task taskID for purpose: the same on every retry, so a resend
// after a crash repeats the ID and mail systems may drop the copy.
func MessageID(taskID, rowID int64, recipient, purpose, domain string) string {
	h := sha256.Sum256([]byte(recipient + "\x00" + purpose))
	subject := "n"
	if taskID != 0 {
		subject = fmt.Sprintf("t%d", taskID)
	}
	return fmt.Sprintf("<accessbot.%s.%d.%s@%s>", subject, rowID, hex.EncodeToString(h[:6]), domain)
}

var textTmpl = texttemplate.Must(texttemplate.New("text").Parse(`{{.Greeting}}

{{if .Lead}}{{.Lead}}

{{end}}{{range .Facts}}{{.Name}}: {{.Value}}
{{end}}{{if .Body}}{{.Body}}
{{end}}{{range .Tasks}}- {{.}}
{{end}}{{if .Action}}
{{.Action}}
{{end}}{{if .AppHome}}Open in Slack: {{.AppHome}}
(or in a browser: {{.Web}})
{{end}}
-- 
accessbot. This email has no buttons: act on tasks in Slack.
`))

var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>{{.Greeting}}</p>
{{if .Lead}}<p><strong>{{.Lead}}</strong></p>{{end}}
{{if .Facts}}<table cellpadding="4" style="border-collapse: collapse">
{{range .Facts}}<tr><th align="left" valign="top">{{.Name}}</th><td style="white-space: pre-wrap">{{.Value}}</td></tr>
{{end}}</table>{{end}}
{{if .Body}}<p style="white-space: pre-wrap">{{.Body}}</p>{{end}}
{{if .Tasks}}<ul>{{range .Tasks}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Action}}<p>{{.Action}}</p>{{end}}
{{if .Web}}<p><a href="{{.Web}}">Open accessbot in Slack</a> (app: <a href="{{.AppHome}}">{{.AppHome}}</a>)</p>{{end}}
<p style="color: #666; font-size: smaller">accessbot. This email has no buttons: act on tasks in Slack.</p>
</body></html>
`))
