package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"accessbot/workflow"
)

// loop waits until ctx ends or the connection fails for good. Envelopes
// are taken by the socket's read loop (envelope), which sends those that
// ask for work to the inbox writer (inbox.go); the writer stores them and
// then acks them (a view submission after its handler: the ack carries
// field errors). A block_suggestion changes nothing and is answered at
// once.
func (b *Bot) loop(ctx context.Context, sockErr <-chan error) error {
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
	}
}

// payloadHead is what routing needs of an interaction's or a slash
// command's payload before it is stored; the rest is decoded after the ack.
type payloadHead struct {
	Type string `json:"type"` // interaction type
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Command string `json:"command"`
	UserID  string `json:"user_id"` // of a slash command
}

// envelope routes an envelope read from c: to the inbox writer, acked at
// once when it needs no work, or answered at once (a block suggestion).
// Events are decoded here (which ones need work depends on the event);
// interactions and slash commands only as far as payloadHead.
func (b *Bot) envelope(c acker, f *socketFrame, pool *pool) {
	if f.EnvelopeID == "" {
		return
	}
	req := f.request()
	a := arrival{client: c, env: workflow.Envelope{ID: req.EnvelopeID, Type: req.Type, Payload: req.Payload, ReceivedAt: b.now()}}
	switch req.Type {
	case socketmode.RequestTypeEventsAPI:
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			b.badEnvelope(c, f, fmt.Errorf("parsing Events API event: %w", err))
			return
		}
		a.evt = socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: &req}
		a.kind, a.user = ev.InnerEvent.Type, envelopeUser(ev)
		b.envelopeIn(req.EnvelopeID, a.evt.Type, a.kind)
		if b.ignoreEvent(ev) {
			b.ack(c, req, nil)
			return
		}
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			a.env.EventID = cb.EventID
		}
	case socketmode.RequestTypeInteractive, socketmode.RequestTypeSlashCommands:
		var head payloadHead
		if err := json.Unmarshal(req.Payload, &head); err != nil {
			b.badEnvelope(c, f, fmt.Errorf("parsing %s payload: %w", req.Type, err))
			return
		}
		a.evt = socketmode.Event{Type: socketmode.EventTypeInteractive, Request: &req}
		a.kind, a.user = head.Type, head.User.ID
		if req.Type == socketmode.RequestTypeSlashCommands {
			a.evt.Type = socketmode.EventTypeSlashCommand
			a.kind, a.user = head.Command, head.UserID
		}
		b.envelopeIn(req.EnvelopeID, a.evt.Type, a.kind)
		if a.kind == string(slack.InteractionTypeBlockSuggestion) && a.evt.Type == socketmode.EventTypeInteractive {
			// The ack carries the options; Slack waits 3 s for it.
			pool.submit(b.jobLog(req.EnvelopeID, a.evt.Type, a.user, func(ctx context.Context) {
				evt, err := decodeEvent(&req)
				if err != nil {
					b.logger(ctx).Warn().Err(err).Msg("malformed envelope")
					b.ack(c, req, nil)
					return
				}
				b.ack(c, req, b.suggestion(ctx, evt.Data.(slack.InteractionCallback)))
			}), true)
			return
		}
	default:
		b.ack(c, req, nil)
		return
	}
	b.inbox.in <- a
}

// ack acks req; a replayed envelope (no client: its connection is gone)
// has nobody to ack.
func (b *Bot) ack(client acker, req socketmode.Request, payload any) {
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
