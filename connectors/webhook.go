package connectors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"accessbot/workflow"
)

// Webhook POSTs each grant and revoke to a URL, signed the Standard
// Webhooks way (https://www.standardwebhooks.com): headers webhook-id (the
// idempotency key, the same on every retry), webhook-timestamp (Unix
// seconds) and webhook-signature, "v1," + base64(HMAC-SHA256(secret,
// id.timestamp.body)).
type Webhook struct {
	Name string
	URL  string
	// Secret is the signing key. A "whsec_" secret is base64 after the prefix,
	// as Standard Webhooks libraries hand them out.
	Secret  []byte
	Timeout time.Duration
	Client  *http.Client // nil: one that follows redirects only on the same host
	Now     func() time.Time
}

var _ workflow.Connector = (*Webhook)(nil)

// SigningKey turns a configured secret into the HMAC key.
func SigningKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("the secret starts with whsec_ but the rest is not base64")
		}
		return k, nil
	}
	if secret == "" {
		return nil, errors.New("the secret is empty")
	}
	return []byte(secret), nil
}

// Sign returns the webhook-signature value for a message.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Grant implements workflow.Connector.
func (w *Webhook) Grant(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return w.post(ctx, r)
}

// Revoke implements workflow.Connector.
func (w *Webhook) Revoke(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return w.post(ctx, r)
}

// sameHostOnly refuses a redirect to another host: the signed request goes
// only where the configuration says.
func sameHostOnly(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return http.ErrUseLastResponse
	}
	return nil
}

func (w *Webhook) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return &http.Client{CheckRedirect: sameHostOnly}
}

func (w *Webhook) post(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return workflow.ConnectorResult{}, workflow.PermanentFailure("encode the request: %v", err)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return workflow.ConnectorResult{}, workflow.PermanentFailure("webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "accessbot")
	req.Header.Set("webhook-id", r.IdempotencyKey)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(w.Secret, r.IdempotencyKey, ts, body))
	resp, err := w.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return workflow.ConnectorResult{}, workflow.TransientFailure(0, "the webhook did not answer within %s", timeout)
		}
		return workflow.ConnectorResult{}, workflow.TransientFailure(0, "post to the webhook: %v", redact(err, w.URL))
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	msg := message(out)
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return workflow.ConnectorResult{Message: msg}, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return workflow.ConnectorResult{}, workflow.TransientFailure(retryAfter(resp.Header.Get("Retry-After"), now()), "the webhook answered %s%s", resp.Status, why(msg, out))
	case code >= 300 && code < 400:
		return workflow.ConnectorResult{}, workflow.PermanentFailure("the webhook redirected to %s, which is not followed (only redirects on the same host are)", resp.Header.Get("Location"))
	}
	return workflow.ConnectorResult{}, workflow.PermanentFailure("the webhook answered %s%s", resp.Status, why(msg, out))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact keeps a URL's query (it may hold a token) out of an error.
func redact(err error, rawURL string) string {
	s := err.Error()
	if i := strings.IndexByte(rawURL, '?'); i >= 0 {
		s = strings.ReplaceAll(s, rawURL[i:], "?…")
	}
	return s
}
