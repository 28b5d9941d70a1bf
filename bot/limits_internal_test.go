package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A 429's Retry-After holds back every caller of the method (of the
// method in that channel, for chat.postMessage), and only that.
func TestRetryAfterHoldsBackTheMethod(t *testing.T) {
	t.Parallel()
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(1000)
	l.clock = clk.Now
	ctx := context.Background()

	l.rateLimited("chat.update", "C1", 30*time.Second)
	l.rateLimited("chat.postMessage", "D1", 20*time.Second)

	var rl *slack.RateLimitedError
	err := l.wait(ctx, "chat.update", "C2")
	require.True(t, errors.As(err, &rl), "another caller of chat.update, in another channel, is held back too: %v", err)
	assert.Equal(t, 30*time.Second, rl.RetryAfter, "for what is left of the Retry-After")
	err = l.wait(ctx, "chat.postMessage", "D1")
	require.True(t, errors.As(err, &rl), "chat.postMessage in D1 is held back: %v", err)
	assert.Equal(t, 20*time.Second, rl.RetryAfter)

	assert.NoError(t, l.wait(ctx, "chat.postMessage", "D2"), "chat.postMessage is limited per channel: D2 may go")
	assert.NoError(t, l.wait(ctx, "views.open", ""), "other methods may go")

	clk.Add(25 * time.Second)
	err = l.wait(ctx, "chat.update", "C1")
	require.True(t, errors.As(err, &rl))
	assert.Equal(t, 5*time.Second, rl.RetryAfter)
	assert.NoError(t, l.wait(ctx, "chat.postMessage", "D1"), "its Retry-After has passed")

	// A shorter Retry-After does not shorten a longer one.
	l.rateLimited("chat.update", "", time.Second)
	assert.Equal(t, 5*time.Second, l.blockedFor("chat.update", ""))
	clk.Add(5 * time.Second)
	assert.Zero(t, l.blockedFor("chat.update", ""))
	assert.NoError(t, l.wait(ctx, "chat.update", "C1"))
}
