package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery is what a person's action sent to the bot over Socket Mode.
type Delivery struct {
	EnvelopeID  string // "" when Slack sends nothing (typing in a plain input, a channel the bot is not in)
	Type        string // envelope type: "interactive", "slash_commands", "events_api"
	Payload     json.RawMessage
	TriggerID   string
	ResponseURL string
	EventID     string // events_api only
	TS          string // ts of the message a person posted (PostAsUser)
	Ack         Ack    // the bot's ack
}

// ErrBadAck is returned when the bot's ack payload is not something Slack would
// accept (invalid view, unknown response_action, bad options, ...).
var ErrBadAck = errors.New("fakeslack: Slack would reject the ack payload")

// ErrLateAck is returned when an interactive or slash command ack came after
// Options.AckDeadline: Slack has shown the person an error and ignores the
// payload (no reply stored, no response_action applied). Delivery.Ack is set.
var ErrLateAck = errors.New("fakeslack: ack too late")

func (s *Server) actorLocked(userID string) (*User, error) {
	u := s.users[userID]
	switch {
	case u == nil:
		return nil, fmt.Errorf("fakeslack: unknown user %q (AddUser first)", userID)
	case u.Deleted:
		return nil, fmt.Errorf("fakeslack: user %q is deactivated", userID)
	}
	return u, nil
}

func (s *Server) teamJSON() map[string]any {
	return map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain}
}

// send pushes a payload and waits for the ack (until ctx ends or AckTimeout).
func (s *Server) send(ctx context.Context, typ string, payload map[string]any, d Delivery) (Delivery, error) {
	d.Type = typ
	d.Payload = mustJSON(payload)
	if id, ok := payload["event_id"].(string); ok {
		d.EventID = id
	}
	id, err := s.Push(typ, d.Payload)
	d.EnvelopeID = id
	if err != nil {
		return d, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.AckTimeout)
	defer cancel()
	d.Ack, err = s.WaitAck(ctx, id)
	if err == nil && typ != "events_api" && d.Ack.Latency > s.opts.AckDeadline {
		err = fmt.Errorf("%w: acked after %s (deadline %s)", ErrLateAck, d.Ack.Latency.Round(time.Millisecond), s.opts.AckDeadline)
	}
	return d, err
}

// ---- messages ----

func (s *Server) interactMessageLocked(userID, channel, ts string) (*User, *Message, error) {
	u, err := s.actorLocked(userID)
	if err != nil {
		return nil, nil, err
	}
	m := s.findMsgLocked(channel, ts)
	if m == nil {
		return nil, nil, fmt.Errorf("fakeslack: no message %s in %s", ts, channel)
	}
	if m.Ephemeral && m.Recipient != userID {
		return nil, nil, fmt.Errorf("fakeslack: ephemeral message %s is not visible to %s", ts, userID)
	}
	if c := s.channels[channel]; c != nil && c.im && c.user != userID {
		return nil, nil, fmt.Errorf("fakeslack: %s cannot see the DM %s", userID, channel)
	}
	return u, m, nil
}

func msgStateKey(userID string, m *Message) string { return userID + "|" + m.Channel + "|" + m.TS }

func (s *Server) clearMsgStateLocked(m *Message) {
	suffix := "|" + m.Channel + "|" + m.TS
	for k := range s.msgState {
		if strings.HasSuffix(k, suffix) {
			delete(s.msgState, k)
		}
	}
}

