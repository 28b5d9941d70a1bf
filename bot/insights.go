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
func (w *delivery) cardInsights(ctx context.Context, t *workflow.Task, c workflow.Card) []workflow.Insight {
	if c.Role != workflow.CardAssignee || !actionable(t, c) {
		return nil
	}
	return w.insightsFor(ctx, t, c.Email)
}

func (w *delivery) insightsFor(ctx context.Context, t *workflow.Task, reviewer string) []workflow.Insight {
	ins, err := w.engine.Insights(ctx, t, reviewer)
	if err != nil {
		w.log.Warn().Err(err).Int64("task", t.ID).Msg("insights not computed; shown without them")
		return nil
	}
	return ins
}
