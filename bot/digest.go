package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// sendDigest DMs a scheduled reminder digest (workflow.RemindSweep): one
// message listing every task the notice names that still waits on its
// recipient, each with its primary buttons. Tasks decided or moved on
// since the sweep are left out; when none is left nothing is sent.
func (b *Bot) sendDigest(ctx context.Context, n workflow.Notice) error {
	if n.Recipient == "" {
		return nil
	}
	ids := n.TaskIDs()
	if len(ids) == 0 {
		// A digest without task numbers has only its text to show.
		if n.Text == "" {
			return nil
		}
		return b.dm(ctx, n.Recipient, n.Text)
	}
	tasks, err := b.listedTasks(ctx, ids)
	if err != nil {
		return err
	}
	var waiting []*workflow.Task
	for _, t := range tasks {
		if t != nil && waitsOn(t, n.Recipient) {
			waiting = append(waiting, t)
		}
	}
	log := b.log.With().Int64("notice", n.ID).Str("email", n.Recipient).Logger()
	if len(waiting) == 0 {
		log.Info().Int("listed", len(ids)).Msg("digest not sent: every task moved on")
		return nil
	}
	text, bl := blocks.Digest(blocks.DigestInput{Viewer: n.Recipient, Tasks: waiting, Cat: b.engine.Catalog(), Dir: b.namer(ctx), Now: b.now()})
	ch, err := b.dmChannel(ctx, n.Recipient)
	if errors.Is(err, errNotInSlack) {
		log.Warn().Err(err).Msg("digest dropped: recipient not in Slack")
		return nil
	}
	if err != nil {
		return err
	}
	err = b.slack.Send(ctx, ch, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...))
	if err != nil {
		return fmt.Errorf("post digest to %s: %w", n.Recipient, err)
	}
	log.Info().Int("tasks", len(waiting)).Msg("digest sent")
	return nil
}

// listedTasks loads tasks by number in the order given; a task that no
// longer exists is nil.
func (b *Bot) listedTasks(ctx context.Context, ids []int64) ([]*workflow.Task, error) {
	found, err := b.engine.Tasks(ctx, workflow.TaskQuery{IDs: ids})
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

// fromDigest reports whether a click came from a reminder digest.
func fromDigest(c click) bool {
	return strings.HasPrefix(c.action.BlockID, blocks.BlockDigestActions) || strings.HasPrefix(c.action.BlockID, blocks.BlockDigestTask)
}

// refreshDigest renders the digest a click came from again, so the task
// clicked (and any other that moved on) shows where it is now instead of
// buttons.
func (b *Bot) refreshDigest(ctx context.Context, c click, email string) {
	if c.cb.Message.Msg.Blocks.BlockSet == nil || c.channel == "" || c.ts == "" {
		return
	}
	ids, more := blocks.DigestListed(c.cb.Message.Msg.Blocks.BlockSet)
	if len(ids) == 0 {
		return
	}
	tasks, err := b.listedTasks(ctx, ids)
	if err != nil {
		c.log.Warn().Err(err).Msg("refresh digest")
		return
	}
	text, bl := blocks.Digest(blocks.DigestInput{Viewer: email, Tasks: tasks, More: more, Cat: b.engine.Catalog(), Dir: b.namer(ctx), Now: b.now()})
	err = b.slack.Update(ctx, c.channel, c.ts, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionBlocks(bl...))
	if err != nil {
		c.log.Warn().Err(err).Msg("refresh digest")
	}
}
