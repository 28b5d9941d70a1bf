package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"accessbot/workflow"
)

// Durable before the ack. Every envelope that asks for work is stored in
// the inbox (Store.StoreEnvelopes) before it is acked: a single writer
// goroutine takes every envelope that arrived while its previous commit
// ran and stores them in one transaction (group commit), then acks them
// and hands the new ones to the worker pool. The handler runs with a
// workflow.Receipt in its context, so the engine transaction that records
// its effect also marks the envelope done; a handler that changes nothing
// has its envelope marked done afterwards, batched with the next commit.
// Envelopes that are stored but not done when their process dies are
// finished by recoverLoop (of the restarted process or another replica)
// once their lease has run out.

// arrival is an envelope waiting for the inbox writer. Its evt is decoded
// only when it is an event (decodeEvent does the rest, after the ack);
// kind and user are what the envelope's head says (interaction type,
// command or event type; the Slack user).
type arrival struct {
	client acker
	evt    socketmode.Event
	env    workflow.Envelope
	kind   string
	user   string
}

// inbox is the group-commit writer's queue.
type inbox struct {
	in   chan arrival
	done chan string // envelope ids whose handling finished without a recorded effect
}

// storeTimeout bounds one group commit.
const storeTimeout = 2 * time.Second

// maxGroup bounds one group commit.
const maxGroup = 500

// doneDelay is how long done marks wait for an envelope's group commit to
// ride in before they are committed on their own: in a burst, a commit
// (an fsync) for each finished handler would delay the acks behind it.
// A done mark that is lost in a crash only means that envelope is
// finished again (its effect, if any, is recorded).
const doneDelay = 50 * time.Millisecond

// maxEnvelopeAttempts is how many times an envelope is started before it
// is given up (marked done with an error in the log): an envelope whose
// handling kills the process must not do so at every start.
const maxEnvelopeAttempts = 5

func newInbox() *inbox {
	return &inbox{in: make(chan arrival, 4096), done: make(chan string, 4096)}
}

// inboxLoop is the group-commit writer. It stops when stop ends, after
// storing what already arrived.
func (b *Bot) inboxLoop(stop context.Context, work context.Context, pool *pool) {
	var pendingDone []string
	// flush fires when pending done marks are due on their own (after
	// doneDelay, or a second after a failed commit). Since Go 1.23 a
	// stopped or reset timer delivers no stale tick, so it needs no
	// draining.
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	armed := false
	for {
		var group []arrival
		due := false
		select {
		case <-stop.Done():
			b.flushDone(work, pendingDone)
			return
		case a := <-b.inbox.in:
			group = append(group, a)
		case id := <-b.inbox.done:
			pendingDone = append(pendingDone, id)
		case <-flush.C:
			armed, due = false, true
		}
		// Everything that arrived meanwhile joins this commit.
	drain:
		for len(group) < maxGroup {
			select {
			case a := <-b.inbox.in:
				group = append(group, a)
			case id := <-b.inbox.done:
				pendingDone = append(pendingDone, id)
			default:
				break drain
			}
		}
		if len(group) == 0 && len(pendingDone) == 0 {
			continue
		}
		if len(group) == 0 && !due && len(pendingDone) < maxGroup {
			if !armed {
				flush.Reset(doneDelay)
				armed = true
			}
			continue
		}
		envs := make([]workflow.Envelope, len(group))
		for i, a := range group {
			envs[i] = a.env
		}
		now := b.now()
		// Slack waits 3 s for an ack: a storage that hangs is a storage
		// that is down, and the person is told so in time.
		sctx, cancel := context.WithTimeout(work, storeTimeout)
		fresh, err := b.store.StoreEnvelopes(sctx, b.owner, now.Add(b.cfg.LeaseTTL), envs, pendingDone, now)
		cancel()
		if err != nil && len(group) == 0 {
			b.log.Warn().Err(err).Int("envelopes", len(pendingDone)).Msg("mark envelopes done; retrying")
			flush.Reset(time.Second)
			armed = true
			continue
		}
		if err == nil {
			pendingDone = pendingDone[:0]
			flush.Stop()
			armed = false
		}
		if err != nil {
			if !armed && len(pendingDone) > 0 {
				flush.Reset(time.Second)
				armed = true
			}
			for _, a := range group {
				b.notStored(a, err)
			}
			continue
		}
		// Every ack first (they leave in one write), then the work.
		for i, a := range group {
			b.stored(a, fresh[i])
		}
		for i, a := range group {
			if fresh[i] {
				b.run(a, pool)
			}
		}
	}
}

// flushDone records the last done marks on the way out.
func (b *Bot) flushDone(ctx context.Context, ids []string) {
	for {
		select {
		case id := <-b.inbox.done:
			ids = append(ids, id)
			continue
		default:
		}
		break
	}
	if len(ids) == 0 {
		return
	}
	if _, err := b.store.StoreEnvelopes(ctx, b.owner, time.Time{}, nil, ids, b.now()); err != nil {
		b.log.Warn().Err(err).Int("envelopes", len(ids)).Msg("mark envelopes done at stop; they are finished again at the next start")
	}
}

