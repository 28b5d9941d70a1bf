package bot

import (
	"context"
	"fmt"
	"net/url"

	"accessbot/blocks"
	"accessbot/workflow"
)

// waitingKind is one kind of work that can wait on a person.
type waitingKind struct {
	label string
	kind  workflow.Kind
	step  workflow.StepType
}

var waitingKinds = []waitingKind{
	{"Access requests to review", workflow.KindGrant, workflow.StepReview},
	{"Revocations to confirm", workflow.KindRevoke, workflow.StepReview},
	{"Access to provision", workflow.KindGrant, workflow.StepProvision},
	{"Access to deprovision", workflow.KindRevoke, workflow.StepDeprovision},
}

// waitingShown is how many task numbers a group lists.
const waitingShown = 5

// tasksCommand is `/access tasks`: what waits on the person, counted by
// kind with the first few task numbers, and a button to the App Home where
// the lists are.
func (b *Bot) tasksCommand(ctx context.Context, c *command) {
	if len(c.args) > 0 {
		b.respond(ctx, c, "`/access tasks` takes nothing after it. "+b.subUsage("tasks"))
		return
	}
	qs := make([]workflow.TaskQuery, 0, len(waitingKinds)+1)
	for _, g := range waitingKinds {
		qs = append(qs, workflow.TaskQuery{Assignee: c.email, AssigneeStep: g.step, Kind: g.kind,
			Statuses: []workflow.Status{workflow.StatusOpen}, Limit: waitingShown})
	}
	qs = append(qs, workflow.TaskQuery{Requester: c.email, Kind: workflow.KindGrant, Statuses: []workflow.Status{workflow.StatusOpen, workflow.StatusError}})
	res, err := b.engine.CountTasks(ctx, qs...)
	if err != nil {
		c.log.Error().Err(err).Msg("read tasks")
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	cat := b.engine.Catalog()
	var groups []blocks.WaitingGroup
	for i, g := range waitingKinds {
		if res[i].Total == 0 {
			continue
		}
		wg := blocks.WaitingGroup{Label: g.label, Total: res[i].Total}
		for _, t := range res[i].Tasks {
			wg.First = append(wg.First, fmt.Sprintf("%s (%s)", t.Number(), escapeLabel(accessLabel(cat, t))))
		}
		groups = append(groups, wg)
	}
	text, bl := blocks.WaitingSummary(groups, res[len(waitingKinds)].Total, homeDeepLink(c.sc.TeamID, c.sc.APIAppID))
	b.respondBlocks(ctx, c, text, bl)
}

// homeDeepLink is the deep link to the bot's Home tab, "" when the command
// did not say which team and app.
func homeDeepLink(team, app string) string {
	if team == "" || app == "" {
		return ""
	}
	return "slack://app?team=" + url.QueryEscape(team) + "&id=" + url.QueryEscape(app) + "&tab=home"
}

// showCommand is `/access show T-12`: the Details modal of the task, for
// people involved in it, its app's owners and admins.
func (b *Bot) showCommand(ctx context.Context, c *command) {
	if len(c.args) != 1 {
		b.respond(ctx, c, "Name one task. "+b.subUsage("show"))
		return
	}
	id, err := parseTaskRef(c.args[0])
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" "+b.subUsage("show"))
		return
	}
	view, err := b.detailsView(ctx, c.email, id)
	if err != nil {
		c.log.Info().AnErr("reason", err).Int64("task", id).Msg("show refused")
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	if err := b.openTriggeredView(ctx, c.sc.TriggerID, view); err != nil {
		c.log.Warn().Err(err).Int64("task", id).Msg("views.open of the details failed")
		b.respond(ctx, c, "Slack did not open the details in time; please type the command again.")
	}
}
