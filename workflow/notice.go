package workflow

import (
	"context"
	"time"
)

// NoticeKind says what the bot must show in Slack. A notice's kind is the
// type of its payload (Notice.Kind), so a payload field a kind does not
// have is a compile error, not a key nobody reads.
type NoticeKind string

const (
	// NoticeTaskChanged (TaskChanged): bring every card of the task up to
	// date (post the cards of new assignees, update the others in place),
	// and the reminder digests that list it.
	NoticeTaskChanged NoticeKind = "task_changed"
	// NoticeTaskDeleted (TaskDeleted): mark every card of the task as deleted.
	NoticeTaskDeleted NoticeKind = "task_deleted"
	// NoticeComment (CommentPosted): a comment was added, edited or
	// deleted; mirror it into the task's threads.
	NoticeComment NoticeKind = "comment"
	// NoticeReminder (TaskReminder): remind Recipients of the task.
	NoticeReminder NoticeKind = "reminder"
	// NoticeDigest (ReminderDigest): post Recipient's reminder digest, a
	// card listing every task that waits on them, kept current as those
	// tasks change. It has no TaskID: it is about several.
	NoticeDigest NoticeKind = "digest"
	// NoticeDirect (DirectMessage): a plain direct message Text to Recipient.
	NoticeDirect NoticeKind = "direct"
	// NoticeChannel (ChannelMessage): a plain message Text to a channel.
	NoticeChannel NoticeKind = "channel"
	// NoticeExpiryWarning (ExpiryWarning): tell the holder a grant ends soon.
	NoticeExpiryWarning NoticeKind = "expiry_warning"
)

// NoticeKinds lists every kind, for codecs and their tests.
func NoticeKinds() []NoticeKind {
	return []NoticeKind{NoticeTaskChanged, NoticeTaskDeleted, NoticeComment, NoticeReminder, NoticeDigest, NoticeDirect, NoticeChannel, NoticeExpiryWarning}
}

// Notice is an outbox row: something Slack must learn, written in the same
// transaction as the change that caused it and delivered by the bot.
type Notice struct {
	ID         int64
	TaskID     int64
	Recipient  string   // email, for direct notices, digests and warnings
	Recipients []string // emails, for reminders
	Text       string   // message text, comment text
	// Payload is what the kind carries besides; its type is the kind.
	Payload   Payload
	CreatedAt time.Time
	Attempts  int
	NextAt    time.Time
	LastError string
	State     NoticeState
}

// Kind is the kind of n's payload ("" without one).
func (n *Notice) Kind() NoticeKind {
	if n.Payload == nil {
		return ""
	}
	return n.Payload.NoticeKind()
}

// Payload is the typed part of a notice, one type per NoticeKind.
type Payload interface {
	NoticeKind() NoticeKind
}

// TaskChanged is the payload of NoticeTaskChanged.
type TaskChanged struct {
	// Resend redraws every card even when it shows the task's revision
	// (something the cards show changed outside the task).
	Resend bool `json:"resend,omitempty"`
	// Why says, for the logs, what changed outside the task.
	Why string `json:"why,omitempty"`
	// Grant and GrantEvent name the grant whose change this is and what
	// happened to it ("extended", "revoked", "expired").
	Grant      int64  `json:"grant,omitempty"`
	GrantEvent string `json:"grant_event,omitempty"`
	// Fallback, on an email notice: Recipient is not in Slack and gets
	// the task's assignment by email instead of a card.
	Fallback bool `json:"fallback,omitempty"`
}

// TaskDeleted is the payload of NoticeTaskDeleted.
type TaskDeleted struct {
	Number string `json:"number,omitempty"` // the task's number, for the deleted card
	Actor  string `json:"actor,omitempty"`  // who deleted it
}

// CommentPosted is the payload of NoticeComment.
type CommentPosted struct {
	Actor  string `json:"actor,omitempty"`  // who wrote the comment
	Source string `json:"source,omitempty"` // where it was written (SourceModal, ...)
	// Op is CommentOpEdited or CommentOpDeleted for a change of an
	// earlier comment, "" for a new one.
	Op string `json:"op,omitempty"`
	// Seq is the audit event that carries the comment.
	Seq int64 `json:"seq,omitempty"`
	// From is the chat message the comment was written as (a thread
	// reply), left out of the mirroring.
	From MessageRef `json:"from,omitzero"`
}

// TaskReminder is the payload of NoticeReminder.
type TaskReminder struct {
	Actor string `json:"actor,omitempty"` // who asked for the reminder
}

// ReminderDigest is the payload of NoticeDigest.
type ReminderDigest struct {
	Tasks []int64 `json:"tasks,omitempty"` // the tasks it lists, in order
	By    string  `json:"by,omitempty"`    // what sent it ("schedule")
}

// DirectMessage is the payload of NoticeDirect.
type DirectMessage struct {
	// Topic says what it is about ("delegation"), for an email's subject.
	Topic string `json:"topic,omitempty"`
	// Event and Grant name what happened ("revoked", "expired",
	// "emergency") and to which grant.
	Event string `json:"event,omitempty"`
	Grant int64  `json:"grant,omitempty"`
	Task  string `json:"task,omitempty"` // the number of the task it is about
}

// ChannelMessage is the payload of NoticeChannel.
type ChannelMessage struct {
	Channel string `json:"channel,omitempty"` // where to post Text
	Event   string `json:"event,omitempty"`   // what happened ("emergency")
	Task    string `json:"task,omitempty"`    // the number of the task it is about
}

// ExpiryWarning is the payload of NoticeExpiryWarning.
type ExpiryWarning struct {
	Grant     int64     `json:"grant,omitempty"`
	App       string    `json:"app,omitempty"`
	Resource  string    `json:"resource,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (TaskChanged) NoticeKind() NoticeKind    { return NoticeTaskChanged }
func (TaskDeleted) NoticeKind() NoticeKind    { return NoticeTaskDeleted }
func (CommentPosted) NoticeKind() NoticeKind  { return NoticeComment }
func (TaskReminder) NoticeKind() NoticeKind   { return NoticeReminder }
func (ReminderDigest) NoticeKind() NoticeKind { return NoticeDigest }
func (DirectMessage) NoticeKind() NoticeKind  { return NoticeDirect }
func (ChannelMessage) NoticeKind() NoticeKind { return NoticeChannel }
func (ExpiryWarning) NoticeKind() NoticeKind  { return NoticeExpiryWarning }

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
			o.notify(&Notice{TaskID: id, Payload: TaskChanged{Resend: true, Why: why}})
		}
		return nil
	})
}
