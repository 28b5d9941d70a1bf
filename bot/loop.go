package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// loop drains the client's events until ctx ends or the connection fails
// for good. Every envelope is acked here, at once, before any Web API call;
// view submissions are the exception (their ack carries field errors and is
// sent by the worker right after the engine call).
func (b *Bot) loop(ctx context.Context, client *socketmode.Client, pool *pool, sockErr <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sockErr:
			if ctx.Err() != nil {
				return nil
			}
			if code := slackCode(err); code != "" {
				return tokenError("SLACK_APP_TOKEN", "an app-level token (xapp-…) with the connections:write scope", b.cfg.APIURL, err)
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt, ok := <-client.Events:
			if !ok {
				return errors.New("socket mode: event stream closed")
			}
			b.noteConnection(evt.Type)
			b.envelopeIn(evt)
			if job, urgent := b.route(client, evt); job != nil {
				pool.submit(b.envelopeJob(evt, job), urgent)
			}
		}
	}
}

// route acks evt (unless it is a view submission) and returns the work to
// do off the loop, or nil; urgent work has an ack waiting on it.
func (b *Bot) route(client *socketmode.Client, evt socketmode.Event) (job func(context.Context), urgent bool) {
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
		b.log.Debug().Str("type", string(evt.Type)).Msg("socket mode")
		return nil, false
	case socketmode.EventTypeConnectionError, socketmode.EventTypeDisconnect:
		b.log.Info().Str("type", string(evt.Type)).Msg("socket mode: reconnecting")
		return nil, false
	case socketmode.EventTypeErrorBadMessage:
		b.ackBadMessage(client, evt)
		return nil, false
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeInvalidAuth:
		b.log.Warn().Str("type", string(evt.Type)).Msg("socket mode error")
		return nil, false
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return nil, false
	}
	req := *evt.Request
	log := b.log.With().Str("envelope_id", req.EnvelopeID).Str("type", string(evt.Type)).Logger()
	if req.RetryAttempt > 0 {
		log = log.With().Int("retry_attempt", req.RetryAttempt).Str("retry_reason", req.RetryReason).Logger()
	}
	switch evt.Type {
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			b.ack(client, req, nil)
			return nil, false
		}
		if cb.Type == slack.InteractionTypeBlockSuggestion {
			// The ack carries the options; Slack waits 3 s for it.
			return func(ctx context.Context) { b.ack(client, req, b.suggestion(ctx, cb)) }, true
		}
		if cb.Type == slack.InteractionTypeViewSubmission {
			return func(ctx context.Context) {
				if !b.firstSeen(ctx, "env:"+req.EnvelopeID) {
					b.ack(client, req, nil)
					return
				}
				b.ack(client, req, b.viewSubmission(ctx, cb))
			}, true
		}
		b.ack(client, req, nil)
		return func(ctx context.Context) {
			if b.firstSeen(ctx, "env:"+req.EnvelopeID) {
				b.interaction(ctx, cb)
			} else {
				log.Info().Msg("duplicate envelope ignored")
			}
		}, false
	case socketmode.EventTypeSlashCommand:
		b.ack(client, req, nil)
		sc, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return nil, false
		}
		return func(ctx context.Context) {
			if b.firstSeen(ctx, "env:"+req.EnvelopeID) {
				b.slashCommand(ctx, sc)
			} else {
				log.Info().Msg("duplicate envelope ignored")
			}
		}, false
	case socketmode.EventTypeEventsAPI:
		b.ack(client, req, nil)
		ev, _ := evt.Data.(slackevents.EventsAPIEvent)
		if b.ignoreEvent(ev) {
			return nil, false
		}
		return func(ctx context.Context) {
			if !b.firstSeen(ctx, "env:"+req.EnvelopeID) {
				return
			}
			if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" && !b.firstSeen(ctx, "evt:"+cb.EventID) {
				log.Info().Str("event_id", cb.EventID).Msg("duplicate event ignored")
				return
			}
			eventID := ""
			if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
				eventID = cb.EventID
			}
			b.event(ctx, ev, eventID)
		}, false
	default:
		b.ack(client, req, nil)
		return nil, false
	}
}

func (b *Bot) ack(client *socketmode.Client, req socketmode.Request, payload any) {
	var err error
	if payload == nil {
		err = client.Ack(req)
	} else {
		err = client.Ack(req, payload)
	}
	if err != nil {
		b.log.Error().Err(err).Str("envelope_id", req.EnvelopeID).Msg("ack failed")
	}
	b.acked(req.EnvelopeID)
}

// ackBadMessage acks an envelope slack-go could not parse, by the
// envelope_id found in the raw message, so Slack does not redeliver it.
func (b *Bot) ackBadMessage(client *socketmode.Client, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var raw struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bad.Message, &raw)
	b.log.Warn().Str("envelope_id", raw.EnvelopeID).Str("type", raw.Type).AnErr("cause", bad.Cause).Msg("malformed envelope")
	if raw.EnvelopeID != "" {
		b.ack(client, socketmode.Request{EnvelopeID: raw.EnvelopeID}, nil)
	}
}

// firstSeen records key and reports whether it is new. When the store
// fails the work goes ahead: the engine refuses stale revisions anyway.
func (b *Bot) firstSeen(ctx context.Context, key string) bool {
	ok, err := b.store.FirstSeen(ctx, key, b.now())
	if err != nil {
		b.logger(ctx).Error().Err(err).Str("key", key).Msg("record seen key")
		return true
	}
	return ok
}
