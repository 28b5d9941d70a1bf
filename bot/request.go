package bot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// requestArgs is what `/access request` was given.
type requestArgs struct {
	app      *workflow.App
	res      *workflow.Resource
	duration string // as ParseDuration reads it, "" for the default
	reason   string
}

// durationWordRE matches a word meant as a duration (8h, 2d, 10, 3x; not 2fa), so
// that a mistyped one is reported rather than read as the reason.
var durationWordRE = regexp.MustCompile(`^[0-9]+[a-z]?$`)

// parseRequest reads `[APP[/RESOURCE]] [DURATION] [reason…]` (the resource
// may also follow the app as its own word when it is exactly one of its
// resources). It returns what was wrong in words a person reads.
func parseRequest(cat *workflow.Catalog, args []string) (requestArgs, string) {
	var p requestArgs
	i := 0
	if i < len(args) && !looksLikeDuration(args[i]) {
		appID, resID, hasRes := strings.Cut(args[i], "/")
		app, msg := lookupApp(cat, appID)
		if msg != "" {
			return p, msg
		}
		p.app = app
		i++
		if !hasRes && len(app.Resources) > 0 && i < len(args) {
			if r := resourceByID(app, args[i]); r != nil {
				p.res = r
				i++
			}
		}
		if hasRes {
			r, msg := lookupResource(app, resID)
			if msg != "" {
				return p, msg
			}
			p.res = r
		}
	}
	if i < len(args) && looksLikeDuration(args[i]) {
		d, err := workflow.ParseDuration(args[i])
		if err != nil {
			return p, sentenceCase(err.Error()) + "."
		}
		p.duration = workflow.FormatDuration(d)
		i++
	}
	p.reason = strings.Join(args[i:], " ")
	return p, ""
}

func looksLikeDuration(w string) bool {
	w = strings.ToLower(w)
	return w == "permanent" || durationWordRE.MatchString(w)
}

func sentenceCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lookupApp finds an app by id, or says which apps come close.
func lookupApp(cat *workflow.Catalog, id string) (*workflow.App, string) {
	if id == "" {
		return nil, "Name an app before the `/`, like `github/org-admin`."
	}
	if a, ok := cat.App(id); ok {
		return a, ""
	}
	ids := make([]string, 0, len(cat.Apps))
	for _, a := range cat.Apps {
		ids = append(ids, a.ID)
	}
	return nil, fmt.Sprintf("There is no app `%s`.%s", cut(id, 60), closestOrList(id, ids, "apps"))
}

// lookupResource finds a resource of app by id, or says which come close.
func lookupResource(app *workflow.App, id string) (*workflow.Resource, string) {
	if len(app.Resources) == 0 {
		return nil, fmt.Sprintf("`%s` has no resources; ask for the app itself, like `%s`.", app.ID, app.ID)
	}
	if id == "" {
		return nil, fmt.Sprintf("Name a resource of `%s` after the `/`.%s", app.ID, closestOrList("", resourceIDsOf(app), "resources"))
	}
	if r := resourceByID(app, id); r != nil {
		return r, ""
	}
	return nil, fmt.Sprintf("`%s` has no resource `%s`.%s", app.ID, cut(id, 60), closestOrList(id, resourceIDsOf(app), "resources"))
}

func resourceByID(app *workflow.App, id string) *workflow.Resource {
	for _, r := range app.Resources {
		if strings.EqualFold(r.ID, id) {
			return r
		}
	}
	return nil
}

func resourceIDsOf(app *workflow.App) []string {
	ids := make([]string, 0, len(app.Resources))
	for _, r := range app.Resources {
		ids = append(ids, r.ID)
	}
	return ids
}

// closestOrList names the closest of names to word, or else lists them (a
// few) so the person can see what exists.
func closestOrList(word string, names []string, what string) string {
	if word != "" {
		if s := closest(word, names); s != "" {
			return s
		}
	}
	const show = 15
	if len(names) == 0 {
		return ""
	}
	list := names
	more := ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf(" and %d more", len(names)-show)
	}
	return fmt.Sprintf(" The %s are `%s`%s.", what, strings.Join(list, "`, `"), more)
}

