package blocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// The request modal (`/access request`, the expiry warning's Request
// extension button). Its resource and duration inputs carry the chosen app
// (and resource) in their block_id: Slack keeps what a person entered in an
// input whose block_id survives a views.update, so a new id is what makes
// the resource select forget a resource of the previous app and the
// duration start from the new default.
const (
	CbRequest = "request"

	BlockReqApp            = "req_app" // static_select, or external_select past MaxStaticOptions apps
	ActionReqApp           = "req_app"
	BlockReqResourcePrefix = "req_resource:" // + app id; see ResourceBlockID
	ActionReqResource      = "req_resource"
	BlockReqDurationPrefix = "req_duration:" // + app[/resource]; see DurationBlockID
	ActionReqDuration      = "req_duration"
	BlockReqJustification  = "req_justification"
	ActionReqJustification = "req_justification"
	BlockReqEmergency      = "req_emergency" // checkboxes, only where there is an emergency policy
	ActionReqEmergency     = "req_emergency"
	OptReqEmergency        = "emergency"

	// ActRequestExtension is the expiry warning's button; its value is
	// EncodeGrant(grant id).
	ActRequestExtension = "request_extension"
	// ActTasksOpenHome is `/access tasks`' link button to the App Home; Slack
	// reports its clicks, which need nothing.
	ActTasksOpenHome = "open_app_home"

	// MaxStaticOptions is the most options a static select holds; past it
	// the select is an external one fed by block_suggestion.
	MaxStaticOptions = 100
)

// RequestForm is what the request modal shows.
type RequestForm struct {
	Apps     []*workflow.App    // every app of the catalog, in its order
	App      *workflow.App      // the chosen app, or nil
	Resource *workflow.Resource // the chosen resource, or nil
	// Ent is the effective settings of App (and Resource), or nil while the
	// app needs a resource that is not chosen yet.
	Ent           *workflow.Entitlement
	Duration      string // the duration to show; "" shows the default
	Justification string
	Emergency     bool
	Extension     bool   // extends an active grant
	Note          string // a line (mrkdwn, escaped by the caller) at the top
}

// RequestMeta is the request modal's private_metadata.
type RequestMeta struct {
	Extension bool `json:"ext,omitempty"`
}

// EncodeRequestMeta writes m for private_metadata.
func EncodeRequestMeta(m RequestMeta) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("blocks: marshal request metadata: %v", err))
	}
	return string(b)
}

// DecodeRequestMeta reads EncodeRequestMeta's JSON; empty metadata is a
// plain request.
func DecodeRequestMeta(s string) (RequestMeta, error) {
	var m RequestMeta
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	if len(s) > maxPrivateMetadata {
		return m, fmt.Errorf("request metadata is %d bytes long; at most %d", len(s), maxPrivateMetadata)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return RequestMeta{}, fmt.Errorf("request metadata: %w", err)
	}
	return m, nil
}

// ResourceBlockID is the block_id of the resource select of app.
func ResourceBlockID(appID string) string { return BlockReqResourcePrefix + cutBytes(appID, 200) }

// DurationBlockID is the block_id of the duration input for an app and
// resource ("" when none is chosen yet).
func DurationBlockID(appID, resourceID string) string {
	k := appID
	if resourceID != "" {
		k += "/" + resourceID
	}
	return BlockReqDurationPrefix + cutBytes(k, 200)
}

// ResourceBlockApp returns the app id of a resource select's block_id.
func ResourceBlockApp(blockID string) (string, bool) {
	return strings.CutPrefix(blockID, BlockReqResourcePrefix)
}

// AppOption is the select option of an app: its name, and its id (what
// people type in commands) when the two differ.
func AppOption(a *workflow.App) *slack.OptionBlockObject {
	return option(labelWithID(a.Name, a.ID), a.ID)
}

// ResourceOption is the select option of a resource.
func ResourceOption(r *workflow.Resource) *slack.OptionBlockObject {
	return option(labelWithID(r.Name, r.ID), r.ID)
}

