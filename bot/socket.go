package bot

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Socket Mode is spoken here rather than through slack-go's
// socketmode.Client. That client decodes every envelope into typed structs
// on its one read goroutine and passes it through two channels before
// anyone can store it, so in a burst of clicks each envelope waits for the
// full decode of all those before it: that queue, not the database, was
// most of the ack latency. Here the read loop parses only the envelope's
// head (its id and type, the payload's type and user) and hands the raw
// payload to the inbox writer; the full decode runs in the worker, after
// the ack (decodeEvent). Acks leave through one writer goroutine per
// connection that writes every ack queued meanwhile in one system call.
// The connection's life is slack-go's: apps.connections.open, hello,
// disconnect (any reason) and a dead connection reconnect with backoff;
// pings are answered, and a connection without one for the ping interval
// is given up; a refused app token ends Run with an error.

// acker acks an envelope on the connection it came from
// (*socketmode.Client has the same method).
type acker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// maxAckSize is Slack's limit on a Socket Mode response: it ignores
// bigger ones (and slack-go refuses them).
const maxAckSize = 20 * 1024

const (
	defaultPingInterval = 30 * time.Second // slack-go's
	socketWriteTimeout  = 10 * time.Second
	maxReconnectBackoff = 5 * time.Minute
)

// socketFrame is a Socket Mode message from Slack, with its payload raw.
type socketFrame struct {
	Type                   string          `json:"type"`
	EnvelopeID             string          `json:"envelope_id"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	Reason                 string          `json:"reason"` // of a disconnect
}

func (f *socketFrame) request() socketmode.Request {
	return socketmode.Request{
		Type: f.Type, EnvelopeID: f.EnvelopeID, Payload: f.Payload,
		AcceptsResponsePayload: f.AcceptsResponsePayload,
		RetryAttempt:           f.RetryAttempt, RetryReason: f.RetryReason,
	}
}

// socketConn is one Socket Mode WebSocket connection.
type socketConn struct {
	ws       *websocket.Conn
	nc       *flushConn
	out      chan []byte // acks for the writer
	pongs    chan string
	done     chan struct{}
	once     sync.Once
	lastPing atomic.Int64 // unix nanoseconds
}

var errSocketClosed = errors.New("socket mode: the connection closed before the ack was written")

// Ack queues req's ack (with payload, when given) for the writer.
func (c *socketConn) Ack(req socketmode.Request, payload ...any) error {
	res := socketmode.Response{EnvelopeID: req.EnvelopeID}
	if len(payload) > 0 {
		res.Payload = payload[0]
	}
	js, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("socket mode: encode the ack: %w", err)
	}
	if len(js) >= maxAckSize {
		return fmt.Errorf("socket mode: an ack of %d bytes is over Slack's limit of %d; Slack would ignore it", len(js), maxAckSize)
	}
	select {
	case <-c.done:
		return errSocketClosed
	default:
	}
	select {
	case c.out <- js:
		return nil
	case <-c.done:
		return errSocketClosed
	}
}

func (c *socketConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// writeLoop writes the connection's acks and pongs until it closes. What
// is queued while a write runs goes out together in the next one.
func (c *socketConn) writeLoop() {
	defer c.close()
	for {
		select {
		case <-c.done:
			return
		case js := <-c.out:
			if err := c.writeFrames(js, ""); err != nil {
				return
			}
		case p := <-c.pongs:
			if err := c.writeFrames(nil, p); err != nil {
				return
			}
		}
	}
}

func (c *socketConn) writeFrames(js []byte, pong string) error {
	deadline := time.Now().Add(socketWriteTimeout)
	_ = c.ws.SetWriteDeadline(deadline)
	write := func(js []byte, pong string) error {
		if js != nil {
			return c.ws.WriteMessage(websocket.TextMessage, js)
		}
		return c.ws.WriteControl(websocket.PongMessage, []byte(pong), deadline)
	}
	if err := write(js, pong); err != nil {
		return err
	}
	for more := true; more; {
		select {
		case js := <-c.out:
			if err := write(js, ""); err != nil {
				return err
			}
		case p := <-c.pongs:
			if err := write(nil, p); err != nil {
				return err
			}
		default:
			more = false
		}
	}
	return c.nc.Flush()
}

// flushConn is the WebSocket's network connection. After the handshake
// its writes collect in a buffer that the writer flushes once a batch of
// frames is written.
type flushConn struct {
	net.Conn
	mu       sync.Mutex
	buffered bool
	w        *bufio.Writer
}

func (f *flushConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.buffered {
		return f.Conn.Write(p)
	}
	return f.w.Write(p)
}

func (f *flushConn) buffer() {
	f.mu.Lock()
	f.buffered, f.w = true, bufio.NewWriterSize(f.Conn, 64*1024)
	f.mu.Unlock()
}

// Flush writes what is buffered.
func (f *flushConn) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.w == nil {
		return nil
	}
	return f.w.Flush()
}

// dialSocket opens a Socket Mode connection: apps.connections.open with
// the app token, then the WebSocket.
func (b *Bot) dialSocket(ctx context.Context) (*socketConn, error) {
	_, url, err := b.api.StartSocketModeContext(ctx)
	if err != nil {
		return nil, err
	}
	var nc *flushConn
	dialer := &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 45 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			nc = &flushConn{Conn: conn}
			return nc, nil
		},
	}
	header := http.Header{}
	header.Set("Origin", "https://api.slack.com") // what slack-go sends
	ws, resp, err := dialer.DialContext(ctx, url, header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("socket mode: dial the WebSocket: %w", err)
	}
	nc.buffer()
	c := &socketConn{ws: ws, nc: nc, out: make(chan []byte, 4096), pongs: make(chan string, 4), done: make(chan struct{})}
	c.lastPing.Store(time.Now().UnixNano())
	ws.SetPingHandler(func(data string) error {
		c.lastPing.Store(time.Now().UnixNano())
		select {
		case c.pongs <- data:
		default: // pongs are owed to the latest pings only
		}
		return nil
	})
	// The writer goroutine is the only one that writes: the reader must
	// not answer a close frame itself (gorilla's default); the read fails
	// with the close either way.
	ws.SetCloseHandler(func(int, string) error { return nil })
	go c.writeLoop()
	return c, nil
}

// fatalSocketError reports whether err from opening a connection means
// the app token is refused: reconnecting cannot help.
func fatalSocketError(err error) bool {
	if tokenRejected(slackCode(err)) {
		return true
	}
	var sc slack.StatusCodeError
	return errors.As(err, &sc) && sc.Code == http.StatusNotFound
}

// socketMode keeps a Socket Mode connection open until ctx ends (nil) or
// Slack refuses the app token (the error), and gives each envelope read to
// take. Connections that fail are opened again with backoff; a disconnect
// from Slack opens the next one at once.
func (b *Bot) socketMode(ctx context.Context, take func(*socketConn, *socketFrame)) error {
	interval := b.cfg.PingInterval
	if interval <= 0 {
		interval = defaultPingInterval
	}
	failures := 0
	for {
		c, err := b.dialSocket(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fatalSocketError(err) {
				return err
			}
			wait := jitter(min(maxReconnectBackoff, 100*time.Millisecond<<min(failures, 20)))
			failures++
			var rl *slack.RateLimitedError
			if errors.As(err, &rl) {
				wait = max(wait, rl.RetryAfter)
			}
			b.log.Info().Err(err).Dur("backoff", wait).Msg("socket mode: reconnecting")
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		failures = 0
		b.state.connected.Store(true)
		why := b.serveSocket(ctx, c, interval, take)
		b.state.connected.Store(false)
		c.close()
		if ctx.Err() != nil {
			return nil
		}
		b.log.Info().Str("reason", why).Msg("socket mode: reconnecting")
	}
}

// serveSocket reads c until it fails, Slack asks to disconnect, no ping
// came for interval, or ctx ends, and says why it stopped.
func (b *Bot) serveSocket(ctx context.Context, c *socketConn, interval time.Duration, take func(*socketConn, *socketFrame)) string {
	var timedOut atomic.Bool
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case <-ctx.Done():
				c.close()
				return
			case <-t.C:
				if time.Since(time.Unix(0, c.lastPing.Load())) > interval {
					timedOut.Store(true)
					c.close()
					return
				}
			}
		}
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if timedOut.Load() {
				return fmt.Sprintf("no ping from Slack for %s", interval)
			}
			return err.Error()
		}
		var f socketFrame
		if err := json.Unmarshal(data, &f); err != nil {
			// Not JSON: there is no envelope_id to ack.
			b.log.Warn().Err(err).Int("bytes", len(data)).Msg("socket mode: unreadable message")
			continue
		}
		switch f.Type {
		case "hello":
			b.log.Debug().Str("type", "hello").Msg("socket mode")
		case "disconnect":
			return "disconnect: " + f.Reason
		case socketmode.RequestTypeEventsAPI, socketmode.RequestTypeInteractive, socketmode.RequestTypeSlashCommands:
			take(c, &f)
		default:
			b.badEnvelope(c, &f, fmt.Errorf("unsupported envelope type %q", f.Type))
		}
	}
}

// badEnvelope acks an envelope that cannot be read, so Slack does not
// redeliver it.
func (b *Bot) badEnvelope(c acker, f *socketFrame, cause error) {
	b.log.Warn().Str("envelope_id", f.EnvelopeID).Str("type", f.Type).AnErr("cause", cause).Msg("malformed envelope")
	if f.EnvelopeID != "" {
		b.ack(c, socketmode.Request{EnvelopeID: f.EnvelopeID}, nil)
	}
}

// jitter spreads reconnects of replicas that lost Slack at once.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + rand.N(d/2+1)
}
