package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"accessbot/blocks"
	"accessbot/workflow"
)

// Task threads: a reply in the thread of a task's card becomes a comment on
// the task (edits and deletions follow it), and in a provisioning or
// deprovisioning card's thread an assignee acknowledges the step by the
// reply's first word (workflow.Threads). Replies are mirrored into the
// task's other threads by the outbox (mirrorComment).

// threadEvent is a message event about a person's thread reply.
type threadEvent struct {
	op      string // "", workflow.CommentOpEdited or workflow.CommentOpDeleted
	channel string
	ts      string // the reply
	thread  string // the thread's root: a card, if the thread is a task's
	user    string // the author; for an edit, the editor
	text    string
}

// threadEventOf picks the thread reply out of a message event. It reads
// nothing but the event, so the messages the bot has no business with
// (top-level messages, thread roots, its own posts and other bots', joins and
// other system subtypes) cost no database access.
func (b *Bot) threadEventOf(inner slackevents.EventsAPIInnerEvent) (threadEvent, bool) {
	ev, ok := inner.Data.(*slackevents.MessageEvent)
	if !ok || ev == nil {
		return threadEvent{}, false
	}
	te := threadEvent{channel: ev.Channel}
	var botID, subtype string
	switch ev.SubType {
	case "", "thread_broadcast", "file_share":
		te.ts, te.thread, te.user, te.text, botID = ev.TimeStamp, ev.ThreadTimeStamp, ev.User, ev.Text, ev.BotID
		subtype = ev.SubType
	case "message_changed":
		m := ev.Message
		if m == nil {
			return threadEvent{}, false
		}
		te.op = workflow.CommentOpEdited
		te.ts, te.thread, te.user, te.text, botID, subtype = m.Timestamp, m.ThreadTimestamp, m.User, m.Text, m.BotID, m.SubType
		if m.Edited == nil {
			// Slack also sends message_changed when a link unfurls or a
			// reply is added under a message; only a person's edit counts.
			return threadEvent{}, false
		}
		if m.Edited.User != "" {
			te.user = m.Edited.User
		}
	case "message_deleted":
		m := ev.PreviousMessage
		if m == nil {
			return threadEvent{}, false
		}
		te.op = workflow.CommentOpDeleted
		te.ts, te.thread, te.user, botID, subtype = ev.DeletedTimeStamp, m.ThreadTimestamp, m.User, m.BotID, m.SubType
		if te.ts == "" {
			te.ts = m.Timestamp
		}
	default:
		return threadEvent{}, false
	}
	switch {
	case te.channel == "" || te.ts == "" || te.thread == "" || te.thread == te.ts:
		return threadEvent{}, false // not a reply in a thread
	case botID != "" || subtype == "bot_message" || te.user == "" || te.user == b.botUserID:
		return threadEvent{}, false // the bot itself, or another bot: no loops
	case te.op != workflow.CommentOpDeleted && strings.TrimSpace(te.text) == "":
		return threadEvent{}, false // a file with no words: nothing to keep
	}
	return te, true
}

// ignoreEvent reports, from the event alone, that it needs no work; the
// loop then skips even the duplicate check.
func (b *Bot) ignoreEvent(ev slackevents.EventsAPIEvent) bool {
	if ev.InnerEvent.Type != "message" {
		return false
	}
	_, ok := b.threadEventOf(ev.InnerEvent)
	return !ok
}

