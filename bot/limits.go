package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"
)

// tiers are Slack's per-method rate limits (per workspace) that the bot keeps
// under on its side; chat.postMessage is limited per channel.
var tiers = map[string]struct {
	perMinute float64
	burst     int
}{
	"chat.postMessage":    {55, 2}, // ~1/s per channel; a burst below Slack's (3) keeps a token spare for network jitter
	"chat.update":         {50, 10},
	"conversations.open":  {50, 10},
	"users.lookupByEmail": {50, 10},
	"users.info":          {100, 20},
	"chat.postEphemeral":  {100, 20},
	"views.open":          {100, 20},
	"views.update":        {100, 20},
	"views.push":          {100, 20},
	"views.publish":       {100, 20},
}

// limiter keeps one token bucket per method (and per channel for
// chat.postMessage).
type limiter struct {
	scale float64
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newLimiter(scale float64) *limiter {
	if scale <= 0 {
		scale = 1
	}
	return &limiter{scale: scale, m: map[string]*rate.Limiter{}}
}

// wait blocks until a call of method (to channel, for postMessage) may go.
func (l *limiter) wait(ctx context.Context, method, channel string) error {
	t, ok := tiers[method]
	if !ok {
		return nil
	}
	key := method
	if method == "chat.postMessage" {
		key += "/" + channel
	}
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(t.perMinute/60*l.scale), t.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}

// call runs fn under method's limit. A 429 whose Retry-After is short is
// waited out and retried once; a longer one is returned (the outbox
// reschedules).
func (b *Bot) call(ctx context.Context, method, channel string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		if err := b.limits.wait(ctx, method, channel); err != nil {
			return err
		}
		err := scrubURL(method, fn())
		b.metrics().APICall(method, apiResult(err))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt > 0 || rl.RetryAfter > 3*time.Second {
			return err
		}
		b.logger(ctx).Warn().Str("method", method).Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rl.RetryAfter):
		}
	}
}

// slackCode returns Slack's error code (users_not_found, ...) or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}
