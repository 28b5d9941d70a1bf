package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// params holds a Web API call's arguments. slack-go posts most methods as
// application/x-www-form-urlencoded (token in the body, no Authorization header),
// views.* and apps.connections.open as JSON with a Bearer header, and
// chat.getPermalink as a GET with a query string; other clients post JSON.
// Structured arguments (blocks, view) arrive as JSON strings in forms and as
// objects/arrays in JSON bodies; both are accepted.
type params struct {
	form url.Values
	body map[string]any
}

func parseParams(r *http.Request) (params, error) {
	p := params{form: r.URL.Query()}
	if r.Method != http.MethodPost {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return p, err
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return p, nil // apps.connections.open posts an empty JSON body
		}
		if err := json.Unmarshal(data, &p.body); err != nil {
			return p, fmt.Errorf("invalid_json")
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return p, fmt.Errorf("invalid_form_data")
		}
		for k, v := range r.MultipartForm.Value {
			p.form[k] = v
		}
	default:
		if err := r.ParseForm(); err != nil {
			return p, fmt.Errorf("invalid_form_data")
		}
		for k, v := range r.PostForm {
			p.form[k] = v
		}
	}
	return p, nil
}

func (p params) has(key string) bool {
	if _, ok := p.body[key]; ok {
		return true
	}
	_, ok := p.form[key]
	return ok
}

func (p params) str(key string) string {
	if v, ok := p.body[key]; ok {
		switch t := v.(type) {
		case string:
			return t
		case nil:
			return ""
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(t)
		default:
			return string(mustJSON(t))
		}
	}
	return p.form.Get(key)
}

// value decodes a structured argument; a string is parsed as JSON.
func (p params) value(key string) (any, error) {
	if v, ok := p.body[key]; ok {
		if s, isStr := v.(string); isStr {
			return decodeJSONString(s)
		}
		return cloneJSON(v), nil
	}
	if s := p.form.Get(key); s != "" {
		return decodeJSONString(s)
	}
	return nil, nil
}

func decodeJSONString(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// flat renders the arguments for the call log, without the token.
func (p params) flat() map[string]string {
	out := map[string]string{}
	for k := range p.form {
		out[k] = p.form.Get(k)
	}
	for k := range p.body {
		out[k] = p.str(k)
	}
	delete(out, "token")
	return out
}

// apiHandler runs with s.mu held, so a call's effects and its count are seen
// together. It may return an event to push (an echo) once the lock is released.
type apiHandler func(s *Server, p params) (resp, echo map[string]any)

var apiMethods = map[string]apiHandler{
	"auth.test":             noEcho((*Server).apiAuthTest),
	"apps.connections.open": noEcho((*Server).apiConnectionsOpen),
	"users.lookupByEmail":   noEcho((*Server).apiLookupByEmail),
	"users.info":            noEcho((*Server).apiUsersInfo),
	"conversations.open":    noEcho((*Server).apiConversationsOpen),
	"conversations.replies": noEcho((*Server).apiConversationsReplies),
	"conversations.history": noEcho((*Server).apiConversationsHistory),
	"chat.postMessage":      (*Server).apiPostMessage,
	"chat.update":           (*Server).apiUpdate,
	"chat.postEphemeral":    noEcho((*Server).apiPostEphemeral),
	"chat.delete":           (*Server).apiDelete,
	"chat.getPermalink":     noEcho((*Server).apiPermalink),
	"reactions.add":         noEcho((*Server).apiReactionsAdd),
	"views.open":            noEcho((*Server).apiViewsOpen),
	"views.push":            noEcho((*Server).apiViewsPush),
	"views.update":          noEcho((*Server).apiViewsUpdate),
	"views.publish":         noEcho((*Server).apiViewsPublish),
}

func apiErr(code string, messages ...string) map[string]any {
	out := map[string]any{"ok": false, "error": code}
	if len(messages) > 0 {
		out["response_metadata"] = map[string]any{"messages": messages}
	}
	return out
}

func apiOK(fields map[string]any) map[string]any {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return fields
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	p, err := parseParams(r)
	if err != nil {
		s.count(method, err.Error(), nil)
		writeJSON(w, http.StatusOK, apiErr(err.Error()))
		return
	}
	flat := p.flat()

	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		s.count(method, "down", flat)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body>Slack is down (fakeslack outage)</body></html>")
		return
	}
	if f, ok := s.takeFailure(method); ok {
		if s.applyFailure(w, r, method, f, flat) {
			return
		}
	}

	h, ok := apiMethods[method]
	if !ok {
		s.count(method, "unknown_method", flat)
		writeJSON(w, http.StatusOK, apiErr("unknown_method"))
		return
	}
	if code := s.checkAuth(method, bearer(r, p)); code != "" {
		s.count(method, code, flat)
		writeJSON(w, http.StatusOK, apiErr(code))
		return
	}
	if wait, limited := s.rl.take(method, rateKey(method, p)); limited {
		s.count(method, "ratelimited", flat)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeJSON(w, http.StatusTooManyRequests, apiErr("ratelimited"))
		return
	}

	s.mu.Lock()
	resp, echo := h(s, p)
	result := "ok"
	if ok, _ := resp["ok"].(bool); !ok {
		result = str(resp["error"])
		echo = nil
	}
	s.countLocked(method, result, flat)
	s.mu.Unlock()
	s.logf("%s -> %s", method, result)
	if echo != nil {
		s.pushEventAsync(echo)
	}
	writeJSON(w, http.StatusOK, resp)
}

func retryAfterSeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return n
}

func bearer(r *http.Request, p params) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer ")
	}
	return p.str("token")
}

// checkAuth returns the Slack error for a bad token, or "".
func (s *Server) checkAuth(method, token string) string {
	s.mu.Lock()
	forced := s.authErr
	s.mu.Unlock()
	if forced != "" {
		return forced
	}
	if token == "" {
		return "not_authed"
	}
	want, other := s.opts.BotToken, s.opts.AppToken
	if method == "apps.connections.open" {
		want, other = other, want
	}
	switch token {
	case want:
		return ""
	case other:
		return "not_allowed_token_type"
	}
	return "invalid_auth"
}

// SetAuthError makes every Web API call fail with code (e.g. "invalid_auth",
// "token_revoked", "account_inactive"); "" restores normal authentication.
// slack-go's socketmode stops RunContext on these codes from apps.connections.open.
func (s *Server) SetAuthError(code string) {
	s.mu.Lock()
	s.authErr = code
	s.bumpLocked()
	s.mu.Unlock()
}

// ---- auth, apps, users, conversations ----
// Handlers run with s.mu held (see apiHandler).

// noEcho adapts a handler that never produces an event.
func noEcho(f func(*Server, params) map[string]any) apiHandler {
	return func(s *Server, p params) (map[string]any, map[string]any) { return f(s, p), nil }
}

func (s *Server) apiAuthTest(params) map[string]any {
	return apiOK(map[string]any{
		"url":                   "https://" + s.opts.TeamDomain + ".slack.com/",
		"team":                  s.opts.TeamName,
		"user":                  s.opts.BotName,
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	})
}

func (s *Server) apiConnectionsOpen(params) map[string]any {
	ticket := randHex(16)
	s.tickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.baseURL, "http") + "/ws?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return apiOK(map[string]any{"url": u})
}

func (s *Server) apiLookupByEmail(p params) map[string]any {
	email := strings.TrimSpace(p.str("email"))
	if email == "" {
		return apiErr("invalid_arguments", "missing required field: email")
	}
	for _, id := range sortedKeys(s.users) {
		u := s.users[id]
		// Deactivated members are still found (with deleted:true), so the bot
		// has to look at the flag rather than rely on users_not_found.
		if u.Email != "" && strings.EqualFold(u.Email, email) {
			return apiOK(map[string]any{"user": s.userJSON(u)})
		}
	}
	return apiErr("users_not_found")
}

func (s *Server) apiUsersInfo(p params) map[string]any {
	if list := p.str("users"); list != "" {
		var users []any
		for _, id := range strings.Split(list, ",") {
			u := s.users[strings.TrimSpace(id)]
			if u == nil {
				return apiErr("user_not_found")
			}
			users = append(users, s.userJSON(u))
		}
		return apiOK(map[string]any{"users": users})
	}
	u := s.users[p.str("user")]
	if u == nil {
		return apiErr("user_not_found")
	}
	return apiOK(map[string]any{"user": s.userJSON(u)})
}

