package fakeslack

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// Response URLs are minted per interaction and served at /response/<id>. Like
// Slack's they work 5 times within 30 minutes.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

type responseURL struct {
	user      string
	channel   string
	msgTS     string // the message clicked, for replace_original / delete_original
	ephemeral bool
	uses      int
	created   time.Time
}

func (s *Server) mintResponseURLLocked(r *responseURL) string {
	id := randHex(12)
	r.created = time.Now()
	s.responseURLs[id] = r
	return s.baseURL + "/response/" + id
}

// serveResponseURL handles what the bot posts to a response_url. slack-go posts
// JSON ({"text","blocks","response_type","replace_original","delete_original",
// "thread_ts"}) and always sends replace_original/delete_original explicitly, so
// without replace_original the post becomes a new message: ephemeral for the
// person unless response_type is "in_channel".
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	const method = "response_url"
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))

	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		s.count(method, "down", nil)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if f, ok := s.takeFailure(method); ok {
		if s.applyFailure(w, r, method, f, nil) {
			return
		}
	}

	fail := func(status int, code string) {
		s.count(method, code, map[string]string{"id": id})
		writeJSON(w, status, apiErr(code))
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_method")
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		fail(http.StatusBadRequest, "invalid_payload")
		return
	}

	s.mu.Lock()
	ru := s.responseURLs[id]
	switch {
	case ru == nil:
		s.mu.Unlock()
		fail(http.StatusNotFound, "invalid_url")
		return
	case time.Since(ru.created) > responseURLTTL:
		s.mu.Unlock()
		fail(http.StatusNotFound, "expired_url")
		return
	case ru.uses >= responseURLUses:
		s.mu.Unlock()
		fail(http.StatusNotFound, "used_url")
		return
	}
	ru.uses++
	code := s.applyResponseLocked(ru, req)
	if code != "" {
		s.mu.Unlock()
		fail(http.StatusOK, code)
		return
	}
	// Counted under the same lock as the effect, so a test that saw the effect
	// also sees the count.
	s.countLocked(method, "ok", map[string]string{"id": id})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) applyResponseLocked(ru *responseURL, req map[string]any) string {
	var orig *Message
	if ru.msgTS != "" {
		orig = s.findMsgLocked(ru.channel, ru.msgTS)
	}
	if del, _ := req["delete_original"].(bool); del {
		if orig == nil {
			return "message_not_found"
		}
		s.deleteMsgLocked(orig)
		return ""
	}
	m, err := s.replyMessageLocked(req)
	if err != nil {
		return "invalid_blocks"
	}
	if m == nil {
		return "no_text"
	}
	if repl, _ := req["replace_original"].(bool); repl && orig != nil {
		orig.Text, orig.Blocks = m.Text, m.Blocks
		orig.Edits++
		s.clearMsgStateLocked(orig)
		s.bumpLocked()
		return ""
	}
	m.Channel, m.Via = ru.channel, "response_url"
	if str(req["response_type"]) != "in_channel" {
		m.Ephemeral, m.Recipient = true, ru.user
	}
	s.storeMsgLocked(m)
	return ""
}
