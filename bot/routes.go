package bot

import (
	"context"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The routing table. Every way a person reaches the bot is one row here,
// keyed by its surface and its id: a button or menu on a card (by
// action_id), a block action in a modal or the App Home (by action_id), a
// modal submission (by callback_id), a select's suggestions (by
// action_id), an Events API event (by inner type) and a slash command (by
// name; `/access` subcommands are the rows of accessCommands). Adding a
// button touches its id (blocks/ids.go), its renderer, one row here and
// its handler; refusals go through explain (answer.go).

// clickFunc handles a button or menu on a card (a message).
type clickFunc func(ctx context.Context, c click)

// submitFunc applies a submitted modal and returns its ack payload: nil
// closes the modal, a slack.ViewSubmissionResponse keeps it open with field
// errors or replaces it.
type submitFunc func(ctx context.Context, cb slack.InteractionCallback) any

// viewActionFunc handles a block action inside a view (the App Home or an
// open modal), for example a tab button or a select that changes a modal.
type viewActionFunc func(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction)

// suggestFunc answers a block_suggestion (an external select being typed
// into) with its options; the answer is the envelope's ack.
type suggestFunc func(ctx context.Context, cb slack.InteractionCallback) slack.OptionsResponse

// eventFunc handles one Events API inner event (app_home_opened, message).
type eventFunc func(ctx context.Context, ev slackevents.EventsAPIInnerEvent, eventID string)

// commandFunc handles a slash command (by name, without the slash).
type commandFunc func(ctx context.Context, c *command)

// registry holds the handlers, one map a surface.
type registry struct {
	card       map[string]clickFunc      // by action_id, on a message
	viewAction map[string]viewActionFunc // by action_id, in a modal or the App Home
	submit     map[string]submitFunc     // by view callback_id
	suggest    map[string]suggestFunc    // by action_id
	events     map[string]eventFunc      // by inner event type
	commands   map[string]commandFunc    // by slash command name
}

// decisionButtons are the action ids of the decision buttons, on cards
// and in the App Home.
var decisionButtons = []string{blocks.ActApprove, blocks.ActDeny, blocks.ActConfirm, blocks.ActProvisioned,
	blocks.ActWontProvision, blocks.ActDeprovisioned, blocks.ActWontDeprovision}

func (b *Bot) newRegistry() registry {
	r := registry{
		card:       map[string]clickFunc{},
		viewAction: map[string]viewActionFunc{},
		submit:     map[string]submitFunc{},
		suggest:    map[string]suggestFunc{},
		events:     map[string]eventFunc{},
		commands:   map[string]commandFunc{},
	}
	noop := func(context.Context, slack.InteractionCallback, *slack.BlockAction) {}

	// Cards (interact.go, request.go, admin.go).
	for _, id := range decisionButtons {
		r.card[id] = b.decideClick
	}
	r.card[blocks.ActReassign] = b.modalClick(blocks.ActReassign)
	r.card[blocks.ActDeclareEmergency] = b.modalClick(blocks.ActDeclareEmergency)
	r.card[blocks.ActDetails] = b.modalClick(blocks.OptDetails)
	r.card[blocks.ActMore] = b.moreClick
	r.card[blocks.ActRetryConnector] = b.retryConnector
	r.card[blocks.ActRequestExtension] = b.requestExtension
	r.card[blocks.ActTasksOpenHome] = func(context.Context, click) {} // a link button: Slack opens the App Home and tells us of the click
	r.card[blocks.ActAdminProcessNow] = b.stuckProcessNow

	// Modals opened from a card (interact.go); Details has nothing to submit.
	for _, cb := range []string{blocks.CbReassign, blocks.CbComment, blocks.CbDecision, blocks.CbEditDuration, blocks.CbEmergency, blocks.CbDetails} {
		r.submit[cb] = b.cardModalSubmit
	}

	// The request modal: /access request, Request extension (request.go).
	r.submit[blocks.CbRequest] = b.submitRequest
	r.viewAction[blocks.ActionReqApp] = b.requestChanged
	r.viewAction[blocks.ActionReqResource] = b.requestChanged
	r.suggest[blocks.ActionReqApp] = b.suggestApps
	r.suggest[blocks.ActionReqResource] = b.suggestResources

	// Delegation (delegate.go).
	r.viewAction[blocks.ActDelegateEdit] = b.openDelegateModal
	r.submit[blocks.CbDelegate] = b.submitDelegate

	// Admin operations in the Details modal (admin.go).
	r.viewAction[blocks.ActAdminMenu] = b.adminMenu
	r.submit[blocks.CbAdminConfirm] = b.adminConfirmSubmit

	// The App Home and its bulk actions (home.go, bulk.go).
	r.events["app_home_opened"] = b.homeOpened
	for _, tab := range blocks.HomeTabs {
		r.viewAction[blocks.ActHomeTab+string(tab)] = b.homeTab
	}
	r.viewAction[blocks.ActHomePrev] = b.homePage
	r.viewAction[blocks.ActHomeNext] = b.homePage
	r.viewAction[blocks.ActHomeRefresh] = b.homePage
	r.viewAction[blocks.ActHomeCancel] = b.homeCancel
	// Ticking a box only changes the view's state, which the bar's buttons
	// read; there is nothing to do until then.
	r.viewAction[blocks.ActHomeSelect] = noop
	r.viewAction[blocks.ActHomeSelectAll] = noop
	for _, id := range decisionButtons {
		r.viewAction[id] = b.homeDecide
	}
	r.viewAction[blocks.ActDetails] = b.homeDetails
	for _, a := range []workflow.Action{workflow.ActionApprove, workflow.ActionConfirm, workflow.ActionDeny,
		workflow.ActionProvisioned, workflow.ActionWontProvision, workflow.ActionDeprovisioned, workflow.ActionWontDeprovision} {
		r.viewAction[blocks.ActHomeBulk+string(a)] = b.homeBulk
	}
	r.submit[blocks.CbBulk] = b.submitBulk

	// Replies in a card's thread (threads.go).
	r.events["message"] = b.threadMessage

	// Slash commands (commands.go, delegate.go).
	r.commands["access"] = b.accessCommand
	r.commands["delegate"] = b.delegateCommand
	return r
}

// viewAction routes a block action that happened inside a view.
func (b *Bot) viewAction(ctx context.Context, cb slack.InteractionCallback) {
	for _, a := range cb.ActionCallback.BlockActions {
		if fn, ok := b.reg.viewAction[a.ActionID]; ok {
			fn(ctx, cb, a)
			continue
		}
		b.logger(ctx).Info().Str("action", cut(a.ActionID, 60)).
			Str("view", cb.View.CallbackID).Msg("unknown action in a view ignored")
	}
}

// suggestion answers a block_suggestion; unknown selects get no options.
func (b *Bot) suggestion(ctx context.Context, cb slack.InteractionCallback) slack.OptionsResponse {
	if fn, ok := b.reg.suggest[cb.ActionID]; ok {
		return fn(ctx, cb)
	}
	b.logger(ctx).Info().Str("action", cut(cb.ActionID, 60)).Msg("suggestions for an unknown select")
	return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
}

// event routes an Events API event by its inner type.
func (b *Bot) event(ctx context.Context, ev slackevents.EventsAPIEvent, eventID string) {
	if fn, ok := b.reg.events[ev.InnerEvent.Type]; ok {
		fn(ctx, ev.InnerEvent, eventID)
		return
	}
	b.logger(ctx).Debug().Str("event", ev.InnerEvent.Type).Msg("event not handled")
}
