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
	State      NoticeState
}

// NoticeState is where a notice is in its lifecycle. Every change of state
// but the first is guarded by the lease in SQL: a worker that lost its
// lease changes nothing (the store says ECONFLICT).
type NoticeState string

const (
	// NoticePending: waiting to be delivered from NextAt on. In: Enqueue
	// (an engine transaction), NoticeFailed (a failed attempt, due again
	// after a backoff) and ReleaseNotice (a stopping worker). Out:
	// ClaimNotices (to leased).
	NoticePending NoticeState = "pending"
	// NoticeLeased: a worker (a process instance, its lease owner) is
	// delivering it until the lease ends; the owner's heartbeat renews the
	// lease while it works. In: ClaimNotices. Out: NoticeDelivered,
	// NoticeFailed, ReleaseNotice by the owner; ClaimNotices by another
	// owner once the lease ran out (the owner died).
	NoticeLeased NoticeState = "leased"
	// NoticeDelivered: done, kept for the outbox retention. In:
	// NoticeDelivered. Out: PruneOutbox deletes it after the retention.
	NoticeDelivered NoticeState = "delivered"
	// NoticeDead: given up after the maximum attempts; kept (never pruned)
	// for an operator to look at, and no longer holds back its task's
	// later notices. In: NoticeFailed. Out: none.
	NoticeDead NoticeState = "dead"
)

// NoticeStates lists the states in lifecycle order.
func NoticeStates() []NoticeState {
	return []NoticeState{NoticePending, NoticeLeased, NoticeDelivered, NoticeDead}
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
