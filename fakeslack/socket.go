package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNotConnected is returned when there is no Socket Mode connection to push to.
var ErrNotConnected = errors.New("fakeslack: no Socket Mode connection")

// ErrNoAck is returned when the bot did not ack in time.
var ErrNoAck = errors.New("fakeslack: envelope not acknowledged")

// maxAckSize is Slack's limit on a Socket Mode response.
const maxAckSize = 20 * 1024

// envelope is a Socket Mode message from Slack to the app.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Ack is an acknowledgement the bot sent over Socket Mode.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried no payload
	Latency    time.Duration   // since the latest delivery of the envelope
	Attempt    int             // retry_attempt of that delivery
	Conn       int             // connection number (1 = first ever connection)
	At         time.Time
	Unknown    bool // no envelope with this id was pushed
}

type pending struct {
	env         envelope
	raw         []byte // for PushRaw: delivered verbatim
	deliveredAt time.Time
	acks        []Ack
}

type wsConn struct {
	id   int
	c    *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time
	done chan struct{}
	once sync.Once
}

func (wc *wsConn) write(data []byte) error {
	wc.wmu.Lock()
	defer wc.wmu.Unlock()
	_ = wc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return wc.c.WriteMessage(websocket.TextMessage, data)
}

func (wc *wsConn) close() {
	wc.once.Do(func() {
		close(wc.done)
		_ = wc.c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = wc.c.Close()
	})
}

var upgrader = websocket.Upgrader{
	// slack-go dials with Origin: https://api.slack.com, which never matches 127.0.0.1.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a connection URL works once, like Slack's
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wc := &wsConn{c: c, done: make(chan struct{})}

	s.mu.Lock()
	s.connectCount++
	wc.id = s.connectCount
	n := len(s.conns) + 1
	s.mu.Unlock()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info": map[string]any{
			"host": "fakeslack", "build_number": 1, "approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	}
	if err := wc.write(mustJSON(hello)); err != nil {
		wc.close()
		return
	}
	// Registered only after hello, so no envelope can overtake it.
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		wc.close()
		return
	default:
	}
	s.conns = append(s.conns, wc)
	s.bg.Add(1)
	s.bumpLocked()
	s.mu.Unlock()
	s.logf("socket connection %d open", wc.id)

	go s.pinger(wc)
	s.readAcks(wc)

	s.removeConn(wc)
	wc.close()
	s.logf("socket connection %d closed", wc.id)
}

func (s *Server) pinger(wc *wsConn) {
	defer s.bg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-wc.done:
			return
		case <-s.closed:
			return
		case <-t.C:
		}
		s.mu.Lock()
		paused := s.pingsPaused
		s.mu.Unlock()
		if !paused {
			_ = wc.c.WriteControl(websocket.PingMessage, []byte(strconv.Itoa(n)), time.Now().Add(5*time.Second))
		}
	}
}

func (s *Server) readAcks(wc *wsConn) {
	for {
		_, data, err := wc.c.ReadMessage()
		if err != nil {
			return
		}
		if len(data) >= maxAckSize {
			// Slack drops such responses; slack-go refuses to send them.
			s.mu.Lock()
			s.warnLocked("socket connection %d sent a %d-byte frame; Slack ignores responses of 20 KB or more", wc.id, len(data))
			s.bumpLocked()
			s.mu.Unlock()
			continue
		}
		var msg struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &msg); err != nil || msg.EnvelopeID == "" {
			s.mu.Lock()
			s.warnLocked("socket connection %d sent an unreadable frame: %.200s", wc.id, data)
			s.bumpLocked()
			s.mu.Unlock()
			continue
		}
		if string(msg.Payload) == "null" {
			msg.Payload = nil
		}
		now := time.Now()
		s.mu.Lock()
		ack := Ack{EnvelopeID: msg.EnvelopeID, Payload: msg.Payload, Conn: wc.id, At: now}
		if p := s.pending[msg.EnvelopeID]; p != nil {
			ack.Latency = now.Sub(p.deliveredAt)
			ack.Attempt = p.env.RetryAttempt
			p.acks = append(p.acks, ack)
		} else {
			ack.Unknown = true
		}
		s.acks = append(s.acks, ack)
		s.bumpLocked()
		s.mu.Unlock()
		s.logf("ack %s (%s) payload=%.200s", ack.EnvelopeID, ack.Latency, ack.Payload)
	}
}

func (s *Server) removeConn(wc *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.conns {
		if c == wc {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			s.bumpLocked()
			return
		}
	}
}

// pickConnLocked chooses the next connection round-robin: with several
// connections each envelope goes to exactly one of them, as in Slack.
func (s *Server) pickConnLocked() *wsConn {
	if len(s.conns) == 0 {
		return nil
	}
	s.rr++
	return s.conns[s.rr%len(s.conns)]
}

