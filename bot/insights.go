package bot

import (
	"context"

	"accessbot/workflow"
)

// Reviewer insights (workflow.Engine.Insights) on the bot's surfaces. They
// inform a review and never hold it up: a failure to compute them is
// logged and the card or modal goes out without them.

// cardInsights returns the insights for a card: only a reviewer's own card
// while the review waits on them.
func (b *Bot) cardInsights(ctx context.Context, t *workflow.Task, c workflow.Card) []workflow.Insight {
	if c.Role != workflow.CardAssignee || !actionable(t, c) {
		return nil
	}
	return b.insightsFor(ctx, t, c.Email)
}

// detailInsights returns the insights the Details modal shows its viewer:
// a pending reviewer of the current step sees them as theirs, an admin
// sees them without the reviewer's own; the requester, the subject and
// other people see none.
func (b *Bot) detailInsights(ctx context.Context, t *workflow.Task, viewer string) []workflow.Insight {
	for _, p := range t.PendingAssignees() {
		if p == viewer {
			return b.insightsFor(ctx, t, viewer)
		}
	}
	if b.engine.Catalog().IsAdmin(viewer) {
		return b.insightsFor(ctx, t, "")
	}
	return nil
}

func (b *Bot) insightsFor(ctx context.Context, t *workflow.Task, reviewer string) []workflow.Insight {
	ins, err := b.engine.Insights(ctx, t, reviewer)
	if err != nil {
		b.log.Warn().Err(err).Int64("task", t.ID).Msg("insights not computed; shown without them")
		return nil
	}
	return ins
}
