package bot

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Metrics observes the bot's work for monitoring. cmd/accessbot implements it
// with Prometheus; the bot itself stays free of any metrics library. Methods
// are called from many goroutines and must not block.
type Metrics interface {
	// Envelope counts one Socket Mode envelope: its type (interactive,
	// slash_commands, events_api) and what it carries (block_actions, the
	// command, the inner event type).
	Envelope(typ, kind string)
	// Ack observes the time from an envelope's arrival to its ack.
	Ack(d time.Duration)
	// APICall counts one Web API call by method and result: "ok",
	// "rate_limited", Slack's error code, or "error" (no answer).
	APICall(method, result string)
}

// noMetrics is the default Metrics: it observes nothing.
type noMetrics struct{}

func (noMetrics) Envelope(string, string) {}
func (noMetrics) Ack(time.Duration)       {}
func (noMetrics) APICall(string, string)  {}

func (b *Bot) metrics() Metrics { return b.cfg.Metrics }

// apiResult names the outcome of a Web API call for metrics: a bounded set
// of words (Slack's error codes are a fixed vocabulary).
func apiResult(err error) string {
	var rl *slack.RateLimitedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	if code := slackCode(err); code != "" {
		return code
	}
	return "error"
}

// Connected reports whether the Socket Mode connection is up: true from
// the Socket Mode connection's dial until it starts reconnecting or the bot stops.
// Readiness checks use it.
func (b *Bot) Connected() bool { return b.state.connected.Load() }

// envelopeIn records an envelope's arrival (for the ack latency) and counts
// it by type and kind (interaction type, command, event type). Only
// envelopes the loop acks are timed, so every entry is removed by its ack.
func (b *Bot) envelopeIn(id string, typ socketmode.EventType, kind string) {
	b.metrics().Envelope(string(typ), kind)
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	if len(b.state.arrived) < maxTimedEnvelopes {
		b.state.arrived[id] = time.Now()
	}
}

// maxTimedEnvelopes bounds the arrival times kept: an envelope that is
// never acked (the bot stopping under it) must not grow the map forever.
const maxTimedEnvelopes = 10000

// acked observes the ack latency of envelope id, if its arrival was timed.
func (b *Bot) acked(id string) {
	b.state.mu.Lock()
	at, ok := b.state.arrived[id]
	delete(b.state.arrived, id)
	b.state.mu.Unlock()
	if ok {
		b.metrics().Ack(time.Since(at))
	}
}

// observeState is the bot's monitoring state, apart from Bot's own fields.
type observeState struct {
	connected atomic.Bool
	mu        sync.Mutex
	arrived   map[string]time.Time // envelope id -> arrival, until acked
}

// withLog returns ctx carrying the logger of a unit of work (an envelope, a
// notice), so every line written for it names the envelope, the person and
// the task, also from helpers deep down.
func withLog(ctx context.Context, log zerolog.Logger) context.Context {
	return log.WithContext(ctx)
}

// noCtxLogger is what zerolog.Ctx answers for a context without a logger.
var noCtxLogger = zerolog.Ctx(context.Background())

// logger is the logger of ctx's unit of work, or the bot's.
func (b *Bot) logger(ctx context.Context) *zerolog.Logger { return ctxLogger(ctx, &b.log) }

// ctxLogger is the logger of ctx's unit of work, or else.
func ctxLogger(ctx context.Context, orElse *zerolog.Logger) *zerolog.Logger {
	if l := zerolog.Ctx(ctx); l != noCtxLogger {
		return l
	}
	return orElse
}

// envelopeJob runs job with a logger that names the envelope and, where the
// payload says, the Slack user.
func (b *Bot) envelopeJob(evt socketmode.Event, job func(context.Context)) func(context.Context) {
	if evt.Request == nil {
		return job
	}
	return b.jobLog(evt.Request.EnvelopeID, evt.Type, envelopeUser(evt.Data), job)
}

// jobLog runs job with a logger that names the envelope and the Slack user
// (when known).
func (b *Bot) jobLog(id string, typ socketmode.EventType, user string, job func(context.Context)) func(context.Context) {
	lc := b.log.With().Str("envelope_id", id).Str("type", string(typ))
	if user != "" {
		lc = lc.Str("slack_user", user)
	}
	log := lc.Logger()
	return func(ctx context.Context) { job(withLog(ctx, log)) }
}

// envelopeUser is the Slack user an envelope comes from, or "".
func envelopeUser(data any) string {
	switch d := data.(type) {
	case slack.InteractionCallback:
		return d.User.ID
	case slack.SlashCommand:
		return d.UserID
	case slackevents.EventsAPIEvent:
		switch ev := d.InnerEvent.Data.(type) {
		case *slackevents.AppHomeOpenedEvent:
			return ev.User
		case *slackevents.MessageEvent:
			return ev.User
		case *slackevents.AppMentionEvent:
			return ev.User
		}
	}
	return ""
}

// scrubURL removes the URL from an HTTP client error of a call to a
// response_url: the URL itself lets anyone answer in the person's name for
// 30 minutes, so it must not reach a log or the outbox's error column.
func scrubURL(method string, err error) error {
	var ue *url.Error
	if method == "response_url" && errors.As(err, &ue) {
		ue.URL = "(response_url)"
	}
	return err
}