// subUsage is the right form of a subcommand, with its example.
func (b *Bot) subUsage(name string) string {
	for _, s := range b.accessCommands() {
		if s.name == name {
			return fmt.Sprintf("Use: `/access %s`, for example `/access %s`.", s.usage, s.example)
		}
	}
	return "See `/access help`."
}

// requestCommand is `/access request`: it opens the request modal,
// prefilled from what was typed. The trigger_id expires 3 s after the
// command, so the modal is opened before anything else that may wait.
func (b *Bot) requestCommand(ctx context.Context, c *command) {
	cat := b.engine.Catalog()
	if len(cat.Apps) == 0 {
		b.respond(ctx, c, "No apps are configured yet, so there is nothing to request. Ask an admin.")
		return
	}
	p, msg := parseRequest(cat, c.args)
	if msg != "" {
		b.respond(ctx, c, msg+" Nothing was opened.\n"+b.subUsage("request"))
		return
	}
	f := requestForm(cat, p.app, p.res)
	f.Duration, f.Justification = p.duration, p.reason
	if err := b.openTriggeredView(ctx, c.sc.TriggerID, blocks.RequestModal(f)); err != nil {
		c.log.Warn().Err(err).Msg("views.open of the request form failed")
		b.respond(ctx, c, "Slack did not open the request form in time; please type the command again.")
	}
}

// requestForm is the form for app and res, with what the catalog says of them.
func requestForm(cat *workflow.Catalog, app *workflow.App, res *workflow.Resource) blocks.RequestForm {
	f := blocks.RequestForm{Apps: cat.Apps, App: app, Resource: res}
	if app != nil {
		resID := ""
		if res != nil {
			resID = res.ID
		}
		if ent, err := cat.Entitlement(app.ID, resID); err == nil {
			f.Ent = &ent
		}
	}
	return f
}

// requestState is what the request modal holds now.
type requestState struct {
	appID, resID, duration, justification string
	emergency                             bool
	resBlock, durBlock                    string // block ids in the view, "" when absent
	resBlockApp                           string // the app the resource select was made for
}

func readRequestState(v slack.View) requestState {
	var s requestState
	for _, bl := range v.Blocks.BlockSet {
		in, ok := bl.(*slack.InputBlock)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(in.BlockID, blocks.BlockReqResourcePrefix):
			s.resBlock = in.BlockID
			s.resBlockApp, _ = blocks.ResourceBlockApp(in.BlockID)
		case strings.HasPrefix(in.BlockID, blocks.BlockReqDurationPrefix):
			s.durBlock = in.BlockID
		}
	}
	if v.State == nil {
		return s
	}
	vals := v.State.Values
	get := func(block, action string) slack.BlockAction {
		if block == "" {
			return slack.BlockAction{}
		}
		return vals[block][action]
	}
	s.appID = get(blocks.BlockReqApp, blocks.ActionReqApp).SelectedOption.Value
	s.resID = get(s.resBlock, blocks.ActionReqResource).SelectedOption.Value
	s.duration = strings.TrimSpace(get(s.durBlock, blocks.ActionReqDuration).Value)
	s.justification = get(blocks.BlockReqJustification, blocks.ActionReqJustification).Value
	for _, o := range get(blocks.BlockReqEmergency, blocks.ActionReqEmergency).SelectedOptions {
		if o.Value == blocks.OptReqEmergency {
			s.emergency = true
		}
	}
	return s
}