// deliver sends (or re-sends) a pending envelope.
func (s *Server) deliver(id string) error {
	s.mu.Lock()
	p := s.pending[id]
	wc := s.pickConnLocked()
	if wc == nil {
		s.mu.Unlock()
		return ErrNotConnected
	}
	data := p.raw
	if data == nil {
		data = mustJSON(p.env)
	}
	p.deliveredAt = time.Now()
	s.bumpLocked()
	s.mu.Unlock()
	if err := wc.write(data); err != nil {
		return fmt.Errorf("fakeslack: push on connection %d: %w", wc.id, err)
	}
	return nil
}

// Push sends an envelope of the given type ("events_api", "interactive",
// "slash_commands") with payload (any JSON-marshalable value, or json.RawMessage)
// to one connection and returns its envelope_id. It does not wait for the ack.
func (s *Server) Push(envelopeType string, payload any) (string, error) {
	raw, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			return "", fmt.Errorf("fakeslack: marshal payload: %w", err)
		}
	}
	env := envelope{
		EnvelopeID:             newUUID(),
		Type:                   envelopeType,
		Payload:                raw,
		AcceptsResponsePayload: envelopeType != "events_api",
	}
	s.mu.Lock()
	s.pending[env.EnvelopeID] = &pending{env: env}
	s.mu.Unlock()
	return env.EnvelopeID, s.deliver(env.EnvelopeID)
}

var envelopeIDRE = regexp.MustCompile(`"envelope_id"\s*:\s*"([^"]+)"`)

// PushRaw sends bytes verbatim (for malformed envelopes). If an envelope_id can
// be found in them, it is returned and its ack can be awaited like any other.
func (s *Server) PushRaw(data []byte) (string, error) {
	id := ""
	if m := envelopeIDRE.FindSubmatch(data); m != nil {
		id = string(m[1])
	}
	if id == "" {
		id = "raw-" + randHex(8)
	}
	s.mu.Lock()
	s.pending[id] = &pending{env: envelope{EnvelopeID: id}, raw: append([]byte(nil), data...)}
	s.mu.Unlock()
	if err := s.deliver(id); err != nil {
		return "", err
	}
	if id[:4] == "raw-" {
		return "", nil
	}
	return id, nil
}

// Redeliver sends an envelope again with the same envelope_id, retry_attempt+1
// and retry_reason "timeout", as Slack does when an ack is late or lost. It may go
// to a different connection.
func (s *Server) Redeliver(envelopeID string) error {
	s.mu.Lock()
	p := s.pending[envelopeID]
	if p == nil || p.raw != nil {
		s.mu.Unlock()
		return fmt.Errorf("fakeslack: no pushed envelope %q", envelopeID)
	}
	p.env.RetryAttempt++
	p.env.RetryReason = "timeout"
	s.mu.Unlock()
	return s.deliver(envelopeID)
}

// WaitAck waits for the first ack of the envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var ack Ack
	err := s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if p := s.pending[envelopeID]; p != nil && len(p.acks) > 0 {
			ack = p.acks[0]
			return true
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("%w: %s: %w", ErrNoAck, envelopeID, err)
	}
	return ack, nil
}

// AcksFor returns every ack of one envelope (several after redeliveries).
func (s *Server) AcksFor(envelopeID string) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[envelopeID]; p != nil {
		return append([]Ack(nil), p.acks...)
	}
	return nil
}

// Acks returns every ack received, in arrival order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// Connections is the number of open Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// ConnectCount is how many Socket Mode connections were ever opened (reconnects
// included).
func (s *Server) ConnectCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectCount
}

// WaitConnected waits until at least n connections are open.
func (s *Server) WaitConnected(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func() bool { return s.Connections() >= n })
}

func (s *Server) takeConns() []*wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := s.conns
	s.conns = nil
	s.bumpLocked()
	return conns
}

// Disconnect sends {"type":"disconnect","reason":reason} to every connection
// and closes them; slack-go then reconnects through apps.connections.open.
// Slack's reasons are "warning", "refresh_requested" and "link_disabled".
// The connections are gone from Connections() when it returns.
func (s *Server) Disconnect(reason string) {
	msg := mustJSON(map[string]any{
		"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "fakeslack"},
	})
	for _, wc := range s.takeConns() {
		_ = wc.write(msg)
		wc.close()
	}
}

// DropConnections closes every connection without a disconnect message, like a
// network failure.
func (s *Server) DropConnections() {
	for _, wc := range s.takeConns() {
		wc.close()
	}
}

// SetPingsPaused stops (or resumes) the server's WebSocket pings; slack-go
// reconnects after its ping interval (30 s by default) without one.
func (s *Server) SetPingsPaused(paused bool) {
	s.mu.Lock()
	s.pingsPaused = paused
	s.mu.Unlock()
}