func (s *Server) apiConversationsOpen(p params) map[string]any {
	if ch := p.str("channel"); ch != "" {
		c := s.channels[ch]
		if c == nil {
			return apiErr("channel_not_found")
		}
		return apiOK(map[string]any{"channel": s.channelJSON(c), "no_op": true, "already_open": true})
	}
	ids := strings.Split(p.str("users"), ",")
	if len(ids) != 1 || ids[0] == "" {
		return apiErr("invalid_arguments", "fakeslack supports one user per conversations.open (no group DMs)")
	}
	u := s.users[strings.TrimSpace(ids[0])]
	switch {
	case u == nil:
		return apiErr("user_not_found")
	case u.Deleted:
		return apiErr("user_disabled")
	case u.IsBot:
		return apiErr("cannot_dm_bot")
	}
	_, existed := s.dmOf[u.ID]
	c := s.channels[s.dmLocked(u.ID)]
	s.bumpLocked()
	return apiOK(map[string]any{"channel": s.channelJSON(c), "no_op": existed, "already_open": existed})
}

func (s *Server) channelJSON(c *channelRec) map[string]any {
	out := map[string]any{"id": c.id, "created": 1700000000, "is_open": true}
	if c.im {
		out["is_im"] = true
		out["user"] = c.user
	} else {
		out["name"] = c.name
		out["is_channel"] = c.channelType() == "channel"
		out["is_group"] = c.channelType() == "group"
		out["is_member"] = c.botMember
	}
	return out
}

func (s *Server) apiConversationsReplies(p params) map[string]any {
	c := s.channels[p.str("channel")]
	if c == nil {
		return apiErr("channel_not_found")
	}
	ts := p.str("ts")
	var msgs []any
	for _, m := range s.messages[c.id] {
		if m.TS == ts || m.ThreadTS == ts {
			msgs = append(msgs, s.messageJSON(m))
		}
	}
	if len(msgs) == 0 {
		return apiErr("thread_not_found")
	}
	return apiOK(map[string]any{"messages": msgs, "has_more": false})
}

// apiConversationsHistory lists a channel's messages newest first, as
// Slack does: top-level messages only (a thread's replies are read with
// conversations.replies), between oldest and latest (exclusive unless
// inclusive), limit a page (default 100, at most 999) with a cursor for
// the next. Message metadata is only returned with include_all_metadata.
// The bot must be in a channel to read it.
func (s *Server) apiConversationsHistory(p params) map[string]any {
	c := s.channels[p.str("channel")]
	if c == nil {
		return apiErr("channel_not_found")
	}
	if !c.im && !c.botMember {
		return apiErr("not_in_channel")
	}
	limit := 100
	if v := p.str("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			return apiErr("invalid_limit")
		}
		limit = n
	}
	oldest, latest := p.str("oldest"), p.str("latest")
	inclusive := p.str("inclusive") == "1" || p.str("inclusive") == "true"
	skip := 0
	if cur := p.str("cursor"); cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "page:"))
		if err != nil || n < 0 || !strings.HasPrefix(cur, "page:") {
			return apiErr("invalid_cursor")
		}
		skip = n
	}
	withMeta := p.str("include_all_metadata") == "1" || p.str("include_all_metadata") == "true"
	after := func(ts, bound string) bool { return tsLess(bound, ts) || (inclusive && ts == bound) }
	var all []*Message
	list := s.messages[c.id]
	for i := len(list) - 1; i >= 0; i-- {
		m := list[i]
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue
		}
		if oldest != "" && !after(m.TS, oldest) {
			continue
		}
		if latest != "" && !after(latest, m.TS) {
			continue
		}
		all = append(all, m)
	}
	page := all[min(skip, len(all)):]
	more := len(page) > limit
	if more {
		page = page[:limit]
	}
	msgs := []any{}
	for _, m := range page {
		out := s.messageJSON(m)
		if withMeta && len(m.Metadata) > 0 {
			out["metadata"] = json.RawMessage(m.Metadata)
		}
		msgs = append(msgs, out)
	}
	resp := apiOK(map[string]any{"messages": msgs, "has_more": more})
	if more {
		resp["response_metadata"] = map[string]any{"next_cursor": fmt.Sprintf("page:%d", skip+limit)}
	}
	return resp
}

