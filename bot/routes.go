package bot

import (
	"context"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"accessbot/blocks"
)

// The bot's surfaces (slash commands, App Home, request and delegation
// modals, thread replies) plug into the loop through these tables, so each
// lives in its own file and the loop stays a router.

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

// registry holds the handlers by callback id, action id and event type.
type registry struct {
	submit     map[string]submitFunc     // by view callback_id
	viewAction map[string]viewActionFunc // by action_id
	suggest    map[string]suggestFunc    // by action_id
	events     map[string]eventFunc      // by inner event type
}

func (b *Bot) newRegistry() registry {
	r := registry{
		submit:     map[string]submitFunc{},
		viewAction: map[string]viewActionFunc{},
		suggest:    map[string]suggestFunc{},
		events:     map[string]eventFunc{"message": b.threadMessage},
	}
	r.viewAction[blocks.ActDelegateEdit] = b.openDelegateModal
	r.submit[blocks.CbDelegate] = b.submitDelegate
	// The request modal (/access request, Request extension).
	r.submit[blocks.CbRequest] = b.submitRequest
	r.viewAction[blocks.ActionReqApp] = b.requestChanged
	r.viewAction[blocks.ActionReqResource] = b.requestChanged
	r.suggest[blocks.ActionReqApp] = b.suggestApps
	r.suggest[blocks.ActionReqResource] = b.suggestResources
	b.registerHome(r) // App Home and bulk actions (home.go, bulk.go)
	r.submit[blocks.CbAdminConfirm] = b.adminConfirmSubmit
	r.viewAction[blocks.ActAdminMenu] = b.adminMenu
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
