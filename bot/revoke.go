package bot

import (
	"context"
	"fmt"
	"strings"

	"accessbot/workflow"
)

// revokeCommand is `/access revoke @person APP[/RESOURCE] reason…`: a
// proposal to revoke someone's access. The engine decides who may propose
// it (the person's manager, an owner of the app or resource, an admin) and
// whether there is access to revoke.
func (b *Bot) revokeCommand(ctx context.Context, c *command) {
	wrong := func(msg string) {
		b.respond(ctx, c, msg+" Nothing was changed.\n"+b.subUsage("revoke"))
	}
	args := rejoinMentions(c.args)
	if len(args) < 2 {
		wrong("Say whose access to revoke and to what.")
		return
	}
	subject, err := b.mentionedEmail(ctx, args[0])
	if err != nil {
		wrong(workflow.ErrorMessage(err))
		return
	}
	cat := b.engine.Catalog()
	appID, resID, hasRes := strings.Cut(args[1], "/")
	app, msg := lookupApp(cat, appID)
	if msg != "" {
		wrong(msg)
		return
	}
	rest := args[2:]
	var res *workflow.Resource
	switch {
	case hasRes:
		if res, msg = lookupResource(app, resID); msg != "" {
			wrong(msg)
			return
		}
	case len(app.Resources) > 0 && len(rest) > 0 && resourceByID(app, rest[0]) != nil:
		res, rest = resourceByID(app, rest[0]), rest[1:]
	case len(app.Resources) > 0:
		wrong(fmt.Sprintf("`%s` is granted through its resources; name one, like `%s/%s`.%s", app.ID, app.ID, app.Resources[0].ID, closestOrList("", resourceIDsOf(app), "resources")))
		return
	}
	reason := strings.Join(rest, " ")
	if strings.TrimSpace(reason) == "" {
		wrong("Give a reason after the access: the reviewers and the person see it.")
		return
	}
	task, err := b.engine.ProposeRevocation(ctx, workflow.RevocationInput{Actor: c.email, Subject: subject,
		AppID: app.ID, ResourceID: resIDOf(res), Reason: reason})
	if err != nil {
		log := c.log.With().Str("subject", subject).Logger()
		b.respond(ctx, c, refused(&log, err, "revocation refused")+" Nothing was changed.")
		return
	}
	c.log.Info().Int64("task", task.ID).Str("subject", subject).Msg("revocation proposed")
	b.out.kick()
	who, _ := parseMention(args[0])
	b.respond(ctx, c, fmt.Sprintf("Proposed revoking <@%s>'s access to %s: %s. Its reviewers have been asked; you will see its progress in your DMs.",
		who, accessLabel(cat, task), task.Number()))
}

// rejoinMentions puts back together a mention whose name has spaces
// (<@U123|Jane Doe>), which splitting the text on spaces tore apart.
func rejoinMentions(words []string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "<@") && !strings.Contains(w, ">") {
			j := i + 1
			for j < len(words) && !strings.Contains(words[j-1], ">") {
				w += " " + words[j]
				j++
			}
			i = j - 1
		}
		out = append(out, w)
	}
	return out
}
