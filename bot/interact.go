package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// click is one block action on a card, with where it happened.
type click struct {
	cb      slack.InteractionCallback
	action  *slack.BlockAction
	channel string
	ts      string
	log     zerolog.Logger
}

// message is the message c came from, for delivery to redraw.
func (c click) message() clickedMessage {
	return clickedMessage{channel: c.channel, ts: c.ts, responseURL: c.cb.ResponseURL, shown: c.cb.Message.Msg.Blocks.BlockSet, log: &c.log}
}

// fromDigest reports whether a click came from a reminder digest.
func fromDigest(c click) bool {
	return strings.HasPrefix(c.action.BlockID, blocks.BlockDigestActions) || strings.HasPrefix(c.action.BlockID, blocks.BlockDigestTask)
}

// interaction handles a block_actions payload (clicks on cards).
func (b *Bot) interaction(ctx context.Context, cb slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		b.logger(ctx).Debug().Str("interaction", string(cb.Type)).Msg("interaction not handled")
		return
	}
	c := click{cb: cb, action: cb.ActionCallback.BlockActions[0], channel: cb.Container.ChannelID, ts: cb.Container.MessageTs}
	if c.channel == "" {
		c.channel = cb.Channel.ID
	}
	c.log = b.logger(ctx).With().Str("action", c.action.ActionID).Logger() // slack_user: the envelope's logger
	if cb.Container.Type == "view" {
		b.viewAction(ctx, cb)
		return
	}
	if fn, ok := b.reg.card[c.action.ActionID]; ok {
		fn(ctx, c)
		return
	}
	b.refuse(ctx, c, fmt.Sprintf("accessbot does not know the action %q; nothing was changed.", cut(c.action.ActionID, 60)), nil)
}

// cardRef reads the task and revision a card's button names; a button
// that names none is refused.
func (b *Bot) cardRef(ctx context.Context, c click) (taskID, rev int64, ok bool) {
	taskID, rev, err := blocks.DecodeRef(c.action.Value)
	if err != nil {
		b.refuse(ctx, c, "That button does not name a task accessbot knows.", err)
		return 0, 0, false
	}
	return taskID, rev, true
}

// decideClick is a decision button on a card.
func (b *Bot) decideClick(ctx context.Context, c click) {
	action, _ := blocks.ButtonAction(c.action.ActionID)
	if taskID, rev, ok := b.cardRef(ctx, c); ok {
		b.decide(ctx, c, action, taskID, rev)
	}
}

// modalClick is a card button that opens the modal what.
func (b *Bot) modalClick(what string) clickFunc {
	return func(ctx context.Context, c click) {
		if taskID, rev, ok := b.cardRef(ctx, c); ok {
			b.openModal(ctx, c, what, taskID, rev)
		}
	}
}

// moreClick is an option of a card's overflow menu: a reminder, or a
// modal.
func (b *Bot) moreClick(ctx context.Context, c click) {
	opt, taskID, rev, err := blocks.DecodeOption(c.action.SelectedOption.Value)
	if err != nil {
		b.refuse(ctx, c, "accessbot does not know that menu option.", err)
		return
	}
	if opt == blocks.OptRemind {
		b.remind(ctx, c, taskID)
		return
	}
	b.openModal(ctx, c, opt, taskID, rev)
}

// decide applies a decision button.
func (b *Bot) decide(ctx context.Context, c click, action workflow.Action, taskID, rev int64) {
	c.log = c.log.With().Int64("task", taskID).Logger() // refusals name the task too
	t, err := b.decideAs(ctx, c.cb.User.ID, action, workflow.Decision{TaskID: taskID, Revision: rev})
	if err != nil {
		b.answerError(ctx, c, taskID, err)
		if fromDigest(c) && workflow.ErrorCode(err) == workflow.ECONFLICT {
			if email, err := b.dir.emailOf(ctx, c.cb.User.ID); err == nil {
				b.out.refreshDigest(ctx, c.message(), email)
			}
		}
		return
	}
	c.log.Info().Str("email", t.Last.Actor).Str("decision", string(action)).Msg("decided")
	if !fromDigest(c) {
		b.out.refreshClicked(ctx, c.message(), t)
	}
	if fromDigest(c) {
		// A digest lists many tasks: redraw it so this one loses its buttons.
		b.out.refreshDigest(ctx, c.message(), t.Last.Actor)
	}
}