// tsLess orders message timestamps ("1700000000.000100"), also ones
// written with fewer digits (an oldest bound of "1700000000").
func tsLess(a, b string) bool {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	if fa != fb {
		return fa < fb
	}
	return a < b
}

// ---- chat ----

// resolveChannelLocked maps a channel argument to a channel the bot may post to.
// A user id means that user's DM, as in Slack.
func (s *Server) resolveChannelLocked(id string, needMember bool) (*channelRec, string) {
	if strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") {
		u := s.users[id]
		if u == nil {
			return nil, "channel_not_found"
		}
		id = s.dmLocked(u.ID)
	}
	if name, ok := strings.CutPrefix(id, "#"); ok {
		// Slack still accepts a channel's name in chat.postMessage.
		id = s.channelByNameLocked(name)
	}
	c := s.channels[id]
	if c == nil {
		return nil, "channel_not_found"
	}
	if c.im {
		// Slack archives the DMs of deactivated members.
		if u := s.users[c.user]; u == nil || u.Deleted {
			return nil, "is_archived"
		}
	}
	if needMember && !c.botMember {
		return nil, "not_in_channel"
	}
	return c, ""
}

// messageContent is validated message content. An absent argument is nil so
// chat.update can keep the previous value.
type messageContent struct {
	text        *string
	blocks      json.RawMessage // nil: absent; "[]": cleared
	attachments json.RawMessage
}

func (s *Server) parseContentLocked(p params, requireSome bool) (messageContent, map[string]any) {
	var mc messageContent
	if p.has("text") {
		t := p.str("text")
		mc.text = &t
	}
	if p.has("blocks") {
		v, err := p.value("blocks")
		if err != nil {
			return mc, apiErr("invalid_blocks_format", "blocks is not valid JSON: "+err.Error())
		}
		if v == nil {
			v = []any{}
		}
		blocks, ok := v.([]any)
		if !ok {
			return mc, apiErr("invalid_blocks_format", "blocks must be a JSON array")
		}
		if errs := validateMessageBlocks(blocks); len(errs) > 0 {
			return mc, apiErr("invalid_blocks", errs...)
		}
		s.normalizeBlocksLocked(blocks)
		mc.blocks = mustJSON(blocks)
	}
	if p.has("attachments") {
		v, err := p.value("attachments")
		if err != nil {
			return mc, apiErr("invalid_attachments")
		}
		if v != nil {
			mc.attachments = mustJSON(v)
		}
	}
	text := ""
	if mc.text != nil {
		text = *mc.text
	}
	n := utf8.RuneCountInString(text)
	// Slack truncates text past 40,000 characters; failing is more useful to a test.
	if n > 40000 {
		return mc, apiErr("msg_too_long")
	}
	if n > 4000 {
		s.warnLocked("message text is %d characters; keep the notification fallback under 4,000", n)
	}
	hasBlocks := len(mc.blocks) > 2
	if requireSome && text == "" && !hasBlocks && len(mc.attachments) == 0 {
		return mc, apiErr("no_text")
	}
	if requireSome && hasBlocks && text == "" {
		s.warnLocked("message with blocks has no fallback text (notifications show nothing)")
	}
	return mc, nil
}

func (s *Server) apiPostMessage(p params) (map[string]any, map[string]any) {
	c, code := s.resolveChannelLocked(p.str("channel"), true)
	if code != "" {
		return apiErr(code), nil
	}
	mc, errResp := s.parseContentLocked(p, true)
	if errResp != nil {
		return errResp, nil
	}
	m := &Message{
		Channel:     c.id,
		TS:          s.newTSLocked(),
		ThreadTS:    p.str("thread_ts"),
		User:        s.opts.BotUserID,
		BotID:       s.opts.BotID,
		Blocks:      mc.blocks,
		Attachments: mc.attachments,
		Via:         "chat.postMessage",
	}
	if mc.text != nil {
		m.Text = *mc.text
	}
	if p.has("metadata") {
		if v, err := p.value("metadata"); err == nil && v != nil {
			m.Metadata = mustJSON(v)
		}
	}
	if m.ThreadTS != "" && s.findMsgLocked(c.id, m.ThreadTS) == nil {
		s.warnLocked("thread_ts %s does not match a message in %s", m.ThreadTS, c.id)
	}
	s.storeMsgLocked(m)
	resp := apiOK(map[string]any{"channel": c.id, "ts": m.TS, "message": s.messageJSON(m)})
	if !s.echoBot {
		return resp, nil
	}
	return resp, s.messageEventLocked(m, c)
}

