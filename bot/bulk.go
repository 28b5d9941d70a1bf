package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/blocks"
	"accessbot/workflow"
)

// Bulk actions from the App Home: the bar's button reads the ticked rows
// (or "All in this tab") from the view's state and opens a modal asking for
// the comment; its submission decides each task in its own transaction and
// shows how it went.

// homeBulk is a bulk bar button: it opens the comment modal for what is
// selected, or says what to select.
func (b *Bot) homeBulk(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	if !isHome(cb) {
		return
	}
	meta := blocks.DecodeHomeMeta(cb.View.PrivateMetadata)
	action := workflow.Action(strings.TrimPrefix(a.ActionID, blocks.ActHomeBulk))
	log := b.logger(ctx).With().Str("action", string(action)).Logger()
	refs, all := selection(cb.View.State)
	notice := ""
	if all {
		email, err := b.dir.emailOf(ctx, cb.User.ID)
		if err != nil {
			b.republish(ctx, cb, meta, workflow.ErrorMessage(err))
			return
		}
		// The whole tab as it is now: the modal lists what it holds, so the
		// person sees what they decide before submitting.
		q := tabQuery(email, meta.Tab)
		q.Limit = blocks.MaxBulk + 1
		ts, err := b.engine.Tasks(ctx, q)
		if err != nil {
			log.Error().Err(err).Msg("read tab for a bulk action")
			b.republish(ctx, cb, meta, workflow.ErrorMessage(err))
			return
		}
		refs = refs[:0]
		for _, t := range ts {
			refs = append(refs, blocks.BulkRef{TaskID: t.ID, Revision: t.Revision})
		}
	}
	if len(refs) > blocks.MaxBulk {
		refs = refs[:blocks.MaxBulk]
		notice = fmt.Sprintf("A bulk action takes at most %d tasks; the first %d are in the form, the rest stay for the next one.", blocks.MaxBulk, blocks.MaxBulk)
	}
	if len(refs) == 0 {
		b.republish(ctx, cb, meta, "Tick the tasks to act on (or \"All in this tab\") first, then choose the action.")
		return
	}
	view := blocks.BulkModal(blocks.BulkMeta{Action: action, Tasks: refs, Home: meta})
	err := b.openTriggeredView(ctx, cb.TriggerID, view)
	if err != nil {
		log.Warn().Err(err).Msg("views.open (bulk) failed")
		notice = "Slack did not open the form in time; please click again."
	}
	if notice != "" {
		b.republish(ctx, cb, meta, notice)
	}
}

// selection reads the ticked rows and the "All in this tab" box from a Home
// view's state. Only row boxes count (block ids BlockHomeRow…), and a value
// must be a task reference: the state is what the client sends.
func selection(st *slack.ViewState) (refs []blocks.BulkRef, all bool) {
	if st == nil {
		return nil, false
	}
	seen := map[int64]bool{}
	for blockID, acts := range st.Values {
		if blockID == blocks.BlockHomeBar {
			for _, o := range acts[blocks.ActHomeSelectAll].SelectedOptions {
				all = all || o.Value == blocks.SelectAllValue
			}
			continue
		}
		if !strings.HasPrefix(blockID, blocks.BlockHomeRow) {
			continue
		}
		for _, o := range acts[blocks.ActHomeSelect].SelectedOptions {
			id, rev, err := blocks.DecodeRef(o.Value)
			if err != nil || seen[id] {
				continue
			}
			seen[id] = true
			refs = append(refs, blocks.BulkRef{TaskID: id, Revision: rev})
		}
	}
	// Oldest first, as the tab lists them.
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && refs[j].TaskID < refs[j-1].TaskID; j-- {
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
	}
	return refs, all
}