// retryConnector hands a step its connector failed on back to it.
func (b *Bot) retryConnector(ctx context.Context, c click) {
	taskID, rev, ok := b.cardRef(ctx, c)
	if !ok {
		return
	}
	c.log = c.log.With().Int64("task", taskID).Logger()
	email, err := b.dir.emailOf(ctx, c.cb.User.ID)
	if err == nil {
		_, err = b.engine.RetryConnector(ctx, workflow.Decision{TaskID: taskID, Actor: email, Revision: rev})
	}
	if err != nil {
		b.answerError(ctx, c, taskID, err)
		return
	}
	c.log.Info().Str("email", email).Msg("connector retried")
	b.out.kick()
}

// decideAs applies a decision as the person with Slack id slackUser: the
// path of every decision button, on a card or in the App Home.
func (b *Bot) decideAs(ctx context.Context, slackUser string, action workflow.Action, d workflow.Decision) (*workflow.Task, error) {
	email, err := b.dir.actorEmail(ctx, slackUser)
	if err != nil {
		return nil, err
	}
	d.Actor = email
	t, err := b.engine.Decide(ctx, action, d)
	if err != nil {
		return nil, err
	}
	b.out.kick()
	return t, nil
}

// answerError tells the clicking person why nothing changed; a stale card
// is refreshed.
func (b *Bot) answerError(ctx context.Context, c click, taskID int64, err error) {
	b.refuse(ctx, c, workflow.ErrorMessage(err), err)
	if workflow.ErrorCode(err) == workflow.ECONFLICT {
		b.out.refreshCardAt(ctx, c.channel, c.ts)
	}
}

// refuse answers the clicking person with an ephemeral message. Internal
// errors are logged as errors, refusals as info.
func (b *Bot) refuse(ctx context.Context, c click, msg string, err error) {
	if _, lvl := explain(err); lvl == zerolog.ErrorLevel {
		failedInternally(ctx)
	}
	refused(&c.log, err, "refused")
	b.ephemeral(ctx, c.channel, c.cb.User.ID, msg)
}

func (b *Bot) ephemeral(ctx context.Context, channel, user, msg string) {
	if channel == "" {
		channel = user
	}
	msg = mentionEmails(msg, b.dir.namer(ctx))
	err := b.slack.Ephemeral(ctx, channel, user, slack.MsgOptionText(cut(msg, 3000), false))
	if err != nil {
		b.logger(ctx).Warn().Err(err).Str("recipient", user).Msg("ephemeral message failed")
	}
}

func (b *Bot) remind(ctx context.Context, c click, taskID int64) {
	email, err := b.dir.emailOf(ctx, c.cb.User.ID)
	if err == nil {
		_, err = b.engine.SendReminder(ctx, email, taskID)
	}
	if err != nil {
		b.refuse(ctx, c, workflow.ErrorMessage(err), err)
		return
	}
	b.ephemeral(ctx, c.channel, c.cb.User.ID, fmt.Sprintf("Reminder sent for T-%d.", taskID))
	b.out.kick()
}

