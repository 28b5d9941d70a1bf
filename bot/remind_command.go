package bot

import (
	"context"
	"fmt"
	"strings"

	"accessbot/workflow"
)

// remindSubcommand is `/access remind T-12`: remind the current assignees
// of a task at once. Anyone involved (or an admin) may, at most once an
// hour a task (workflow.SendReminder decides).
func (b *Bot) remindSubcommand() subcommand {
	return subcommand{name: "remind", usage: "remind T-NUMBER", example: "remind T-12",
		help: "remind the people a task waits on (at most once an hour)", run: b.remindCommand}
}

func (b *Bot) remindCommand(ctx context.Context, c *command) {
	if len(c.args) != 1 {
		b.respond(ctx, c, "Say which task to send a reminder for, like `/access remind T-12`; nothing was sent.")
		return
	}
	id, err := parseTaskRef(c.args[0])
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was sent.")
		return
	}
	t, err := b.engine.SendReminder(ctx, c.email, id)
	if err != nil {
		c.log.Info().AnErr("reason", err).Int64("task", id).Msg("reminder refused")
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	c.log.Info().Int64("task", id).Msg("reminder sent")
	b.kick()
	name := b.namer(ctx)
	var who []string
	for _, p := range t.PendingAssignees() {
		who = append(who, name(p))
	}
	b.respond(ctx, c, fmt.Sprintf("Reminder sent for %s to %s.", t.Number(), strings.Join(who, ", ")))
}
