package bot

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// command is one slash command invocation being handled.
type command struct {
	sc    slack.SlashCommand
	sub   string   // the subcommand, lower case ("" for none)
	args  []string // the words after it
	rest  string   // the raw text after it, trimmed
	email string   // who typed it
	admin bool
	log   zerolog.Logger
}

// subcommand is one `/access` subcommand.
type subcommand struct {
	name    string
	usage   string // "request [APP[/RESOURCE]] [DURATION] [reason…]"
	example string // "request github/admin 8h deploy the hotfix"
	help    string // one line: what it does
	admin   bool   // admins only; others are refused and the attempt logged
	run     func(ctx context.Context, c *command)
}

// accessCommands returns `/access`'s subcommands. Each surface adds its own
// (requests and App Home, delegation, admin repairs).
func (b *Bot) accessCommands() []subcommand {
	return []subcommand{
		{name: "help", usage: "help", example: "help", help: "show this help", run: b.accessHelp},
		{name: "delegate", usage: "delegate @person @colleague [FIRST LAST] | delegate @person off", example: "delegate @jane @joe 2026-12-01 2026-12-15",
			help: "set or remove another person's delegate (dates in their time zone)", admin: true, run: b.adminDelegate},
		{name: "request", usage: "request [APP[/RESOURCE]] [DURATION] [reason…]", example: "request github/org-admin 8h deploy the hotfix", help: "ask for access: opens a form, prefilled with what you typed", run: b.requestCommand},
		{name: "revoke", usage: "revoke @person APP[/RESOURCE] reason…", example: "revoke @jane github/org-admin left the team", help: "propose removing someone's access (their manager, the app's owners and admins)", run: b.revokeCommand},
		{name: "tasks", usage: "tasks", example: "tasks", help: "what waits on you, with a link to the App Home", run: b.tasksCommand},
		{name: "show", usage: "show T-12", example: "show T-12", help: "the details of a task you are involved in", run: b.showCommand},
		{name: "remind", usage: "remind T-12", example: "remind T-12", help: "remind the people a task waits on (once an hour a task)", run: b.remindCommand},
		{name: "stuck", usage: "stuck", example: "stuck", help: "list tasks stopped with an error or waiting past escalation", admin: true, run: b.stuckCommand},
		b.adminOpCommand(workflow.OpProcessNow),
		b.adminOpCommand(workflow.OpCancel),
		b.adminOpCommand(workflow.OpRestart),
		b.adminOpCommand(workflow.OpSkipStep),
		b.adminOpCommand(workflow.OpHardReset),
		b.adminOpCommand(workflow.OpChangePolicy),
		b.adminOpCommand(workflow.OpDelete),
		{name: "reload", usage: "reload", example: "reload", help: "re-read the configuration file; a file with problems is not applied", admin: true, run: b.reloadCommand},
	}
}

// slashCommand handles a slash command after its ack. The answer is an
// ephemeral message through the command's response_url (it works in any
// channel, also where the bot is not a member).
func (b *Bot) slashCommand(ctx context.Context, sc slack.SlashCommand) {
	c := &command{sc: sc, log: b.logger(ctx).With().Str("command", sc.Command).Logger()}
	email, err := b.dir.actorEmail(ctx, sc.UserID)
	if err != nil {
		c.log.Info().AnErr("reason", err).Msg("command from an unknown person")
		b.respond(ctx, c, workflow.ErrorMessage(err))
		return
	}
	c.email = email
	c.admin = b.engine.Catalog().IsAdmin(email)
	c.log = c.log.With().Str("email", email).Logger()

	words := strings.Fields(sc.Text)
	if len(words) > 0 {
		c.sub = strings.ToLower(words[0])
		c.args = words[1:]
		c.rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text), words[0]))
	}
	if fn, ok := b.reg.commands[strings.TrimPrefix(sc.Command, "/")]; ok {
		fn(ctx, c)
		return
	}
	c.log.Info().Msg("unknown slash command")
	b.respond(ctx, c, fmt.Sprintf("accessbot does not know the command %s. Try `/access help`.", cut(sc.Command, 40)))
}

func (b *Bot) accessCommand(ctx context.Context, c *command) {
	if c.sub == "" {
		b.accessHelp(ctx, c)
		return
	}
	for _, s := range b.accessCommands() {
		if s.name != c.sub {
			continue
		}
		if s.admin && !c.admin {
			c.log.Warn().Str("sub", s.name).Int("text_len", len(c.sc.Text)).Msg("admin command refused: not an admin")
			b.respond(ctx, c, fmt.Sprintf("`/access %s` is for accessbot admins only, and you are not one; nothing was changed. Ask an admin (listed under `admins` in the configuration).", s.name))
			return
		}
		c.log = c.log.With().Str("sub", s.name).Logger()
		s.run(ctx, c)
		return
	}
	b.respond(ctx, c, fmt.Sprintf("`/access %s` is not a subcommand accessbot knows.%s\n\n%s",
		cut(c.sub, 40), closest(c.sub, b.subNames(c.admin)), b.helpText(c.admin)))
}

