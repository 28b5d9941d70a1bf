package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The admin surface: `/access` repair subcommands, the admin menu of the
// Details modal, the confirmation of destructive operations, `/access
// stuck` with its Process now buttons, `/access remind` and `/access
// reload`. The engine checks authority again on every operation; the
// framework's admin flag only spares non-admins a confirmation.

// ReloadFunc re-reads the configuration and puts it in force if it is
// valid. It returns a one-line summary of what is now in force, or an error
// that lists every problem (with its path in the file) and leaves the
// configuration that was running in force. actor is who asked (an email,
// or "signal" for SIGHUP).
type ReloadFunc func(ctx context.Context, actor string) (summary string, err error)

// adminOpCommand returns the subcommand of an admin operation.
func (b *Bot) adminOpCommand(op workflow.AdminOp) subcommand {
	s := subcommand{name: string(op), admin: true, run: func(ctx context.Context, c *command) { b.adminOp(ctx, c, op) }}
	switch op {
	case workflow.OpProcessNow:
		s.usage, s.example, s.help = "process-now T-12", "process-now T-12", "re-resolve a task's assignees and re-send its cards (repairs tasks stopped with an error)"
	case workflow.OpCancel:
		s.usage, s.example, s.help = "cancel T-12 [reason…]", "cancel T-12 asked twice", "cancel an open task; it is kept with its history"
	case workflow.OpDelete:
		s.usage, s.example, s.help = "delete T-12 [reason…]", "delete T-12 test task", "delete a task from every list (asks for confirmation)"
	case workflow.OpRestart:
		s.usage, s.example, s.help = "restart T-12 [reason…]", "restart T-12 wrong reviewer", "send a task back to its first step with its own policy"
	case workflow.OpHardReset:
		s.usage, s.example, s.help = "hard-reset T-12 [reason…]", "hard-reset T-12 policy fixed", "send a task back to its first step with its policy as configured now (asks for confirmation)"
	case workflow.OpChangePolicy:
		s.usage, s.example, s.help = "change-policy T-12 POLICY [reason…]", "change-policy T-12 quick-revoke", "restart a revocation with another policy (asks for confirmation)"
	case workflow.OpSkipStep:
		s.usage, s.example, s.help = "skip-step T-12 [reason…]", "skip-step T-12 done by hand", "treat a task's current step as done (asks for confirmation)"
	}
	return s
}

// adminArgs reads "T-12 [POLICY] [reason…]".
func adminArgs(c *command, op workflow.AdminOp) (workflow.AdminInput, error) {
	in := workflow.AdminInput{Actor: c.email}
	usage := "`/access " + usageOf(op) + "`"
	if len(c.args) == 0 {
		return in, workflow.Errorf(workflow.EINVALID, "Say which task: %s.", usage)
	}
	id, err := parseTaskRef(c.args[0])
	if err != nil {
		return in, workflow.Errorf(workflow.EINVALID, "%s Usage: %s.", workflow.ErrorMessage(err), usage)
	}
	in.TaskID = id
	rest := c.args[1:]
	if op == workflow.OpChangePolicy {
		if len(rest) == 0 {
			return in, workflow.Errorf(workflow.EINVALID, "Say which policy T-%d should run: %s.", id, usage)
		}
		in.Policy, rest = rest[0], rest[1:]
	}
	in.Reason = strings.Join(rest, " ")
	return in, nil
}

// usageOf is an operation's usage line.
func usageOf(op workflow.AdminOp) string {
	switch op {
	case workflow.OpChangePolicy:
		return string(op) + " T-12 POLICY [reason…]"
	case workflow.OpProcessNow:
		return string(op) + " T-12"
	}
	return string(op) + " T-12 [reason…]"
}

