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
	"chat.postMessage":   {55, 2}, // ~1/s per channel; a burst below Slack's (3) keeps a token spare for network jitter
	"chat.update":        {50, 10},
	"conversations.open": {50, 10},
	// Tier 3; read only to find a card whose save was lost (outbox.go).
	"conversations.history": {50, 10},
	"users.lookupByEmail":   {50, 10},
	"users.info":            {100, 20},
	"chat.postEphemeral":    {100, 20},
	"views.open":            {100, 20},
	"views.update":          {100, 20},
	"views.push":            {100, 20},
	"views.publish":         {100, 20},
}

// limiter keeps one token bucket per method (and per channel for
// chat.postMessage), and the time until which Slack asked, with a 429's
// Retry-After, that the method (or the method in that channel) is not
// called: every caller honours it, not only the one that got the 429.
type limiter struct {
	scale float64
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	until map[string]time.Time
	clock func() time.Time
}

func newLimiter(scale float64) *limiter {
	if scale <= 0 {
		scale = 1
	}
	return &limiter{scale: scale, m: map[string]*rate.Limiter{}, until: map[string]time.Time{}, clock: time.Now}
}

// limitKey is what Slack limits a call by: the method, and the channel for
// chat.postMessage (about one a second per channel).
func limitKey(method, channel string) string {
	if method == "chat.postMessage" && channel != "" {
		return method + "/" + channel
	}
	return method
}

// maxRetryWait is the longest Retry-After a call waits out in place; a
// longer one is returned to the caller (the outbox reschedules the notice).
const maxRetryWait = 3 * time.Second

// rateLimited records a 429 of method (in channel): no call of it goes
// before retryAfter has passed.
func (l *limiter) rateLimited(method, channel string, retryAfter time.Duration) {
	key := limitKey(method, channel)
	until := l.clock().Add(retryAfter)
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.until[key]) {
		l.until[key] = until
	}
}

// blockedFor is how long method (in channel) must still wait after a 429
// (0 when it may go).
func (l *limiter) blockedFor(method, channel string) time.Duration {
	key := limitKey(method, channel)
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.until[key]
	if !ok {
		return 0
	}
	left := until.Sub(l.clock())
	if left <= 0 {
		delete(l.until, key)
		return 0
	}
	return left
}

// wait blocks until a call of method (to channel, for postMessage) may go:
// a Retry-After still running is waited out when it is short, and
// otherwise returned as the *slack.RateLimitedError Slack would answer,
// without calling it.
func (l *limiter) wait(ctx context.Context, method, channel string) error {
	if left := l.blockedFor(method, channel); left > 0 {
		if left > maxRetryWait {
			return &slack.RateLimitedError{RetryAfter: left}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(left):
		}
	}
	t, ok := tiers[method]
	if !ok {
		return nil
	}
	key := limitKey(method, channel)
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(t.perMinute/60*l.scale), t.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}

// slackCode returns Slack's error code (users_not_found, ...) or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// messageGone reports whether chat.update failed because the message can
// no longer be updated (deleted, its channel gone or archived): there is
// nothing left to bring up to date, and trying again cannot help.
func messageGone(err error) bool {
	switch slackCode(err) {
	case "message_not_found", "channel_not_found", "cant_update_message", "is_archived":
		return true
	}
	return false
}

// tokenRejected reports whether Slack's error code means it refuses the
// token itself: asking again with the same token cannot help.
func tokenRejected(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired", "not_allowed_token_type", "missing_scope":
		return true
	}
	return false
}
