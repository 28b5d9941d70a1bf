package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// mirrorTargets returns the card whose thread gets a comment in each
// channel: the newest card there, none in the channel the comment came
// from (its author's thread already shows it).
func mirrorTargets(cards []workflow.Card, source string) []workflow.Card {
	byChannel := map[string]int{}
	var out []workflow.Card
	for _, c := range cards {
		if c.Channel == "" || c.TS == "" || c.Revision < 0 || c.Channel == source {
			continue
		}
		if i, ok := byChannel[c.Channel]; ok {
			out[i] = c // cards come oldest first
			continue
		}
		byChannel[c.Channel] = len(out)
		out = append(out, c)
	}
	return out
}

// postMirrors posts a new comment into the task's other threads. Each post
// is recorded right after it succeeds, so a retry after a failure (or a
// redelivered notice) skips the channels that have it.
func (w *delivery) postMirrors(ctx context.Context, n workflow.Notice, p workflow.CommentPosted) error {
	seq := p.Seq
	cards, err := w.store.Cards(ctx, n.TaskID)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	if seq > 0 {
		ms, err := w.store.CommentMirrors(ctx, n.TaskID, seq)
		if err != nil {
			return err
		}
		for _, m := range ms {
			done[m.Channel] = true
		}
	}
	text := w.mirrorText(ctx, n, p)
	for _, c := range mirrorTargets(cards, p.From.Channel) {
		if done[c.Channel] {
			continue
		}
		_, ts, err := w.slack.Post(ctx, c.Channel, slack.MsgOptionText(cut(text, 3900), false), slack.MsgOptionTS(c.TS))
		switch slackCode(err) {
		case "message_not_found", "channel_not_found", "not_in_channel", "is_archived":
			w.log.Warn().Err(err).Int64("task", n.TaskID).Str("channel", c.Channel).Msg("comment not mirrored: the thread is gone")
			continue
		}
		if err != nil {
			return fmt.Errorf("mirror comment of T-%d into %s: %w", n.TaskID, c.Channel, err)
		}
		if seq == 0 {
			continue // a notice from before comments were numbered
		}
		if err := w.store.SaveCommentMirror(ctx, workflow.CommentMirror{TaskID: n.TaskID, Seq: seq, Channel: c.Channel, ThreadTS: c.TS, TS: ts, PostedAt: w.now()}); err != nil {
			return fmt.Errorf("record mirror of comment of T-%d in %s: %w", n.TaskID, c.Channel, err)
		}
	}
	return nil
}

// updateMirrors brings the copies of an edited or deleted comment up to date.
func (w *delivery) updateMirrors(ctx context.Context, n workflow.Notice, p workflow.CommentPosted) error {
	seq := p.Seq
	if seq <= 0 {
		w.log.Warn().Int64("task", n.TaskID).Msg("comment change without a comment number skipped")
		return nil
	}
	ms, err := w.store.CommentMirrors(ctx, n.TaskID, seq)
	if err != nil {
		return err
	}
	text := w.mirrorText(ctx, n, p)
	for _, m := range ms {
		err := w.slack.Update(ctx, m.Channel, m.TS, slack.MsgOptionText(cut(text, 3900), false))
		if messageGone(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update mirror of comment of T-%d in %s: %w", n.TaskID, m.Channel, err)
		}
	}
	return nil
}

// mirrorText is a comment as the other threads show it: who, where from,
// and the text (or that it was deleted).
func (w *delivery) mirrorText(ctx context.Context, n workflow.Notice, p workflow.CommentPosted) string {
	who := w.dir.namer(ctx)(p.Actor)
	num := fmt.Sprintf("T-%d", n.TaskID)
	if p.Op == workflow.CommentOpDeleted {
		return fmt.Sprintf(":speech_balloon: _%s deleted their comment on %s._", who, num)
	}
	var where string
	switch p.Source {
	case workflow.SourceThread:
		where = "replied in a thread of " + num
		if ch := p.From.Channel; ch != "" && !strings.HasPrefix(ch, "D") {
			where += " in <#" + ch + ">"
		}
	case workflow.SourceDecision:
		where = "commented on " + num + " with their decision"
	default:
		where = "commented on " + num
	}
	text := fmt.Sprintf(":speech_balloon: %s %s:\n%s", who, where, quoteLines(n.Text))
	if p.Op == workflow.CommentOpEdited {
		text += "\n_(edited)_"
	}
	return text
}

// quoteLines shows text people typed as a block quote, escaped: a mention,
// a broadcast or a masked link in it never goes live under the bot's name.
func quoteLines(s string) string {
	return "> " + strings.ReplaceAll(blocks.Escape(strings.TrimSpace(s)), "\n", "\n> ")
}