// adminOp runs an operation typed as a slash command. A destructive one is
// previewed (refused at once when the engine would refuse it) and opens a
// confirmation that says what it will do; only its submission applies it.
func (b *Bot) adminOp(ctx context.Context, c *command, op workflow.AdminOp) {
	in, err := adminArgs(c, op)
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.")
		return
	}
	log := c.log.With().Int64("task", in.TaskID).Str("op", string(op)).Logger()
	if !op.Destructive() {
		t, err := b.engine.RunAdmin(ctx, op, in)
		if err != nil {
			log.Info().AnErr("reason", err).Msg("admin operation refused")
			b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.")
			return
		}
		log.Info().Msg("admin operation done")
		b.out.kick()
		b.respond(ctx, c, blocks.AdminOutcome(b.dir.namer(ctx), op, t))
		return
	}
	view, err := b.confirmView(ctx, op, in, blocks.AdminMeta{ResponseURL: c.sc.ResponseURL})
	if err != nil {
		log.Info().AnErr("reason", err).Msg("admin operation refused")
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.")
		return
	}
	err = b.openTriggeredView(ctx, c.sc.TriggerID, view)
	if err != nil {
		log.Warn().Err(err).Msg("views.open of an admin confirmation failed")
		b.respond(ctx, c, "Slack did not open the confirmation in time; nothing was changed. Please run the command again.")
		return
	}
	log.Info().Msg("admin confirmation opened")
}

// confirmView previews op and builds its confirmation. A refusal is the
// engine's own, with its reason.
func (b *Bot) confirmView(ctx context.Context, op workflow.AdminOp, in workflow.AdminInput, meta blocks.AdminMeta) (slack.ModalViewRequest, error) {
	t, evs, err := b.engine.TaskFor(ctx, in.Actor, in.TaskID)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	if in.Revision == 0 {
		in.Revision = t.Revision
	}
	cat := b.engine.Catalog()
	var after *workflow.Task
	var policies []string
	if op == workflow.OpChangePolicy && in.Policy == "" {
		// The policy is chosen in the confirmation; the checks of the
		// task's state run now, with any policy that could be chosen.
		policies = revocationPolicies(cat)
		if len(policies) == 0 {
			return slack.ModalViewRequest{}, workflow.Errorf(workflow.EINVALID, "No policy in the configuration can run a revocation, so there is nothing to change %s to.", t.Number())
		}
		probe := in
		probe.Policy = policies[0]
		if _, err := b.engine.PreviewAdmin(ctx, op, probe); err != nil {
			return slack.ModalViewRequest{}, err
		}
	} else if after, err = b.engine.PreviewAdmin(ctx, op, in); err != nil {
		return slack.ModalViewRequest{}, err
	}
	meta.TaskID, meta.Revision, meta.Op, meta.Policy = t.ID, in.Revision, op, in.Policy
	return blocks.AdminConfirmModal(blocks.AdminConfirmInput{Op: op, Task: t, After: after, Ent: entitlement(cat, t),
		Events: len(evs), Policies: policies, Reason: in.Reason, Dir: b.dir.namer(ctx), Meta: meta}), nil
}

