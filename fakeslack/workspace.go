package fakeslack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // users' tz_offset must not depend on the host's zoneinfo
)

// User is a workspace member.
type User struct {
	ID       string
	Name     string // the handle, e.g. "alice"
	RealName string
	Email    string
	TZ       string // IANA name, e.g. "Europe/Paris"; default "UTC"
	TZOffset int    // seconds east of UTC; computed from TZ when zero
	IsBot    bool
	IsAdmin  bool
	Deleted  bool
}

type channelRec struct {
	id        string
	name      string
	botMember bool
	im        bool   // the bot's DM with user
	user      string // for DMs
}

// channelType is what message events carry in channel_type.
func (c *channelRec) channelType() string {
	switch {
	case c.im:
		return "im"
	case strings.HasPrefix(c.id, "G"):
		return "group"
	default:
		return "channel"
	}
}

// AddUser adds or replaces a workspace member and returns it as stored (an empty
// ID gets a generated one).
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = fmt.Sprintf("U%09d", s.nextIDLocked())
	}
	if u.Name == "" {
		u.Name = strings.ToLower(u.ID)
	}
	if u.RealName == "" {
		u.RealName = u.Name
	}
	if u.TZ == "" {
		u.TZ = "UTC"
	}
	cp := u
	s.users[u.ID] = &cp
	s.bumpLocked()
	return u
}

// SetUserDeleted deactivates (or reactivates) a member.
func (s *Server) SetUserDeleted(userID string, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil {
		u.Deleted = deleted
		s.bumpLocked()
	}
}

// User returns a member by id.
func (s *Server) User(userID string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return User{}, false
	}
	return *u, true
}

func tzOffset(u *User) int {
	if u.TZOffset != 0 {
		return u.TZOffset
	}
	loc, err := time.LoadLocation(u.TZ)
	if err != nil {
		return 0
	}
	_, off := time.Now().In(loc).Zone()
	return off
}

// userJSON is the user object of users.info and users.lookupByEmail.
func (s *Server) userJSON(u *User) map[string]any {
	loc := u.TZ
	return map[string]any{
		"id":          u.ID,
		"team_id":     s.opts.TeamID,
		"name":        u.Name,
		"deleted":     u.Deleted,
		"real_name":   u.RealName,
		"tz":          loc,
		"tz_label":    loc,
		"tz_offset":   tzOffset(u),
		"is_bot":      u.IsBot,
		"is_admin":    u.IsAdmin,
		"is_app_user": false,
		"updated":     1700000000,
		"profile": map[string]any{
			"real_name":               u.RealName,
			"real_name_normalized":    u.RealName,
			"display_name":            u.Name,
			"display_name_normalized": u.Name,
			"email":                   u.Email,
			"team":                    s.opts.TeamID,
		},
	}
}

// payloadUser is the user object of interaction payloads.
func (s *Server) payloadUser(u *User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": s.opts.TeamID}
}

// AddChannel creates a public channel (ids starting with "G" are treated as
// private groups). botMember says whether the bot was invited: posting to a
// channel the bot is not in fails with not_in_channel, and people's messages
// there produce no events.
func (s *Server) AddChannel(id, name string, botMember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channelRec{id: id, name: name, botMember: botMember}
	s.bumpLocked()
}

// SetBotMember invites the bot to (or removes it from) a channel.
func (s *Server) SetBotMember(channelID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channels[channelID]; c != nil {
		c.botMember = member
		s.bumpLocked()
	}
}

// DMChannel returns the id of the user's DM with the bot ("D..."), creating it
// on first use; conversations.open returns the same id.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(userID)
}

func (s *Server) dmLocked(userID string) string {
	if id, ok := s.dmOf[userID]; ok {
		return id
	}
	id := fmt.Sprintf("D%09d", s.nextIDLocked())
	s.dmOf[userID] = id
	s.channels[id] = &channelRec{id: id, name: "directmessage", botMember: true, im: true, user: userID}
	return id
}

// Message is a stored message. Accessors return copies.
type Message struct {
	Channel     string
	TS          string
	ThreadTS    string
	User        string // author: a person's id, or the bot's user id
	BotID       string // set when the bot posted it
	Text        string
	Blocks      json.RawMessage // as stored; Slack-style ids filled in where missing
	Attachments json.RawMessage
	Metadata    json.RawMessage
	Ephemeral   bool
	Recipient   string   // who sees an ephemeral message
	Edits       int      // successful updates
	Reactions   []string // reactions added by the bot
	// Via says how the message arrived: "chat.postMessage", "chat.postEphemeral",
	// "response_url", "ack" (a slash command's immediate reply) or "person".
	Via string
}