// threadMessage handles a message event: a reply, edit or deletion in the
// thread of a task's card. Anything else is dropped after at most one
// indexed lookup (the card by its message).
func (b *Bot) threadMessage(ctx context.Context, inner slackevents.EventsAPIInnerEvent, eventID string) {
	te, ok := b.threadEventOf(inner)
	if !ok {
		return
	}
	card, err := b.store.CardByMessage(ctx, te.channel, te.thread)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		return // a thread that is no task's
	}
	lc := b.logger(ctx).With().Str("event_id", eventID).Str("channel", te.channel).Str("ts", te.ts)
	if m, _ := inner.Data.(*slackevents.MessageEvent); m == nil || m.User == "" {
		lc = lc.Str("slack_user", te.user) // an edit or deletion: the envelope names nobody
	}
	log := lc.Logger()
	if err != nil {
		log.Error().Err(err).Msg("read the card of a thread")
		return
	}
	log = log.With().Int64("task", card.TaskID).Logger()
	email, err := b.dir.actorEmail(ctx, te.user)
	if err != nil {
		log.Warn().Err(err).Msg("thread reply by someone accessbot cannot identify")
		if te.op == "" {
			b.threadAnswer(ctx, log, te, blocks.Escape(workflow.ErrorMessage(err))+" Your reply was not added to the task.")
		}
		return
	}
	log = log.With().Str("email", email).Logger()
	ref := workflow.MessageRef{Channel: te.channel, TS: te.ts}
	switch te.op {
	case workflow.CommentOpEdited:
		changed, err := retryNotFound(ctx, func() (bool, error) {
			return b.engine.EditComment(ctx, workflow.CommentEdit{TaskID: card.TaskID, Actor: email, Message: ref, Text: te.text})
		})
		b.commentChanged(log, "edited", changed, err)
	case workflow.CommentOpDeleted:
		changed, err := retryNotFound(ctx, func() (bool, error) {
			return b.engine.DeleteComment(ctx, workflow.CommentEdit{TaskID: card.TaskID, Actor: email, Message: ref})
		})
		b.commentChanged(log, "deleted", changed, err)
	default:
		b.threadReply(ctx, log, te, card, email, ref)
	}
}

// editWaits are the pauses before an edit or deletion looks for its comment
// again. Events are handled side by side, so an edit made right after the
// reply can be handled before the reply is saved.
var editWaits = []time.Duration{200 * time.Millisecond, 800 * time.Millisecond}

func retryNotFound(ctx context.Context, fn func() (bool, error)) (bool, error) {
	changed, err := fn()
	for _, d := range editWaits {
		if workflow.ErrorCode(err) != workflow.ENOTFOUND {
			break
		}
		select {
		case <-ctx.Done():
			return changed, err
		case <-time.After(d):
		}
		changed, err = fn()
	}
	return changed, err
}

// commentChanged logs the outcome of an edit or deletion. A message that
// carried no comment (a bare "done", a refused reply) has nothing to change.
func (b *Bot) commentChanged(log zerolog.Logger, what string, changed bool, err error) {
	switch code := workflow.ErrorCode(err); {
	case err == nil && changed:
		log.Info().Msg("thread comment " + what)
		b.out.kick()
	case err == nil:
		log.Debug().Msg("thread comment unchanged")
	case code == workflow.ENOTFOUND:
		log.Debug().Err(err).Msg("no comment to " + strings.TrimSuffix(what, "ed"))
	case code == workflow.EINTERNAL:
		log.Error().Err(err).Msg("thread comment not " + what)
	default:
		log.Info().AnErr("reason", err).Msg("thread comment not " + what)
	}
}

// threadReply makes a new reply a comment, or an acknowledgment of the step
// when it starts with one of the configured words and its author may act.
func (b *Bot) threadReply(ctx context.Context, log zerolog.Logger, te threadEvent, card *workflow.Card, email string, ref workflow.MessageRef) {
	t, err := b.engine.Task(ctx, card.TaskID)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		return // deleted; its cards say so
	}
	if err != nil {
		log.Error().Err(err).Msg("read the task of a thread")
		return
	}
	action, rest := b.engine.Catalog().ThreadsOrDefault().Acknowledgment(cardStep(t, card), te.text)
	why := ""
	if action != "" {
		answer, acted := b.acknowledge(ctx, t, card, email, action, rest, ref)
		if acted {
			log.Info().Str("decision", string(action)).Msg("acknowledged in a thread")
			b.out.kick()
			b.threadAnswer(ctx, log, te, answer)
			return
		}
		log.Info().Str("decision", string(action)).Str("reason", answer).Msg("acknowledgment refused; kept as a comment")
		why = answer
	}
	_, err = b.engine.Comment(ctx, workflow.CommentInput{TaskID: t.ID, Actor: email, Text: te.text, Source: workflow.SourceThread, Message: ref})
	switch {
	case err == nil && why != "":
		b.threadAnswer(ctx, log, te, why+" Your reply was kept as a comment on "+t.Number()+".") // why is escaped by acknowledge
	case err == nil:
		log.Info().Msg("thread reply added as a comment")
	case workflow.ErrorCode(err) == workflow.EINTERNAL:
		log.Error().Err(err).Msg("thread comment")
		b.threadAnswer(ctx, log, te, "accessbot could not save your reply on "+t.Number()+" because of an internal error; please post it again later.")
		return
	default:
		log.Info().AnErr("reason", err).Msg("thread comment refused")
		msg := blocks.Escape(workflow.ErrorMessage(err)) + " Your reply was not added to " + t.Number() + "."
		if why != "" {
			msg = why + " " + msg
		}
		b.threadAnswer(ctx, log, te, msg)
		return
	}
	b.out.kick()
}

