package bot

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// Cards and modals are rendered by package blocks; this file adapts the
// bot's state to it.

// namer shows a person: a mention when their Slack id is known, else the
// email. It implements blocks.Directory.
type namer func(email string) string

// Mention implements blocks.Directory.
func (n namer) Mention(email string) string { return n(email) }

// actionable reports whether card should carry buttons; the bot records it
// as the card's Final, blocks.Card draws by the same rule.
func actionable(t *workflow.Task, c workflow.Card) bool { return workflow.CardActionable(t, c) }

// entitlement is the task's app or resource, zero when it left the
// configuration.
func entitlement(cat *workflow.Catalog, t *workflow.Task) workflow.Entitlement {
	ent, _ := cat.Entitlement(t.AppID, t.ResourceID)
	return ent
}

// renderCard returns a card's fallback text and blocks, and whether it is
// final (no buttons left): with the reviewer insights the card shows and,
// for a finished grant task, what became of its access.
func (w *delivery) renderCard(ctx context.Context, t *workflow.Task, c workflow.Card) (string, []slack.Block, bool) {
	in := blocks.CardInput{Task: t, Role: c.Role, Viewer: c.Email, Step: c.Step, Ent: entitlement(w.engine.Catalog(), t),
		Dir: w.dir.cardNamer(ctx, t.ID), Now: w.now(), Insights: w.cardInsights(ctx, t, c), Grant: w.grantOutcome(ctx, t)}
	in.Account = w.engine.Catalog().Account(t.Subject, t.AppID, in.Ent.Connector)
	text, bl := blocks.Card(in)
	return text, bl, !actionable(t, c)
}

// grantOutcome is what became of the access a finished grant task gave,
// or nil (not such a task, or the store could not say: the card is then
// drawn from the task alone, as before the grant ended).
func (w *delivery) grantOutcome(ctx context.Context, t *workflow.Task) *workflow.GrantOutcome {
	o, err := w.engine.GrantOutcome(ctx, t)
	if err != nil {
		w.logger(ctx).Warn().Err(err).Int64("task", t.ID).Msg("read the grant of a task")
		return nil
	}
	return o
}

func accessLabel(cat *workflow.Catalog, t *workflow.Task) string {
	if ent := entitlement(cat, t); ent.App != nil {
		return ent.Label()
	}
	if t.ResourceID != "" {
		return t.AppID + " / " + t.ResourceID
	}
	return t.AppID
}

// reassignHint says to whom the current step may be reassigned ("" for anyone).
func reassignHint(t *workflow.Task) string {
	step, _, ok := t.Current()
	if !ok || step.Reassign.Anyone() {
		return ""
	}
	ps := make([]string, len(step.Reassign.Allowed))
	for i, p := range step.Reassign.Allowed {
		ps[i] = string(p)
	}
	return strings.Join(ps, ", ")
}

// cut shortens s to n runes with an ellipsis.
func cut(s string, n int) string { return workflow.Truncate(s, n) }
