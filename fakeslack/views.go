package fakeslack

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type viewRec struct {
	id     string
	userID string
	typ    string         // "modal" or "home"
	obj    map[string]any // the view as the bot sent it, ids filled in
	hash   string
	rootID string
	prevID string
	// state is what the person entered: block_id -> action_id -> value object.
	state map[string]map[string]any
}

// View is a stored modal or Home tab. Accessors return copies.
type View struct {
	ID              string
	Type            string // "modal" or "home"
	UserID          string
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	Hash            string
	RootViewID      string
	PreviousViewID  string
	Title           string
	Submit          string
	Close           string
	NotifyOnClose   bool
	Blocks          json.RawMessage
	State           json.RawMessage // {"values":{...}} as Slack would send it now
	JSON            json.RawMessage // the whole view object as Slack returns it
}

// Actions lists the view's interactive elements (inputs included).
func (v View) Actions() []Action { return actionsIn(decodeBlocks(v.Blocks)) }

// FindAction finds an element by action_id, or else by its visible text.
func (v View) FindAction(actionIDOrText string) (Action, bool) {
	return findAction(decodeBlocks(v.Blocks), actionIDOrText)
}

// Input returns the element of the input block with the given block_id.
func (v View) Input(blockID string) (Action, bool) {
	for _, a := range v.Actions() {
		if a.InInput && a.BlockID == blockID {
			return a, true
		}
	}
	return Action{}, false
}

// AllText is the title followed by every text in the blocks, one per line.
func (v View) AllText() string {
	var sb strings.Builder
	sb.WriteString(v.Title)
	sb.WriteByte('\n')
	allText(decodeBlocks(v.Blocks), &sb)
	return sb.String()
}

func (s *Server) viewJSONLocked(rec *viewRec) map[string]any {
	out := cloneJSON(rec.obj)
	for k, def := range map[string]any{
		"private_metadata": "", "callback_id": "", "external_id": "",
		"clear_on_close": false, "notify_on_close": false,
	} {
		if _, ok := out[k]; !ok {
			out[k] = def
		}
	}
	out["id"] = rec.id
	out["team_id"] = s.opts.TeamID
	out["type"] = rec.typ
	out["state"] = map[string]any{"values": s.stateValuesLocked(rec)}
	out["hash"] = rec.hash
	out["root_view_id"] = rec.rootID
	if rec.prevID != "" {
		out["previous_view_id"] = rec.prevID
	} else {
		out["previous_view_id"] = nil
	}
	out["app_id"] = s.opts.AppID
	out["bot_id"] = s.opts.BotID
	out["app_installed_team_id"] = s.opts.TeamID
	return out
}

func (s *Server) exportViewLocked(rec *viewRec) View {
	js := s.viewJSONLocked(rec)
	notify, _ := rec.obj["notify_on_close"].(bool)
	return View{
		ID:              rec.id,
		Type:            rec.typ,
		UserID:          rec.userID,
		CallbackID:      str(rec.obj["callback_id"]),
		PrivateMetadata: str(rec.obj["private_metadata"]),
		ExternalID:      str(rec.obj["external_id"]),
		Hash:            rec.hash,
		RootViewID:      rec.rootID,
		PreviousViewID:  rec.prevID,
		Title:           textOf(rec.obj["title"]),
		Submit:          textOf(rec.obj["submit"]),
		Close:           textOf(rec.obj["close"]),
		NotifyOnClose:   notify,
		Blocks:          mustJSON(arrOrEmpty(rec.obj["blocks"])),
		State:           mustJSON(js["state"]),
		JSON:            mustJSON(js),
	}
}

func arrOrEmpty(v any) []any {
	if a := arr(v); a != nil {
		return a
	}
	return []any{}
}

// View returns a view by id.
func (s *Server) View(viewID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.views[viewID]
	if rec == nil {
		return View{}, false
	}
	return s.exportViewLocked(rec), true
}

// Views returns every view ever opened or published (closed modals included), by id.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.views))
	for _, id := range sortedKeys(s.views) {
		out = append(out, s.exportViewLocked(s.views[id]))
	}
	return out
}

// HomeView returns the user's published Home tab.
func (s *Server) HomeView(userID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.views[s.homeOf[userID]]; rec != nil {
		return s.exportViewLocked(rec), true
	}
	return View{}, false
}

// ModalStack returns the user's open modals, bottom (root) first.
func (s *Server) ModalStack(userID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, id := range s.stackOf[userID] {
		out = append(out, s.exportViewLocked(s.views[id]))
	}
	return out
}