func (s *Server) apiUpdate(p params) (map[string]any, map[string]any) {
	c, code := s.resolveChannelLocked(p.str("channel"), false)
	if code != "" {
		return apiErr(code), nil
	}
	m := s.findMsgLocked(c.id, p.str("ts"))
	if m == nil || m.Ephemeral {
		return apiErr("message_not_found"), nil
	}
	if m.BotID != s.opts.BotID {
		return apiErr("cant_update_message"), nil
	}
	mc, errResp := s.parseContentLocked(p, false)
	if errResp != nil {
		return errResp, nil
	}
	prev := m.clone()
	if mc.text != nil {
		m.Text = *mc.text
	}
	if mc.blocks != nil {
		m.Blocks = mc.blocks
	}
	if mc.attachments != nil {
		m.Attachments = mc.attachments
	}
	m.Edits++
	s.clearMsgStateLocked(m)
	s.bumpLocked()
	resp := apiOK(map[string]any{"channel": c.id, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)})
	if !s.echoBot {
		return resp, nil
	}
	return resp, s.changedEventLocked(m, &prev, c)
}

func (s *Server) apiPostEphemeral(p params) map[string]any {
	c, code := s.resolveChannelLocked(p.str("channel"), true)
	if code != "" {
		return apiErr(code)
	}
	u := s.users[p.str("user")]
	if u == nil || u.Deleted {
		return apiErr("user_not_found")
	}
	if c.im && c.user != u.ID {
		return apiErr("user_not_in_channel")
	}
	mc, errResp := s.parseContentLocked(p, true)
	if errResp != nil {
		return errResp
	}
	m := &Message{
		Channel: c.id, TS: s.newTSLocked(), ThreadTS: p.str("thread_ts"),
		User: s.opts.BotUserID, BotID: s.opts.BotID,
		Blocks: mc.blocks, Attachments: mc.attachments,
		Ephemeral: true, Recipient: u.ID, Via: "chat.postEphemeral",
	}
	if mc.text != nil {
		m.Text = *mc.text
	}
	s.storeMsgLocked(m)
	return apiOK(map[string]any{"message_ts": m.TS})
}

func (s *Server) apiDelete(p params) (map[string]any, map[string]any) {
	c, code := s.resolveChannelLocked(p.str("channel"), false)
	if code != "" {
		return apiErr(code), nil
	}
	m := s.findMsgLocked(c.id, p.str("ts"))
	if m == nil || m.Ephemeral {
		return apiErr("message_not_found"), nil
	}
	if m.BotID != s.opts.BotID {
		return apiErr("cant_delete_message"), nil
	}
	s.deleteMsgLocked(m)
	resp := apiOK(map[string]any{"channel": c.id, "ts": m.TS})
	if !s.echoBot {
		return resp, nil
	}
	return resp, s.deletedEventLocked(m, c)
}

func (s *Server) apiPermalink(p params) map[string]any {
	c := s.channels[p.str("channel")]
	if c == nil {
		return apiErr("channel_not_found")
	}
	m := s.findMsgLocked(c.id, p.str("message_ts"))
	if m == nil || m.Ephemeral {
		return apiErr("message_not_found")
	}
	return apiOK(map[string]any{"channel": c.id, "permalink": s.permalink(m)})
}

func (s *Server) permalink(m *Message) string {
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", s.opts.TeamDomain, m.Channel, strings.ReplaceAll(m.TS, ".", ""))
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + m.Channel
	}
	return link
}

func (s *Server) apiReactionsAdd(p params) map[string]any {
	name := strings.Trim(p.str("name"), ":")
	if name == "" {
		return apiErr("invalid_name")
	}
	c, code := s.resolveChannelLocked(p.str("channel"), true)
	if code != "" {
		return apiErr(code)
	}
	m := s.findMsgLocked(c.id, p.str("timestamp"))
	if m == nil || m.Ephemeral {
		return apiErr("message_not_found")
	}
	for _, r := range m.Reactions {
		if r == name {
			return apiErr("already_reacted")
		}
	}
	m.Reactions = append(m.Reactions, name)
	s.bumpLocked()
	return apiOK(nil)
}
