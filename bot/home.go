package bot

import (
	"context"
	"fmt"
	"strconv"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The App Home's handlers: the Home is published on app_home_opened and at
// every click in it. Its refresh after a task change is delivery's
// (homerefresh.go), which also publishes it for these handlers.

// homeOpened publishes the Home when the person opens it, on the tab and
// page it showed last.
func (b *Bot) homeOpened(ctx context.Context, ev slackevents.EventsAPIInnerEvent, _ string) {
	var e *slackevents.AppHomeOpenedEvent
	switch d := ev.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		e = d
	case slackevents.AppHomeOpenedEvent:
		e = &d
	}
	if e == nil || e.User == "" || (e.Tab != "" && e.Tab != "home") {
		return
	}
	meta := blocks.HomeMeta{Tab: blocks.TabAssigned}
	if e.View != nil {
		meta = blocks.DecodeHomeMeta(e.View.PrivateMetadata)
	}
	email, err := b.dir.emailOf(ctx, e.User)
	if err != nil {
		b.logger(ctx).Warn().Err(err).Msg("App Home of someone accessbot cannot identify")
		return
	}
	if err := b.out.publishHome(ctx, e.User, email, meta, ""); err != nil {
		b.logger(ctx).Warn().Err(err).Msg("publish App Home")
	}
}

// isHome reports whether a view action happened in the App Home (the
// decision buttons' action ids are the cards' too).
func isHome(cb slack.InteractionCallback) bool { return cb.View.Type == slack.VTHomeTab }

// republish shows the Home again after a click in it, with notice at the top.
func (b *Bot) republish(ctx context.Context, cb slack.InteractionCallback, meta blocks.HomeMeta, notice string) {
	email, err := b.dir.emailOf(ctx, cb.User.ID)
	if err != nil {
		b.ephemeral(ctx, "", cb.User.ID, workflow.ErrorMessage(err))
		return
	}
	if err := b.out.publishHome(ctx, cb.User.ID, email, meta, notice); err != nil {
		b.logger(ctx).Warn().Err(err).Msg("publish App Home")
	}
}

func (b *Bot) homeTab(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	tab := blocks.HomeTab(a.Value)
	if !tab.Valid() {
		tab = blocks.TabAssigned
	}
	b.republish(ctx, cb, blocks.HomeMeta{Tab: tab}, "")
}

func (b *Bot) homePage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	meta := blocks.DecodeHomeMeta(cb.View.PrivateMetadata)
	if p, err := strconv.Atoi(a.Value); err == nil && p >= 0 {
		meta.Page = p
	}
	b.republish(ctx, cb, meta, "")
}

// homeDecide is a row's decision button: the same decision as the card's,
// answered at the top of the Home, which then shows where things are.
func (b *Bot) homeDecide(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	if !isHome(cb) {
		return
	}
	meta := blocks.DecodeHomeMeta(cb.View.PrivateMetadata)
	action, _ := blocks.ButtonAction(a.ActionID)
	taskID, rev, err := blocks.DecodeRef(a.Value)
	if err != nil {
		b.republish(ctx, cb, meta, "That button does not name a task accessbot knows; nothing was changed.")
		return
	}
	log := b.logger(ctx).With().Int64("task", taskID).Str("action", a.ActionID).Logger()
	t, err := b.decideAs(ctx, cb.User.ID, action, workflow.Decision{TaskID: taskID, Revision: rev})
	var notice string
	if err != nil {
		notice = refused(&log, err, "refused (App Home)")
	} else {
		notice = blocks.DecidedNotice(t, action, entitlement(b.engine.Catalog(), t))
		log.Info().Msg("decided (App Home)")
	}
	b.republish(ctx, cb, meta, notice)
}

func (b *Bot) homeDetails(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	taskID, rev, err := blocks.DecodeRef(a.Value)
	c := click{cb: cb, action: a, log: b.logger(ctx).With().Str("action", a.ActionID).Logger()}
	if err != nil {
		b.refuse(ctx, c, "That button does not name a task accessbot knows.", err)
		return
	}
	b.openModal(ctx, c, blocks.OptDetails, taskID, rev)
}

// homeCancel cancels one of the person's own open requests.
func (b *Bot) homeCancel(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	meta := blocks.DecodeHomeMeta(cb.View.PrivateMetadata)
	taskID, _, err := blocks.DecodeRef(a.Value)
	if err != nil {
		b.republish(ctx, cb, meta, "That button does not name a task accessbot knows; nothing was changed.")
		return
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err == nil {
		_, err = b.engine.Cancel(ctx, workflow.AdminInput{TaskID: taskID, Actor: email, Reason: "Canceled by the requester from the App Home."})
	}
	notice := fmt.Sprintf("T-%d canceled.", taskID)
	if err != nil {
		log := b.logger(ctx).With().Int64("task", taskID).Logger()
		notice = refused(&log, err, "cancel refused (App Home)")
	} else {
		b.out.kick()
	}
	b.republish(ctx, cb, meta, notice)
}