func (s *Server) messageActionsPayloadLocked(u *User, m *Message, actions []any) (map[string]any, Delivery) {
	d := Delivery{TriggerID: s.mintTriggerLocked(u.ID, 0)}
	d.ResponseURL = s.mintResponseURLLocked(&responseURL{user: u.ID, channel: m.Channel, msgTS: m.TS, ephemeral: m.Ephemeral})
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": m.Ephemeral}
	if m.ThreadTS != "" {
		container["thread_ts"] = m.ThreadTS
	}
	name := ""
	if c := s.channels[m.Channel]; c != nil {
		name = c.name
	}
	state := s.msgState[msgStateKey(u.ID, m)]
	if state == nil {
		state = map[string]map[string]any{}
	}
	p := map[string]any{
		"type":                  "block_actions",
		"user":                  s.payloadUser(u),
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"container":             container,
		"trigger_id":            d.TriggerID,
		"team":                  s.teamJSON(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": m.Channel, "name": name},
		"state":                 map[string]any{"values": cloneJSON(state)},
		"response_url":          d.ResponseURL,
		"actions":               actions,
	}
	if !m.Ephemeral {
		// Slack leaves the message out for ephemeral sources.
		p["message"] = s.messageJSON(m)
	}
	return p, d
}

// actionJSON is one entry of block_actions.actions.
func actionJSON(a Action, value map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range value {
		out[k] = v
	}
	out["type"] = a.Type
	out["action_id"] = a.ActionID
	out["block_id"] = a.BlockID
	out["action_ts"] = fmt.Sprintf("%.6f", float64(time.Now().UnixMicro())/1e6)
	if a.Type == "button" {
		out["text"] = cloneJSON(a.Element["text"])
		if v, ok := a.Element["value"]; ok {
			out["value"] = v
		}
		if st := a.Style; st != "" {
			out["style"] = st
		}
	}
	return out
}

// Click presses a button in a message (matched by action_id, else by its text)
// as userID and waits for the ack. The payload is a block_actions like Slack's,
// with a fresh trigger_id (valid TriggerTTL, once) and a response_url.
func (s *Server) Click(ctx context.Context, userID, channel, ts, action string) (Delivery, error) {
	s.mu.Lock()
	u, m, err := s.interactMessageLocked(userID, channel, ts)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findAction(decodeBlocks(m.Blocks), action)
	if !ok || a.Type != "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no button %q in message %s (has %s)", action, ts, describe(m.Actions()))
	}
	p, d := s.messageActionsPayloadLocked(u, m, []any{actionJSON(a, nil)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// ClickSeen presses a button on seen, the version of a message that a
// person's client still shows (another device, a window not yet refreshed),
// which may be older than the message Slack now holds: the payload carries
// seen's blocks, as Slack's does. The message must still exist.
func (s *Server) ClickSeen(ctx context.Context, userID string, seen Message, action string) (Delivery, error) {
	s.mu.Lock()
	u, _, err := s.interactMessageLocked(userID, seen.Channel, seen.TS)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findAction(decodeBlocks(seen.Blocks), action)
	if !ok || a.Type != "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no button %q in the shown message %s (has %s)", action, seen.TS, describe(seen.Actions()))
	}
	p, d := s.messageActionsPayloadLocked(u, &seen, []any{actionJSON(a, nil)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// Select picks values in a non-button element of a message: overflow menus,
// selects, checkboxes, radio buttons, date/time pickers (see valueFor for the
// value formats; options match by value, else by text). Like Slack, an element
// inside an input block without dispatch_action only changes state (returned
// Delivery is empty); the state then rides along with later clicks on the message.
func (s *Server) Select(ctx context.Context, userID, channel, ts, actionID string, values ...string) (Delivery, error) {
	s.mu.Lock()
	u, m, err := s.interactMessageLocked(userID, channel, ts)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := findAction(decodeBlocks(m.Blocks), actionID)
	if !ok || a.Type == "button" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: no selectable element %q in message %s (has %s)", actionID, ts, describe(m.Actions()))
	}
	v, err := valueFor(a, values, nil)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	if a.Type != "overflow" {
		key := msgStateKey(userID, m)
		if s.msgState[key] == nil {
			s.msgState[key] = map[string]map[string]any{}
		}
		setState(s.msgState[key], a, v)
	}
	if a.InInput && !a.DispatchAction {
		s.bumpLocked()
		s.mu.Unlock()
		return Delivery{}, nil
	}
	p, d := s.messageActionsPayloadLocked(u, m, []any{actionJSON(a, v)})
	s.mu.Unlock()
	return s.send(ctx, "interactive", p, d)
}

// ClickOverflow picks an option of an overflow menu in a message; it is Select
// with one value (the option's value, or its text).
func (s *Server) ClickOverflow(ctx context.Context, userID, channel, ts, actionID, option string) (Delivery, error) {
	return s.Select(ctx, userID, channel, ts, actionID, option)
}

func setState(state map[string]map[string]any, a Action, v map[string]any) {
	if state[a.BlockID] == nil {
		state[a.BlockID] = map[string]any{}
	}
	state[a.BlockID][a.ActionID] = v
}

func describe(acts []Action) string {
	if len(acts) == 0 {
		return "no interactive elements"
	}
	var parts []string
	for _, a := range acts {
		parts = append(parts, fmt.Sprintf("%s %q/%q", a.Type, a.ActionID, a.Text))
	}
	return strings.Join(parts, ", ")
}

// ---- slash commands ----

// Command runs a slash command (e.g. "/access", "request github 8h") as userID
// in channelID and waits for the ack. A reply in the ack ({"text"} or
// {"blocks"}, response_type "ephemeral" by default or "in_channel") is stored
// like Slack shows it: an ephemeral for the user, or a channel message.
func (s *Server) Command(ctx context.Context, userID, channelID, command, text string) (Delivery, error) {
	if err := s.checkTyped(command, command+" "+text); err != nil { // what the person typed
		return Delivery{}, err
	}
	s.mu.Lock()
	u, err := s.actorLocked(userID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	c := s.channels[channelID]
	if c == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: unknown channel %q (AddChannel or DMChannel first)", channelID)
	}
	d := Delivery{TriggerID: s.mintTriggerLocked(u.ID, 0)}
	d.ResponseURL = s.mintResponseURLLocked(&responseURL{user: u.ID, channel: c.id})
	p := map[string]any{
		"token":                 s.opts.VerificationToken,
		"team_id":               s.opts.TeamID,
		"team_domain":           s.opts.TeamDomain,
		"channel_id":            c.id,
		"channel_name":          c.name,
		"user_id":               u.ID,
		"user_name":             u.Name,
		"command":               command,
		"text":                  text,
		"api_app_id":            s.opts.AppID,
		"is_enterprise_install": "false", // a string, as Slack sends it
		"response_url":          d.ResponseURL,
		"trigger_id":            d.TriggerID,
	}
	s.mu.Unlock()
	d, err = s.send(ctx, "slash_commands", p, d)
	if err != nil {
		return d, err
	}
	return d, s.applyReply(u.ID, c.id, d.Ack.Payload)
}

// applyReply stores a slash command's immediate reply.
func (s *Server) applyReply(userID, channelID string, payload json.RawMessage) error {
	if len(payload) == 0 {
		return nil
	}
	var r map[string]any
	if err := json.Unmarshal(payload, &r); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAck, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.replyMessageLocked(r)
	if err != nil || m == nil {
		return err
	}
	m.Channel, m.Via = channelID, "ack"
	if str(r["response_type"]) != "in_channel" {
		m.Ephemeral, m.Recipient = true, userID
	}
	s.storeMsgLocked(m)
	return nil
}

// replyMessageLocked builds a bot message from a reply body (slash command ack
// or response_url post), or nil when the body has no content.
func (s *Server) replyMessageLocked(r map[string]any) (*Message, error) {
	text := str(r["text"])
	var blocks []any
	if b, ok := r["blocks"]; ok && b != nil {
		blocks, ok = b.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: blocks must be an array", ErrBadAck)
		}
		if errs := validateMessageBlocks(blocks); len(errs) > 0 {
			return nil, fmt.Errorf("%w: invalid_blocks: %s", ErrBadAck, strings.Join(errs, "; "))
		}
	}
	if text == "" && len(blocks) == 0 {
		return nil, nil
	}
	m := &Message{TS: s.newTSLocked(), ThreadTS: str(r["thread_ts"]), User: s.opts.BotUserID, BotID: s.opts.BotID, Text: text}
	if len(blocks) > 0 {
		s.normalizeBlocksLocked(blocks)
		m.Blocks = mustJSON(blocks)
	}
	return m, nil
}

// ---- events ----

// PostAsUser posts a message as a person and delivers the message event (the
// bot gets it in its DM, or in channels it is a member of; elsewhere the message
// is only stored and the Delivery has no envelope). threadTS may be "". The
// message is stored even when the push fails (ErrNotConnected). A user with
// IsBot posts as another app would: the message carries that app's bot_id.
func (s *Server) PostAsUser(ctx context.Context, userID, channelID, text, threadTS string) (Delivery, error) {
	if err := s.checkTyped("", text); err != nil {
		return Delivery{}, err
	}
	s.mu.Lock()
	u, err := s.actorLocked(userID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	c := s.channels[channelID]
	if c == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: unknown channel %q (AddChannel or DMChannel first)", channelID)
	}
	if c.im && c.user != u.ID {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("fakeslack: %s cannot post in %s's DM with the bot", u.ID, c.user)
	}
	m := &Message{Channel: c.id, TS: s.newTSLocked(), ThreadTS: threadTS, User: u.ID, Text: text, Via: "person"}
	if u.IsBot {
		// Another app posting as its bot user: Slack marks it with that
		// app's bot_id.
		m.BotID = "B" + strings.TrimPrefix(u.ID, "U")
	}
	s.storeMsgLocked(m)
	d := Delivery{TS: m.TS}
	if !c.im && !c.botMember {
		s.mu.Unlock()
		return d, nil
	}
	p := s.messageEventLocked(m, c)
	s.mu.Unlock()
	return s.send(ctx, "events_api", p, d)
}

// EditMessage edits a person's own message and delivers message_changed.
func (s *Server) EditMessage(ctx context.Context, userID, channelID, ts, text string) (Delivery, error) {
	s.mu.Lock()
	m, c, err := s.ownMessageLocked(userID, channelID, ts)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	prev := m.clone()
	m.Text = text
	m.Edits++
	s.bumpLocked()
	if !c.im && !c.botMember {
		s.mu.Unlock()
		return Delivery{TS: ts}, nil
	}
	p := s.changedEventLocked(m, &prev, c)
	s.mu.Unlock()
	return s.send(ctx, "events_api", p, Delivery{TS: ts})
}

// DeleteMessage deletes a person's own message and delivers message_deleted.
func (s *Server) DeleteMessage(ctx context.Context, userID, channelID, ts string) (Delivery, error) {
	s.mu.Lock()
	m, c, err := s.ownMessageLocked(userID, channelID, ts)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	s.deleteMsgLocked(m)
	if !c.im && !c.botMember {
		s.mu.Unlock()
		return Delivery{TS: ts}, nil
	}
	p := s.deletedEventLocked(m, c)
	s.mu.Unlock()
	return s.send(ctx, "events_api", p, Delivery{TS: ts})
}

func (s *Server) ownMessageLocked(userID, channelID, ts string) (*Message, *channelRec, error) {
	if _, err := s.actorLocked(userID); err != nil {
		return nil, nil, err
	}
	c := s.channels[channelID]
	m := s.findMsgLocked(channelID, ts)
	if c == nil || m == nil || m.Ephemeral {
		return nil, nil, fmt.Errorf("fakeslack: no message %s in %s", ts, channelID)
	}
	if m.User != userID || m.BotID == s.opts.BotID {
		return nil, nil, fmt.Errorf("fakeslack: message %s is not %s's", ts, userID)
	}
	return m, c, nil
}

// OpenHome opens the app's Home tab as the user: an app_home_opened event
// (tab "home", with the published view if there is one).
func (s *Server) OpenHome(ctx context.Context, userID string) (Delivery, error) {
	s.mu.Lock()
	u, err := s.actorLocked(userID)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	ts := s.newTSLocked()
	ev := map[string]any{"type": "app_home_opened", "user": u.ID, "channel": s.dmLocked(u.ID), "tab": "home", "event_ts": ts}
	if rec := s.views[s.homeOf[u.ID]]; rec != nil {
		ev["view"] = s.viewJSONLocked(rec)
	}
	p := s.eventCallbackLocked(ev)
	s.mu.Unlock()
	return s.send(ctx, "events_api", p, Delivery{})
}
