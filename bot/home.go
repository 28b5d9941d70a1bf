package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The App Home: published on app_home_opened and at every click in it, and
// refreshed, debounced, when the outbox delivers a change to a task of
// someone whose Home is open.

// Debounce of Home refreshes caused by task changes: a change waits
// homeSettle for the burst it may start, and a person's Home is published at
// most once per homeInterval for such changes (views.publish is Tier 4,
// about 100 a minute for the whole workspace). A person's own clicks
// publish at once.
const (
	homeSettle   = 500 * time.Millisecond
	homeInterval = 3 * time.Second
	homeTick     = 200 * time.Millisecond
)

// homes remembers, in memory, whose Home the bot has published and what it
// shows (tab and page), so a task change can refresh it. Memory is enough:
// the Home is a view of the store, not state of its own, and Slack sends
// app_home_opened each time the person opens it, which republishes it from
// the store. A restart, or a change delivered by another replica, at worst
// leaves a Home as it was until the person next opens it or clicks in it;
// nothing is lost, and no table has to be kept in step across replicas.
type homes struct {
	mu   sync.Mutex
	open map[string]*homeEntry // by email
}

type homeEntry struct {
	slackID    string
	meta       blocks.HomeMeta
	dirtySince time.Time // zero: up to date
	published  time.Time
}

// seen records that the person's Home shows meta as of now.
func (h *homes) seen(email, slackID string, meta blocks.HomeMeta, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open == nil {
		h.open = map[string]*homeEntry{}
	}
	e := h.open[email]
	if e == nil {
		e = &homeEntry{}
		h.open[email] = e
	}
	e.slackID, e.meta, e.published = slackID, meta, now
}

// dirty marks the Homes of the people (those that are open) as out of
// date; all marks every open Home.
func (h *homes) dirty(emails []string, all bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	mark := func(e *homeEntry) {
		if e.dirtySince.IsZero() {
			e.dirtySince = now
		}
	}
	if all {
		for _, e := range h.open {
			mark(e)
		}
		return
	}
	for _, email := range emails {
		if e := h.open[strings.ToLower(email)]; e != nil {
			mark(e)
		}
	}
}

// any reports whether some Home is open (so a change is worth reading).
func (h *homes) any() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.open) > 0
}

type dueHome struct {
	email, slackID string
	meta           blocks.HomeMeta
}

// due takes the Homes whose refresh is due at now, marking them published.
func (h *homes) due(now time.Time) []dueHome {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []dueHome
	for email, e := range h.open {
		if e.dirtySince.IsZero() || now.Before(e.dirtySince.Add(homeSettle)) || now.Before(e.published.Add(homeInterval)) {
			continue
		}
		e.dirtySince, e.published = time.Time{}, now
		out = append(out, dueHome{email: email, slackID: e.slackID, meta: e.meta})
	}
	return out
}

// homeLoop publishes the Homes whose refresh is due until ctx ends. It
// keeps wall time: the debounce protects Slack's rate limits, which the
// engine's clock (moved by tests) does not govern.
func (b *Bot) homeLoop(ctx context.Context) {
	t := time.NewTicker(homeTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, d := range b.home.due(time.Now()) {
			if ctx.Err() != nil {
				return
			}
			if err := b.publishHome(ctx, d.slackID, d.email, d.meta, ""); err != nil && ctx.Err() == nil {
				b.log.Warn().Err(err).Str("slack_user", d.slackID).Msg("refresh App Home")
			}
		}
	}
}

