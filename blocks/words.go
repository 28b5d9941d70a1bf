package blocks

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"accessbot/workflow"
)

// Directory turns emails into Slack mentions. The bot implements it from its
// cache of users; Mention returns "<@U123>" when the person is known and the
// email otherwise.
type Directory interface {
	Mention(email string) string
}

// words renders people, times and labels for one reader.
type words struct {
	dir Directory
	now time.Time
	// grant is what became of the access the task being drawn gave (cards
	// and details of a finished grant task); nil when unknown.
	grant *workflow.GrantOutcome
}

// who is how a person appears in mrkdwn: a mention when the directory knows
// them, their (escaped) email otherwise.
func (w words) who(email string) string {
	switch {
	case email == "":
		return "nobody"
	case email == workflow.SystemActor:
		return "accessbot"
	case w.dir == nil:
		return escape(email)
	}
	m := w.dir.Mention(email)
	if m == "" {
		return escape(email)
	}
	return m
}

// maxListed is how many people a list names before it says "and N more".
const maxListed = 10

// list names people: "@a, @b and @c", or "@a, @b, … and 290 more".
func (w words) list(emails []string) string {
	return w.listN(emails, maxListed)
}

func (w words) listN(emails []string, max int) string {
	if len(emails) == 0 {
		return "nobody"
	}
	n := min(len(emails), max)
	names := make([]string, n)
	for i := range n {
		names[i] = w.who(emails[i])
	}
	if rest := len(emails) - n; rest > 0 {
		return strings.Join(names, ", ") + fmt.Sprintf(" and %d more", rest)
	}
	if n == 1 {
		return names[0]
	}
	return strings.Join(names[:n-1], ", ") + " and " + names[n-1]
}

// date is a Slack date token: each reader sees it in their own time zone;
// clients that cannot render it show the UTC fallback.
func date(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// since says how long ago t was, roughly: "3h", "2d", "just now".
func (w words) since(t time.Time) string {
	if t.IsZero() || w.now.IsZero() {
		return ""
	}
	return span(w.now.Sub(t))
}

// span writes a length of time in its largest whole unit.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
}

// entLabels returns the app and resource names, or the task's ids when the
// app is no longer in the configuration.
func entLabels(t *workflow.Task, ent workflow.Entitlement) (app, res string) {
	app, res = t.AppID, t.ResourceID
	if ent.App != nil && strings.EqualFold(ent.App.ID, t.AppID) {
		app = nonEmpty(ent.App.Name)
		if ent.Resource != nil {
			res = nonEmpty(ent.Resource.Name)
		}
	}
	return app, res
}

// entLabel is "GitHub / org-admin" (or "github/org-admin" from ids).
func entLabel(t *workflow.Task, ent workflow.Entitlement) string {
	app, res := entLabels(t, ent)
	if ent.App == nil && res != "" {
		return app + "/" + res
	}
	if res == "" {
		return app
	}
	return app + " / " + res
}

// stepName is what a step asks, as a noun.
func stepName(k workflow.Kind, s workflow.StepType) string { return workflow.WordsOf(k, s).Name }

// title is the card's title for a task at a step: "Access request",
// "Provisioning", "Revocation review", "Deprovisioning".
func title(k workflow.Kind, s workflow.StepType) string { return workflow.WordsOf(k, s).Title }

// kindTitle names a task as a whole: "Access request" or "Revocation".
func kindTitle(k workflow.Kind) string {
	if k == workflow.KindRevoke {
		return "Revocation"
	}
	return "Access request"
}

// stepTypeOf returns the type of step i of t's policy ("" when out of range).
func stepTypeOf(t *workflow.Task, i int) workflow.StepType {
	if i < 0 || i >= len(t.Policy.Steps) {
		return ""
	}
	return t.Policy.Steps[i].Type
}

// quote turns text people typed into an escaped mrkdwn block quote.
func quote(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "> " + strings.ReplaceAll(escape(s), "\n", "\n> ")
}

// inline is text people typed, escaped and on one line.
func inline(s string) string {
	return escape(strings.Join(strings.Fields(s), " "))
}

func sameEmail(a, b string) bool { return a != "" && strings.EqualFold(a, b) }

// emailRE finds email addresses in a text the engine wrote.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+`)

// Mentions replaces the emails in text (mrkdwn the engine wrote, such as a
// refusal: "it waits on bob@example.com") by mentions where dir knows the
// person, leaving `code` spans alone (a mention does not render there).
func Mentions(dir Directory, text string) string {
	if dir == nil || !strings.Contains(text, "@") {
		return text
	}
	parts := strings.Split(text, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = emailRE.ReplaceAllStringFunc(parts[i], func(e string) string {
			if m := dir.Mention(e); m != "" {
				return m
			}
			return e
		})
	}
	return strings.Join(parts, "`")
}
