package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The delegation surface: `/delegate`, the admin's `/access delegate`, and
// the App Home's Delegate tasks modal.

const delegateForms = "• `/delegate @colleague`: your new access tasks go to them until you change it\n" +
	"• `/delegate @colleague 2026-12-01 2026-12-15` (or `from 2026-12-01 to 2026-12-15`): only on those days, both included, in your Slack time zone\n" +
	"• `/delegate @colleague until 2026-12-15`: from now to the end of that day\n" +
	"• `/delegate off`: remove your delegate\n" +
	"• `/delegate`: show your delegate"

const adminDelegateForms = "• `/access delegate @person @colleague [2026-12-01 2026-12-15 | from … to … | until …]`: set their delegate (dates in their time zone)\n" +
	"• `/access delegate @person off`: remove their delegate"

// delegateRequest is a parsed `/delegate` text (after the person, for the
// admin form).
type delegateRequest struct {
	show, off  bool
	help       bool
	mention    string
	start, end string
}

// parseDelegateArgs reads the forms of delegateForms. Dates are checked by
// the engine; here only the shape of the command.
func parseDelegateArgs(args []string) (delegateRequest, error) {
	var r delegateRequest
	if len(args) == 0 {
		r.show = true
		return r, nil
	}
	switch strings.ToLower(args[0]) {
	case "off", "none", "remove", "stop", "clear":
		if len(args) > 1 {
			return r, workflow.Errorf(workflow.EINVALID, "`off` takes nothing after it.")
		}
		r.off = true
		return r, nil
	case "help":
		r.help = true
		return r, nil
	}
	r.mention = args[0]
	rest := args[1:]
	lower := make([]string, len(rest))
	for i, w := range rest {
		lower[i] = strings.ToLower(w)
	}
	isTo := func(w string) bool { return w == "to" || w == "until" || w == "-" || w == "through" }
	switch {
	case len(rest) == 0:
	case len(rest) == 2 && (lower[0] == "until" || lower[0] == "to"):
		r.end = rest[1]
	case len(rest) == 2 && lower[0] != "from":
		r.start, r.end = rest[0], rest[1]
	case len(rest) == 3 && isTo(lower[1]):
		r.start, r.end = rest[0], rest[2]
	case len(rest) == 4 && lower[0] == "from" && isTo(lower[2]):
		r.start, r.end = rest[1], rest[3]
	case len(rest) == 2 && lower[0] == "from":
		return r, workflow.FieldError("end", "A temporary delegation needs its last day too: `from %s to YYYY-MM-DD`.", cut(rest[1], 20))
	default:
		return r, workflow.Errorf(workflow.EINVALID, "accessbot cannot read %q as dates.", cut(strings.Join(rest, " "), 80))
	}
	return r, nil
}

// delegateCommand is `/delegate`.
func (b *Bot) delegateCommand(ctx context.Context, c *command) {
	words := strings.Fields(c.sc.Text)
	r, err := parseDelegateArgs(words)
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.\n"+delegateForms)
		return
	}
	switch {
	case r.help:
		b.respond(ctx, c, "*`/delegate`* sends your new access tasks to a colleague while you are away.\n"+delegateForms)
	case r.show:
		b.showDelegation(ctx, c)
	case r.off:
		b.removeDelegation(ctx, c, "")
	default:
		b.setDelegation(ctx, c, "", r)
	}
}

// adminDelegate is `/access delegate @person @colleague [dates]` and
// `/access delegate @person off`.
func (b *Bot) adminDelegate(ctx context.Context, c *command) {
	if len(c.args) < 2 {
		b.respond(ctx, c, "Say whose delegate to set, and to whom (or off). Nothing was changed.\n"+adminDelegateForms)
		return
	}
	person, err := b.personByMention(ctx, c.args[0])
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.\n"+adminDelegateForms)
		return
	}
	r, err := parseDelegateArgs(c.args[1:])
	if err != nil || r.show || r.help {
		msg := "Say to whom (or off)."
		if err != nil {
			msg = workflow.ErrorMessage(err)
		}
		b.respond(ctx, c, msg+" Nothing was changed.\n"+adminDelegateForms)
		return
	}
	if r.off {
		b.removeDelegation(ctx, c, person)
		return
	}
	b.setDelegation(ctx, c, person, r)
}

