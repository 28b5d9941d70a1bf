package bot

import (
	"context"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// refreshCardAt re-renders the card shown as message ts in channel, unless
// it already shows the task's revision (the outbox got there first; a burst
// of double clicks then costs no chat.update).
func (w *delivery) refreshCardAt(ctx context.Context, channel, ts string) {
	card, err := w.store.CardByMessage(ctx, channel, ts)
	if err != nil {
		return
	}
	t, err := w.engine.Task(ctx, card.TaskID)
	if err != nil || card.Revision == t.Revision {
		return
	}
	if err := w.refreshCard(ctx, t, card, false); err != nil {
		w.logger(ctx).Warn().Err(err).Int64("task", t.ID).Msg("refresh stale card")
	}
}

// refreshClicked shows the person who clicked their card's new state at
// once, before the outbox gets to the task's other cards: through the
// click's response_url (not paced like chat.update, which a burst keeps
// busy for a minute), else by chat.update. The outbox then finds the card
// up to date and leaves it.
func (w *delivery) refreshClicked(ctx context.Context, m clickedMessage, t *workflow.Task) {
	card, err := w.store.CardByMessage(ctx, m.channel, m.ts)
	if err != nil {
		return
	}
	if t2, err := w.engine.Task(ctx, card.TaskID); err == nil {
		t = t2 // what the card must show now
	}
	if m.responseURL == "" {
		if err := w.refreshCard(ctx, t, card, false); err != nil {
			w.logger(ctx).Warn().Err(err).Int64("task", t.ID).Msg("update the clicked card")
		}
		return
	}
	defer w.cards.lock(card.ID)()
	if cur, err := w.store.CardByMessage(ctx, m.channel, m.ts); err == nil {
		card = cur
	}
	if card.Revision == t.Revision {
		return
	}
	text, bl, final := w.renderCard(ctx, t, *card)
	msg := &slack.WebhookMessage{Text: cut(text, 3900), Blocks: &slack.Blocks{BlockSet: bl}, ReplaceOriginal: true}
	err = w.slack.Respond(ctx, m.responseURL, msg)
	if err != nil {
		w.logger(ctx).Info().Err(err).Int64("task", t.ID).Msg("response_url refresh failed; the outbox updates the card")
		return
	}
	card.Revision, card.Final, card.UpdatedAt = t.Revision, final, w.now()
	if err := w.store.SaveCard(ctx, card); err != nil {
		w.logger(ctx).Warn().Err(err).Int64("task", t.ID).Msg("save the clicked card")
	}
}