// openModal opens the modal an action asks for, with the trigger_id of the
// click: it expires 3 s after the click, so this runs before anything slow.
func (b *Bot) openModal(ctx context.Context, c click, what string, taskID, rev int64) {
	t, err := b.engine.Task(ctx, taskID)
	if err != nil {
		b.refuse(ctx, c, workflow.ErrorMessage(err), err)
		return
	}
	meta := blocks.ModalMeta{TaskID: taskID, Revision: rev, Action: what, Channel: c.channel, MessageTS: c.ts}
	ent := entitlement(b.engine.Catalog(), t)
	if what != blocks.OptDetails {
		// Every modal shows the task (requester, app, duration): the same
		// who-may-see rule as Details applies before it opens.
		email, err := b.dir.emailOf(ctx, c.cb.User.ID)
		if err == nil {
			t, _, err = b.engine.TaskFor(ctx, email, taskID)
		}
		if err != nil {
			b.refuse(ctx, c, workflow.ErrorMessage(err), err)
			return
		}
	}
	var view slack.ModalViewRequest
	if _, ok := blocks.CommentOptionAction(what); ok {
		view = blocks.DecisionModal(b.dir.namer(ctx), t, what, meta)
	} else {
		switch what {
		case blocks.ActReassign:
			view = blocks.ReassignModal(b.dir.namer(ctx), t, ent, meta, reassignHint(t))
		case blocks.OptEditDuration:
			view = blocks.EditDurationModal(b.dir.namer(ctx), t, ent, meta)
		case blocks.OptComment:
			view = blocks.CommentModal(b.dir.namer(ctx), t, meta)
		case blocks.ActDeclareEmergency:
			view = blocks.EmergencyModal(b.dir.namer(ctx), t, ent, meta)
		case blocks.OptDetails:
			email, err := b.dir.emailOf(ctx, c.cb.User.ID)
			if err != nil {
				b.refuse(ctx, c, workflow.ErrorMessage(err), err)
				return
			}
			if view, err = b.detailsView(ctx, email, taskID); err != nil {
				b.refuse(ctx, c, workflow.ErrorMessage(err), err)
				return
			}
		default:
			b.refuse(ctx, c, fmt.Sprintf("accessbot does not know the option %q; nothing was changed.", what), nil)
			return
		}
	}
	err = b.openTriggeredView(ctx, c.cb.TriggerID, view)
	if err != nil {
		c.log.Warn().Err(err).Int64("task", taskID).Msg("views.open failed")
		b.ephemeral(ctx, c.channel, c.cb.User.ID, "Slack did not open the form in time; please click again.")
	}
}

// openTriggeredView opens a modal with the trigger_id of a click or a
// command, which Slack honours for 3 s after it.
func (b *Bot) openTriggeredView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	return b.slack.OpenView(ctx, triggerID, view)
}

// detailsView is the Details modal of a task for viewer, or the engine's
// refusal when viewer may not see it.
func (b *Bot) detailsView(ctx context.Context, viewer string, taskID int64) (slack.ModalViewRequest, error) {
	t, evs, err := b.engine.TaskFor(ctx, viewer, taskID)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	cat := b.engine.Catalog()
	return blocks.DetailsModal(blocks.DetailsInput{Task: t, Ent: entitlement(cat, t), Events: evs, Viewer: viewer,
		IsAdmin: cat.IsAdmin(viewer), Dir: b.dir.namer(ctx), Now: b.now(), Insights: b.detailInsights(ctx, t, viewer), Grant: b.out.grantOutcome(ctx, t)}), nil
}

// viewSubmission applies a submitted modal and returns the ack payload: nil
// closes the modal, field errors keep it open with the message under the
// input.
func (b *Bot) viewSubmission(ctx context.Context, cb slack.InteractionCallback) any {
	if fn, ok := b.reg.submit[cb.View.CallbackID]; ok {
		return fn(ctx, cb)
	}
	b.logger(ctx).Info().Str("callback", cut(cb.View.CallbackID, 60)).Msg("submission of an unknown modal ignored")
	return nil
}

