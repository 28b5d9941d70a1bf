package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"accessbot/fakeslack"
)

// What GET /api/state?as=USER_ID answers: everything one person sees.

type userJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	Email    string `json:"email"`
	TZ       string `json:"tz"`
}

type messageJSON struct {
	TS        string          `json:"ts"`
	ThreadTS  string          `json:"thread_ts,omitempty"`
	User      string          `json:"user"`
	Bot       bool            `json:"bot"`
	Text      string          `json:"text"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Ephemeral bool            `json:"ephemeral,omitempty"`
	Edits     int             `json:"edits,omitempty"`
}

type conversationJSON struct {
	ID       string        `json:"id"`
	Kind     string        `json:"kind"` // "dm" or "channel"
	Name     string        `json:"name"`
	Messages []messageJSON `json:"messages"`
}

type viewJSON struct {
	View   json.RawMessage   `json:"view"` // as Slack returns it, state included
	Errors map[string]string `json:"errors,omitempty"`
}

type tourJSON struct {
	Tour
	RequesterID   string `json:"requester_id"`
	ManagerID     string `json:"manager_id"`
	ProvisionerID string `json:"provisioner_id"`
}

type stateJSON struct {
	Workspace     string             `json:"workspace"`
	Addr          string             `json:"addr"`
	Bot           userJSON           `json:"bot"`
	Now           time.Time          `json:"now"`
	Skipped       float64            `json:"skipped_seconds"`
	Connected     bool               `json:"connected"`
	Users         []userJSON         `json:"users"`
	Me            string             `json:"me"`
	Commands      []string           `json:"commands"`
	Conversations []conversationJSON `json:"conversations"`
	Home          *viewJSON          `json:"home"`
	Modals        []viewJSON         `json:"modals"`
	Tour          tourJSON           `json:"tour"`
}

func toUser(u fakeslack.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, RealName: u.RealName, Email: u.Email, TZ: u.TZ}
}

func toMessage(m fakeslack.Message) messageJSON {
	return messageJSON{TS: m.TS, ThreadTS: m.ThreadTS, User: m.User, Bot: m.BotID != "", Text: m.Text,
		Blocks: m.Blocks, Ephemeral: m.Ephemeral, Edits: m.Edits}
}

func (s *Server) state(me string) stateJSON {
	ws := s.slack
	st := stateJSON{
		Workspace: s.opts.Workspace, Addr: s.opts.Addr,
		Now: s.clock.Now(), Skipped: s.clock.Offset().Seconds(),
		Connected: ws.Connections() > 0,
		Me:        me, Commands: s.opts.Commands, Modals: []viewJSON{},
		Tour: tourJSON{Tour: s.opts.Tour, RequesterID: s.UserID(s.opts.Tour.Requester),
			ManagerID: s.UserID(s.opts.Tour.Manager), ProvisionerID: s.UserID(s.opts.Tour.Provisioner)},
	}
	if bot, ok := ws.User(ws.BotUserID()); ok {
		st.Bot = toUser(bot)
	}
	for _, u := range ws.Users() {
		st.Users = append(st.Users, toUser(u))
	}
	if _, ok := ws.User(me); !ok {
		return st
	}
	eph := ws.Ephemerals(me)
	conv := func(id, kind, name string) conversationJSON {
		c := conversationJSON{ID: id, Kind: kind, Name: name, Messages: []messageJSON{}}
		for _, m := range ws.Messages(id) {
			c.Messages = append(c.Messages, toMessage(m))
		}
		for _, m := range eph {
			if m.Channel == id {
				c.Messages = append(c.Messages, toMessage(m))
			}
		}
		sort.SliceStable(c.Messages, func(i, j int) bool { return c.Messages[i].TS < c.Messages[j].TS })
		return c
	}
	st.Conversations = append(st.Conversations, conv(ws.DMChannel(me), "dm", st.Bot.Name))
	for _, c := range ws.Channels() {
		st.Conversations = append(st.Conversations, conv(c.ID, "channel", c.Name))
	}
	if v, ok := ws.HomeView(me); ok {
		vj := s.viewJSON(v)
		st.Home = &vj
	}
	for _, v := range ws.ModalStack(me) {
		st.Modals = append(st.Modals, s.viewJSON(v))
	}
	return st
}

func (s *Server) viewJSON(v fakeslack.View) viewJSON {
	out := viewJSON{View: v.JSON}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.errs[v.ID]; ok && e.hash == v.Hash {
		out.Errors = e.errors
	}
	return out
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.state(r.URL.Query().Get("as")))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveEvents streams "changed" whenever the workspace or the clock
// changes; the page then asks for its state again.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	keepalive := time.NewTicker(25 * time.Second)
	defer keepalive.Stop()
	for {
		ws, clk := s.slack.Changed(), s.clockChanged()
		if _, err := w.Write([]byte("event: changed\ndata: {}\n\n")); err != nil {
			return
		}
		fl.Flush()
		if !waitChange(r.Context(), w, fl, ws, clk, keepalive.C) {
			return
		}
		// Changes come in bursts (a click is an envelope, an ack, Web API
		// calls): let a burst end before telling the page.
		select {
		case <-r.Context().Done():
			return
		case <-time.After(40 * time.Millisecond):
		}
	}
}

// waitChange waits for a change of the workspace or the clock, keeping the
// stream alive meanwhile; false when the page went away.
func waitChange(ctx context.Context, w http.ResponseWriter, fl http.Flusher, ws, clk <-chan struct{}, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-ws:
			return true
		case <-clk:
			return true
		case <-tick:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return false
			}
			fl.Flush()
		}
	}
}
