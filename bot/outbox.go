package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// outboxLoop delivers due notices until ctx ends; a delivery under way
// finishes on work (which outlives ctx by a grace period).
func (w *delivery) outboxLoop(ctx, work context.Context) {
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && w.deliverDue(ctx, work) > 0 {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// deliverDue delivers one batch of due notices and returns how many it
// delivered. Claims give at most the oldest undelivered notice of each
// task, so per-task order holds. It stops between notices once stop ends;
// the calls run on ctx, which outlives stop by a grace period.
func (w *delivery) deliverDue(stop, ctx context.Context) int {
	// The lease is renewed by the heartbeat while a delivery runs; a
	// process that dies leaves its notices to be claimed again one lease
	// later.
	ns, err := w.store.ClaimNotices(ctx, w.owner, w.now(), w.leaseTTL, 50)
	if err != nil {
		w.log.Error().Err(err).Msg("read outbox")
		return 0
	}
	// Notices of different tasks go out side by side (the claim holds one
	// per task at most); the rate limiter keeps the pace.
	var done atomic.Int64
	sem := make(chan struct{}, deliveryWorkers)
	var wg sync.WaitGroup
	for _, n := range ns {
		sem <- struct{}{}
		if stop.Err() != nil {
			// Hand it back at once rather than after the lease.
			<-sem
			if err := w.store.ReleaseNotice(ctx, n.ID, w.owner); err != nil {
				w.log.Warn().Err(err).Int64("notice", n.ID).Msg("release notice")
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if w.deliverOne(ctx, n) {
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(done.Load())
}

// deliveryWorkers is how many tasks' notices are delivered at once.
const deliveryWorkers = 4

// deliverOne delivers n and records the outcome; a failure is retried
// after a backoff (or the 429's Retry-After).
func (w *delivery) deliverOne(ctx context.Context, n workflow.Notice) bool {
	log := w.log.With().Int64("notice", n.ID).Str("kind", string(n.Kind())).Int64("task", n.TaskID).Logger()
	ctx = withLog(ctx, log)
	err := w.deliver(ctx, n)
	if err == nil {
		if err := w.store.NoticeDelivered(ctx, n.ID, w.owner, w.now()); err != nil {
			if workflow.ErrorCode(err) == workflow.ECONFLICT {
				log.Warn().Err(err).Msg("lease lost during delivery; another worker delivers it")
			} else {
				log.Error().Err(err).Msg("mark notice delivered")
			}
			return false
		}
		return true
	}
	next := w.backoff(n.Attempts)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) && rl.RetryAfter > next {
		next = rl.RetryAfter
	}
	log.Warn().Err(err).Int("attempts", n.Attempts+1).Dur("retry_in", next).Msg("delivery failed")
	state, err := w.store.NoticeFailed(ctx, n.ID, w.owner, w.now().Add(next), cut(err.Error(), 500), w.maxAttempts)
	switch {
	case workflow.ErrorCode(err) == workflow.ECONFLICT:
		log.Warn().Err(err).Msg("lease lost during delivery; another worker delivers it")
	case err != nil:
		log.Error().Err(err).Msg("record failed notice")
	case state == workflow.NoticeDead:
		log.Error().Int("attempts", n.Attempts+1).Msg("notice given up after too many attempts (dead)")
	}
	return false
}

// backoff is RetryBase doubled per attempt, at most RetryMax.
func (w *delivery) backoff(attempts int) time.Duration {
	d := w.retryBase
	for i := 0; i < attempts && d < w.retryMax; i++ {
		d *= 2
	}
	return min(d, w.retryMax)
}

func (w *delivery) deliver(ctx context.Context, n workflow.Notice) error {
	if n.Recipient != "" && !w.inSlack(n.Recipient) && n.Kind() != workflow.NoticeComment {
		return nil // told by email only (package email)
	}
	switch p := n.Payload.(type) {
	case workflow.TaskChanged:
		// The Homes that list the task are refreshed, debounced (home.go).
		w.homesChanged(ctx, n.TaskID)
		return w.syncTask(ctx, n.TaskID, p.Resend)
	case workflow.TaskDeleted:
		w.homesChanged(ctx, n.TaskID)
		return w.markDeleted(ctx, n, p)
	case workflow.CommentPosted:
		return w.mirrorComment(ctx, n, p)
	case workflow.ReminderDigest:
		// One message listing every task waiting on the person
		// (workflow.RemindSweep), with their buttons, kept current.
		return w.sendDigest(ctx, n, p)
	case workflow.TaskReminder:
		return w.sendReminders(ctx, n)
	case workflow.ExpiryWarning:
		return w.deliverExpiryWarning(ctx, n, p)
	case workflow.DirectMessage:
		if n.Recipient == "" || n.Text == "" {
			return nil
		}
		return w.dm(ctx, n.Recipient, n.Text)
	case workflow.ChannelMessage:
		return w.postToChannel(ctx, p.Channel, n.Text)
	}
	// A kind a newer binary queued (the store reads it as no payload).
	w.log.Warn().Int64("notice", n.ID).Msg("unknown notice kind skipped")
	return nil
}

// syncTask brings every card of a task up to date: cards that show an
// older revision are updated in place, then the cards the task lacks are
// posted (each pending assignee of the current step, the requester, the
// app's channel for provisioning steps). Each card is saved as soon as it
// is sent, so a retry after a failure neither re-posts nor re-updates.
func (w *delivery) syncTask(ctx context.Context, taskID int64, resend bool) error {
	t, err := w.engine.Task(ctx, taskID)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		return nil // deleted; its own notice marks the cards
	}
	if err != nil {
		return err
	}
	cards, err := w.store.Cards(ctx, t.ID)
	if err != nil {
		return err
	}
	for i := range cards {
		if cards[i].Revision != t.Revision || resend {
			if err := w.refreshCard(ctx, t, &cards[i], resend); err != nil {
				return err
			}
		}
	}
	if err := w.syncDigests(ctx, t.ID, t.Revision, resend); err != nil {
		return err
	}
	has := func(role workflow.CardRole, email string, step int) bool {
		for _, c := range cards {
			if c.Role == role && c.Email == email && c.Step == step {
				return true
			}
		}
		return false
	}
	channel := ""
	if ent, err := w.engine.Catalog().Entitlement(t.AppID, t.ResourceID); err == nil {
		channel = ent.Channel
	}
	for _, need := range workflow.CardsNeeded(t, channel) {
		if has(need.Role, need.Email, need.Step) || (need.Role != workflow.CardChannel && !w.inSlack(need.Email)) {
			continue
		}
		c := workflow.Card{TaskID: t.ID, Role: need.Role, Email: need.Email, Step: need.Step}
		if need.Role == workflow.CardChannel {
			c.Channel = channel
		}
		err := w.postCard(ctx, t, c)
		switch code := slackCode(err); {
		case err == nil:
		case need.Role == workflow.CardRequester && errors.Is(err, errNotInSlack):
			if err := w.requesterNotInSlack(ctx, t, err); err != nil {
				return err
			}
		case need.Role == workflow.CardAssignee && errors.Is(err, errNotInSlack):
			if stop, err := w.notInSlack(ctx, t, need.Email, err); err != nil || stop {
				return err
			}
		case need.Role == workflow.CardChannel && (code == "channel_not_found" || code == "not_in_channel" || code == "is_archived"):
			w.log.Warn().Err(err).Str("channel", channel).Int64("task", t.ID).Msg("cannot post to the app's channel; invite the bot")
		default:
			return err
		}
	}
	return nil
}

// postCard posts a new card (to the person's DM, or to c.Channel) and saves
// it. The card is claimed first (Store.ClaimCard), so a second poster (a
// replica delivering the same notice after a lost lease) finds the claim
// and waits, or the posted card and updates it instead.
func (w *delivery) postCard(ctx context.Context, t *workflow.Task, c workflow.Card) error {
	if c.Role != workflow.CardChannel {
		ch, err := w.dmChannel(ctx, c.Email)
		if err != nil {
			return err
		}
		c.Channel = ch
	}
	now := w.now()
	claimed, err := w.store.ClaimCard(ctx, &c, w.owner, now, now.Add(w.leaseTTL))
	if err != nil {
		return fmt.Errorf("claim %s card of %s: %w", c.Role, t.Number(), err)
	}
	if !claimed {
		return w.refreshCard(ctx, t, &c, false)
	}
	posted := false // or the claim is kept for a retry
	defer func() {
		if !posted {
			if err := w.store.ReleaseCard(context.WithoutCancel(ctx), c.ID, w.owner); err != nil {
				w.logger(ctx).Warn().Err(err).Int64("task", t.ID).Msg("release card claim")
			}
		}
	}()
	if m, ok := w.unsaved.Load(c.ID); ok {
		// Posted by this process before saving it failed: save it now
		// (and update it), never post it again.
		posted = true
		msg := m.(workflow.Card)
		c.Channel, c.TS, c.Revision = msg.Channel, msg.TS, msg.Revision
		if err := w.store.SaveCard(ctx, &c); err != nil {
			return fmt.Errorf("save %s card of %s: %w", c.Role, t.Number(), err)
		}
		w.unsaved.Delete(c.ID)
		if c.Revision == t.Revision {
			return nil
		}
		return w.updateCard(ctx, t, &c)
	}
	if !c.UpdatedAt.IsZero() {
		// Claimed before: its owner may have died after Slack took its
		// post and before saving it. That message is the card.
		found, err := w.findPostedCard(ctx, &c)
		if err != nil {
			posted = true // keep the claim: releasing it would let the next poster skip this search
			return fmt.Errorf("look for the %s card of %s posted before: %w", c.Role, t.Number(), err)
		}
		if found {
			posted = true
			if err := w.store.SaveCard(ctx, &c); err != nil {
				w.unsaved.Store(c.ID, c)
				return fmt.Errorf("save %s card of %s: %w", c.Role, t.Number(), err)
			}
			w.logger(ctx).Info().Int64("task", t.ID).Str("role", string(c.Role)).Str("channel", c.Channel).Str("ts", c.TS).
				Msg("card posted before a restart adopted, not posted again")
			return w.updateCard(ctx, t, &c)
		}
	}
	text, bl, final := w.renderCard(ctx, t, c)
	channel, ts, err := w.slack.Post(ctx, c.Channel, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...),
		slack.MsgOptionMetadata(cardMetadata(c, t.Revision)))
	if err != nil {
		return fmt.Errorf("post %s card of %s: %w", c.Role, t.Number(), err)
	}
	posted = true
	c.Channel, c.TS, c.Revision, c.Final, c.UpdatedAt = channel, ts, t.Revision, final, w.now()
	if err := w.store.SaveCard(ctx, &c); err != nil {
		// The claim stays (the heartbeat keeps it): the retry saves this
		// message instead of posting another.
		w.unsaved.Store(c.ID, c)
		return fmt.Errorf("save %s card of %s: %w", c.Role, t.Number(), err)
	}
	w.log.Info().Int64("task", t.ID).Str("role", string(c.Role)).Str("email", c.Email).Str("channel", channel).Msg("card posted")
	return nil
}

// cardEventType is the message metadata type of a card. Its payload names
// the card (task, role, step; the channel is where it is), so a poster
// that takes over a claim finds a message whose save was lost.
const cardEventType = "accessbot_card"

func cardKey(c workflow.Card) string { return fmt.Sprintf("%d/%s/%d", c.TaskID, c.Role, c.Step) }

func cardMetadata(c workflow.Card, revision int64) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: cardEventType, EventPayload: map[string]any{"card": cardKey(c), "revision": revision}}
}

// maxHistoryPages bounds the search for a card posted before (100
// messages a page, since a minute before the claim).
const maxHistoryPages = 5

// findPostedCard looks in c's channel for the card's message posted since
// its claim (c.UpdatedAt) and, when found, sets c's ts and the revision it
// shows.
func (w *delivery) findPostedCard(ctx context.Context, c *workflow.Card) (bool, error) {
	ts, payload, err := w.findPosted(ctx, c.Channel, c.UpdatedAt, cardEventType, "card", cardKey(*c))
	if ts == "" || err != nil {
		return false, err
	}
	rev, _ := payload["revision"].(float64)
	c.TS, c.Revision, c.UpdatedAt = ts, int64(rev), w.now()
	return true, nil
}

// findPosted looks in channel for the bot's own message posted since a
// claim made at since whose metadata is of eventType with payload[field]
// = key, and returns its ts ("" when none) and metadata payload. A history
// the bot may not read (an app installed before it had the history
// scopes) finds nothing: posting again risks a duplicate, never a message
// that is not posted at all.
func (w *delivery) findPosted(ctx context.Context, channel string, since time.Time, eventType, field, key string) (string, map[string]any, error) {
	oldest := since.Add(-time.Minute) // Slack's clock and ours differ a little
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channel, Limit: 100, Inclusive: true, IncludeAllMetadata: true,
		Oldest: fmt.Sprintf("%d.%06d", oldest.Unix(), oldest.Nanosecond()/1000),
	}
	for range maxHistoryPages {
		res, err := w.slack.History(ctx, params)
		switch slackCode(err) {
		case "missing_scope", "not_in_channel", "channel_not_found":
			w.logger(ctx).Warn().Err(err).Str("channel", channel).Str("kind", eventType).Msg("cannot read the channel to find a message posted before a restart; posting it (it may show twice)")
			return "", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		for _, m := range res.Messages {
			md := m.Metadata
			if m.User == w.botUserID && md.EventType == eventType && md.EventPayload[field] == key {
				return m.Timestamp, md.EventPayload, nil
			}
		}
		if !res.HasMore || res.ResponseMetaData.NextCursor == "" {
			return "", nil, nil
		}
		params.Cursor = res.ResponseMetaData.NextCursor
	}
	w.logger(ctx).Warn().Str("channel", channel).Str("kind", eventType).Msg("too many messages to find a message posted before a restart; posting it (it may show twice)")
	return "", nil, nil
}

// cardLocks keeps one update of a card at a time in this process (the
// clicker's own refresh and the outbox's), so a card is not updated twice
// for one revision.
type cardLocks struct{ m sync.Map } // card id -> *sync.Mutex

func (l *cardLocks) lock(id int64) func() {
	mu, _ := l.m.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// refreshCard updates c unless the stored card shows t's revision already
// (another update got there first); force redraws it anyway.
func (w *delivery) refreshCard(ctx context.Context, t *workflow.Task, c *workflow.Card, force bool) error {
	defer w.cards.lock(c.ID)()
	if cur, err := w.store.CardByMessage(ctx, c.Channel, c.TS); err == nil {
		*c = *cur
	}
	if c.Revision == t.Revision && !force {
		return nil
	}
	return w.updateCard(ctx, t, c)
}

// updateCard re-renders a card in place and records the revision it shows.
func (w *delivery) updateCard(ctx context.Context, t *workflow.Task, c *workflow.Card) error {
	text, bl, final := w.renderCard(ctx, t, *c)
	err := w.slack.Update(ctx, c.Channel, c.TS, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...))
	switch {
	case messageGone(err):
		// Someone deleted it; nothing left to update.
		w.log.Warn().Err(err).Int64("task", t.ID).Str("channel", c.Channel).Msg("card gone; not updated")
		final = true
	case err != nil:
		return fmt.Errorf("update %s card of %s: %w", c.Role, t.Number(), err)
	}
	c.Revision, c.Final, c.UpdatedAt = t.Revision, final, w.now()
	return w.store.SaveCard(ctx, c)
}

// dmChannel opens (or finds) the bot's DM with the person of email.
func (w *delivery) dmChannel(ctx context.Context, email string) (string, error) {
	id, err := w.dir.slackIDOf(ctx, email)
	if err != nil {
		return "", err
	}
	ch, err := w.slack.DM(ctx, id)
	if err != nil {
		return "", fmt.Errorf("conversations.open with %s: %w", email, err)
	}
	return ch, nil
}

// dm sends a plain direct message.
func (w *delivery) dm(ctx context.Context, email, text string) error {
	ch, err := w.dmChannel(ctx, email)
	if errors.Is(err, errNotInSlack) {
		w.logger(ctx).Warn().Err(err).Msg("direct message dropped: recipient not in Slack")
		return nil
	}
	if err != nil {
		return err
	}
	text = mentionEmails(text, w.dir.cardNamer(ctx, 0))
	return w.slack.Send(ctx, ch, slack.MsgOptionText(cut(text, 3900), false))
}

// postToChannel posts a plain message to a configured channel (the
// emergency channel). A channel the bot cannot post to is logged and
// skipped: retrying would not fix it.
func (w *delivery) postToChannel(ctx context.Context, ch, text string) error {
	if ch == "" || text == "" {
		return nil
	}
	err := w.slack.Send(ctx, ch, slack.MsgOptionText(cut(text, 3900), false))
	switch slackCode(err) {
	case "channel_not_found", "not_in_channel", "is_archived":
		w.logger(ctx).Warn().Err(err).Str("channel", ch).Msg("cannot post to the configured channel; invite the bot")
		return nil
	}
	return err
}

// markDeleted replaces every card of a deleted task with a one-line notice.
func (w *delivery) markDeleted(ctx context.Context, n workflow.Notice, p workflow.TaskDeleted) error {
	cards, err := w.store.Cards(ctx, n.TaskID)
	if err != nil {
		return err
	}
	num := p.Number
	if num == "" {
		num = fmt.Sprintf("T-%d", n.TaskID)
	}
	text, bl := blocks.DeletedCard(num)
	for i := range cards {
		c := &cards[i]
		if c.Final && c.Revision < 0 {
			continue // already marked
		}
		err := w.slack.Update(ctx, c.Channel, c.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bl...))
		if err != nil && slackCode(err) != "message_not_found" {
			return err
		}
		c.Final, c.Revision, c.UpdatedAt = true, -1, w.now()
		if err := w.store.SaveCard(ctx, c); err != nil {
			return err
		}
	}
	if err := w.store.DeleteCards(ctx, n.TaskID); err != nil {
		return err
	}
	return w.syncDigests(ctx, n.TaskID, -1, false) // they leave it out now
}

