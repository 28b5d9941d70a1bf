package connectors

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// receiver is a webhook endpoint as a Standard Webhooks consumer writes
// it: it verifies the signature and the timestamp, and a message id it has
// seen already is answered as done without acting again.
type receiver struct {
	key     []byte
	mu      sync.Mutex
	seen    map[string]bool
	grants  int
	answers []int // statuses to answer first (with Retry-After: 2)
	bad     int   // requests refused for a bad signature
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	want := Sign(rc.key, id, sec, body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ok := false
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if err != nil || !ok || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		rc.bad++
		http.Error(w, `{"message": "bad signature"}`, http.StatusUnauthorized)
		return
	}
	if len(rc.answers) > 0 {
		st := rc.answers[0]
		rc.answers = rc.answers[1:]
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(st)
		return
	}
	if rc.seen[id] {
		w.Write([]byte(`{"message": "already done"}`))
		return
	}
	var req workflow.ConnectorRequest
	if json.Unmarshal(body, &req) != nil || req.IdempotencyKey != id {
		http.Error(w, `{"message": "bad body"}`, http.StatusBadRequest)
		return
	}
	rc.seen[id] = true
	rc.grants++
	w.Write([]byte(`{"message": "granted ` + req.Subject.Account + `"}`))
}

func webhookFor(t *testing.T, rc *receiver) (*Webhook, *httptest.Server) {
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return &Webhook{Name: "hook", URL: srv.URL + "/access", Secret: rc.key, Timeout: 5 * time.Second}, srv
}

func TestWebhookSignedAndReplayed(t *testing.T) {
	key, err := SigningKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	rc := &receiver{key: key, seen: map[string]bool{}}
	w, _ := webhookFor(t, rc)
	res, err := w.Grant(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "granted octocat", res.Message)
	// A retry after a lost answer carries the same webhook-id: the receiver
	// does nothing twice.
	res, err = w.Grant(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, "already done", res.Message)
	assert.Equal(t, 1, rc.grants)
	assert.Zero(t, rc.bad)

	// A receiver with another secret refuses it: a permanent failure.
	w.Secret = []byte("another secret")
	_, err = w.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.False(t, ce.Retry)
	assert.Contains(t, ce.Message, "401")
	assert.Equal(t, 1, rc.bad)
}

func TestWebhookStatuses(t *testing.T) {
	for _, tt := range []struct {
		status int
		retry  bool
	}{{408, true}, {429, true}, {500, true}, {503, true}, {400, false}, {404, false}, {422, false}} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			rc := &receiver{key: []byte("k"), seen: map[string]bool{}, answers: []int{tt.status}}
			w, _ := webhookFor(t, rc)
			_, err := w.Grant(context.Background(), request())
			var ce *workflow.ConnectorError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.retry, ce.Retry)
			if tt.retry {
				assert.Equal(t, 2*time.Second, ce.RetryAfter, "Retry-After is honoured")
			}
			_, err = w.Grant(context.Background(), request())
			require.NoError(t, err)
		})
	}
}

func TestWebhookTimeoutRetries(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	w := &Webhook{Name: "hook", URL: srv.URL, Secret: []byte("k"), Timeout: 100 * time.Millisecond}
	_, err := w.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Retry)
	assert.Contains(t, ce.Message, "did not answer within 100ms")
}

func TestWebhookRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	other := &receiver{key: []byte("k"), seen: map[string]bool{}}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	same := &receiver{key: []byte("k"), seen: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			// 127.0.0.1 and localhost are different hosts to the client.
			http.Redirect(w, r, strings.Replace(otherSrv.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusTemporaryRedirect)
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusPermanentRedirect)
		default:
			same.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	w := &Webhook{Name: "hook", URL: srv.URL + "/away", Secret: []byte("k"), Timeout: 5 * time.Second}
	_, err := w.Grant(context.Background(), request())
	var ce *workflow.ConnectorError
	require.ErrorAs(t, err, &ce)
	assert.False(t, ce.Retry)
	assert.Contains(t, ce.Message, "which is not followed")
	assert.Zero(t, other.grants+other.bad, "the other host got nothing")

	w.URL = srv.URL + "/moved"
	_, err = w.Grant(context.Background(), request())
	require.NoError(t, err, "a redirect on the same host is followed")
	assert.Equal(t, 1, same.grants)
}
