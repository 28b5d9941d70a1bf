package workflow

import (
	"context"
	"time"
)

// NoticeKind says what the bot must show in Slack.
type NoticeKind string

const (
	// NoticeTaskChanged: bring every card of the task up to date (post the
	// cards of new assignees, update the others in place).
	NoticeTaskChanged NoticeKind = "task_changed"
	// NoticeTaskDeleted: mark every card of the task as deleted.
	NoticeTaskDeleted NoticeKind = "task_deleted"
	// NoticeComment: a comment was added; mirror it into the task's threads.
	NoticeComment NoticeKind = "comment"
	// NoticeReminder: remind Recipients of the task.
	NoticeReminder NoticeKind = "reminder"
	// NoticeDirect: a plain direct message to Recipient.
	NoticeDirect NoticeKind = "direct"
	// NoticeChannel: a plain message Text to the channel Data["channel"].
	NoticeChannel NoticeKind = "channel"
	// NoticeExpiryWarning: tell the holder a grant ends soon.
	NoticeExpiryWarning NoticeKind = "expiry_warning"
)

// Notice is an outbox row: something Slack must learn, written in the same
// transaction as the change that caused it and delivered by the bot.
type Notice struct {
	ID         int64
	Kind       NoticeKind
	TaskID     int64
	Recipient  string            // email, for direct notices
	Recipients []string          // emails, for reminders
	Text       string            // direct message text, comment text
	Data       map[string]string // anything else (actor, action, task number, grant id)
	CreatedAt  time.Time
	Attempts   int
	NextAt     time.Time
	LastError  string
}

// RefreshCards asks for every card of the tasks to be drawn again, when
// something the cards show changed outside the tasks (why says what, for
// the logs: a person's chat identity became known). Tasks gone since are
// skipped by the bot.
func (e *Engine) RefreshCards(ctx context.Context, ids []int64, why string) error {
	if len(ids) == 0 {
		return nil
	}
	return e.update(ctx, func(o *op) error {
		for _, id := range ids {
			o.notify(&Notice{Kind: NoticeTaskChanged, TaskID: id, Data: map[string]string{"resend": "true", "why": why}})
		}
		return nil
	})
}
