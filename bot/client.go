package bot

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"
)

// client is the bot's typed Slack Web API: one method a call the bot makes,
// each under Slack's rate limit of that method (per channel for
// chat.postMessage) with a 429's Retry-After honoured by every caller
// (limits.go), counted in the metrics, and with a response_url scrubbed
// from its errors. Handlers and the delivery side call Slack only here.
type client struct {
	api     *slack.Client
	http    *http.Client // for response_url answers
	limits  *limiter
	metrics Metrics
	log     *zerolog.Logger // when ctx carries none

	dms     sync.Map           // Slack user id -> the bot's DM channel with them
	opening singleflight.Group // conversations.open calls under way, by user id
}

func newClient(api *slack.Client, httpClient *http.Client, scale float64, m Metrics, log *zerolog.Logger) *client {
	return &client{api: api, http: httpClient, limits: newLimiter(scale), metrics: m, log: log}
}

// call runs fn under method's limit. A 429's Retry-After holds back every
// call of the method (in that channel, for chat.postMessage) until it has
// passed; a short one is waited out and the call retried once, a longer
// one is returned (the outbox reschedules).
func (c *client) call(ctx context.Context, method, channel string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		if err := c.limits.wait(ctx, method, channel); err != nil {
			return err
		}
		err := scrubURL(method, fn())
		c.metrics.APICall(method, apiResult(err))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		c.limits.rateLimited(method, channel, rl.RetryAfter)
		ctxLogger(ctx, c.log).Warn().Str("method", method).Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		if attempt > 0 || rl.RetryAfter > maxRetryWait {
			return err
		}
	}
}

// Post is chat.postMessage; it returns the channel and ts of the message.
func (c *client) Post(ctx context.Context, channel string, opts ...slack.MsgOption) (ch, ts string, err error) {
	err = c.call(ctx, "chat.postMessage", channel, func() (err error) {
		ch, ts, err = c.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ch, ts, err
}

// Send is Post for a message whose ts nobody keeps.
func (c *client) Send(ctx context.Context, channel string, opts ...slack.MsgOption) error {
	_, _, err := c.Post(ctx, channel, opts...)
	return err
}

// History is one page of conversations.history.
func (c *client) History(ctx context.Context, params *slack.GetConversationHistoryParameters) (res *slack.GetConversationHistoryResponse, err error) {
	err = c.call(ctx, "conversations.history", params.ChannelID, func() (err error) {
		res, err = c.api.GetConversationHistoryContext(ctx, params)
		return err
	})
	return res, err
}

// Update is chat.update of message ts in channel.
func (c *client) Update(ctx context.Context, channel, ts string, opts ...slack.MsgOption) error {
	return c.call(ctx, "chat.update", channel, func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// Ephemeral is chat.postEphemeral to user in channel.
func (c *client) Ephemeral(ctx context.Context, channel, user string, opts ...slack.MsgOption) error {
	return c.call(ctx, "chat.postEphemeral", channel, func() error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}

// Respond answers through a response_url (of a click or a command): not
// paced like chat.update, and usable where the bot is not a member.
func (c *client) Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	return c.call(ctx, "response_url", "", func() error {
		return slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.http, msg)
	})
}

// OpenView is views.open with a trigger_id (valid 3 s after its click).
func (c *client) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	return c.call(ctx, "views.open", "", func() error {
		_, err := c.api.OpenViewContext(ctx, triggerID, view)
		return err
	})
}

// PushView is views.push of a modal above the one a trigger_id came from.
func (c *client) PushView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	return c.call(ctx, "views.push", "", func() error {
		_, err := c.api.PushViewContext(ctx, triggerID, view)
		return err
	})
}

// UpdateView is views.update of a modal by its external id or view id
// (hash: only when it still shows that version).
func (c *client) UpdateView(ctx context.Context, view slack.ModalViewRequest, externalID, hash, viewID string) error {
	return c.call(ctx, "views.update", "", func() error {
		_, err := c.api.UpdateViewContext(ctx, view, externalID, hash, viewID)
		return err
	})
}

// PublishView is views.publish of a person's App Home.
func (c *client) PublishView(ctx context.Context, userID string, view slack.HomeTabViewRequest) error {
	return c.call(ctx, "views.publish", "", func() error {
		_, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: view})
		return err
	})
}

// UserInfo is users.info.
func (c *client) UserInfo(ctx context.Context, id string) (info *slack.User, err error) {
	err = c.call(ctx, "users.info", "", func() (err error) {
		info, err = c.api.GetUserInfoContext(ctx, id)
		return err
	})
	return info, err
}

// UserByEmail is users.lookupByEmail.
func (c *client) UserByEmail(ctx context.Context, email string) (info *slack.User, err error) {
	err = c.call(ctx, "users.lookupByEmail", "", func() (err error) {
		info, err = c.api.GetUserByEmailContext(ctx, email)
		return err
	})
	return info, err
}

// DM returns the channel of the bot's direct messages with user. It keeps
// its id for good, so it is opened once per process: conversations.open is
// Tier 3 (~50/min) and would otherwise pace every card post of a bulk
// action. Cards for one person delivered side by side share one open.
func (c *client) DM(ctx context.Context, user string) (string, error) {
	if ch, ok := c.dms.Load(user); ok {
		return ch.(string), nil
	}
	ch, err, _ := c.opening.Do(user, func() (any, error) {
		var ch *slack.Channel
		err := c.call(ctx, "conversations.open", "", func() (err error) {
			ch, _, _, err = c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
			return err
		})
		if err != nil {
			return "", err
		}
		c.dms.Store(user, ch.ID)
		return ch.ID, nil
	})
	return ch.(string), err
}