func labelWithID(name, id string) string {
	if name == "" {
		return id
	}
	if strings.EqualFold(name, id) {
		return name
	}
	return truncate(name, maxOptionText-len(id)-3) + " (" + id + ")"
}

// SuggestApps answers a block_suggestion of the app select: the apps whose
// id or name holds query (case-insensitive), those starting with it first,
// at most MaxStaticOptions.
func SuggestApps(apps []*workflow.App, query string) []*slack.OptionBlockObject {
	names := make([][2]string, len(apps))
	for i, a := range apps {
		names[i] = [2]string{a.ID, a.Name}
	}
	out := []*slack.OptionBlockObject{}
	for _, i := range matching(names, query) {
		out = append(out, AppOption(apps[i]))
	}
	return out
}

// SuggestResources is SuggestApps for the resources of app.
func SuggestResources(app *workflow.App, query string) []*slack.OptionBlockObject {
	names := make([][2]string, len(app.Resources))
	for i, r := range app.Resources {
		names[i] = [2]string{r.ID, r.Name}
	}
	out := []*slack.OptionBlockObject{}
	for _, i := range matching(names, query) {
		out = append(out, ResourceOption(app.Resources[i]))
	}
	return out
}

// matching returns the indexes of the (id, name) pairs that hold query,
// prefix matches first, each group in the given order.
func matching(names [][2]string, query string) []int {
	q := strings.ToLower(strings.TrimSpace(query))
	type hit struct{ i, rank int }
	var hits []hit
	for i, n := range names {
		id, name := strings.ToLower(n[0]), strings.ToLower(n[1])
		switch {
		case q == "" || strings.HasPrefix(id, q) || strings.HasPrefix(name, q):
			hits = append(hits, hit{i, 0})
		case strings.Contains(id, q) || strings.Contains(name, q):
			hits = append(hits, hit{i, 1})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].rank < hits[b].rank })
	var out []int
	for k := 0; k < len(hits) && k < MaxStaticOptions; k++ {
		out = append(out, hits[k].i)
	}
	return out
}

// RequestModal asks for access. On submission: state.values[BlockReqApp]
// [ActionReqApp].selected_option.value, the resource select's (block_id
// ResourceBlockID) selected_option.value, the duration input's (block_id
// DurationBlockID) value, state.values[BlockReqJustification]
// [ActionReqJustification].value and, where shown, the emergency checkbox's
// selected_options.
func RequestModal(f RequestForm) slack.ModalViewRequest {
	var bs []slack.Block
	if f.Note != "" {
		bs = append(bs, section(f.Note))
	}
	bs = append(bs, appInput(f))
	if f.App != nil && len(f.App.Resources) > 0 {
		bs = append(bs, resourceInput(f))
	}
	bs = append(bs, durationInput(f))
	just := textInput(BlockReqJustification, ActionReqJustification, "Justification", "Why do you need it?",
		"Your reviewers see it, and it is kept in the task's history.", f.Justification, true, workflow.MaxTextLen)
	bs = append(bs, just)
	if f.Ent != nil && f.Ent.EmergencyPolicy != "" {
		opt := option("This is an emergency", OptReqEmergency)
		opt.Description = plain("Emergency access lasts at most "+workflow.FormatDuration(f.Ent.EmergencyCap())+"; the admins are told at once.", maxOptionText)
		el := slack.NewCheckboxGroupsBlockElement(ActionReqEmergency, opt)
		if f.Emergency {
			el.InitialOptions = []*slack.OptionBlockObject{opt}
		}
		in := slack.NewInputBlock(BlockReqEmergency, plain("Emergency", maxLabel),
			plain("Only for an incident: it goes to the emergency reviewers.", maxHint), el)
		in.Optional = true
		bs = append(bs, in)
	}
	title, submit := "Request access", "Request"
	if f.Extension {
		title, submit = "Extend access", "Request extension"
	}
	m := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(title, maxViewTitle),
		Close:           plain("Cancel", maxViewTitle),
		Submit:          plain(submit, maxViewTitle),
		Blocks:          slack.Blocks{BlockSet: fitBlocks(bs, maxViewBlocks)},
		PrivateMetadata: EncodeRequestMeta(RequestMeta{Extension: f.Extension}),
		CallbackID:      CbRequest,
	}
	return m
}

