package bot

import (
	"context"
	"fmt"

	"accessbot/workflow"
)

// inSlack reports whether email is told things in Slack: people whose
// `notify:` is email get no cards and no DMs (the email channel tells
// them, package email).
func (w *delivery) inSlack(email string) bool {
	return w.engine.Catalog().NotifyOf(email).Slack()
}

// notInSlack handles an assignee Slack cannot reach: with an email channel
// the assignment goes out by email and Details says so ("notified by
// email"); without one the task stops with an error, as before, and stop
// is true.
func (w *delivery) notInSlack(ctx context.Context, t *workflow.Task, email string, cause error) (stop bool, err error) {
	reason := fmt.Sprintf("%s, assigned to step %d, cannot be reached in Slack (%v)", email, t.Step+1, cause)
	if w.engine.Catalog().Email {
		if _, err := w.engine.NotifiedByEmail(ctx, t.ID, email, reason); err != nil {
			return false, err
		}
		w.log.Warn().Int64("task", t.ID).Str("email", email).Msg("assignee not in Slack: notified by email")
		return false, nil
	}
	if _, err := w.engine.MarkError(ctx, t.ID, reason); err != nil {
		return false, err
	}
	w.log.Warn().Int64("task", t.ID).Str("email", email).Msg("assignee not in Slack: task stopped with an error")
	w.kick()
	return true, nil
}

// requesterNotInSlack: a requester Slack cannot reach gets no status card;
// with an email channel they hear the outcome by email instead.
func (w *delivery) requesterNotInSlack(ctx context.Context, t *workflow.Task, cause error) error {
	w.log.Warn().Err(cause).Int64("task", t.ID).Msg("requester is not in Slack; no status card")
	if !w.engine.Catalog().Email {
		return nil
	}
	_, err := w.engine.NotifiedByEmail(ctx, t.ID, t.Requester, fmt.Sprintf("%s, the requester, cannot be reached in Slack (%v)", t.Requester, cause))
	return err
}