// TopModal returns the modal the user is looking at, if any.
func (s *Server) TopModal(userID string) (View, bool) {
	st := s.ModalStack(userID)
	if len(st) == 0 {
		return View{}, false
	}
	return st[len(st)-1], true
}

// ---- triggers ----

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

func (s *Server) mintTriggerLocked(userID string, age time.Duration) string {
	id := fmt.Sprintf("%d.%s.%s", s.nextIDLocked(), strings.TrimLeft(s.opts.TeamID, "T"), randHex(16))
	s.triggers[id] = &trigger{user: userID, issued: time.Now().Add(-age)}
	return id
}

// MintTrigger issues a trigger_id for the user as if they had just interacted
// age ago; MintTrigger(u, 4*time.Second) is an expired one.
func (s *Server) MintTrigger(userID string, age time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mintTriggerLocked(userID, age)
}

// exchangeTriggerLocked spends a trigger. The codes are Slack's.
func (s *Server) exchangeTriggerLocked(id string) (string, map[string]any) {
	t := s.triggers[id]
	switch {
	case id == "" || t == nil:
		return "", apiErr("invalid_trigger_id", "trigger_id was never issued")
	case t.used:
		return "", apiErr("exchanged_trigger_id", "trigger_id was already exchanged")
	case time.Since(t.issued) > s.opts.TriggerTTL:
		return "", apiErr("expired_trigger_id", fmt.Sprintf("trigger_id is %s old; it expires after %s", time.Since(t.issued).Round(time.Millisecond), s.opts.TriggerTTL))
	}
	t.used = true
	return t.user, nil
}

// ---- views.* (handlers run with s.mu held) ----

func (s *Server) viewParam(p params, wantType string) (map[string]any, map[string]any) {
	v, err := p.value("view")
	if err != nil {
		return nil, apiErr("invalid_arguments", "[ERROR] view is not valid JSON [json-pointer:/view]")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, apiErr("invalid_arguments", "[ERROR] missing required field: view [json-pointer:/view]")
	}
	if errs := validateView(obj, wantType); len(errs) > 0 {
		return nil, apiErr("invalid_arguments", errs...)
	}
	return obj, nil
}

func (s *Server) newHash() string {
	return fmt.Sprintf("%d.%s", time.Now().Unix(), randHex(4))
}

func (s *Server) externalIDTakenLocked(ext, except string) bool {
	if ext == "" {
		return false
	}
	for id, r := range s.views {
		if id != except && str(r.obj["external_id"]) == ext {
			return true
		}
	}
	return false
}

func (s *Server) newViewLocked(userID, typ string, obj map[string]any) *viewRec {
	s.normalizeBlocksLocked(arr(obj["blocks"]))
	rec := &viewRec{
		id:     fmt.Sprintf("V%010d", s.nextIDLocked()),
		userID: userID,
		typ:    typ,
		obj:    obj,
		hash:   s.newHash(),
		state:  map[string]map[string]any{},
	}
	rec.rootID = rec.id
	s.views[rec.id] = rec
	return rec
}

func (s *Server) apiViewsOpen(p params) map[string]any {
	obj, errResp := s.viewParam(p, "modal")
	if errResp != nil {
		return errResp
	}
	if s.externalIDTakenLocked(str(obj["external_id"]), "") {
		return apiErr("duplicate_external_id")
	}
	user, errResp := s.exchangeTriggerLocked(p.str("trigger_id"))
	if errResp != nil {
		return errResp
	}
	rec := s.newViewLocked(user, "modal", obj)
	// A new root replaces whatever stack the user had.
	s.stackOf[user] = []string{rec.id}
	s.bumpLocked()
	return apiOK(map[string]any{"view": s.viewJSONLocked(rec)})
}

func (s *Server) apiViewsPush(p params) map[string]any {
	obj, errResp := s.viewParam(p, "modal")
	if errResp != nil {
		return errResp
	}
	if s.externalIDTakenLocked(str(obj["external_id"]), "") {
		return apiErr("duplicate_external_id")
	}
	user, errResp := s.exchangeTriggerLocked(p.str("trigger_id"))
	if errResp != nil {
		return errResp
	}
	rec, code := s.pushViewLocked(user, obj)
	if code != "" {
		return apiErr(code)
	}
	return apiOK(map[string]any{"view": s.viewJSONLocked(rec)})
}

