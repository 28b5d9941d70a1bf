package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// sendDigest DMs a scheduled reminder digest (workflow.RemindSweep): one
// message listing every task the notice names that still waits on its
// recipient, each with its primary buttons. Tasks decided or moved on
// since the sweep are left out; when none is left nothing is sent. The
// digest is stored as a card (workflow.DigestCard): claimed before it is
// posted, so a second delivery of the notice never posts it twice, and
// redrawn whenever one of its tasks changes (syncDigests).
func (w *delivery) sendDigest(ctx context.Context, n workflow.Notice, p workflow.ReminderDigest) error {
	if n.Recipient == "" {
		return nil
	}
	if len(p.Tasks) == 0 {
		// A digest without task numbers has only its text to show.
		if n.Text == "" {
			return nil
		}
		return w.dm(ctx, n.Recipient, n.Text)
	}
	tasks, err := w.listedTasks(ctx, p.Tasks)
	if err != nil {
		return err
	}
	var waiting []*workflow.Task
	for _, t := range tasks {
		if t != nil && waitsOn(t, n.Recipient) {
			waiting = append(waiting, t)
		}
	}
	log := w.log.With().Int64("notice", n.ID).Str("email", n.Recipient).Logger()
	if len(waiting) == 0 {
		log.Info().Int("listed", len(p.Tasks)).Msg("digest not sent: every task moved on")
		return nil
	}
	ch, err := w.dmChannel(ctx, n.Recipient)
	if errors.Is(err, errNotInSlack) {
		log.Warn().Err(err).Msg("digest dropped: recipient not in Slack")
		return nil
	}
	if err != nil {
		return err
	}
	d := &workflow.DigestCard{NoticeID: n.ID, Email: n.Recipient, Channel: ch}
	now := w.now()
	claimed, err := w.store.ClaimDigestCard(ctx, d, w.owner, now, now.Add(w.leaseTTL))
	if err != nil {
		return fmt.Errorf("claim digest of %s: %w", n.Recipient, err)
	}
	if !claimed {
		return w.redrawDigest(ctx, d.ID, false) // posted by an earlier delivery
	}
	posted := false
	defer func() {
		if !posted {
			if err := w.store.ReleaseDigestCard(context.WithoutCancel(ctx), d.ID, w.owner); err != nil {
				log.Warn().Err(err).Msg("release digest claim")
			}
		}
	}()
	if m, ok := w.unsavedDigests.Load(d.ID); ok {
		// Posted by this process before saving it failed: save it now,
		// never post it again; a task that changed since redraws it.
		posted = true
		saved := m.(workflow.DigestCard)
		d.Channel, d.TS, d.Tasks = saved.Channel, saved.TS, saved.Tasks
		if err := w.store.SaveDigestCard(ctx, d); err != nil {
			return fmt.Errorf("save digest of %s: %w", n.Recipient, err)
		}
		w.unsavedDigests.Delete(d.ID)
		return w.redrawDigest(ctx, d.ID, false)
	}
	ids := make([]int64, len(waiting))
	for i, t := range waiting {
		ids[i] = t.ID
	}
	key := strconv.FormatInt(n.ID, 10)
	if !d.UpdatedAt.IsZero() {
		// Claimed before: its owner may have died after Slack took its
		// post and before saving it. That message is the digest.
		ts, _, err := w.findPosted(ctx, d.Channel, d.UpdatedAt, digestEventType, "notice", key)
		if err != nil {
			posted = true // keep the claim: releasing it would let the next poster skip this search
			return fmt.Errorf("look for the digest of %s posted before: %w", n.Recipient, err)
		}
		if ts != "" {
			posted = true
			// What it shows is unknown (-1 each): the redraw draws it
			// as the tasks are now.
			d.TS, d.Tasks, d.UpdatedAt = ts, shownTasks(ids, make([]*workflow.Task, len(ids))), w.now()
			if err := w.store.SaveDigestCard(ctx, d); err != nil {
				w.unsavedDigests.Store(d.ID, *d)
				return fmt.Errorf("save digest of %s: %w", n.Recipient, err)
			}
			log.Info().Str("ts", ts).Msg("digest posted before a restart adopted, not posted again")
			return w.redrawDigest(ctx, d.ID, false)
		}
	}
	text, bl := blocks.Digest(blocks.DigestInput{Viewer: n.Recipient, Tasks: waiting, Cat: w.engine.Catalog(), Dir: w.dir.namer(ctx), Now: w.now()})
	var ts string
	ch, ts, err = w.slack.Post(ctx, ch, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: digestEventType, EventPayload: map[string]any{"notice": key}}))
	if err != nil {
		return fmt.Errorf("post digest to %s: %w", n.Recipient, err)
	}
	posted = true
	d.Channel, d.TS, d.Tasks, d.UpdatedAt = ch, ts, shownTasks(ids, waiting), w.now()
	if err := w.store.SaveDigestCard(ctx, d); err != nil {
		// The claim stays (the heartbeat keeps it): the retry saves this
		// message instead of posting another.
		w.unsavedDigests.Store(d.ID, *d)
		return fmt.Errorf("save digest of %s: %w", n.Recipient, err)
	}
	log.Info().Int("tasks", len(waiting)).Msg("digest sent")
	return nil
}