// setDelegation sets the delegate of person ("" for the one typing).
func (b *Bot) setDelegation(ctx context.Context, c *command, person string, r delegateRequest) {
	forms := delegateForms
	if person != "" {
		forms = adminDelegateForms
	}
	to, err := b.personByMention(ctx, r.mention)
	if err != nil {
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.\n"+forms)
		return
	}
	whose := person
	if whose == "" {
		whose = c.email
	}
	res, err := b.engine.SetDelegation(ctx, workflow.DelegateInput{Actor: c.email, Person: person, Delegate: to,
		Start: r.start, End: r.end, TZ: b.zoneName(ctx, whose)})
	if err != nil {
		b.logRefusal(c, err)
		msg := workflow.ErrorMessage(err) + " Nothing was changed."
		if workflow.ErrorCode(err) == workflow.EINVALID {
			msg += "\n" + forms
		}
		b.respond(ctx, c, msg)
		return
	}
	c.log.Info().Str("person", whose).Str("delegate", to).Msg("delegation set")
	b.out.kick()
	b.respond(ctx, c, b.delegationSetText(ctx, c.email, res))
}

func (b *Bot) delegationSetText(ctx context.Context, actor string, res *workflow.DelegateResult) string {
	who := b.dir.namer(ctx)
	d := res.Delegation
	subject, verb := "your", "go"
	if d.Email != actor {
		subject = who(d.Email) + "'s"
	}
	if !d.ActiveAt(b.now()) {
		verb = "will go"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Done: %s new access tasks %s to %s %s.", subject, verb, who(d.Delegate), workflow.DescribeDelegation(d, res.Loc, b.now()))
	if res.Replaced != nil {
		if res.Replaced.Delegate == d.Delegate {
			fmt.Fprintf(&sb, " This replaces the earlier delegation to %s (one delegate per person).", who(d.Delegate))
		} else {
			fmt.Fprintf(&sb, " This replaces the delegation to %s (one delegate per person).", who(res.Replaced.Delegate))
		}
	}
	sb.WriteString(" Tasks already assigned stay where they are, and steps that do not allow delegation are not redirected.")
	// Chains are followed: say where tasks really end up while the
	// delegate has a delegate of their own.
	if next, err := b.engine.DelegationOf(ctx, d.Delegate); err == nil && next != nil && next.ActiveAt(b.now()) {
		if next.Delegate == d.Email {
			fmt.Fprintf(&sb, "\nNote: %s delegates to %s, so while both last the tasks stay with %s (a cycle keeps the original person).", who(d.Delegate), who(d.Email), who(d.Email))
		} else {
			fmt.Fprintf(&sb, "\nNote: %s delegates to %s now, so the tasks go on to %s while that lasts.", who(d.Delegate), who(next.Delegate), who(next.Delegate))
		}
	}
	return sb.String()
}

// removeDelegation clears the delegate of person ("" for the one typing).
func (b *Bot) removeDelegation(ctx context.Context, c *command, person string) {
	gone, err := b.engine.RemoveDelegation(ctx, workflow.RemoveDelegationInput{Actor: c.email, Person: person})
	if err != nil {
		b.logRefusal(c, err)
		b.respond(ctx, c, workflow.ErrorMessage(err)+" Nothing was changed.")
		return
	}
	b.out.kick()
	who := b.dir.namer(ctx)
	c.log.Info().Str("person", gone.Email).Msg("delegation removed")
	if gone.Email == c.email {
		b.respond(ctx, c, fmt.Sprintf("Done: your delegation to %s is removed. New access tasks come to you again; tasks already sent to them stay with them.", who(gone.Delegate)))
		return
	}
	b.respond(ctx, c, fmt.Sprintf("Done: %s's delegation to %s is removed. Both were told.", who(gone.Email), who(gone.Delegate)))
}

func (b *Bot) showDelegation(ctx context.Context, c *command) {
	d, err := b.engine.DelegationOf(ctx, c.email)
	if err != nil {
		b.logRefusal(c, err)
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	loc, _ := b.engine.PersonZone(ctx, c.email)
	who := b.dir.namer(ctx)
	var sb strings.Builder
	if d == nil {
		sb.WriteString("You have no delegate: new access tasks assigned to you come to you.")
	} else {
		verb := "go"
		if !d.ActiveAt(b.now()) {
			verb = "will go"
		}
		fmt.Fprintf(&sb, "Your delegate is %s: new access tasks assigned to you %s to them %s.", who(d.Delegate), verb, workflow.DescribeDelegation(d, loc, b.now()))
		if d.SetBy != "" && d.SetBy != c.email {
			fmt.Fprintf(&sb, " (Set by %s.)", who(d.SetBy))
		}
	}
	if to, err := b.engine.DelegationsTo(ctx, c.email); err == nil && len(to) > 0 {
		var names []string
		for _, x := range to {
			zone, _ := b.engine.PersonZone(ctx, x.Email)
			names = append(names, who(x.Email)+" ("+workflow.DescribeDelegation(x, zone, b.now())+")")
		}
		sb.WriteString("\nDelegating to you: " + strings.Join(names, ", ") + ".")
	}
	sb.WriteString("\n\n" + delegateForms)
	b.respond(ctx, c, sb.String())
}

func (b *Bot) logRefusal(c *command, err error) { refused(&c.log, err, "delegation refused") }

// delegateFields maps the engine's delegation fields to the modal's blocks.
var delegateFields = map[string]string{
	"delegate": blocks.BlockDelegateTo,
	"start":    blocks.BlockDelegateStart,
	"end":      blocks.BlockDelegateEnd,
}

// personByMention resolves a mention to a person's email, refusing bots,
// deactivated accounts and people Slack does not know.
func (b *Bot) personByMention(ctx context.Context, word string) (string, error) {
	id, ok := parseMention(word)
	if !ok {
		return b.mentionedEmail(ctx, word) // says how to mention
	}
	return b.personByID(ctx, id)
}

// personByID is personByMention for a Slack user id (a users_select).
func (b *Bot) personByID(ctx context.Context, id string) (string, error) {
	email, err := b.mentionedEmail(ctx, "<@"+id+">")
	if workflow.ErrorCode(err) != workflow.EFORBIDDEN {
		return email, err
	}
	// No email visible: bots and apps have none. Say which it is.
	if info, e := b.slack.UserInfo(ctx, id); e == nil {
		switch {
		case info.IsBot:
			return "", workflow.Errorf(workflow.EINVALID, "<@%s> is a bot, not a person: choose a colleague.", id)
		case info.Deleted:
			return "", workflow.Errorf(workflow.EINVALID, "<@%s>'s Slack account is deactivated: choose a colleague.", id)
		}
	}
	return "", workflow.Errorf(workflow.EINVALID, "accessbot cannot see <@%s>'s email address in Slack, so it cannot send them tasks.", id)
}

// zoneName is the Slack time zone cached for email ("" when unknown: the
// engine then uses what it has, else UTC).
func (b *Bot) zoneName(ctx context.Context, email string) string {
	if u, err := b.store.ChatUserByEmail(ctx, email); err == nil {
		return u.TZ
	}
	return ""
}

// openDelegateModal opens the Delegate tasks modal from the App Home's Edit
// button.
func (b *Bot) openDelegateModal(ctx context.Context, cb slack.InteractionCallback, _ *slack.BlockAction) {
	log := b.logger(ctx).With().Str("action", blocks.ActDelegateEdit).Logger()
	email, err := b.dir.emailOf(ctx, cb.User.ID)
	if err != nil {
		log.Info().AnErr("reason", err).Msg("delegate modal refused")
		b.ephemeral(ctx, "", cb.User.ID, workflow.ErrorMessage(err))
		return
	}
	d, err := b.engine.DelegationOf(ctx, email)
	if err != nil {
		log.Error().Err(err).Msg("read delegation")
		b.ephemeral(ctx, "", cb.User.ID, workflow.ErrorMessage(err))
		return
	}
	loc, _ := b.engine.PersonZone(ctx, email)
	in := blocks.DelegateModalInput{Current: d, Loc: loc, Now: b.now(), Dir: dirOf(b.dir.namer(ctx))}
	if d != nil {
		in.DelegateID = b.dir.cachedSlackID(ctx, d.Delegate)
	}
	err = b.openTriggeredView(ctx, cb.TriggerID, blocks.DelegateModal(in))
	if err != nil {
		log.Warn().Err(err).Msg("views.open failed")
		b.ephemeral(ctx, "", cb.User.ID, "Slack did not open the form in time; please click Edit again.")
	}
}

// dirOf adapts a namer to blocks.Directory.
type dirOf namer

func (d dirOf) Mention(email string) string { return d(email) }

// submitDelegate applies the Delegate tasks modal; a mistake keeps it open
// with the message under the field at fault.
func (b *Bot) submitDelegate(ctx context.Context, cb slack.InteractionCallback) any {
	log := b.logger(ctx).With().Str("callback", blocks.CbDelegate).Logger()
	value := func(block, action string) slack.BlockAction {
		if cb.View.State == nil {
			return slack.BlockAction{}
		}
		return cb.View.State.Values[block][action]
	}
	fail := func(err error) any {
		return refuseSubmission(&log, err, "delegation refused", blocks.BlockDelegateMode, delegateFields, "")
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		return fail(err)
	}
	mode := value(blocks.BlockDelegateMode, blocks.ActionDelegateMode).SelectedOption.Value
	if mode == blocks.DelegateOff {
		if _, err := b.engine.RemoveDelegation(ctx, workflow.RemoveDelegationInput{Actor: email}); err != nil && workflow.ErrorCode(err) != workflow.ENOTFOUND {
			return fail(err)
		}
		log.Info().Str("email", email).Msg("delegation removed")
		b.out.kick()
		return nil
	}
	if mode != blocks.DelegatePermanent && mode != blocks.DelegateTemporary {
		return fail(workflow.FieldError("mode", "Choose Permanent or Temporary."))
	}
	toID := value(blocks.BlockDelegateTo, blocks.ActionDelegateTo).SelectedUser
	if toID == "" {
		return fail(workflow.FieldError("delegate", "Choose the colleague your new tasks should go to."))
	}
	to, err := b.personByID(ctx, toID)
	if err != nil {
		return fail(workflow.FieldError("delegate", "%s", workflow.ErrorMessage(err)))
	}
	in := workflow.DelegateInput{Actor: email, Delegate: to, TZ: b.zoneName(ctx, email)}
	if mode == blocks.DelegateTemporary {
		in.Start = value(blocks.BlockDelegateStart, blocks.ActionDelegateStart).SelectedDate
		in.End = value(blocks.BlockDelegateEnd, blocks.ActionDelegateEnd).SelectedDate
		if in.End == "" {
			return fail(workflow.FieldError("end", "A temporary delegation needs its last day: choose an end date (or choose Permanent)."))
		}
	}
	if _, err := b.engine.SetDelegation(ctx, in); err != nil {
		return fail(err)
	}
	log.Info().Str("email", email).Str("delegate", to).Msg("delegation set")
	b.out.kick()
	return nil
}