// isView reports whether a is a view submission, whose ack waits for its
// handler.
func (a arrival) isView() bool {
	return a.evt.Type == socketmode.EventTypeInteractive && a.kind == string(slack.InteractionTypeViewSubmission)
}

// stored acks a stored envelope (a view submission after its handler).
func (b *Bot) stored(a arrival, fresh bool) {
	req := *a.evt.Request
	if !fresh {
		b.ack(a.client, req, nil)
		b.log.Info().Str("envelope_id", req.EnvelopeID).Str("event_id", a.env.EventID).Int("retry_attempt", req.RetryAttempt).
			Msg("duplicate envelope ignored")
		return
	}
	if !a.isView() {
		b.ack(a.client, req, nil)
	}
}

// run hands a new stored envelope to the worker pool.
func (b *Bot) run(a arrival, pool *pool) {
	rc := &workflow.Receipt{ID: a.env.ID}
	pool.submit(b.jobLog(a.env.ID, a.evt.Type, a.user, func(ctx context.Context) { b.handle(ctx, a.client, a.evt, rc) }), a.isView())
}

// handle runs an envelope's handler with its receipt and marks the
// envelope done when no transaction did (and no held work is left).
func (b *Bot) handle(ctx context.Context, client acker, evt socketmode.Event, rc *workflow.Receipt) {
	h := &envelopeHold{}
	ctx = context.WithValue(workflow.WithReceipt(ctx, rc), holdKey{}, h)
	defer func() {
		go func() {
			h.wg.Wait()
			if h.retry.Load() && !rc.Recorded() {
				// An internal error (storage failing after the ack): the
				// envelope is finished again shortly, not dropped.
				if err := b.store.ReleaseEnvelope(context.Background(), rc.ID, b.owner); err != nil {
					b.log.Warn().Err(err).Str("envelope_id", rc.ID).Msg("release envelope for a retry; it is finished after its lease or at the next start")
				}
				return
			}
			if !rc.Recorded() {
				select {
				case b.inbox.done <- rc.ID:
				default:
					// The queue is full: the envelope stays open and is
					// finished again after its lease (its effect, if any,
					// is recorded, so that changes nothing).
				}
			}
		}()
	}()
	req := *evt.Request
	if evt.Data == nil {
		var err error
		if evt, err = decodeEvent(evt.Request); err != nil {
			b.logger(ctx).Warn().Err(err).Msg("malformed envelope")
			var head payloadHead
			if json.Unmarshal(req.Payload, &head) == nil && head.Type == string(slack.InteractionTypeViewSubmission) {
				b.ack(client, req, nil) // its ack waited for this
			}
			return
		}
	}
	switch evt.Type {
	case socketmode.EventTypeInteractive:
		cb, _ := evt.Data.(slack.InteractionCallback)
		if cb.Type == slack.InteractionTypeViewSubmission {
			b.ack(client, req, b.viewSubmission(ctx, cb))
			return
		}
		b.interaction(ctx, cb)
	case socketmode.EventTypeSlashCommand:
		sc, _ := evt.Data.(slack.SlashCommand)
		b.slashCommand(ctx, sc)
	case socketmode.EventTypeEventsAPI:
		ev, _ := evt.Data.(slackevents.EventsAPIEvent)
		eventID := ""
		if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
			eventID = cb.EventID
		}
		b.event(ctx, ev, eventID)
	}
}

// envelopeHold keeps an envelope open while work it started in the
// background (a bulk action) runs; retry records an internal error.
type envelopeHold struct {
	wg    sync.WaitGroup
	retry atomic.Bool
}

// failedInternally marks ctx's envelope for another attempt: its handling
// hit an internal error (storage down after the ack) before any effect.
func failedInternally(ctx context.Context) {
	if h, ok := ctx.Value(holdKey{}).(*envelopeHold); ok {
		h.retry.Store(true)
	}
}

type holdKey struct{}

// holdEnvelope keeps ctx's envelope open until the returned func is
// called, and returns a context for the background work without the
// receipt: each of its transactions is its own, and a replay after a crash
// finds the ones that committed already done (stale revisions).
func (b *Bot) holdEnvelope(ctx context.Context) (context.Context, func()) {
	h, _ := ctx.Value(holdKey{}).(*envelopeHold)
	if h == nil {
		return ctx, func() {}
	}
	h.wg.Add(1)
	return workflow.WithReceipt(ctx, nil), h.wg.Done
}

// storageDownText is what a person is told when their click cannot be
// stored.
const storageDownText = "That did not go through: accessbot cannot save anything right now (its database is not answering). Nothing was changed; please try again in a minute."