func (s *Server) pushViewLocked(user string, obj map[string]any) (*viewRec, string) {
	stack := s.stackOf[user]
	if len(stack) == 0 {
		return nil, "not_found"
	}
	if len(stack) >= 3 {
		return nil, "push_limit_reached"
	}
	rec := s.newViewLocked(user, "modal", obj)
	rec.rootID = stack[0]
	rec.prevID = stack[len(stack)-1]
	s.stackOf[user] = append(stack, rec.id)
	s.bumpLocked()
	return rec, ""
}

func (s *Server) apiViewsUpdate(p params) map[string]any {
	var rec *viewRec
	if id := p.str("view_id"); id != "" {
		rec = s.views[id]
	} else if ext := p.str("external_id"); ext != "" {
		for _, r := range s.views {
			if str(r.obj["external_id"]) == ext {
				rec = r
			}
		}
	} else {
		return apiErr("invalid_arguments", "[ERROR] view_id or external_id is required")
	}
	if rec == nil {
		return apiErr("not_found")
	}
	obj, errResp := s.viewParam(p, rec.typ)
	if errResp != nil {
		return errResp
	}
	if h := p.str("hash"); h != "" && h != rec.hash {
		return apiErr("hash_conflict")
	}
	if s.externalIDTakenLocked(str(obj["external_id"]), rec.id) {
		return apiErr("duplicate_external_id")
	}
	s.replaceViewLocked(rec, obj)
	return apiOK(map[string]any{"view": s.viewJSONLocked(rec)})
}

// replaceViewLocked swaps a view's content, keeping what the person entered in
// inputs whose block_id and action_id survive, as Slack does.
func (s *Server) replaceViewLocked(rec *viewRec, obj map[string]any) {
	s.normalizeBlocksLocked(arr(obj["blocks"]))
	rec.obj = obj
	rec.hash = s.newHash()
	kept := map[string]map[string]any{}
	for _, a := range actionsIn(arr(obj["blocks"])) {
		if v, ok := rec.state[a.BlockID][a.ActionID]; ok {
			if kept[a.BlockID] == nil {
				kept[a.BlockID] = map[string]any{}
			}
			kept[a.BlockID][a.ActionID] = v
		}
	}
	rec.state = kept
	s.bumpLocked()
}

func (s *Server) apiViewsPublish(p params) map[string]any {
	obj, errResp := s.viewParam(p, "home")
	if errResp != nil {
		return errResp
	}
	user := s.users[p.str("user_id")]
	if user == nil {
		return apiErr("user_not_found")
	}
	if rec := s.views[s.homeOf[user.ID]]; rec != nil {
		if h := p.str("hash"); h != "" && h != rec.hash {
			return apiErr("hash_conflict")
		}
		s.replaceViewLocked(rec, obj)
		return apiOK(map[string]any{"view": s.viewJSONLocked(rec)})
	}
	rec := s.newViewLocked(user.ID, "home", obj)
	s.homeOf[user.ID] = rec.id
	s.bumpLocked()
	return apiOK(map[string]any{"view": s.viewJSONLocked(rec)})
}

// ---- input state ----

// stateValuesLocked renders view.state.values: every input element (with its
// initial value when the person did not touch it) plus whatever the person set
// in other stateful elements.
func (s *Server) stateValuesLocked(rec *viewRec) map[string]any {
	out := map[string]any{}
	for _, a := range actionsIn(arr(rec.obj["blocks"])) {
		v, ok := rec.state[a.BlockID][a.ActionID]
		if !ok && a.InInput {
			v, ok = defaultValue(a.Element), true
		}
		if !ok || v == nil {
			continue
		}
		blk, _ := out[a.BlockID].(map[string]any)
		if blk == nil {
			blk = map[string]any{}
			out[a.BlockID] = blk
		}
		blk[a.ActionID] = cloneJSON(v)
	}
	return out
}

// valueKeys maps element types to the state field and the initial_* field.
var valueKeys = map[string][2]string{
	"plain_text_input":           {"value", "initial_value"},
	"number_input":               {"value", "initial_value"},
	"email_text_input":           {"value", "initial_value"},
	"url_text_input":             {"value", "initial_value"},
	"rich_text_input":            {"rich_text_value", "initial_value"},
	"static_select":              {"selected_option", "initial_option"},
	"external_select":            {"selected_option", "initial_option"},
	"radio_buttons":              {"selected_option", "initial_option"},
	"multi_static_select":        {"selected_options", "initial_options"},
	"multi_external_select":      {"selected_options", "initial_options"},
	"checkboxes":                 {"selected_options", "initial_options"},
	"users_select":               {"selected_user", "initial_user"},
	"multi_users_select":         {"selected_users", "initial_users"},
	"conversations_select":       {"selected_conversation", "initial_conversation"},
	"multi_conversations_select": {"selected_conversations", "initial_conversations"},
	"channels_select":            {"selected_channel", "initial_channel"},
	"multi_channels_select":      {"selected_channels", "initial_channels"},
	"datepicker":                 {"selected_date", "initial_date"},
	"timepicker":                 {"selected_time", "initial_time"},
	"datetimepicker":             {"selected_date_time", "initial_date_time"},
	"file_input":                 {"files", ""},
}