func (b *Bot) subNames(admin bool) []string {
	var names []string
	for _, s := range b.accessCommands() {
		if !s.admin || admin {
			names = append(names, s.name)
		}
	}
	return names
}

func (b *Bot) accessHelp(ctx context.Context, c *command) {
	b.respond(ctx, c, b.helpText(c.admin))
}

// helpText lists the subcommands with an example each; admins also see
// theirs.
func (b *Bot) helpText(admin bool) string {
	var sb strings.Builder
	sb.WriteString("*`/access`* asks for time-bound access to apps and handles your access tasks.\n")
	var adminLines []string
	for _, s := range b.accessCommands() {
		line := fmt.Sprintf("• `/access %s`: %s. Example: `/access %s`\n", s.usage, s.help, s.example)
		if s.admin {
			adminLines = append(adminLines, line)
			continue
		}
		sb.WriteString(line)
	}
	if admin && len(adminLines) > 0 {
		sb.WriteString("\n*Admin subcommands*\n")
		for _, l := range adminLines {
			sb.WriteString(l)
		}
	}
	return sb.String()
}

// respond answers the person who typed c with an ephemeral message through
// the response_url, falling back to chat.postEphemeral.
func (b *Bot) respond(ctx context.Context, c *command, text string) {
	b.respondBlocks(ctx, c, text, nil)
}

// respondBlocks is respond with blocks (text is the notification fallback).
func (b *Bot) respondBlocks(ctx context.Context, c *command, text string, bl []slack.Block) {
	msg := &slack.WebhookMessage{Text: cut(mentionEmails(text, b.dir.namer(ctx)), 3000), ResponseType: slack.ResponseTypeEphemeral}
	if len(bl) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: bl}
	}
	if c.sc.ResponseURL != "" {
		err := b.slack.Respond(ctx, c.sc.ResponseURL, msg)
		if err == nil {
			return
		}
		c.log.Warn().Err(err).Msg("response_url failed; trying chat.postEphemeral")
	}
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
	if len(bl) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(bl...))
	}
	channel := c.sc.ChannelID
	if channel == "" {
		channel = c.sc.UserID
	}
	err := b.slack.Ephemeral(ctx, channel, c.sc.UserID, opts...)
	if err != nil {
		c.log.Warn().Err(err).Msg("answer to a command failed")
	}
}

// mentionRE matches a user mention as Slack escapes it: <@U123> or
// <@U123|name>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(\|[^>]*)?>$`)

// parseMention returns the Slack user id of a mention, or ok false.
func parseMention(word string) (id string, ok bool) {
	m := mentionRE.FindStringSubmatch(strings.TrimSpace(word))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// mentionedEmail resolves a mention word to the person's email, with a
// message that says what was wrong (not a mention, not a person, a bot, a
// deactivated account).
func (b *Bot) mentionedEmail(ctx context.Context, word string) (string, error) {
	id, ok := parseMention(word)
	if !ok {
		return "", workflow.Errorf(workflow.EINVALID, "%q is not a mention of a person: type @ and pick them from the list (for example @jane).", cut(word, 40))
	}
	email, err := b.dir.emailOf(ctx, id)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.EINTERNAL {
			return "", workflow.Errorf(workflow.EINVALID, "accessbot cannot find <@%s> in Slack.", id)
		}
		return "", err
	}
	if u, err := b.store.ChatUserByID(ctx, id); err == nil {
		switch {
		case u.IsBot:
			return "", workflow.Errorf(workflow.EINVALID, "<@%s> is a bot, not a person.", id)
		case u.Deleted:
			return "", workflow.Errorf(workflow.EINVALID, "<@%s>'s Slack account is deactivated.", id)
		}
	}
	return email, nil
}

// parseTaskRef reads a task number such as T-12, t12 or 12.
func parseTaskRef(word string) (int64, error) {
	id, err := workflow.ParseNumber(word)
	if err != nil {
		return 0, workflow.Errorf(workflow.EINVALID, "%q is not a task number: write it as T-12.", cut(word, 40))
	}
	return id, nil
}

// closest suggests the nearest of names to s ("" when none is near).
func closest(s string, names []string) string {
	best := nearest(s, names, 3)
	if len(best) == 0 {
		return ""
	}
	q := make([]string, len(best))
	for i, n := range best {
		q[i] = "`" + n + "`"
	}
	return " Did you mean " + strings.Join(q, " or ") + "?"
}

// nearest returns up to max of names closest to s by edit distance (a
// prefix match counts as close), nearest first.
func nearest(s string, names []string, max int) []string {
	s = strings.ToLower(s)
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, n := range names {
		ln := strings.ToLower(n)
		d := editDistance(s, ln)
		if strings.HasPrefix(ln, s) || strings.Contains(ln, s) && len(s) >= 3 {
			d = 0
		}
		if d <= 2 || d <= len(s)/3 {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < max; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
