package fakeslack

import (
	"math"
	"sync"
	"time"
)

// Limit is a token bucket: Burst calls at once, then Rate calls per second.
// PerChannel gives every channel its own bucket (chat.postMessage).
type Limit struct {
	Rate       float64 // tokens per second
	Burst      int     // bucket size; at least 1
	PerChannel bool
}

func perMinute(n float64, burst int) Limit { return Limit{Rate: n / 60, Burst: burst} }

// DefaultLimits approximates Slack's published tiers. Slack counts per minute and
// tolerates short bursts, so tiers get a bucket as large as their per-minute
// allowance; chat.postMessage is about one per second per channel with a small burst.
var DefaultLimits = map[string]Limit{
	"chat.postMessage":      {Rate: 1, Burst: 3, PerChannel: true},
	"chat.update":           perMinute(50, 50), // Tier 3
	"chat.delete":           perMinute(50, 50), // Tier 3
	"conversations.open":    perMinute(50, 50), // Tier 3
	"conversations.replies": perMinute(50, 50), // Tier 3
	"conversations.history": perMinute(50, 50), // Tier 3
	"users.lookupByEmail":   perMinute(50, 50), // Tier 3
	"reactions.add":         perMinute(50, 50), // Tier 3
	"chat.postEphemeral":    perMinute(100, 100),
	"views.open":            perMinute(100, 100), // Tier 4
	"views.push":            perMinute(100, 100), // Tier 4
	"views.update":          perMinute(100, 100), // Tier 4
	"views.publish":         perMinute(100, 100), // Tier 4
	"users.info":            perMinute(100, 100), // Tier 4
	// Tier 1. A burst of 3 lets slack-go connect and reconnect a couple of times.
	"apps.connections.open": perMinute(1, 3),
}

// MinDuration is the least time the bucket allows for calls calls, starting full.
func (l Limit) MinDuration(calls int) time.Duration {
	burst := max(l.Burst, 1)
	if calls <= burst || l.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(calls-burst) / l.Rate * float64(time.Second))
}

type bucket struct {
	tokens float64
	last   time.Time
}

type rateLimiter struct {
	mu      sync.Mutex
	enabled bool
	scale   float64
	limits  map[string]Limit
	buckets map[string]*bucket
}

func newRateLimiter(enabled bool, scale float64) *rateLimiter {
	rl := &rateLimiter{enabled: enabled, scale: scale, limits: map[string]Limit{}, buckets: map[string]*bucket{}}
	for m, l := range DefaultLimits {
		rl.limits[m] = l
	}
	return rl
}

func (rl *rateLimiter) effective(method string) (Limit, bool) {
	l, ok := rl.limits[method]
	if !ok {
		return Limit{}, false
	}
	l.Rate *= rl.scale
	l.Burst = max(l.Burst, 1)
	return l, true
}

// take spends a token, or reports how long until one is available.
func (rl *rateLimiter) take(method, key string) (time.Duration, bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if !rl.enabled {
		return 0, false
	}
	l, ok := rl.effective(method)
	if !ok {
		return 0, false
	}
	now := time.Now()
	b := rl.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.Burst), last: now}
		rl.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.Burst), b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	if l.Rate <= 0 {
		return time.Hour, true
	}
	return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second)), true
}

func rateKey(method string, p params) string {
	if l, ok := DefaultLimits[method]; ok && l.PerChannel {
		return method + "/" + p.str("channel")
	}
	return method
}

// EnableRateLimits turns the per-method limits on, with every rate multiplied by
// scale (scale 60 turns "per minute" into "per second" for fast tests). Buckets
// start full.
func (s *Server) EnableRateLimits(scale float64) {
	if scale <= 0 {
		scale = 1
	}
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	s.rl.enabled = true
	s.rl.scale = scale
	s.rl.buckets = map[string]*bucket{}
}

// DisableRateLimits turns rate limiting off (the default).
func (s *Server) DisableRateLimits() {
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	s.rl.enabled = false
}

// SetLimit overrides one method's limit (before scaling), e.g.
// SetLimit("chat.update", Limit{Rate: 5, Burst: 5}). It refills that method's buckets.
// Whether chat.postMessage is per channel is fixed; PerChannel is ignored there and
// elsewhere.
func (s *Server) SetLimit(method string, l Limit) {
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	s.rl.limits[method] = l
	for k := range s.rl.buckets {
		if k == method || len(k) > len(method) && k[:len(method)+1] == method+"/" {
			delete(s.rl.buckets, k)
		}
	}
}

// Limits returns the effective limits (scale applied).
func (s *Server) Limits() map[string]Limit {
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	out := map[string]Limit{}
	for m := range s.rl.limits {
		out[m], _ = s.rl.effective(m)
	}
	return out
}

// MinDuration is the least time the current limits allow for the given number of
// calls per method (to a single channel for per-channel methods), with methods
// running in parallel: the slowest method decides. Methods without a limit cost 0.
// It ignores whether limits are enabled, so a benchmark can compare against it.
func (s *Server) MinDuration(calls map[string]int) time.Duration {
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	var worst time.Duration
	for m, n := range calls {
		if l, ok := s.rl.effective(m); ok {
			worst = max(worst, l.MinDuration(n))
		}
	}
	return worst
}
