package fakeslack

import (
	"fmt"
	"time"
)

// EchoBotMessages makes the bot's own posts, edits and deletions come back as
// message events (with bot_id), as they do in Slack, so loop protection can be
// tested. Off by default.
func (s *Server) EchoBotMessages(on bool) {
	s.mu.Lock()
	s.echoBot = on
	s.mu.Unlock()
}

// eventCallbackLocked wraps an inner event the way the Events API does.
func (s *Server) eventCallbackLocked(event map[string]any) map[string]any {
	return map[string]any{
		"token":      s.opts.VerificationToken,
		"team_id":    s.opts.TeamID,
		"api_app_id": s.opts.AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   fmt.Sprintf("Ev%010d", s.nextIDLocked()),
		"event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + randHex(12),
	}
}

// messageEventLocked is the message event for a new message.
func (s *Server) messageEventLocked(m *Message, c *channelRec) map[string]any {
	ev := s.messageJSON(m)
	ev["channel"] = c.id
	ev["channel_type"] = c.channelType()
	ev["event_ts"] = m.TS
	if m.BotID == "" {
		ev["client_msg_id"] = newUUID()
	}
	return s.eventCallbackLocked(ev)
}

// changedEventLocked is the message_changed event for an edit.
func (s *Server) changedEventLocked(m, prev *Message, c *channelRec) map[string]any {
	ts := s.newTSLocked()
	cur := s.messageJSON(m)
	cur["edited"] = map[string]any{"user": m.User, "ts": ts}
	return s.eventCallbackLocked(map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": c.id, "channel_type": c.channelType(), "ts": ts, "event_ts": ts,
		"message": cur, "previous_message": s.messageJSON(prev),
	})
}

// deletedEventLocked is the message_deleted event for a deletion.
func (s *Server) deletedEventLocked(m *Message, c *channelRec) map[string]any {
	ts := s.newTSLocked()
	return s.eventCallbackLocked(map[string]any{
		"type": "message", "subtype": "message_deleted", "hidden": true,
		"channel": c.id, "channel_type": c.channelType(), "ts": ts, "event_ts": ts,
		"deleted_ts": m.TS, "previous_message": s.messageJSON(m),
	})
}

// pushEventAsync delivers an echo without waiting for the ack. It runs in the
// caller's goroutine (after the lock is released) so echoes keep their order.
func (s *Server) pushEventAsync(payload map[string]any) {
	if _, err := s.Push("events_api", payload); err != nil {
		s.logf("echo event dropped: %v", err)
	}
}