func (m *Message) clone() Message {
	c := *m
	c.Blocks = append(json.RawMessage(nil), m.Blocks...)
	c.Attachments = append(json.RawMessage(nil), m.Attachments...)
	c.Metadata = append(json.RawMessage(nil), m.Metadata...)
	c.Reactions = append([]string(nil), m.Reactions...)
	return c
}

// Actions lists the message's interactive elements.
func (m Message) Actions() []Action { return actionsIn(decodeBlocks(m.Blocks)) }

// FindAction finds an element by action_id, or else by its visible text.
func (m Message) FindAction(actionIDOrText string) (Action, bool) {
	return findAction(decodeBlocks(m.Blocks), actionIDOrText)
}

// AllText is the message text followed by every text in its blocks, one per line.
func (m Message) AllText() string {
	var sb strings.Builder
	sb.WriteString(m.Text)
	sb.WriteByte('\n')
	allText(decodeBlocks(m.Blocks), &sb)
	return sb.String()
}

// json renders the message object of API responses, events and payloads.
func (s *Server) messageJSON(m *Message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "team": s.opts.TeamID}
	if m.User != "" {
		out["user"] = m.User
	}
	if m.BotID != "" {
		appID, name := s.opts.AppID, s.opts.BotName
		if m.BotID != s.opts.BotID {
			// Another app's bot user (PostAsUser with a User.IsBot).
			appID, name = "A"+strings.TrimPrefix(m.BotID, "B"), m.User
			if u := s.users[m.User]; u != nil {
				name = u.Name
			}
		}
		out["bot_id"] = m.BotID
		out["app_id"] = appID
		out["bot_profile"] = map[string]any{"id": m.BotID, "app_id": appID, "name": name, "team_id": s.opts.TeamID, "deleted": false}
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
		// Replies name the author of the thread's root, as Slack's do.
		if m.ThreadTS != m.TS {
			if root := s.findMsgLocked(m.Channel, m.ThreadTS); root != nil && root.User != "" {
				out["parent_user_id"] = root.User
			}
		}
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = json.RawMessage(m.Blocks)
	}
	if len(m.Attachments) > 0 {
		out["attachments"] = json.RawMessage(m.Attachments)
	}
	if m.Edits > 0 {
		out["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	return out
}

// Messages returns the channel's messages (thread replies included) in ts order.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channelID]))
	for _, m := range s.messages[channelID] {
		out = append(out, m.clone())
	}
	return out
}

// DMs returns the messages of the user's DM with the bot, both directions.
func (s *Server) DMs(userID string) []Message {
	return s.Messages(s.DMChannel(userID))
}

// Thread returns a thread's parent followed by its replies.
func (s *Server) Thread(channelID, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channelID) {
		if m.TS == ts || m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// Message returns one message by channel and ts; ephemeral messages are found
// by their message_ts too.
func (s *Server) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMsgLocked(channelID, ts); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// Ephemerals returns the ephemeral messages shown to a user, oldest first.
func (s *Server) Ephemerals(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.ephemerals[userID]))
	for _, m := range s.ephemerals[userID] {
		out = append(out, m.clone())
	}
	return out
}

func (s *Server) findMsgLocked(channelID, ts string) *Message {
	for _, m := range s.messages[channelID] {
		if m.TS == ts {
			return m
		}
	}
	for _, list := range s.ephemerals {
		for _, m := range list {
			if m.Channel == channelID && m.TS == ts {
				return m
			}
		}
	}
	return nil
}

func (s *Server) storeMsgLocked(m *Message) {
	if m.Ephemeral {
		s.ephemerals[m.Recipient] = append(s.ephemerals[m.Recipient], m)
	} else {
		list := append(s.messages[m.Channel], m)
		sort.SliceStable(list, func(i, j int) bool { return list[i].TS < list[j].TS })
		s.messages[m.Channel] = list
	}
	s.bumpLocked()
}

func (s *Server) deleteMsgLocked(m *Message) {
	if m.Ephemeral {
		list := s.ephemerals[m.Recipient]
		for i, e := range list {
			if e == m {
				s.ephemerals[m.Recipient] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
	} else {
		list := s.messages[m.Channel]
		for i, e := range list {
			if e == m {
				s.messages[m.Channel] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
	}
	s.bumpLocked()
}