// submitBulk checks the comment, answers at once with a "working" view and
// decides the tasks in the background; the result replaces that view.
func (b *Bot) submitBulk(ctx context.Context, cb slack.InteractionCallback) any {
	log := b.logger(ctx)
	fail := func(msg string) any {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blocks.BlockComment: msg})
	}
	m, err := blocks.DecodeBulkMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn().Err(err).Msg("bulk form without its tasks")
		return fail("accessbot cannot read which tasks this form is for; close it and choose them again.")
	}
	comment := ""
	if cb.View.State != nil {
		comment = strings.TrimSpace(cb.View.State.Values[blocks.BlockComment][blocks.ActionComment].Value)
	}
	if comment == "" {
		return fail("Write a comment: it goes on every task you decide here.")
	}
	if len([]rune(comment)) > workflow.MaxTextLen {
		return fail(fmt.Sprintf("The comment is too long: at most %d characters.", workflow.MaxTextLen))
	}
	email, err := b.dir.actorEmail(ctx, cb.User.ID)
	if err != nil {
		return fail(workflow.ErrorMessage(err))
	}
	working := blocks.BulkWorkingModal(m)
	// The result finds the modal by this id once Slack has applied the
	// ack's update (updating by view id could land before the ack and be
	// overwritten by it).
	working.ExternalID = fmt.Sprintf("bulk-%s-%d", cb.View.ID, time.Now().UnixNano())
	// The envelope stays open until every task is decided: a crash
	// half-way finishes the rest at the next start (the tasks decided
	// already refuse the second decision: their revision moved on).
	bctx, release := b.holdEnvelope(ctx)
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		defer release()
		b.runBulk(bctx, cb.User.ID, email, working.ExternalID, m, comment)
	}()
	return slack.NewUpdateViewSubmissionResponse(&working)
}

// runBulk decides each task in its own transaction (a refusal of one
// leaves the others), then shows the result and refreshes the Home. The
// cards of every decided task are brought up to date by the outbox, under
// its rate limits.
func (b *Bot) runBulk(ctx context.Context, slackID, email, externalID string, m blocks.BulkMeta, comment string) {
	log := b.logger(ctx).With().Str("action", string(m.Action)).Int("tasks", len(m.Tasks)).Logger()
	ok := 0
	var failed []blocks.BulkFailure
	for _, r := range m.Tasks {
		_, err := b.engine.Decide(ctx, m.Action, workflow.Decision{TaskID: r.TaskID, Actor: email, Revision: r.Revision, Comment: comment})
		if err == nil {
			ok++
			b.out.kick()
			continue
		}
		tlog := log.With().Int64("task", r.TaskID).Logger()
		detail := refused(&tlog, err, "bulk decision refused")
		failed = append(failed, blocks.BulkFailure{TaskID: r.TaskID, Reason: b.bulkReason(ctx, err, r.TaskID, email), Detail: detail})
	}
	log.Info().Int("decided", ok).Int("refused", len(failed)).Msg("bulk action")
	result := blocks.BulkResultModal(m.Action, ok, failed)
	var err error
	for attempt := range 10 {
		err = b.slack.UpdateView(ctx, result, externalID, "", "")
		if slackCode(err) != "not_found" {
			break
		}
		select { // Slack has not applied the ack's view yet
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	if err != nil {
		log.Warn().Err(err).Msg("show bulk result")
		b.ephemeral(ctx, "", slackID, fmt.Sprintf("%s: %d of %d done; %d left as they were (see each task's card).",
			blocks.BulkVerb(m.Action), ok, len(m.Tasks), len(failed)))
	}
	if err := b.out.publishHome(ctx, slackID, email, m.Home, ""); err != nil {
		log.Warn().Err(err).Msg("publish App Home after a bulk action")
	}
}

// bulkReason names, in a few words, why a task was left as it was.
func (b *Bot) bulkReason(ctx context.Context, err error, taskID int64, email string) string {
	switch workflow.ErrorCode(err) {
	case workflow.ENOTFOUND:
		return "gone"
	case workflow.EFORBIDDEN:
		return "not yours"
	case workflow.EINVALID:
		return "not at that step"
	case workflow.ECONFLICT:
		// A task still open on a step where the person decided already, or
		// was replaced: say which rather than "moved on".
		t, terr := b.engine.Task(ctx, taskID)
		if terr != nil || t.Status != workflow.StatusOpen || t.Step < 0 || t.Step >= len(t.Steps) {
			return "moved on"
		}
		state := workflow.AssignmentState("")
		for _, a := range t.Steps[t.Step].Assignees {
			if strings.EqualFold(a.Email, email) {
				state = a.State
			}
		}
		switch state {
		case workflow.AssignPending:
			return "moved on"
		case workflow.AssignApproved, workflow.AssignDenied, workflow.AssignDone, workflow.AssignNotDone:
			return "already done by you"
		}
		return "not yours any more"
	}
	return "failed"
}