// notStored answers an envelope the inbox could not take: the person is
// told in one line that it did not go through. Events are not acked, so
// Slack delivers them again later.
func (b *Bot) notStored(a arrival, err error) {
	req := *a.evt.Request
	log := b.log.With().Str("envelope_id", req.EnvelopeID).Str("type", string(a.evt.Type)).Logger()
	log.Error().Err(err).Msg("cannot store envelope; the person is told it did not go through")
	evt := a.evt
	if evt.Data == nil {
		if evt, err = decodeEvent(a.evt.Request); err != nil {
			log.Warn().Err(err).Msg("malformed envelope")
			b.ack(a.client, req, nil)
			return
		}
	}
	ctx := withLog(context.Background(), log)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	switch d := evt.Data.(type) {
	case slack.InteractionCallback:
		if d.Type == slack.InteractionTypeViewSubmission {
			if id := firstInputBlock(d.View); id != "" {
				cancel()
				b.ack(a.client, req, slack.NewErrorsViewSubmissionResponse(map[string]string{id: storageDownText}))
				return
			}
		}
		b.ack(a.client, req, nil)
		go func() {
			defer cancel()
			if d.ResponseURL != "" {
				msg := &slack.WebhookMessage{Text: storageDownText, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false}
				if err := b.slack.Respond(ctx, d.ResponseURL, msg); err == nil {
					return
				}
			}
			ch := d.Channel.ID
			if ch == "" {
				ch = d.Container.ChannelID
			}
			b.ephemeral(ctx, ch, d.User.ID, storageDownText)
		}()
	case slack.SlashCommand:
		cancel()
		b.ack(a.client, req, map[string]any{"response_type": "ephemeral", "text": storageDownText})
	default:
		cancel() // not acked: Slack retries events
	}
}

// firstInputBlock is the block_id of a modal's first input block, where a
// view_submission ack can show an error, or "".
func firstInputBlock(v slack.View) string {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok && in.BlockID != "" {
			return in.BlockID
		}
	}
	return ""
}

// recoverLoop finishes the envelopes nobody holds: those of a process that
// died (after their lease), at start-up and then every half lease.
func (b *Bot) recoverLoop(ctx context.Context, pool *pool) {
	t := time.NewTicker(b.cfg.LeaseTTL / 2)
	defer t.Stop()
	for {
		b.recoverEnvelopes(ctx, pool)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bot) recoverEnvelopes(ctx context.Context, pool *pool) int {
	now := b.now()
	envs, err := b.store.ClaimEnvelopes(ctx, b.owner, now, now.Add(b.cfg.LeaseTTL), 200)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn().Err(err).Msg("read unfinished envelopes")
		}
		return 0
	}
	for _, env := range envs {
		log := b.log.With().Str("envelope_id", env.ID).Str("type", env.Type).Int("attempt", env.Attempts).Logger()
		evt, err := replayEvent(env)
		if err != nil || env.Attempts > maxEnvelopeAttempts {
			log.Error().Err(err).Msg("unfinished envelope given up")
			b.inbox.done <- env.ID
			continue
		}
		log.Info().Msg("finishing an envelope stored before a restart")
		rc := &workflow.Receipt{ID: env.ID}
		pool.submit(b.envelopeJob(evt, func(ctx context.Context) { b.handle(ctx, nil, evt, rc) }), false)
	}
	return len(envs)
}

// replayEvent rebuilds the event of a stored envelope.
func replayEvent(env workflow.Envelope) (socketmode.Event, error) {
	return decodeEvent(&socketmode.Request{Type: env.Type, EnvelopeID: env.ID, Payload: json.RawMessage(env.Payload)})
}

// decodeEvent decodes an envelope's payload into the event slack-go would
// have made of it.
func decodeEvent(req *socketmode.Request) (socketmode.Event, error) {
	switch req.Type {
	case socketmode.RequestTypeInteractive:
		var cb slack.InteractionCallback
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			return socketmode.Event{}, fmt.Errorf("parse stored interaction: %w", err)
		}
		return socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb, Request: req}, nil
	case socketmode.RequestTypeSlashCommands:
		var sc slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &sc); err != nil {
			return socketmode.Event{}, fmt.Errorf("parse stored slash command: %w", err)
		}
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: sc, Request: req}, nil
	case socketmode.RequestTypeEventsAPI:
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			return socketmode.Event{}, fmt.Errorf("parse stored event: %w", err)
		}
		return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: req}, nil
	}
	return socketmode.Event{}, fmt.Errorf("unknown envelope type %q", req.Type)
}

// heartbeatLoop renews every lease this instance holds (envelopes,
// notices, card claims) four times a lease, so slow work never loses its
// lease while the process lives.
func (b *Bot) heartbeatLoop(ctx context.Context) {
	every(ctx, b.cfg.LeaseTTL/4, func() {
		if _, err := b.store.RenewLeases(ctx, b.owner, b.now().Add(b.cfg.LeaseTTL)); err != nil && ctx.Err() == nil {
			b.log.Warn().Err(err).Msg("renew leases")
		}
	})
}