// requestChanged redraws the request modal when its app or resource
// changes: the resource select follows the app (apps without resources
// have none), the duration's default and maximum and the emergency
// checkbox follow the resource. The view's hash makes Slack refuse an
// update based on an older view; should the last redraw be lost that way,
// the submission redraws the form for what was chosen (submitRequest).
func (b *Bot) requestChanged(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	log := b.logger(ctx).With().Str("view", cb.View.ID).Logger()
	meta, err := blocks.DecodeRequestMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn().Err(err).Msg("request modal with bad metadata")
		return
	}
	st := readRequestState(cb.View)
	switch action.ActionID {
	case blocks.ActionReqApp:
		st.appID = action.SelectedOption.Value
	case blocks.ActionReqResource:
		st.resID = action.SelectedOption.Value
	}
	view, ok := b.requestRedraw(st, meta)
	if !ok {
		log.Info().Str("app", cut(st.appID, 60)).Msg("request modal: unknown app chosen")
		return
	}
	err = b.slack.UpdateView(ctx, view, "", cb.View.Hash, cb.View.ID)
	switch code := slackCode(err); {
	case code == "hash_conflict":
		log.Info().Msg("request modal changed again meanwhile; not redrawn from the older view")
	case err != nil:
		log.Warn().Err(err).Msg("views.update of the request form failed")
	}
}

// requestRedraw is the request modal for what st has chosen, keeping what
// was typed; false when the app is unknown.
func (b *Bot) requestRedraw(st requestState, meta blocks.RequestMeta) (slack.ModalViewRequest, bool) {
	cat := b.engine.Catalog()
	app, ok := cat.App(st.appID)
	if !ok {
		return slack.ModalViewRequest{}, false
	}
	var res *workflow.Resource
	if st.resBlockApp == app.ID || st.resBlockApp == "" {
		res = resourceByID(app, st.resID)
	}
	f := requestForm(cat, app, res)
	f.Justification, f.Emergency, f.Extension = st.justification, st.emergency, meta.Extension
	// A duration given before the resource was chosen still stands; one of
	// another app or resource gives way to the new default.
	if f.Ent != nil && (st.durBlock == blocks.DurationBlockID(app.ID, resIDOf(res)) || st.durBlock == blocks.DurationBlockID(app.ID, "")) {
		f.Duration = st.duration
	}
	if meta.Extension {
		f.Note = extensionNote(f)
	}
	return blocks.RequestModal(f), true
}

func resIDOf(r *workflow.Resource) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// suggestApps feeds the app select once there are too many apps for a
// static one.
func (b *Bot) suggestApps(_ context.Context, cb slack.InteractionCallback) slack.OptionsResponse {
	return slack.OptionsResponse{Options: blocks.SuggestApps(b.engine.Catalog().Apps, cb.Value)}
}

// suggestResources feeds the resource select of an app with too many
// resources for a static one; the app is in the select's block_id.
func (b *Bot) suggestResources(_ context.Context, cb slack.InteractionCallback) slack.OptionsResponse {
	appID, _ := blocks.ResourceBlockApp(cb.BlockID)
	app, ok := b.engine.Catalog().App(appID)
	if !ok {
		return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
	}
	return slack.OptionsResponse{Options: blocks.SuggestResources(app, cb.Value)}
}