// homesChanged marks the Homes of everyone involved in a task for a
// refresh; the outbox calls it as it delivers the task's change.
func (b *Bot) homesChanged(ctx context.Context, taskID int64) {
	if !b.home.any() {
		return
	}
	t, err := b.engine.Task(ctx, taskID)
	if err != nil {
		// Deleted (or unreadable): it leaves whichever lists held it.
		b.home.dirty(nil, true, time.Now())
		return
	}
	people := t.People()
	for _, r := range t.Steps {
		for _, a := range r.Assignees {
			if a.From != "" {
				people = append(people, a.From)
			}
		}
		if r.DecidedBy != "" {
			people = append(people, r.DecidedBy)
		}
	}
	b.home.dirty(people, false, time.Now())
}

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
	if err := b.publishHome(ctx, e.User, email, meta, ""); err != nil {
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
	if err := b.publishHome(ctx, cb.User.ID, email, meta, notice); err != nil {
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
		b.kick()
	}
	b.republish(ctx, cb, meta, notice)
}

// tabQuery selects a tab's tasks for the person.
func tabQuery(email string, tab blocks.HomeTab) workflow.TaskQuery {
	email = strings.ToLower(strings.TrimSpace(email))
	switch tab {
	case blocks.TabRequests:
		return workflow.TaskQuery{Requester: email, Newest: true}
	case blocks.TabCompleted:
		return workflow.TaskQuery{Actor: email, Newest: true}
	}
	return workflow.TaskQuery{Assignee: email, AssigneeStep: tab.Step()}
}

// buildHome reads what the person's Home shows, on one snapshot, and
// renders it. Only the page shown is read, so a long tab costs no more
// than a short one.
func (b *Bot) buildHome(ctx context.Context, email string, meta blocks.HomeMeta, notice string) (slack.HomeTabViewRequest, error) {
	if !meta.Tab.Valid() {
		meta.Tab = blocks.TabAssigned
	}
	q := tabQuery(email, meta.Tab)
	q.Limit, q.Offset = blocks.HomePageSize, max(meta.Page, 0)*blocks.HomePageSize
	qs := []workflow.TaskQuery{q}
	tabs := []blocks.HomeTab{blocks.TabAssigned, blocks.TabProvisioning, blocks.TabDeprovisioning}
	for _, tab := range tabs {
		qs = append(qs, tabQuery(email, tab))
	}
	kindList := []workflow.Kind{workflow.KindGrant, workflow.KindRevoke}
	if meta.Tab == blocks.TabAssigned {
		for _, k := range kindList {
			kq := tabQuery(email, meta.Tab)
			kq.Kind = k
			qs = append(qs, kq)
		}
	}
	res, err := b.engine.CountTasks(ctx, qs...)
	if err != nil {
		return slack.HomeTabViewRequest{}, err
	}
	tasks, total := res[0].Tasks, res[0].Total
	meta.Page = res[0].Offset / blocks.HomePageSize
	counts := map[blocks.HomeTab]int{}
	for i, tab := range tabs {
		counts[tab] = res[1+i].Total
	}
	kinds := map[workflow.Kind]bool{}
	if meta.Tab == blocks.TabAssigned {
		for i, k := range kindList {
			kinds[k] = res[1+len(tabs)+i].Total > 0
		}
	}
	d, err := b.engine.DelegationOf(ctx, email)
	if err != nil {
		return slack.HomeTabViewRequest{}, err
	}
	cat := b.engine.Catalog()
	return blocks.Home(blocks.HomeInput{
		Viewer: email, Meta: meta, Tasks: tasks, Total: total, Counts: counts, Kinds: kinds,
		Delegation: d, Notice: notice, Dir: b.namer(ctx), Now: b.now(),
		Ent:   func(t *workflow.Task) workflow.Entitlement { return entitlement(cat, t) },
		Grant: func(t *workflow.Task) *workflow.GrantOutcome { return b.grantOutcome(ctx, t) },
	}), nil
}

// publishHome renders and publishes the person's Home and remembers it.
func (b *Bot) publishHome(ctx context.Context, slackID, email string, meta blocks.HomeMeta, notice string) error {
	view, err := b.buildHome(ctx, email, meta, notice)
	if err != nil {
		return err
	}
	shown := blocks.DecodeHomeMeta(view.PrivateMetadata)
	b.home.seen(strings.ToLower(email), slackID, shown, time.Now())
	return b.slack.PublishView(ctx, slackID, view)
}
