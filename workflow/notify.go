package workflow

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Notify is the channel a person is told things on.
type Notify string

const (
	NotifySlack Notify = "slack" // cards and DMs in Slack (the default)
	NotifyEmail Notify = "email" // email only: no cards or DMs in Slack
	NotifyBoth  Notify = "both"  // Slack and email
)

// Notifies lists the channels a config may name.
func Notifies() []Notify { return []Notify{NotifySlack, NotifyEmail, NotifyBoth} }

// Email says whether n includes email.
func (n Notify) Email() bool { return n == NotifyEmail || n == NotifyBoth }

// Slack says whether n includes Slack.
func (n Notify) Slack() bool { return n != NotifyEmail }

// NotifyOf is the channel email is told things on: the person's own choice,
// else the config's default, else Slack. Without an email channel
// (Catalog.Email false) it is always Slack.
func (c *Catalog) NotifyOf(email string) Notify {
	if !c.Email {
		return NotifySlack
	}
	if p, ok := c.People[strings.ToLower(email)]; ok && p.Notify != "" {
		return p.Notify
	}
	if c.Notify != "" {
		return c.Notify
	}
	return NotifySlack
}

// ActNotifiedByEmail: an assignee could not be reached in Slack and was
// told by email instead (the assignment has no card).
const ActNotifiedByEmail = "notified_by_email"

// ActEmailFailed: an email could not be delivered for good (a permanent
// SMTP failure or a bad address); the task is not affected.
const ActEmailFailed = "email_failed"

// emailNotices are the notices of ns that the email channel must look at
// (it decides per recipient, at delivery, who wants email): every kind
// that tells a person something. Comments and deletions stay in Slack.
func emailNotices(ns []*Notice) []*Notice {
	var out []*Notice
	for _, n := range ns {
		switch n.Kind() {
		case NoticeTaskChanged, NoticeReminder, NoticeDigest, NoticeDirect, NoticeExpiryWarning:
			c := *n
			c.ID = 0
			out = append(out, &c)
		}
	}
	return out
}

// NotifiedByEmail records that email, a pending assignee of task id's
// current step or its requester, cannot be reached in Slack, and queues
// what the task tells them as email instead: the assignment (the task does
// not stop in error), and for the requester the outcome. Details shows it
// in the history ("notified by email"); it is recorded once per step for an
// assignee and once for the requester. Without an email channel an
// assignee's task stops with an error (MarkError) and a requester's is left
// alone, as before.
func (e *Engine) NotifiedByEmail(ctx context.Context, id int64, email, reason string) (*Task, error) {
	task, err := e.updateTask(ctx, id, func(o *op, t *Task) error {
		requester := strings.EqualFold(t.Requester, email) && t.pending(email) == nil
		if !requester && t.pending(email) == nil {
			return nil // the step moved on meanwhile
		}
		if !o.cat.Email {
			if requester || t.Status != StatusOpen {
				return nil
			}
			if err := o.fail(t, reason); err != nil {
				return err
			}
			return o.move(t)
		}
		evs, err := o.rd.AuditEvents(t.ID)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Action == ActNotifiedByEmail && strings.EqualFold(ev.Details["email"], email) && (requester || ev.Step == t.Step) {
				return nil // told already
			}
		}
		details := map[string]string{"email": email, "step": strconv.Itoa(t.Step + 1), "reason": reason}
		if requester {
			details["role"] = "requester"
		}
		if err := o.audit(t, SystemActor, ActNotifiedByEmail, "", details); err != nil {
			return err
		}
		if err := o.touch(t); err != nil {
			return err
		}
		o.emails = append(o.emails, &Notice{TaskID: t.ID, Recipient: email,
			Payload: TaskChanged{Fallback: true}, CreatedAt: o.now, NextAt: o.now})
		return nil
	})
	return task, err
}

// EmailFailed records on the task's audit chain (the admin chain for an
// email about no task) that an email to recipient was dropped for good.
// The task itself does not change.
func (e *Engine) EmailFailed(ctx context.Context, taskID int64, recipient, what, reason string) error {
	return e.update(ctx, func(o *op) error {
		details := map[string]string{"email": recipient, "what": what, "reason": reason}
		comment := "" // Details words it from details (blocks)
		if taskID == 0 {
			return o.adminAudit(SystemActor, ActEmailFailed, "email to "+recipient+" not delivered: "+reason, details)
		}
		t, err := o.rd.Task(taskID)
		if ErrorCode(err) == ENOTFOUND {
			return o.adminAudit(SystemActor, ActEmailFailed, "email to "+recipient+" not delivered: "+reason, details)
		}
		if err != nil {
			return err
		}
		if err := o.audit(t, SystemActor, ActEmailFailed, comment, details); err != nil {
			return err
		}
		return o.touch(t)
	})
}

// SentEmail records one email the email channel sent about a task (TaskID
// 0: about none), so a retry never sends it again and later emails about
// the task thread under it. Purpose names what it said ("assigned:2",
// "outcome:denied", "reminder:41").
type SentEmail struct {
	TaskID    int64     `db:"task_id"`
	Recipient string    `db:"recipient"`
	Purpose   string    `db:"purpose"`
	MessageID string    `db:"message_id"`
	SentAt    time.Time `db:"-"`
}