// mirrorComment posts a comment once into the thread of the task's cards
// in each channel but the one it came from (mirror.go); an edit or deletion
// updates the copies.
func (w *delivery) mirrorComment(ctx context.Context, n workflow.Notice, p workflow.CommentPosted) error {
	switch p.Op {
	case workflow.CommentOpEdited, workflow.CommentOpDeleted:
		return w.updateMirrors(ctx, n, p)
	}
	return w.postMirrors(ctx, n, p)
}

// sendReminders reminds each recipient in the thread of their card, or by DM.
func (w *delivery) sendReminders(ctx context.Context, n workflow.Notice) error {
	t, err := w.engine.Task(ctx, n.TaskID)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	cards, err := w.store.Cards(ctx, n.TaskID)
	if err != nil {
		return err
	}
	text := fmt.Sprintf(":bell: Reminder: %s waits on you (%s).", t.Number(), accessLabel(w.engine.Catalog(), t))
	for _, email := range n.Recipients {
		if !w.inSlack(email) {
			continue // told by email only
		}
		thread := ""
		for _, c := range cards {
			if c.Role == workflow.CardAssignee && c.Email == email && c.Step == t.Step {
				thread = c.TS
			}
		}
		if thread == "" {
			if err := w.dm(ctx, email, text); err != nil {
				return err
			}
			continue
		}
		ch, err := w.dmChannel(ctx, email)
		if err != nil {
			continue
		}
		err = w.slack.Send(ctx, ch, slack.MsgOptionText(text, false), slack.MsgOptionTS(thread), slack.MsgOptionBroadcast())
		if err != nil {
			return err
		}
	}
	return nil
}

// deliverExpiryWarning sends the expiry warning DM with its Request
// extension button.
func (w *delivery) deliverExpiryWarning(ctx context.Context, n workflow.Notice, p workflow.ExpiryWarning) error {
	if n.Recipient == "" || n.Text == "" {
		return nil
	}
	var bl []slack.Block
	text := n.Text
	if p.Grant > 0 {
		text, bl = blocks.ExpiryWarningMessage(n.Text, p.Grant)
	}
	ch, err := w.dmChannel(ctx, n.Recipient)
	if err != nil {
		if errors.Is(err, errNotInSlack) {
			w.log.Warn().Err(err).Msg("expiry warning dropped: recipient not in Slack")
			return nil
		}
		return err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(cut(text, 3900), false)}
	if len(bl) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(bl...))
	}
	return w.slack.Send(ctx, ch, opts...)
}