// digestEventType is the message metadata type of a digest; its payload
// names the digest notice, so a poster that takes over a claim finds a
// message whose save was lost (as cards do, cardEventType).
const digestEventType = "accessbot_digest"

// shownTasks is what a digest listing the tasks ids shows of each: its
// revision in tasks (which match ids; nil when the task is gone: -1).
func shownTasks(ids []int64, tasks []*workflow.Task) []workflow.DigestTask {
	out := make([]workflow.DigestTask, len(ids))
	for i, id := range ids {
		out[i] = workflow.DigestTask{TaskID: id, Revision: -1}
		if tasks[i] != nil {
			out[i].Revision = tasks[i].Revision
		}
	}
	return out
}

// syncDigests redraws the digests that list task taskID and show another
// revision of it than revision (every one when force): a digest stays
// current like a card.
func (w *delivery) syncDigests(ctx context.Context, taskID, revision int64, force bool) error {
	ds, err := w.store.DigestCardsOf(ctx, taskID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if rev, _ := d.Shows(taskID); rev != revision || force {
			if err := w.redrawDigest(ctx, d.ID, force); err != nil {
				return err
			}
		}
	}
	return nil
}

// redrawAttempts bounds how often a redraw starts again after another
// redraw (another replica, for another of its tasks) saved first.
const redrawAttempts = 3

// redrawDigest draws digest id again from its tasks as they are now,
// unless it shows them already (force draws it anyway). Replicas may
// redraw one digest at once for two of its tasks; the save is guarded by
// the version read, so the one that loses draws again with what is newer.
func (w *delivery) redrawDigest(ctx context.Context, id int64, force bool) error {
	defer w.digests.lock(id)()
	for attempt := 1; ; attempt++ {
		d, err := w.store.DigestCard(ctx, id)
		if workflow.ErrorCode(err) == workflow.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		ids := d.TaskIDs()
		tasks, err := w.listedTasks(ctx, ids)
		if err != nil {
			return err
		}
		shown := shownTasks(ids, tasks)
		if !force && slices.Equal(shown, d.Tasks) {
			return nil
		}
		text, bl := blocks.Digest(blocks.DigestInput{Viewer: d.Email, Tasks: tasks, Cat: w.engine.Catalog(), Dir: w.dir.namer(ctx), Now: w.now()})
		err = w.slack.Update(ctx, d.Channel, d.TS, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...))
		switch {
		case messageGone(err):
			// Someone deleted it; record what it would show, so it is not
			// tried again for these revisions.
			w.logger(ctx).Warn().Err(err).Int64("digest", d.ID).Msg("digest gone; not updated")
		case err != nil:
			return fmt.Errorf("update digest of %s: %w", d.Email, err)
		}
		d.Tasks, d.UpdatedAt = shown, w.now()
		err = w.store.SaveDigestCard(ctx, d)
		if workflow.ErrorCode(err) == workflow.ECONFLICT && attempt < redrawAttempts {
			continue
		}
		return err
	}
}

// listedTasks loads tasks by number in the order given; a task that no
// longer exists is nil.
func (w *delivery) listedTasks(ctx context.Context, ids []int64) ([]*workflow.Task, error) {
	found, err := w.engine.Tasks(ctx, workflow.TaskQuery{IDs: ids})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*workflow.Task, len(found))
	for _, t := range found {
		byID[t.ID] = t
	}
	out := make([]*workflow.Task, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// waitsOn reports whether t waits on email now.
func waitsOn(t *workflow.Task, email string) bool {
	for _, p := range t.PendingAssignees() {
		if strings.EqualFold(p, email) {
			return true
		}
	}
	return false
}

// refreshDigest redraws the digest a click came from, so the task clicked
// (and any other that moved on) shows where it is now instead of
// buttons, at once rather than when the task's notice is delivered.
func (w *delivery) refreshDigest(ctx context.Context, m clickedMessage, email string) {
	d, err := w.store.DigestCardByMessage(ctx, m.channel, m.ts)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		w.refreshUnstoredDigest(ctx, m, email)
		return
	}
	if err == nil {
		err = w.redrawDigest(ctx, d.ID, false)
	}
	if err != nil {
		m.log.Warn().Err(err).Msg("refresh digest")
	}
}

// refreshUnstoredDigest renders a digest that is not stored (posted by a
// version before digests were cards) again from its own message: its
// block IDs name its tasks. It can go once such digests are old enough
// that nobody clicks them.
func (w *delivery) refreshUnstoredDigest(ctx context.Context, m clickedMessage, email string) {
	if m.shown == nil || m.channel == "" || m.ts == "" {
		return
	}
	ids, more := blocks.DigestListed(m.shown)
	if len(ids) == 0 {
		return
	}
	tasks, err := w.listedTasks(ctx, ids)
	if err != nil {
		m.log.Warn().Err(err).Msg("refresh digest")
		return
	}
	text, bl := blocks.Digest(blocks.DigestInput{Viewer: email, Tasks: tasks, More: more, Cat: w.engine.Catalog(), Dir: w.dir.namer(ctx), Now: w.now()})
	err = w.slack.Update(ctx, m.channel, m.ts, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...))
	if err != nil {
		m.log.Warn().Err(err).Msg("refresh digest")
	}
}
