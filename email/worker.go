package email

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"accessbot/workflow"
)

// Outbox is what the worker needs from storage (store.DB implements it).
type Outbox interface {
	ClaimEmails(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]workflow.Notice, error)
	EmailDone(ctx context.Context, id int64, owner string, now time.Time) error
	EmailDropped(ctx context.Context, id int64, owner string, now time.Time, errText string) error
	EmailRetry(ctx context.Context, id int64, owner string, next time.Time, errText string) error
	SentEmails(ctx context.Context, taskID int64, recipient string) ([]workflow.SentEmail, error)
	RecordEmailSent(ctx context.Context, e workflow.SentEmail) error
}

// Sender sends one email (SMTP implements it).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Engine is what the worker asks of the workflow engine.
type Engine interface {
	Task(ctx context.Context, id int64) (*workflow.Task, error)
	Catalog() *workflow.Catalog
	Now() time.Time
	EmailFailed(ctx context.Context, taskID int64, recipient, what, reason string) error
}

// Worker delivers the email outbox: it claims rows with a lease, renders
// each row's emails when it delivers them, sends them, and records each
// email sent before it finishes the row, so a retry sends only what did
// not go out. A temporary failure (4xx, connection) is retried with
// backoff; a permanent one (5xx, bad address) drops that email with an
// audit note on the task, which is not affected.
//
// A crash after an email was sent but before it was recorded sends that
// email once more when the lease ends, with the same Message-ID (at most
// once more); a crash before it was sent sends it once.
type Worker struct {
	Outbox Outbox
	Sender Sender
	Engine Engine
	Log    zerolog.Logger
	Link   Link
	Domain string // of the From address, for Message-IDs
	Owner  string // this worker's lease name (host and pid)
	// Limiter paces sending (nil: no pacing).
	Limiter *rate.Limiter
	// Poll is how often it looks for due rows (default 2s).
	Poll time.Duration
	// Lease is how long a claimed row is reserved (default 5m).
	Lease time.Duration
	// RetryBase and RetryMax bound the backoff (defaults 30s, 1h).
	RetryBase, RetryMax time.Duration
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && w.DeliverDue(ctx) > 0 {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverDue delivers one batch of due rows and returns how many it finished.
func (w *Worker) DeliverDue(ctx context.Context) int {
	lease := w.Lease
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	rows, err := w.Outbox.ClaimEmails(ctx, w.Owner, w.Engine.Now(), lease, 20)
	if err != nil {
		w.Log.Error().Err(err).Msg("read email outbox")
		return 0
	}
	done := 0
	for _, n := range rows {
		if ctx.Err() != nil {
			return done
		}
		if w.deliverRow(ctx, n) {
			done++
		}
	}
	return done
}

func (w *Worker) deliverRow(ctx context.Context, n workflow.Notice) bool {
	log := w.Log.With().Int64("email_row", n.ID).Str("kind", string(n.Kind())).Int64("task", n.TaskID).Logger()
	err := w.deliver(ctx, log, n)
	// The bookkeeping outlives a shutdown that interrupted the delivery, so
	// the row is handed back at once rather than after its lease.
	ctx = context.WithoutCancel(ctx)
	now := w.Engine.Now()
	if err == nil {
		if err := w.Outbox.EmailDone(ctx, n.ID, w.Owner, now); err != nil {
			log.Error().Err(err).Msg("finish email row")
			return false
		}
		return true
	}
	next := w.backoff(n.Attempts)
	log.Warn().Err(err).Int("attempts", n.Attempts+1).Dur("retry_in", next).Msg("email delivery failed; will retry")
	if err := w.Outbox.EmailRetry(ctx, n.ID, w.Owner, now.Add(next), workflow.Truncate(err.Error(), 500)); err != nil {
		log.Error().Err(err).Msg("reschedule email row")
	}
	return false
}

func (w *Worker) backoff(attempts int) time.Duration {
	d, top := w.RetryBase, w.RetryMax
	if d <= 0 {
		d = 30 * time.Second
	}
	if top <= 0 {
		top = time.Hour
	}
	for i := 0; i < attempts && d < top; i++ {
		d *= 2
	}
	return min(d, top)
}

// one is one email a row asks for.
type one struct {
	to      string
	purpose string // unique per task and recipient: "assigned:1", "outcome:denied"
	in      Input
	taskID  int64 // 0: about no task
}

// deliver works out the row's emails now (from the task as it is) and
// sends each that has not gone out yet.
func (w *Worker) deliver(ctx context.Context, log zerolog.Logger, n workflow.Notice) error {
	emails, err := w.plan(ctx, n)
	if err != nil {
		return err
	}
	for _, e := range emails {
		if err := w.send(ctx, log, n, e); err != nil {
			return err
		}
	}
	return nil
}

// wants reports whether to email person about task: their channel
// includes email, or they were emailed this task's assignment because
// Slack could not reach them.
func (w *Worker) wants(ctx context.Context, person string, taskID int64) (bool, error) {
	if person == "" || person == workflow.SystemActor {
		return false, nil
	}
	if w.Engine.Catalog().NotifyOf(person).Email() {
		return true, nil
	}
	if taskID == 0 {
		return false, nil
	}
	sent, err := w.Outbox.SentEmails(ctx, taskID, person)
	if err != nil {
		return false, err
	}
	for _, s := range sent {
		if s.Purpose == purposeFallback || strings.HasPrefix(s.Purpose, "assigned:") {
			return true, nil
		}
	}
	return false, nil
}

// grantID is a grant's id in a purpose ("" for none).
func grantID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// purposeFallback marks, in the sent log, a person Slack could not reach
// about a task: the task's later emails go to them whatever their channel.
const purposeFallback = "fallback"

func (w *Worker) plan(ctx context.Context, n workflow.Notice) ([]one, error) {
	cat := w.Engine.Catalog()
	link := w.Link
	row := strconv.FormatInt(n.ID, 10)
	switch p := n.Payload.(type) {
	case workflow.TaskChanged:
		if p.Fallback && n.Recipient != "" {
			err := w.Outbox.RecordEmailSent(ctx, workflow.SentEmail{TaskID: n.TaskID, Recipient: n.Recipient, Purpose: purposeFallback, SentAt: w.Engine.Now()})
			if err != nil {
				return nil, err
			}
		}
		return w.planTask(ctx, n, p)
	case workflow.ReminderDigest:
		if ok, err := w.wants(ctx, n.Recipient, 0); err != nil || !ok {
			return nil, err
		}
		var tasks []*workflow.Task
		for _, id := range p.Tasks {
			t, err := w.Engine.Task(ctx, id)
			if workflow.ErrorCode(err) == workflow.ENOTFOUND {
				continue
			}
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
		if len(tasks) == 0 {
			return nil, nil
		}
		return []one{{to: n.Recipient, purpose: "digest:" + row, in: Input{Kind: KindDigest, Recipient: n.Recipient, Tasks: tasks, Text: n.Text, Link: link}}}, nil
	case workflow.TaskReminder:
		t, err := w.Engine.Task(ctx, n.TaskID)
		if workflow.ErrorCode(err) == workflow.ENOTFOUND {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		ent, _ := cat.Entitlement(t.AppID, t.ResourceID)
		var out []one
		for _, r := range n.Recipients {
			ok, err := w.wants(ctx, r, t.ID)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, one{to: r, purpose: "reminder:" + row, taskID: t.ID, in: Input{Kind: KindReminder, Recipient: r, Task: t, Ent: ent, Link: link}})
			}
		}
		return out, nil
	case workflow.ExpiryWarning:
		if ok, err := w.wants(ctx, n.Recipient, 0); err != nil || !ok {
			return nil, err
		}
		return []one{{to: n.Recipient, purpose: "warning:" + grantID(p.Grant) + ":" + row, in: Input{Kind: KindWarning, Recipient: n.Recipient, Text: n.Text, Link: link}}}, nil
	case workflow.DirectMessage:
		if n.Recipient == "" || n.Text == "" {
			return nil, nil
		}
		if p.Event == "revoked" {
			// The revocation task's own outcome email tells the holder,
			// threaded with the task (planTask).
			return nil, nil
		}
		if ok, err := w.wants(ctx, n.Recipient, 0); err != nil || !ok {
			return nil, err
		}
		topic := p.Topic
		if p.Event == "expired" {
			topic = OutcomeExpired
		}
		return []one{{to: n.Recipient, purpose: "direct:" + row, in: Input{Kind: KindDirect, Recipient: n.Recipient, Text: n.Text, Topic: topic, Link: link}}}, nil
	}
	return nil, nil
}

// planTask: the assignees of the current step who have not had its email,
// and the requester's (or, for a revocation, the holder's) outcome.
func (w *Worker) planTask(ctx context.Context, n workflow.Notice, p workflow.TaskChanged) ([]one, error) {
	t, err := w.Engine.Task(ctx, n.TaskID)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ent, _ := w.Engine.Catalog().Entitlement(t.AppID, t.ResourceID)
	var out []one
	if _, run, ok := t.Current(); ok && t.Status == workflow.StatusOpen {
		for _, a := range run.Assignees {
			if a.State != workflow.AssignPending {
				continue
			}
			fallback := p.Fallback && strings.EqualFold(a.Email, n.Recipient)
			if !fallback {
				if n.Recipient != "" {
					continue // a fallback row is about its recipient only
				}
				if !w.Engine.Catalog().NotifyOf(a.Email).Email() {
					continue
				}
			}
			in := Input{Kind: KindAssigned, Recipient: a.Email, Task: t, Ent: ent, Link: w.Link}
			switch a.Via {
			case workflow.ViaReassign:
				in.Kind, in.From, in.Reason = KindReassigned, a.From, a.Reason
			case workflow.ViaDelegated:
				in.From = a.From
			}
			// The step's start is in the purpose: a restarted task assigns again.
			purpose := "assigned:" + strconv.Itoa(t.Step) + ":" + strconv.FormatInt(run.StartedAt.UnixMicro(), 10)
			out = append(out, one{to: a.Email, purpose: purpose, taskID: t.ID, in: in})
		}
	}
	if who, outcome := outcomeOf(t); outcome != "" && (n.Recipient == "" || strings.EqualFold(who, n.Recipient)) {
		ok, err := w.wants(ctx, who, t.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			// When it happened is in the purpose: a restarted task that
			// ends the same way again tells again.
			at := t.ClosedAt
			if !t.Status.Closed() && t.Step < len(t.Steps) {
				at = t.Steps[t.Step].StartedAt
			}
			purpose := "outcome:" + outcome + ":" + strconv.FormatInt(at.UnixMicro(), 10)
			out = append(out, one{to: who, purpose: purpose, taskID: t.ID,
				in: Input{Kind: KindOutcome, Recipient: who, Task: t, Ent: ent, Outcome: outcome, Link: w.Link}})
		}
	}
	return out, nil
}

// outcomeOf is whom a task's outcome concerns and what it is ("" : none yet).
func outcomeOf(t *workflow.Task) (string, string) {
	if t.Kind == workflow.KindRevoke {
		if t.Status == workflow.StatusDone && t.Origin != workflow.OriginExpiry {
			return t.Subject, OutcomeRevoked
		}
		return "", ""
	}
	who := t.Requester
	switch t.Status {
	case workflow.StatusDenied:
		return who, OutcomeDenied
	case workflow.StatusNotProvisioned:
		return who, OutcomeNotProvisioned
	case workflow.StatusCanceled:
		return who, OutcomeCanceled
	case workflow.StatusDone:
		for _, s := range t.Steps {
			if s.Status == workflow.StepDone {
				return who, OutcomeProvisioned
			}
		}
		return who, OutcomeApproved
	case workflow.StatusOpen:
		if t.Step < len(t.Policy.Steps) && t.Policy.Steps[t.Step].Type == workflow.StepProvision {
			return who, OutcomeApproved
		}
	}
	return "", ""
}

// send renders e and sends it unless it went out already. A permanent
// failure is dropped with an audit note and does not fail the row.
func (w *Worker) send(ctx context.Context, log zerolog.Logger, n workflow.Notice, e one) error {
	sent, err := w.Outbox.SentEmails(ctx, e.taskID, e.to)
	if err != nil {
		return err
	}
	var refs []string
	for _, s := range sent {
		if s.Purpose == e.purpose {
			return nil // went out before a crash or a retry
		}
		if e.taskID != 0 && s.MessageID != "" {
			refs = append(refs, s.MessageID)
		}
	}
	r := Render(e.in)
	m := Message{To: e.to, Rendered: r, MessageID: MessageID(e.taskID, n.ID, e.to, e.purpose, w.Domain), References: refs, Date: w.Engine.Now()}
	if len(refs) > 0 {
		m.InReplyTo = refs[len(refs)-1]
	}
	if w.Limiter != nil {
		if err := w.Limiter.Wait(ctx); err != nil {
			return err
		}
	}
	err = w.Sender.Send(ctx, m)
	var pe *PermanentError
	if errors.As(err, &pe) {
		log.Warn().Err(err).Str("purpose", e.purpose).Msg("email dropped: permanent failure")
		if err := w.Engine.EmailFailed(ctx, e.taskID, e.to, string(e.in.Kind), workflow.Truncate(pe.Error(), 300)); err != nil {
			return fmt.Errorf("record the dropped email: %w", err)
		}
		// Recorded as handled, so a retry of the row does not try it again.
		return w.Outbox.RecordEmailSent(ctx, workflow.SentEmail{TaskID: e.taskID, Recipient: e.to, Purpose: e.purpose, MessageID: "", SentAt: w.Engine.Now()})
	}
	if err != nil {
		return err
	}
	log.Info().Str("purpose", e.purpose).Str("message_id", m.MessageID).Msg("email sent")
	// Recorded even if ctx ended meanwhile: the server has it.
	return w.Outbox.RecordEmailSent(context.WithoutCancel(ctx), workflow.SentEmail{TaskID: e.taskID, Recipient: e.to, Purpose: e.purpose, MessageID: m.MessageID, SentAt: w.Engine.Now()})
}
