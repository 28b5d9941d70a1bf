package bot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

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
func (w *delivery) homeLoop(ctx context.Context) {
	every(ctx, homeTick, func() {
		for _, d := range w.home.due(time.Now()) {
			if ctx.Err() != nil {
				return
			}
			if err := w.publishHome(ctx, d.slackID, d.email, d.meta, ""); err != nil && ctx.Err() == nil {
				w.log.Warn().Err(err).Str("slack_user", d.slackID).Msg("refresh App Home")
			}
		}
	})
}

// homesChanged marks the Homes of everyone involved in a task for a
// refresh; the outbox calls it as it delivers the task's change.
func (w *delivery) homesChanged(ctx context.Context, taskID int64) {
	if !w.home.any() {
		return
	}
	t, err := w.engine.Task(ctx, taskID)
	if err != nil {
		// Deleted (or unreadable): it leaves whichever lists held it.
		w.home.dirty(nil, true, time.Now())
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
	w.home.dirty(people, false, time.Now())
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
func (w *delivery) buildHome(ctx context.Context, email string, meta blocks.HomeMeta, notice string) (slack.HomeTabViewRequest, error) {
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
	res, err := w.engine.CountTasks(ctx, qs...)
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
	d, err := w.engine.DelegationOf(ctx, email)
	if err != nil {
		return slack.HomeTabViewRequest{}, err
	}
	cat := w.engine.Catalog()
	return blocks.Home(blocks.HomeInput{
		Viewer: email, Meta: meta, Tasks: tasks, Total: total, Counts: counts, Kinds: kinds,
		Delegation: d, Notice: notice, Dir: w.dir.namer(ctx), Now: w.now(),
		Ent:   func(t *workflow.Task) workflow.Entitlement { return entitlement(cat, t) },
		Grant: func(t *workflow.Task) *workflow.GrantOutcome { return w.grantOutcome(ctx, t) },
	}), nil
}

// publishHome renders and publishes the person's Home and remembers it.
func (w *delivery) publishHome(ctx context.Context, slackID, email string, meta blocks.HomeMeta, notice string) error {
	view, err := w.buildHome(ctx, email, meta, notice)
	if err != nil {
		return err
	}
	shown := blocks.DecodeHomeMeta(view.PrivateMetadata)
	w.home.seen(strings.ToLower(email), slackID, shown, time.Now())
	return w.slack.PublishView(ctx, slackID, view)
}