// submitRequest creates the task of a submitted request modal. Every
// refusal is a field error under the input it concerns; nothing is created.
// On success the modal closes and the outbox posts the requester's status
// card and the reviewers' cards.
func (b *Bot) submitRequest(ctx context.Context, cb slack.InteractionCallback) any {
	log := b.logger(ctx).With().Str("callback", cb.View.CallbackID).Logger()
	st := readRequestState(cb.View)
	fields := map[string]string{"resource": st.resBlock, "duration": st.durBlock, "justification": blocks.BlockReqJustification}
	if blockIn(cb.View, blocks.BlockReqEmergency) {
		fields["emergency"] = blocks.BlockReqEmergency
	}
	fail := func(err error) any {
		return refuseSubmission(&log, err, "request refused", blocks.BlockReqApp, fields, "")
	}
	meta, err := blocks.DecodeRequestMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn().Err(err).Msg("request modal with bad metadata")
		return fail(workflow.Errorf(workflow.EINVALID, "This form is damaged; close it and type `/access request` again."))
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		return fail(err)
	}
	if st.appID == "" {
		return fail(workflow.FieldError("app", "Choose an app."))
	}
	app, ok := b.engine.Catalog().App(st.appID)
	if !ok {
		return fail(workflow.FieldError("app", "The app %q is no longer configured; choose another.", st.appID))
	}
	// The form may lag behind the choice (a redraw lost to a race or to
	// Slack): its resource select or duration would then be another app's.
	// Redraw it for what was chosen instead of guessing.
	resID := ""
	if st.resBlockApp == app.ID {
		resID = st.resID
	}
	if resID != "" && resourceByID(app, resID) == nil {
		return fail(workflow.FieldError("resource", "%s has no resource %q any more; choose another.", app.Name, resID))
	}
	if (len(app.Resources) > 0) != (st.resBlockApp == app.ID) || st.durBlock != blocks.DurationBlockID(app.ID, resID) {
		view, _ := b.requestRedraw(st, meta)
		log.Info().Str("app", app.ID).Msg("request form redrawn for the app chosen; not submitted")
		return slack.NewUpdateViewSubmissionResponse(&view)
	}
	if len(app.Resources) > 0 && resID == "" {
		return fail(workflow.FieldError("resource", "Choose a resource of %s.", app.Name))
	}
	var dur time.Duration
	if st.duration != "" {
		if dur, err = workflow.ParseDuration(st.duration); err != nil {
			return fail(workflow.FieldError("duration", "%s.", sentenceCase(err.Error())))
		}
	}
	task, err := b.engine.Request(ctx, workflow.RequestInput{Requester: email, AppID: app.ID, ResourceID: resID,
		Duration: dur, Justification: st.justification, Emergency: st.emergency, Extension: meta.Extension})
	if err != nil {
		return fail(err)
	}
	log.Info().Int64("task", task.ID).Str("email", email).Bool("emergency", task.Emergency).Bool("extension", task.Extension).Msg("requested")
	b.out.kick()
	return nil
}

// extensionNote is the line atop an extension request.
func extensionNote(f blocks.RequestForm) string {
	what := "your access"
	if f.Ent != nil {
		what = "your access to *" + escapeLabel(f.Ent.Label()) + "*"
	}
	return "Ask to extend " + what + ". Your reviewers decide as for a new request; until then the access ends as planned."
}

var labelEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// requestExtension answers the expiry warning's Request extension button:
// it opens the request modal prefilled with the grant's app, resource and
// duration. A grant that ended meanwhile gets a plain (new) request.
func (b *Bot) requestExtension(ctx context.Context, c click) {
	grantID, err := blocks.DecodeGrant(c.action.Value)
	if err != nil {
		b.refuse(ctx, c, "That button does not name access accessbot knows.", err)
		return
	}
	email, err := b.dir.emailOf(ctx, c.cb.User.ID)
	if err != nil {
		b.refuse(ctx, c, workflow.ErrorMessage(err), err)
		return
	}
	g, gt, err := b.engine.Grant(ctx, grantID)
	if err != nil {
		b.refuse(ctx, c, workflow.ErrorMessage(err), err)
		return
	}
	var dur time.Duration
	if gt != nil {
		dur = gt.Duration
	}
	if !strings.EqualFold(g.Subject, email) {
		b.refuse(ctx, c, "That access is someone else's; only its holder can ask to extend it.", nil)
		return
	}
	cat := b.engine.Catalog()
	app, ok := cat.App(g.AppID)
	if !ok {
		b.refuse(ctx, c, fmt.Sprintf("The app %q is no longer configured, so its access cannot be extended.", g.AppID), nil)
		return
	}
	var res *workflow.Resource
	if g.ResourceID != "" {
		res = resourceByID(app, g.ResourceID)
	}
	f := requestForm(cat, app, res)
	f.Extension = g.Status == workflow.GrantActive
	if dur != 0 {
		f.Duration = workflow.FormatDuration(dur)
	}
	if f.Extension {
		f.Note = extensionNote(f)
	}
	if err := b.openTriggeredView(ctx, c.cb.TriggerID, blocks.RequestModal(f)); err != nil {
		c.log.Warn().Err(err).Int64("grant", grantID).Msg("views.open of the extension form failed")
		b.ephemeral(ctx, c.channel, c.cb.User.ID, "Slack did not open the form in time; please click again.")
	}
}