// revocationPolicies are the policies that can run a revocation.
func revocationPolicies(cat *workflow.Catalog) []string {
	var out []string
	for name, p := range cat.Policies {
		if p.CheckFor(workflow.KindRevoke) == nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// adminConfirmSubmit applies a confirmed destructive operation. Refusals
// (the task moved on meanwhile, a policy that does not fit) keep the
// confirmation open with the reason; nothing changes.
func (b *Bot) adminConfirmSubmit(ctx context.Context, cb slack.InteractionCallback) any {
	log := b.logger(ctx).With().Str("callback", cb.View.CallbackID).Logger()
	meta, err := blocks.DecodeAdminMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn().Err(err).Msg("admin confirmation with bad metadata")
		return nil
	}
	log = log.With().Int64("task", meta.TaskID).Str("op", string(meta.Op)).Logger()
	value := func(block, action string) slack.BlockAction {
		if cb.View.State == nil {
			return slack.BlockAction{}
		}
		return cb.View.State.Values[block][action]
	}
	fields := inView(cb.View, map[string]string{"policy": blocks.BlockAdminPolicy})
	fail := func(err error) any {
		return refuseSubmission(&log, err, "admin confirmation refused", blocks.BlockAdminReason, fields, " Nothing was changed.")
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		return fail(err)
	}
	policy := meta.Policy
	if policy == "" {
		policy = value(blocks.BlockAdminPolicy, blocks.ActionAdminPolicy).SelectedOption.Value
	}
	in := workflow.AdminInput{TaskID: meta.TaskID, Actor: email, Policy: policy, Revision: meta.Revision,
		Reason: strings.TrimSpace(value(blocks.BlockAdminReason, blocks.ActionAdminReason).Value)}
	if meta.Op == workflow.OpChangePolicy && policy == "" {
		return fail(workflow.FieldError("policy", "Choose the policy the task should run."))
	}
	t, err := b.engine.RunAdmin(ctx, meta.Op, in)
	if err != nil {
		return fail(err)
	}
	log.Info().Str("email", email).Msg("admin operation confirmed and done")
	b.out.kick()
	text := blocks.AdminOutcome(b.dir.namer(ctx), meta.Op, t)
	if meta.DetailsView != "" {
		b.refreshDetails(ctx, meta.DetailsView, email, t.ID, meta.Op == workflow.OpDelete)
		return slack.NewUpdateViewSubmissionResponse(ptr(blocks.AdminResultModal(t.ID, "Done: "+t.Number(), text)))
	}
	if meta.ResponseURL != "" {
		b.respond(ctx, &command{sc: slack.SlashCommand{ResponseURL: meta.ResponseURL, UserID: cb.User.ID}, log: log}, text)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// refreshDetails re-renders an open Details modal after an operation.
func (b *Bot) refreshDetails(ctx context.Context, viewID, email string, taskID int64, deleted bool) {
	var view slack.ModalViewRequest
	if deleted {
		view = blocks.AdminResultModal(taskID, fmt.Sprintf("T-%d deleted", taskID), fmt.Sprintf("T-%d was deleted.", taskID))
	} else {
		var err error
		if view, err = b.detailsView(ctx, email, taskID); err != nil {
			return
		}
	}
	err := b.slack.UpdateView(ctx, view, "", "", viewID)
	if err != nil {
		b.logger(ctx).Info().Err(err).Str("view", viewID).Msg("refresh of a Details modal failed")
	}
}

// adminMenu handles the admin menu of the Details modal: other operations
// run at once, destructive ones push their confirmation. The outcome (or
// the refusal) is pushed as a small modal over the refreshed Details.
func (b *Bot) adminMenu(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	log := b.logger(ctx).With().Str("action", action.ActionID).Logger()
	opt, taskID, rev, err := blocks.DecodeAdminOption(action.SelectedOption.Value)
	if err != nil {
		log.Info().Err(err).Msg("unknown admin menu option")
		return
	}
	log = log.With().Int64("task", taskID).Str("op", opt).Logger()
	push := func(view slack.ModalViewRequest) {
		err := b.slack.PushView(ctx, cb.TriggerID, view)
		if err != nil {
			log.Warn().Err(err).Msg("views.push from the admin menu failed")
		}
	}
	refused := func(err error) {
		log.Info().AnErr("reason", err).Msg("admin operation refused")
		push(blocks.AdminResultModal(taskID, fmt.Sprintf("Not done: T-%d", taskID), workflow.ErrorMessage(err)+" Nothing was changed."))
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		refused(err)
		return
	}
	if !b.engine.Catalog().IsAdmin(email) {
		log.Warn().Str("email", email).Msg("admin menu used by a non-admin: refused")
		refused(workflow.Errorf(workflow.EFORBIDDEN, "Only an accessbot admin can do that."))
		return
	}
	var text string
	switch op := workflow.AdminOp(opt); {
	case opt == blocks.AdminRemind:
		t, err := b.engine.SendReminder(ctx, email, taskID)
		if err != nil {
			refused(err)
			return
		}
		text = fmt.Sprintf("Reminder sent for *%s* to %s.", t.Number(), b.people(ctx, t.PendingAssignees()))
	case op.Destructive():
		view, err := b.confirmView(ctx, op, workflow.AdminInput{TaskID: taskID, Actor: email, Revision: rev},
			blocks.AdminMeta{DetailsView: cb.View.ID})
		if err != nil {
			refused(err)
			return
		}
		push(view)
		return
	default:
		t, err := b.engine.RunAdmin(ctx, op, workflow.AdminInput{TaskID: taskID, Actor: email, Revision: rev})
		if err != nil {
			refused(err)
			return
		}
		text = blocks.AdminOutcome(b.dir.namer(ctx), op, t)
	}
	log.Info().Msg("admin operation done from the Details modal")
	b.out.kick()
	b.refreshDetails(ctx, cb.View.ID, email, taskID, false)
	push(blocks.AdminResultModal(taskID, fmt.Sprintf("Done: T-%d", taskID), text))
}

// people names emails as mentions, for answers.
func (b *Bot) people(ctx context.Context, emails []string) string {
	if len(emails) == 0 {
		return "nobody"
	}
	n := b.dir.namer(ctx)
	out := make([]string, len(emails))
	for i, e := range emails {
		out[i] = n(e)
	}
	return strings.Join(out, ", ")
}

// stuckCommand is `/access stuck`.
func (b *Bot) stuckCommand(ctx context.Context, c *command) {
	items, total, err := b.engine.Stuck(ctx, c.email, 40)
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	cat := b.engine.Catalog()
	text, bl := blocks.StuckMessage(items, total, func(t *workflow.Task) workflow.Entitlement { return entitlement(cat, t) }, b.dir.namer(ctx))
	if total > 0 && cat.Reminders.EscalateAfter <= 0 {
		text += " (reminders.escalate_after is not set, so only tasks stopped with an error are listed)"
	}
	b.respondBlocks(ctx, c, text, bl)
}

// stuckProcessNow is the Process now button of a stuck-task line.
func (b *Bot) stuckProcessNow(ctx context.Context, c click) {
	taskID, _, err := blocks.DecodeRef(c.action.Value)
	if err != nil {
		b.refuse(ctx, c, "That button does not name a task accessbot knows.", err)
		return
	}
	email, err := b.dir.actorEmail(ctx, c.cb.User.ID)
	if err != nil {
		b.refuse(ctx, c, workflow.ErrorMessage(err), err)
		return
	}
	t, err := b.engine.ProcessNow(ctx, workflow.AdminInput{TaskID: taskID, Actor: email})
	if err != nil {
		if workflow.ErrorCode(err) == workflow.EFORBIDDEN {
			c.log.Warn().Str("email", email).Msg("Process now by a non-admin: refused")
		}
		b.refuse(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.", err)
		return
	}
	c.log.Info().Int64("task", taskID).Str("email", email).Msg("processed now from the stuck list")
	b.out.kick()
	b.ephemeral(ctx, c.channel, c.cb.User.ID, blocks.AdminOutcome(b.dir.namer(ctx), workflow.OpProcessNow, t))
}

// remindCommand is `/access remind T-12`: anyone involved, at most once an
// hour a task (the engine keeps that rule).
func (b *Bot) remindCommand(ctx context.Context, c *command) {
	if len(c.args) != 1 {
		b.respond(ctx, c, "Say which task: `/access remind T-12`. Nothing was sent.")
		return
	}
	id, err := parseTaskRef(c.args[0])
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was sent.")
		return
	}
	t, err := b.engine.SendReminder(ctx, c.email, id)
	if err != nil {
		c.log.Info().Int64("task", id).AnErr("reason", err).Msg("reminder refused")
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was sent.")
		return
	}
	b.out.kick()
	b.respond(ctx, c, fmt.Sprintf("Reminder sent for *%s* to %s. The next one can go in an hour.", t.Number(), b.people(ctx, t.PendingAssignees())))
}

// reloadCommand is `/access reload`.
func (b *Bot) reloadCommand(ctx context.Context, c *command) {
	if b.cfg.Reload == nil {
		b.respond(ctx, c, "This accessbot cannot reload its configuration from Slack (it was started without a configuration file). Nothing was changed.")
		return
	}
	summary, err := b.cfg.Reload(ctx, c.email)
	if err != nil {
		c.log.Warn().AnErr("reason", err).Msg("configuration reload refused")
		b.respond(ctx, c, "The configuration was *not* reloaded: the file has problems, so the configuration loaded before keeps running. Fix these and run `/access reload` again:\n```\n"+
			cut(err.Error(), 2500)+"\n```")
		return
	}
	c.log.Info().Str("summary", summary).Msg("configuration reloaded")
	b.respond(ctx, c, "Configuration reloaded: "+summary+".\nRunning tasks keep the policy they started with; `/access hard-reset T-12` applies the configuration's policy to a task.")
}
