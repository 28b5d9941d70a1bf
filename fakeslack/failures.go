package fakeslack

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

type failureKind int

const (
	failStatus failureKind = iota
	failTimeout
	failDelay
	failError
	failRateLimited
)

// Failure is an injected Web API failure; build one with FailStatus, FailTimeout,
// FailDelay, FailError or FailRateLimited.
type Failure struct {
	kind       failureKind
	status     int
	code       string
	retryAfter int
	d          time.Duration
}

// FailStatus answers with the HTTP status (e.g. 500, 502) and an HTML body, as
// Slack's edge does. slack-go returns slack.StatusCodeError.
func FailStatus(code int) Failure { return Failure{kind: failStatus, status: code} }

// FailTimeout holds the request until the client gives up, the server closes,
// or hang passes (0: no limit), then drops the connection without an answer.
// The call has no effect.
func FailTimeout(hang time.Duration) Failure { return Failure{kind: failTimeout, d: hang} }

// FailDelay waits d, then handles the call normally (it takes effect): a slow Slack.
func FailDelay(d time.Duration) Failure { return Failure{kind: failDelay, d: d} }

// FailError answers 200 {"ok":false,"error":code} without doing anything.
func FailError(code string) Failure { return Failure{kind: failError, code: code} }

// FailRateLimited answers 429 with Retry-After: retryAfterSeconds, as Slack does.
// slack-go returns *slack.RateLimitedError.
func FailRateLimited(retryAfterSeconds int) Failure {
	return Failure{kind: failRateLimited, retryAfter: retryAfterSeconds}
}

func (f Failure) String() string {
	switch f.kind {
	case failStatus:
		return fmt.Sprintf("http_%d", f.status)
	case failTimeout:
		return "timeout"
	case failDelay:
		return fmt.Sprintf("delay %s", f.d)
	case failError:
		return f.code
	case failRateLimited:
		return "ratelimited"
	}
	return "unknown"
}

// FailNext makes the next n calls to method fail with f (method "*" matches any
// method). Failures queue: FailNext("chat.update", 1, FailStatus(500)) followed by
// FailNext("chat.update", 1, FailRateLimited(2)) fails the next two calls in that order.
// Injected failures apply before authentication and rate limiting.
func (s *Server) FailNext(method string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], f)
	}
}

// ClearFailures drops every queued failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string][]Failure{}
}

// SetDown switches a full outage on or off: every Web API call (including
// apps.connections.open and response URLs) answers 503. Open Socket Mode
// connections are left alone; call DropConnections to cut them too.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.bumpLocked()
	s.mu.Unlock()
}

func (s *Server) takeFailure(method string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, "*"} {
		if q := s.failures[key]; len(q) > 0 {
			s.failures[key] = q[1:]
			return q[0], true
		}
	}
	return Failure{}, false
}

// applyFailure answers the request per f and reports whether it did (false for
// FailDelay, whose call then proceeds).
func (s *Server) applyFailure(w http.ResponseWriter, r *http.Request, method string, f Failure, flat map[string]string) bool {
	s.logf("%s: injected failure %s", method, f)
	switch f.kind {
	case failStatus:
		s.count(method, f.String(), flat)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, "<html><body>fakeslack injected error</body></html>")
	case failError:
		s.count(method, f.code, flat)
		writeJSON(w, http.StatusOK, apiErr(f.code))
	case failRateLimited:
		s.count(method, "ratelimited", flat)
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		writeJSON(w, http.StatusTooManyRequests, apiErr("ratelimited"))
	case failTimeout:
		s.count(method, "timeout", flat)
		var expired <-chan time.Time
		if f.d > 0 {
			t := time.NewTimer(f.d)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-r.Context().Done():
		case <-s.closed:
		case <-expired:
		}
		dropConnection(w)
	case failDelay:
		t := time.NewTimer(f.d)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-s.closed:
			return true
		case <-t.C:
		}
		return false
	}
	return true
}

// dropConnection closes the TCP connection without an HTTP answer, the way a
// timed-out proxy would; the client sees EOF.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}
