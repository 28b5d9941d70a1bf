package sandbox

import (
	"sync"
	"time"
)

// Clock is the sandbox's time: a base clock plus how far the person at the
// page skipped ahead. Safe for concurrent use.
type Clock struct {
	base   func() time.Time
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock that follows base (nil: time.Now).
func NewClock(base func() time.Time) *Clock {
	if base == nil {
		base = time.Now
	}
	return &Clock{base: base}
}

// Now is the sandbox's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset)
}

// Advance moves the clock ahead by d (d > 0).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Offset is how far the clock was moved ahead in all.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
