package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable: every field has a default.
type Options struct {
	// Addr is the listen address. Default "127.0.0.1:0" (random port).
	Addr string

	BotToken   string // default "xoxb-fake-bot-token"
	AppToken   string // default "xapp-fake-app-token"
	TeamID     string // default "T0FAKE0001"
	TeamName   string // default "Fake Workspace"
	TeamDomain string // default "fakeslack"; permalinks are https://<domain>.slack.com/...
	AppID      string // default "A0FAKEAPP1"
	BotID      string // default "B0FAKEBOT1"
	BotUserID  string // default "U0FAKEBOT1"
	BotName    string // default "accessbot"
	// VerificationToken is the legacy "token" field Slack puts in payloads.
	VerificationToken string // default "fake-verification-token"

	// PingInterval is how often the server pings each Socket Mode connection.
	// slack-go reconnects when no ping arrives for 30 s. Default 10 s.
	PingInterval time.Duration
	// TriggerTTL is how long a trigger_id can be exchanged. Default 3 s, like Slack.
	TriggerTTL time.Duration
	// AckTimeout bounds how long the person helpers (Click, Submit, Command, ...) wait
	// for an ack when their context has no earlier deadline. Default 5 s.
	AckTimeout time.Duration
	// AckDeadline is how late an interactive or slash command ack may be before
	// Slack shows the person an error and ignores the ack's payload. Default 3 s.
	AckDeadline time.Duration

	// RateLimits turns on the per-method token buckets (DefaultLimits, scaled by
	// RateScale). Off by default so tests run fast; see EnableRateLimits.
	RateLimits bool
	// RateScale multiplies every limit's rate (not its burst). 0 means 1.
	RateScale float64

	// Logf, when set, receives one line per Web API call and socket event.
	Logf func(format string, args ...any)

	// Now, when set, is the clock of message timestamps (the sandbox moves it
	// ahead with the bot's). Triggers, response URLs and rate limits keep
	// the wall clock. Default time.Now.
	Now func() time.Time
	// Commands, when set, are the slash commands the app registered: any
	// other is refused as Slack's client does (ErrUnknownCommand). Empty
	// accepts every command (tests).
	Commands []string
}

func (o *Options) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.Addr, "127.0.0.1:0")
	def(&o.BotToken, "xoxb-fake-bot-token")
	def(&o.AppToken, "xapp-fake-app-token")
	def(&o.TeamID, "T0FAKE0001")
	def(&o.TeamName, "Fake Workspace")
	def(&o.TeamDomain, "fakeslack")
	def(&o.AppID, "A0FAKEAPP1")
	def(&o.BotID, "B0FAKEBOT1")
	def(&o.BotUserID, "U0FAKEBOT1")
	def(&o.BotName, "accessbot")
	def(&o.VerificationToken, "fake-verification-token")
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.TriggerTTL <= 0 {
		o.TriggerTTL = 3 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	if o.AckDeadline <= 0 {
		o.AckDeadline = 3 * time.Second
	}
	if o.RateScale <= 0 {
		o.RateScale = 1
	}
}

// Server is a fake Slack workspace with one installed app (the bot). All exported
// methods are safe for concurrent use.
type Server struct {
	opts    Options
	ln      net.Listener
	httpSrv *http.Server
	baseURL string
	closed  chan struct{}
	bg      sync.WaitGroup // background goroutines (pingers, echo pushes)

	rl *rateLimiter

	// mu guards everything below. It is never held while writing to a socket or
	// while waiting, so a slow client cannot stall the fake.
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change

	users    map[string]*User
	channels map[string]*channelRec
	dmOf     map[string]string // user id -> DM channel id

	messages   map[string][]*Message // channel -> messages ordered by ts
	ephemerals map[string][]*Message // recipient user id -> ephemeral messages
	msgState   map[string]map[string]map[string]any

	views   map[string]*viewRec
	homeOf  map[string]string   // user id -> home view id
	stackOf map[string][]string // user id -> modal stack, bottom first

	triggers     map[string]*trigger
	responseURLs map[string]*responseURL
	suggestions  map[string][]Option // view id + action id -> last suggested options

	counts   map[string]map[string]int
	calls    []Call
	warnings []string

	echoBot  bool
	down     bool
	authErr  string
	failures map[string][]Failure

	lastTS int64 // microseconds of the last minted message ts
	seq    int64 // id counter

	// Socket Mode.
	tickets      map[string]bool
	conns        []*wsConn
	rr           int
	connectCount int
	pingsPaused  bool
	pending      map[string]*pending
	acks         []Ack
}

