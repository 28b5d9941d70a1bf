package bot

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

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
	type group struct {
		waitingKind
		n     int
		first []*workflow.Task
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
	var groups []group
	for i, g := range waitingKinds {
		if res[i].Total > 0 {
			groups = append(groups, group{g, res[i].Total, res[i].Tasks})
		}
	}
	mine := res[len(waitingKinds)].Total
	cat := b.engine.Catalog()
	var sb strings.Builder
	total := 0
	for _, g := range groups {
		total += g.n
	}
	if total == 0 {
		sb.WriteString("*Nothing waits on you.* :tada:\n")
	} else {
		fmt.Fprintf(&sb, "*%d %s on you:*\n", total, countNoun(total, "task waits", "tasks wait"))
		for _, g := range groups {
			var nums []string
			for _, t := range g.first {
				nums = append(nums, fmt.Sprintf("%s (%s)", t.Number(), escapeLabel(accessLabel(cat, t))))
			}
			more := ""
			if g.n > len(g.first) {
				more = fmt.Sprintf(" and %d more", g.n-len(g.first))
			}
			fmt.Fprintf(&sb, "• %s: *%d* — %s%s\n", g.label, g.n, strings.Join(nums, ", "), more)
		}
	}
	if mine > 0 {
		fmt.Fprintf(&sb, "You have %d open %s of your own.\n", mine, countNoun(mine, "request", "requests"))
	}
	text := sb.String()
	bl := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut(text, 2900), false, false), nil, nil)}
	if home := homeDeepLink(c.sc.TeamID, c.sc.APIAppID); home != "" {
		btn := slack.NewButtonBlockElement(blocks.ActTasksOpenHome, "home", slack.NewTextBlockObject(slack.PlainTextType, "Open the App Home", false, false))
		btn.URL = home
		bl = append(bl, slack.NewActionBlock("", btn))
	}
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

func countNoun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