// isMulti: the list-valued state fields all end in "s" (selected_options, files, ...).
func isMulti(key string) bool { return strings.HasSuffix(key, "s") }

// defaultValue is the state of an untouched element.
func defaultValue(el map[string]any) map[string]any {
	typ := str(el["type"])
	keys, ok := valueKeys[typ]
	if !ok {
		return nil
	}
	out := map[string]any{"type": typ}
	var init any
	if keys[1] != "" {
		init = el[keys[1]]
	}
	switch {
	case init != nil:
		out[keys[0]] = cloneJSON(init)
	case isMulti(keys[0]):
		out[keys[0]] = []any{}
	default:
		out[keys[0]] = nil
	}
	return out
}

// valueFor turns what a person picked into the element's state value. values are
// typed text, option values (or option texts), user/conversation/channel ids,
// "YYYY-MM-DD" dates, "HH:mm" times or unix seconds for datetimepicker.
func valueFor(a Action, values []string, suggested []Option) (map[string]any, error) {
	keys, ok := valueKeys[a.Type]
	if a.Type == "overflow" {
		keys, ok = [2]string{"selected_option", ""}, true
	}
	if !ok {
		return nil, fmt.Errorf("fakeslack: cannot set a value on a %s", a.Type)
	}
	out := map[string]any{"type": a.Type}
	key := keys[0]
	multi := isMulti(key)
	if !multi && len(values) > 1 {
		return nil, fmt.Errorf("fakeslack: %s %q takes one value, got %d", a.Type, a.ActionID, len(values))
	}
	options := append(append([]Option(nil), a.Options...), suggested...)
	pick := func(v string) (any, error) {
		switch key {
		case "rich_text_value":
			return map[string]any{"type": "rich_text", "elements": []any{map[string]any{
				"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": v}},
			}}}, nil
		case "files":
			return map[string]any{"id": v}, nil
		}
		if !strings.HasPrefix(key, "selected_option") {
			return v, nil
		}
		for _, o := range options {
			if o.Value == v {
				return cloneJSON(o.Raw), nil
			}
		}
		for _, o := range options {
			if o.Text == v {
				return cloneJSON(o.Raw), nil
			}
		}
		if strings.Contains(a.Type, "external") {
			return map[string]any{"text": map[string]any{"type": "plain_text", "text": v}, "value": v}, nil
		}
		return nil, fmt.Errorf("fakeslack: %q is not an option of %q", v, a.ActionID)
	}
	switch {
	case a.Type == "datetimepicker":
		if len(values) == 0 {
			out[key] = nil
			break
		}
		var n int64
		if _, err := fmt.Sscan(values[0], &n); err != nil {
			return nil, fmt.Errorf("fakeslack: datetimepicker wants unix seconds, got %q", values[0])
		}
		out[key] = n
	case a.Type == "datepicker" && len(values) == 1 && !dateRE.MatchString(values[0]):
		return nil, fmt.Errorf("fakeslack: datepicker wants YYYY-MM-DD, got %q", values[0])
	case a.Type == "timepicker" && len(values) == 1 && !timeRE.MatchString(values[0]):
		return nil, fmt.Errorf("fakeslack: timepicker wants HH:mm, got %q", values[0])
	case multi:
		list := []any{}
		for _, v := range values {
			x, err := pick(v)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		out[key] = list
	case len(values) == 0 || values[0] == "" && key == "value":
		out[key] = nil
	default:
		x, err := pick(values[0])
		if err != nil {
			return nil, err
		}
		out[key] = x
	}
	return out, nil
}

// isEmptyValue tells whether a required input would stop the client from submitting.
func isEmptyValue(v map[string]any) bool {
	if v == nil {
		return true
	}
	for k, x := range v {
		if k == "type" {
			continue
		}
		switch t := x.(type) {
		case nil:
			return true
		case string:
			return t == ""
		case []any:
			return len(t) == 0
		}
		return false
	}
	return true
}
