package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"accessbot/workflow"
)

// loop drains the client's events until ctx ends or the connection fails
// for good. An envelope that asks for work goes to the inbox writer
// (inbox.go), which stores it and then acks it (a view submission after
// its handler: the ack carries field errors); the loop itself never waits
// on storage. A block_suggestion changes nothing and is answered at once.
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
			if job := b.route(client, evt); job != nil {
				pool.submit(b.envelopeJob(evt, job), true)
			}
		}
	}
}

// route sends an envelope to the inbox writer, acks what needs no work,
// and returns the work to do at once (a block suggestion), or nil.
func (b *Bot) route(client *socketmode.Client, evt socketmode.Event) (job func(context.Context)) {
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello:
		b.log.Debug().Str("type", string(evt.Type)).Msg("socket mode")
		return nil
	case socketmode.EventTypeConnectionError, socketmode.EventTypeDisconnect:
		b.log.Info().Str("type", string(evt.Type)).Msg("socket mode: reconnecting")
		return nil
	case socketmode.EventTypeErrorBadMessage:
		b.ackBadMessage(client, evt)
		return nil
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeInvalidAuth:
		b.log.Warn().Str("type", string(evt.Type)).Msg("socket mode error")
		return nil
	}
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return nil
	}
	req := *evt.Request
	env := workflow.Envelope{ID: req.EnvelopeID, Type: req.Type, Payload: req.Payload, ReceivedAt: b.now()}
	switch evt.Type {
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			b.ack(client, req, nil)
			return nil
		}
		if cb.Type == slack.InteractionTypeBlockSuggestion {
			// The ack carries the options; Slack waits 3 s for it.
			return func(ctx context.Context) { b.ack(client, req, b.suggestion(ctx, cb)) }
		}
	case socketmode.EventTypeSlashCommand:
		if _, ok := evt.Data.(slack.SlashCommand); !ok {
			b.ack(client, req, nil)
			return nil
		}
	case socketmode.EventTypeEventsAPI:
		ev, _ := evt.Data.(slackevents.EventsAPIEvent)
		if b.ignoreEvent(ev) {
			b.ack(client, req, nil)
			return nil
		}
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			env.EventID = cb.EventID
		}
	default:
		b.ack(client, req, nil)
		return nil
	}
	b.inbox.in <- arrival{client: client, evt: evt, env: env}
	return nil
}

// ack acks req; a replayed envelope (no client: its connection is gone)
// has nobody to ack.
func (b *Bot) ack(client *socketmode.Client, req socketmode.Request, payload any) {
	if client == nil {
		return
	}
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