// cardModalSubmit applies a modal opened from a card (reassign, comment,
// a decision with a comment, edit duration, emergency).
func (b *Bot) cardModalSubmit(ctx context.Context, cb slack.InteractionCallback) any {
	log := b.logger(ctx).With().Str("callback", cb.View.CallbackID).Logger()
	meta, err := blocks.DecodeMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn().Err(err).Msg("modal without accessbot metadata")
		return nil
	}
	log = log.With().Int64("task", meta.TaskID).Logger()
	mainBlock := map[string]string{
		blocks.CbReassign: blocks.BlockReassignTo, blocks.CbComment: blocks.BlockComment,
		blocks.CbDecision: blocks.BlockComment, blocks.CbEditDuration: blocks.BlockDuration,
		blocks.CbEmergency: blocks.BlockReason,
	}[cb.View.CallbackID]
	if mainBlock == "" {
		return nil // details: nothing to submit
	}
	value := func(block, action string) *slack.BlockAction {
		if cb.View.State == nil {
			return &slack.BlockAction{}
		}
		if a, ok := cb.View.State.Values[block][action]; ok {
			return &a
		}
		return &slack.BlockAction{}
	}
	fields := inView(cb.View, fieldBlocks)
	fail := func(err error) any {
		if workflow.ErrorCode(err) == workflow.ECONFLICT && meta.Channel != "" {
			defer b.out.refreshCardAt(ctx, meta.Channel, meta.MessageTS)
		}
		return refuseSubmission(&log, err, "submission refused", mainBlock, fields, "")
	}
	if meta.Revision <= 0 && cb.View.CallbackID != blocks.CbComment {
		// Every modal that acts on a step names the revision it showed; 0
		// would skip the stale-card check.
		return fail(workflow.Errorf(workflow.EINVALID, "This form does not say which version of T-%d it showed; open it again from the card.", meta.TaskID))
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		return fail(err)
	}
	switch cb.View.CallbackID {
	case blocks.CbReassign:
		toID := value(blocks.BlockReassignTo, blocks.ActionReassignTo).SelectedUser
		if toID == "" {
			return fail(workflow.FieldError("to", "Choose a person to reassign to."))
		}
		// Bots and deactivated accounts are refused: the task would stall.
		to, err := b.personByID(ctx, toID)
		if err != nil {
			return fail(workflow.FieldError("to", "%s", workflow.ErrorMessage(err)))
		}
		_, err = b.engine.Reassign(ctx, workflow.ReassignInput{TaskID: meta.TaskID, Actor: email, To: to,
			Reason: value(blocks.BlockReason, blocks.ActionReason).Value, Revision: meta.Revision})
		if err != nil {
			return fail(err)
		}
	case blocks.CbComment:
		_, err = b.engine.Comment(ctx, workflow.CommentInput{TaskID: meta.TaskID, Actor: email,
			Text: value(blocks.BlockComment, blocks.ActionComment).Value, Source: "modal"})
		if err != nil {
			return fail(err)
		}
	case blocks.CbDecision:
		_, err = b.engine.Decide(ctx, workflow.Action(meta.Action), workflow.Decision{TaskID: meta.TaskID, Actor: email,
			Revision: meta.Revision, Comment: value(blocks.BlockComment, blocks.ActionComment).Value})
		if err != nil {
			return fail(err)
		}
	case blocks.CbEmergency:
		_, err = b.engine.DeclareEmergency(ctx, workflow.EmergencyInput{TaskID: meta.TaskID, Actor: email,
			Reason: value(blocks.BlockReason, blocks.ActionReason).Value, Revision: meta.Revision})
		if err != nil {
			return fail(err)
		}
	case blocks.CbEditDuration:
		d, err := workflow.ParseDuration(value(blocks.BlockDuration, blocks.ActionDuration).Value)
		if err != nil {
			return fail(workflow.FieldError("duration", "%v", err))
		}
		_, err = b.engine.EditDuration(ctx, workflow.EditDurationInput{TaskID: meta.TaskID, Actor: email, Duration: d, Revision: meta.Revision})
		if err != nil {
			return fail(err)
		}
	}
	log.Info().Str("email", email).Msg("submitted")
	b.out.kick()
	return nil
}

// fieldBlocks maps the engine's input field names to modal block ids.
var fieldBlocks = map[string]string{
	"to":       blocks.BlockReassignTo,
	"reason":   blocks.BlockReason,
	"comment":  blocks.BlockComment,
	"duration": blocks.BlockDuration,
}

func blockIn(v slack.View, id string) bool {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && in.BlockID == id {
			return true
		}
	}
	return false
}

// detailInsights returns the insights the Details modal shows its viewer:
// a pending reviewer of the current step sees them as theirs, an admin
// sees them without the reviewer's own; the requester, the subject and
// other people see none.
func (b *Bot) detailInsights(ctx context.Context, t *workflow.Task, viewer string) []workflow.Insight {
	for _, p := range t.PendingAssignees() {
		if p == viewer {
			return b.out.insightsFor(ctx, t, viewer)
		}
	}
	if b.engine.Catalog().IsAdmin(viewer) {
		return b.out.insightsFor(ctx, t, "")
	}
	return nil
}
