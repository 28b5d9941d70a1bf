package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"accessbot/fakeslack"
)

// act is what the page POSTs to /api/act: one thing a person does.
type act struct {
	As      string              `json:"as"`   // the person's user id
	Kind    string              `json:"kind"` // see serveAct
	Channel string              `json:"channel"`
	TS      string              `json:"ts"`
	Thread  string              `json:"thread"`
	View    string              `json:"view"`
	Action  string              `json:"action"` // "BLOCK_ID/ACTION_ID"
	Values  []string            `json:"values"`
	Inputs  map[string][]string `json:"inputs"`
	Text    string              `json:"text"`
	Query   string              `json:"query"`
	By      string              `json:"by"` // "1h" or "1d"
}

type actResult struct {
	OK      bool              `json:"ok"`
	Error   string            `json:"error,omitempty"`
	Errors  map[string]string `json:"errors,omitempty"`
	Options []optionJSON      `json:"options,omitempty"`
}

type optionJSON struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// maxAct bounds a request body: a message of MaxMessageText characters of
// up to 4 bytes each, with room for the rest.
const maxAct = 4*fakeslack.MaxMessageText + 64<<10

// serveAct does what the person did, as Slack's client would, and answers
// once the bot has acknowledged it:
//
//	send     a message (or a slash command when it starts with "/") in
//	         channel, in thread when set
//	click    a button (action) of message channel/ts
//	select   values of a message's overflow, select, checkboxes or date picker
//	vclick   a button of view (a modal or the Home tab)
//	vselect  values of an element of view; inputs only change its state
//	suggest  query typed into an external select of view: its options
//	submit   view with inputs (block_id -> values)
//	close    view (a modal)
//	home     open the App Home tab
//	skip     move the sandbox's clock ahead by "1h" or "1d"
func (s *Server) serveAct(w http.ResponseWriter, r *http.Request) {
	var a act
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAct))
	if err := dec.Decode(&a); err != nil {
		writeJSON(w, http.StatusBadRequest, actResult{Error: "the request is not valid JSON: " + err.Error()})
		return
	}
	if _, ok := s.slack.User(a.As); !ok && a.Kind != "skip" {
		writeJSON(w, http.StatusBadRequest, actResult{Error: fmt.Sprintf("unknown person %q: pick one at the top of the page", a.As)})
		return
	}
	res, err := s.do(r.Context(), a)
	if err != nil {
		res = actResult{Error: s.words(a, err)}
	} else {
		res.OK = true
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) do(ctx context.Context, a act) (actResult, error) {
	ws := s.slack
	var err error
	switch a.Kind {
	case "send":
		return actResult{}, s.send(ctx, a)
	case "click":
		_, err = ws.Click(ctx, a.As, a.Channel, a.TS, a.Action)
	case "select":
		_, err = ws.Select(ctx, a.As, a.Channel, a.TS, a.Action, a.Values...)
	case "vclick":
		_, err = ws.ClickInView(ctx, a.As, a.View, a.Action)
	case "vselect":
		_, err = ws.SelectInView(ctx, a.As, a.View, a.Action, a.Values...)
	case "suggest":
		opts, err := ws.Suggest(ctx, a.As, a.View, a.Action, a.Query)
		res := actResult{Options: []optionJSON{}}
		for _, o := range opts {
			res.Options = append(res.Options, optionJSON{Text: o.Text, Value: o.Value})
		}
		return res, err
	case "submit":
		return s.submit(ctx, a)
	case "close":
		_, err = ws.CloseView(ctx, a.As, a.View)
	case "home":
		_, err = ws.OpenHome(ctx, a.As)
	case "skip":
		d, ok := map[string]time.Duration{"1h": time.Hour, "1d": 24 * time.Hour}[a.By]
		if !ok {
			return actResult{}, fmt.Errorf("skip by %q: choose 1h or 1d", a.By)
		}
		err = s.Skip(ctx, d)
	default:
		return actResult{}, fmt.Errorf("unknown action %q", a.Kind)
	}
	return actResult{}, err
}

func (s *Server) send(ctx context.Context, a act) error {
	text := strings.TrimSpace(a.Text)
	if text == "" {
		return errors.New("type a message or a command first")
	}
	if !strings.HasPrefix(text, "/") {
		_, err := s.slack.PostAsUser(ctx, a.As, a.Channel, a.Text, a.Thread)
		return err
	}
	cmd, rest, _ := strings.Cut(text, " ")
	_, err := s.slack.Command(ctx, a.As, a.Channel, cmd, strings.TrimSpace(rest))
	return err
}

func (s *Server) submit(ctx context.Context, a act) (actResult, error) {
	sub, err := s.slack.Submit(ctx, a.As, a.View, fakeslack.Inputs(a.Inputs))
	if err != nil {
		return actResult{}, err
	}
	if len(sub.Errors) > 0 {
		// Kept with the view's hash: the page shows them until the view changes.
		if v, ok := s.slack.View(a.View); ok {
			s.mu.Lock()
			s.errs[a.View] = viewErrors{hash: v.Hash, errors: sub.Errors}
			s.mu.Unlock()
		}
	}
	return actResult{Errors: sub.Errors}, nil
}

// words turns an error into what Slack's client would show the person.
func (s *Server) words(a act, err error) string {
	cmd, _, _ := strings.Cut(strings.TrimSpace(a.Text), " ")
	switch {
	case errors.Is(err, fakeslack.ErrUnknownCommand):
		return fmt.Sprintf("%s is not a valid command. In Slack, all messages that start with the \"/\" character are interpreted as commands. This app knows %s.", cmd, strings.Join(s.opts.Commands, " and "))
	case errors.Is(err, fakeslack.ErrTooLong):
		return fmt.Sprintf("Your message is too long: %d characters. Slack sends at most %d; shorten it and send it again.", utf8.RuneCountInString(a.Text), fakeslack.MaxMessageText)
	case errors.Is(err, fakeslack.ErrViewClosed):
		return "This window is closed (the app closed or replaced it), so nothing was sent."
	case errors.Is(err, fakeslack.ErrNotConnected):
		return "The app is not connected right now (dispatch_failed); it reconnects by itself, try again in a moment."
	case errors.Is(err, fakeslack.ErrLateAck), errors.Is(err, context.DeadlineExceeded):
		if a.Kind == "send" && strings.HasPrefix(cmd, "/") {
			return fmt.Sprintf("%s failed with the error \"operation_timeout\"", cmd)
		}
		return "The app did not answer in time (operation_timeout)."
	case errors.Is(err, fakeslack.ErrBadAck):
		return "Slack could not show the app's answer: " + strings.TrimPrefix(err.Error(), "fakeslack: ")
	}
	return strings.TrimPrefix(err.Error(), "fakeslack: ")
}
