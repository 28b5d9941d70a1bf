package fakeslack

import (
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"
)

// What a Slack client shows around the bot: who is in the workspace, which
// channels exist, and the checks the client makes before anything reaches
// the app. The sandbox's web page is such a client.

// MaxMessageText is the longest message (or slash command text) Slack's
// client sends; it refuses longer ones before the app sees them.
const MaxMessageText = 40_000

// Errors of what the client refuses. The messages are what a person reads.
var (
	// ErrUnknownCommand: the app registered no such slash command.
	ErrUnknownCommand = errors.New("not a valid command")
	// ErrTooLong: the text is over MaxMessageText characters.
	ErrTooLong = errors.New("message too long")
	// ErrViewClosed: the modal is not open any more (closed, replaced, or
	// under another one), so nothing in it can be pressed or submitted.
	ErrViewClosed = errors.New("fakeslack: view not open")
)

// Users returns every member but the bot, by name.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, u := range s.users {
		if u.ID != s.opts.BotUserID {
			out = append(out, *u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Channel is a conversation as a client lists it.
type Channel struct {
	ID        string
	Name      string
	BotMember bool
	IM        bool   // the bot's DM with User
	User      string // for DMs
}

// Channels returns every channel that is not a DM, by name.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.channels {
		if !c.im {
			out = append(out, Channel{ID: c.id, Name: c.name, BotMember: c.botMember})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// channelByNameLocked returns the id of the channel named name, or "".
func (s *Server) channelByNameLocked(name string) string {
	for id, c := range s.channels {
		if !c.im && c.name == name {
			return id
		}
	}
	return ""
}

// checkTyped refuses what Slack's client would not send: a slash command
// the app did not register, or text over MaxMessageText.
func (s *Server) checkTyped(command, text string) error {
	if n := utf8.RuneCountInString(text); n > MaxMessageText {
		return fmt.Errorf("%w: %d characters; Slack sends at most %d", ErrTooLong, n, MaxMessageText)
	}
	if command == "" || len(s.opts.Commands) == 0 {
		return nil
	}
	for _, c := range s.opts.Commands {
		if c == command {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not a valid command. In Slack, all messages that start with the \"/\" character are interpreted as commands", ErrUnknownCommand, command)
}