// New starts a fake Slack server. Call Close when done.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: listen: %w", err)
	}
	s := &Server{
		opts:         opts,
		ln:           ln,
		baseURL:      "http://" + ln.Addr().String(),
		closed:       make(chan struct{}),
		changed:      make(chan struct{}),
		rl:           newRateLimiter(opts.RateLimits, opts.RateScale),
		users:        map[string]*User{},
		channels:     map[string]*channelRec{},
		dmOf:         map[string]string{},
		messages:     map[string][]*Message{},
		ephemerals:   map[string][]*Message{},
		msgState:     map[string]map[string]map[string]any{},
		views:        map[string]*viewRec{},
		homeOf:       map[string]string{},
		stackOf:      map[string][]string{},
		triggers:     map[string]*trigger{},
		responseURLs: map[string]*responseURL{},
		suggestions:  map[string][]Option{},
		counts:       map[string]map[string]int{},
		failures:     map[string][]Failure{},
		tickets:      map[string]bool{},
		pending:      map[string]*pending{},
	}
	// The bot is a workspace member too: users.info on it must work.
	s.users[opts.BotUserID] = &User{ID: opts.BotUserID, Name: opts.BotName, IsBot: true, TZ: "UTC"}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/response/", s.serveResponseURL)
	s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return s, nil
}

// Close stops the server, drops every Socket Mode connection and releases hung
// requests. It is safe to call more than once.
func (s *Server) Close() {
	// closed is closed under mu so serveWS cannot register a connection (and a
	// pinger in bg) after Close has started waiting.
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	close(s.closed)
	s.mu.Unlock()
	s.DropConnections()
	_ = s.httpSrv.Close()
	s.bg.Wait()
}

// URL is the server's base URL, e.g. "http://127.0.0.1:40123".
func (s *Server) URL() string { return s.baseURL }

// APIURL is the Web API base for slack.OptionAPIURL; it ends in "/" as slack-go needs.
func (s *Server) APIURL() string { return s.baseURL + "/api/" }

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// BotToken is the xoxb token the Web API accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }

// AppToken is the xapp token apps.connections.open accepts.
func (s *Server) AppToken() string { return s.opts.AppToken }

// BotUserID is the bot's user id (auth.test user_id).
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// BotID is the bot id its messages carry (bot_id).
func (s *Server) BotID() string { return s.opts.BotID }

// AppID is the app id payloads carry (api_app_id).
func (s *Server) AppID() string { return s.opts.AppID }

// TeamID is the workspace id.
func (s *Server) TeamID() string { return s.opts.TeamID }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("fakeslack: "+format, args...)
	}
}

// bumpLocked wakes every waiter. Call with s.mu held after any state change.
func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel that is closed at the next state change (message
// stored, ack received, connection opened, call counted, ...). Take a fresh one
// after each wake-up.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitFor blocks until cond returns true or ctx ends. cond runs after every state
// change (and at least every 50 ms), never under the server's lock, so it may call
// any accessor.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ch := s.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fakeslack: condition not met: %w", ctx.Err())
		case <-s.closed:
			return ErrClosed
		case <-ch:
		case <-tick.C:
		}
	}
}

// ErrClosed is returned by waits interrupted by Close.
var ErrClosed = errors.New("fakeslack: server closed")

// Call is one Web API call as the fake saw it.
type Call struct {
	Method string
	Result string // "ok", the Slack error code, "http_500", "ratelimited", "timeout", "down"
	Params map[string]string
	At     time.Time
}

func (s *Server) countLocked(method, result string, params map[string]string) {
	m := s.counts[method]
	if m == nil {
		m = map[string]int{}
		s.counts[method] = m
	}
	m[result]++
	s.calls = append(s.calls, Call{Method: method, Result: result, Params: params, At: time.Now()})
	s.bumpLocked()
}

func (s *Server) count(method, result string, params map[string]string) {
	s.mu.Lock()
	s.countLocked(method, result, params)
	s.mu.Unlock()
}

// Count returns how many calls to method ended with result ("ok", an error code,
// "ratelimited", "http_500", "timeout", "down"); result "" counts them all.
// Response URL posts count under method "response_url".
func (s *Server) Count(method, result string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if result != "" {
		return s.counts[method][result]
	}
	n := 0
	for _, c := range s.counts[method] {
		n += c
	}
	return n
}

// Counts returns a copy of all counters: method -> result -> calls.
func (s *Server) Counts() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]int, len(s.counts))
	for m, r := range s.counts {
		cp := make(map[string]int, len(r))
		for k, v := range r {
			cp[k] = v
		}
		out[m] = cp
	}
	return out
}

// Calls returns every Web API call in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Warnings lists things Slack accepts but a careful bot avoids (for example a
// message whose notification text is over 4,000 characters, or blocks without
// fallback text).
func (s *Server) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.warnings...)
}

func (s *Server) warnLocked(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// nextIDLocked returns an increasing number for building ids.
func (s *Server) nextIDLocked() int64 {
	s.seq++
	return s.seq
}

// newTSLocked mints a message timestamp: unix seconds and six digits, strictly
// increasing across the whole workspace so (channel, ts) and ordering are unique.
func (s *Server) newTSLocked() string {
	now := time.Now().UnixMicro()
	if s.opts.Now != nil {
		now = s.opts.Now().UnixMicro()
	}
	if now <= s.lastTS {
		now = s.lastTS + 1
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