// cardStep is the type of the step a card is for ("" for the requester's
// status card, which acknowledges nothing).
func cardStep(t *workflow.Task, c *workflow.Card) workflow.StepType {
	if c.Role == workflow.CardRequester || c.Step < 0 || c.Step >= len(t.Policy.Steps) {
		return ""
	}
	return t.Policy.Steps[c.Step].Type
}

// acknowledge applies an acknowledgment word and returns the answer for the
// thread, and whether the step was acted on; when not, the answer says why.
func (b *Bot) acknowledge(ctx context.Context, t *workflow.Task, card *workflow.Card, email string, action workflow.Action, rest string, ref workflow.MessageRef) (string, bool) {
	wont := action == workflow.ActionWontProvision || action == workflow.ActionWontDeprovision
	switch {
	case t.Status.Closed():
		return fmt.Sprintf("%s is %s, so a reply no longer changes it.", t.Number(), statusWords(t.Status)), false
	case card.Step != t.Step:
		return fmt.Sprintf("This card is for step %d of %s, which is over, so nothing was marked.", card.Step+1, t.Number()), false
	case wont && rest == "":
		return fmt.Sprintf("To mark %s as not done, give the reason after the word, like \"won't: the team lead must ask\"; nothing was marked.", t.Number()), false
	}
	// The revision read here makes the decision stale if the task moved on
	// meanwhile, as a click on an old card would be.
	_, err := b.engine.Decide(ctx, action, workflow.Decision{TaskID: t.ID, Actor: email, Revision: t.Revision, Comment: rest, Message: ref})
	if err != nil {
		if workflow.ErrorCode(err) == workflow.EINTERNAL {
			b.logger(ctx).Error().Err(err).Int64("task", t.ID).Msg("acknowledge in a thread")
			return fmt.Sprintf("accessbot could not mark %s because of an internal error; use the card's buttons or try again later.", t.Number()), false
		}
		return blocks.Escape(workflow.ErrorMessage(err)) + " Nothing was marked.", false
	}
	what := map[workflow.Action]string{
		workflow.ActionProvisioned:     "provisioned",
		workflow.ActionWontProvision:   "won't provision",
		workflow.ActionDeprovisioned:   "deprovisioned",
		workflow.ActionWontDeprovision: "won't deprovision",
	}[action]
	msg := fmt.Sprintf(":white_check_mark: %s marked %s %s (%s).", b.dir.namer(ctx)(email), t.Number(), what, accessLabel(b.engine.Catalog(), t))
	if wont {
		msg = fmt.Sprintf(":no_entry_sign: %s marked %s %s (%s).", b.dir.namer(ctx)(email), t.Number(), what, accessLabel(b.engine.Catalog(), t))
	}
	if rest != "" {
		msg += " Comment: “" + blocks.Escape(cut(rest, 300)) + "”"
	}
	return msg, true
}

func statusWords(s workflow.Status) string { return s.Words().Ending }

// threadAnswer replies in the thread te happened in.
func (b *Bot) threadAnswer(ctx context.Context, log zerolog.Logger, te threadEvent, text string) {
	err := b.slack.Send(ctx, te.channel, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionTS(te.thread))
	if err != nil {
		log.Warn().Err(err).Msg("answer in thread failed")
	}
}