// choiceSelect lists items as a static select up to MaxStaticOptions of
// them (placeholder choose) and beyond that is an external select that the
// bot fills as the user types (placeholder search).
func choiceSelect[T any](action, choose, search string, items []T, option func(T) *slack.OptionBlockObject) *slack.SelectBlockElement {
	if len(items) > MaxStaticOptions {
		el := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain(search, maxPlaceholder), action)
		minLen := 0
		el.MinQueryLength = &minLen
		return el
	}
	opts := make([]*slack.OptionBlockObject, len(items))
	for i, it := range items {
		opts[i] = option(it)
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(choose, maxPlaceholder), action, opts...)
}

func appInput(f RequestForm) *slack.InputBlock {
	el := choiceSelect(ActionReqApp, "Choose an app", "Type to search the apps", f.Apps, AppOption)
	if f.App != nil {
		el.InitialOption = AppOption(f.App)
	}
	in := slack.NewInputBlock(BlockReqApp, plain("App", maxLabel), nil, el)
	// The resources and the duration follow the app: the bot updates the
	// modal when it changes.
	in.DispatchAction = true
	return in
}

func resourceInput(f RequestForm) *slack.InputBlock {
	app := f.App
	el := choiceSelect(ActionReqResource, "Choose a resource", "Type to search the resources", app.Resources, ResourceOption)
	if f.Resource != nil {
		el.InitialOption = ResourceOption(f.Resource)
	}
	in := slack.NewInputBlock(ResourceBlockID(app.ID), plain("Resource in "+nonEmpty(app.Name), maxLabel),
		plain(app.Name+" is requested through one of its resources.", maxHint), el)
	in.DispatchAction = true
	return in
}

// durationInput is optional: left empty, the default applies.
func durationInput(f RequestForm) *slack.InputBlock {
	hint := "Like 30m, 8h, 2d or 1w."
	initial := f.Duration
	appID, resID := "", ""
	if f.App != nil {
		appID = f.App.ID
	}
	if f.Resource != nil {
		resID = f.Resource.ID
	}
	if e := f.Ent; e != nil {
		what := e.Label()
		def := e.DefaultDuration
		if def == 0 {
			def = workflow.Permanent
		}
		if e.MaxDuration > 0 {
			hint = fmt.Sprintf("Like 30m, 8h, 2d or 1w. The maximum for %s is %s; left empty, it is %s.", what, workflow.FormatDuration(e.MaxDuration), workflow.FormatDuration(def))
		} else {
			hint = fmt.Sprintf("Like 30m, 8h, 2d or 1w, or permanent. %s has no maximum; left empty, it is %s.", what, workflow.FormatDuration(def))
		}
		if initial == "" {
			initial = workflow.FormatDuration(def)
		}
	} else if f.App != nil {
		hint += " Choose a resource to see its default and maximum."
	}
	in := textInput(DurationBlockID(appID, resID), ActionReqDuration, "Duration", "8h", hint, initial, false, 20)
	in.Optional = true
	return in
}

// EncodeGrant is the Request extension button's value: the grant's id.
func EncodeGrant(grantID int64) string { return "grant:" + strconv.FormatInt(grantID, 10) }

// DecodeGrant reads EncodeGrant's value.
func DecodeGrant(v string) (int64, error) {
	s, ok := strings.CutPrefix(v, "grant:")
	if !ok {
		return 0, errors.New("not a grant reference")
	}
	id, err := parseDigits(s)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("grant reference %q: want grant:NUMBER", truncate(v, 40))
	}
	return id, nil
}

// ExpiryWarningMessage is the DM that warns a holder their access ends
// soon, with a button that opens a prefilled extension request.
func ExpiryWarningMessage(text string, grantID int64) (string, []slack.Block) {
	bs := []slack.Block{
		section(":hourglass_flowing_sand: " + escape(text)),
		actions(button(ActRequestExtension, "Request extension", EncodeGrant(grantID), slack.StylePrimary)),
	}
	return truncate(text, maxFallbackText), bs
}
