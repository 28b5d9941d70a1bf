package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Connector grants and removes access in a governed system (GitHub, a
// script, a webhook). The engine owns this contract; package connectors
// implements it. Both calls must be idempotent for one IdempotencyKey: the
// same request may come again after a crash or a lost answer.
//
// An error that is a *ConnectorError says whether to retry; any other
// error counts as transient (retried with backoff).
type Connector interface {
	Grant(ctx context.Context, r ConnectorRequest) (ConnectorResult, error)
	Revoke(ctx context.Context, r ConnectorRequest) (ConnectorResult, error)
}

// Checker is what a connector that can read the target system adds:
// whether the subject holds the access there now.
type Checker interface {
	Check(ctx context.Context, r ConnectorRequest) (present bool, err error)
}

// JobAction is what a connector job asks of its connector.
type JobAction string

const (
	JobGrant  JobAction = "grant"
	JobRevoke JobAction = "revoke"
)

// ConnectorRequest is what a connector is asked to do, as it is sent to
// exec's stdin and webhook's body.
type ConnectorRequest struct {
	Action         JobAction        `json:"action"`
	IdempotencyKey string           `json:"idempotency_key"`
	Task           string           `json:"task"`
	App            string           `json:"app"`
	Resource       string           `json:"resource,omitempty"`
	Subject        ConnectorSubject `json:"subject"`
	Approvers      []string         `json:"approvers"`
	// ExpiresAt is when the access ends (RFC 3339; "" when permanent).
	ExpiresAt string `json:"expires_at,omitempty"`
	Attempt   int    `json:"attempt"`
}

// ConnectorSubject is whose access it is: their email and their account in
// the governed system (from the configuration's people[].accounts).
type ConnectorSubject struct {
	Email   string `json:"email"`
	Account string `json:"account,omitempty"`
}

// ConnectorResult is what a connector that succeeded said; Message is shown
// on the task's cards.
type ConnectorResult struct {
	Message string
}

// ConnectorError is a connector's failure with what to do about it.
type ConnectorError struct {
	// Retry: a transient failure (timeout, 5xx, EX_TEMPFAIL); the job is
	// tried again after a backoff, or after RetryAfter when the target
	// said so.
	Retry      bool
	RetryAfter time.Duration
	Message    string
}

func (e *ConnectorError) Error() string { return e.Message }

// TransientFailure returns a failure that is retried later.
func TransientFailure(after time.Duration, format string, args ...any) error {
	return &ConnectorError{Retry: true, RetryAfter: after, Message: fmt.Sprintf(format, args...)}
}

// PermanentFailure returns a failure that hands the step to people.
func PermanentFailure(format string, args ...any) error {
	return &ConnectorError{Message: fmt.Sprintf(format, args...)}
}

// ConnectorSpec is a connector the configuration defines.
type ConnectorSpec struct {
	Name string
	Type string // exec, webhook, github
	// Options are the type's settings as the configuration read them; the
	// command that wires accessbot builds the connector from them.
	Options any
}

// ConnectorState is where a connector step is.
type ConnectorState string

const (
	// ConnectorPending: a job waits to run or runs (startStep, RetryConnector,
	// a transient failure); left by FinishJob.
	ConnectorPending ConnectorState = "pending"
	// ConnectorDone: the connector did it; the step is done. Final.
	ConnectorDone ConnectorState = "done"
	// ConnectorFailed: it failed for good or ran out of retries; the step
	// waits on the provisioners (or deprovisioners), whose card has Retry.
	ConnectorFailed ConnectorState = "failed"
)

// ConnectorRun is the connector's part in a step run, shown on cards and in
// Details.
type ConnectorRun struct {
	Name   string         `json:"name"`
	System string         `json:"system"` // the app's name when the step started: "GitHub"
	Key    string         `json:"key"`    // the idempotency key, the same on every retry
	Job    int64          `json:"job"`    // the job doing the step now
	State  ConnectorState `json:"state"`
	// Attempts is how many calls the current job made.
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Message   string    `json:"message,omitempty"`
	At        time.Time `json:"at,omitzero"` // when it ended (done or failed)
}

// JobState is where a connector job row is.
type JobState string

const (
	// JobPending: written with the decision that needs it (a connector step
	// started, Retry) or put back by a transient failure with a later
	// NextAt; a runner claims it with a lease, and only the lease holder
	// moves it on.
	JobPending JobState = "pending"
	// JobDone: the connector succeeded. Final.
	JobDone JobState = "done"
	// JobFailed: failed for good or out of retries; people took over. Final.
	JobFailed JobState = "failed"
	// JobCanceled: the task moved on before the job ran (canceled, skipped,
	// restarted, deleted). Final.
	JobCanceled JobState = "canceled"
)

// ConnectorJob is one durable call (with its retries) of a connector.
type ConnectorJob struct {
	ID        int64
	TaskID    int64
	Step      int
	Action    JobAction
	Connector string
	Key       string
	State     JobState
	// Attempts counts the claims: a call that a crash cut short counts too.
	Attempts   int
	NextAt     time.Time
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// JobTx is what the engine writes of connector jobs inside a transaction.
type JobTx interface {
	// EnqueueJob writes j (pending, due at j.NextAt) and sets j.ID.
	EnqueueJob(j *ConnectorJob) error
	// SaveJob writes j's State, NextAt and LastError if j.LeaseOwner still
	// holds its lease and it is pending, and releases the lease; otherwise
	// ECONFLICT and nothing is written (the lease was lost).
	SaveJob(j *ConnectorJob) error
}

// RetryPolicy says how often and how late a transient failure is retried.
type RetryPolicy struct {
	MaxAttempts int           // calls in all; 0: DefaultRetry's
	Base        time.Duration // backoff after the first failure, doubled each time
	Cap         time.Duration // the longest wait (also for Retry-After)
}

// DefaultRetry retries five times over about five minutes.
var DefaultRetry = RetryPolicy{MaxAttempts: 6, Base: 10 * time.Second, Cap: 5 * time.Minute}

func (p RetryPolicy) orDefault() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultRetry.Base
	}
	if p.Cap <= 0 {
		p.Cap = DefaultRetry.Cap
	}
	return p
}

// Backoff is the wait before the next attempt after attempt (1-based).
func (p RetryPolicy) Backoff(attempt int, retryAfter time.Duration) time.Duration {
	p = p.orDefault()
	if retryAfter > 0 {
		return min(retryAfter, p.Cap)
	}
	d := p.Base
	for i := 1; i < attempt && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// Audit actions of connector steps.
const (
	ActConnectorQueued  = "connector_queued"  // a job was written for the step
	ActConnectorDone    = "connector_done"    // the connector did it
	ActConnectorRetry   = "connector_retry"   // an attempt failed and will be retried
	ActConnectorFailed  = "connector_failed"  // failed for good: the step went to people
	ActConnectorRetried = "connector_retried" // someone pressed Retry
	ActConnectorStale   = "connector_stale"   // the job ended after the task moved on
)

// Account returns email's account for an app (by app id, then by the
// connector's name), "" when the configuration names none.
func (c *Catalog) Account(email, appID, connector string) string {
	p := c.Person(email)
	if a := p.Accounts[strings.ToLower(appID)]; a != "" {
		return a
	}
	if connector != "" {
		return p.Accounts[connector]
	}
	return ""
}

// startConnector hands the current step to its connector: a job written in
// this transaction, run after the commit.
func (o *op) startConnector(t *Task, step *Step, run *StepRun, prev *ConnectorRun) error {
	action := JobGrant
	if step.Type == StepDeprovision {
		action = JobRevoke
	}
	cr := &ConnectorRun{Name: step.Connector, State: ConnectorPending, System: t.AppID}
	if ent, err := o.cat.Entitlement(t.AppID, t.ResourceID); err == nil {
		cr.System = ent.App.Name
	}
	if prev != nil && prev.Name == step.Connector && prev.Key != "" {
		cr.Key = prev.Key // ProcessNow of the same step: the same call
	} else {
		cr.Key = fmt.Sprintf("accessbot-%s-step%d-%s-%d", t.Number(), t.Step+1, action, o.now.UnixMicro())
	}
	run.Connector = cr
	return o.queueJob(t, cr, action, SystemActor)
}

// queueJob writes the job for the connector step cr.
func (o *op) queueJob(t *Task, cr *ConnectorRun, action JobAction, actor string) error {
	j := &ConnectorJob{TaskID: t.ID, Step: t.Step, Action: action, Connector: cr.Name, Key: cr.Key,
		State: JobPending, NextAt: o.now, CreatedAt: o.now, UpdatedAt: o.now}
	details := map[string]string{"connector": cr.Name, "action": string(action), "job": "", "key": cr.Key}
	// The job gets its id when persist writes it, before the task and the
	// event that name it.
	o.enqueueJob(j, func() { cr.Job, details["job"] = j.ID, strconv.FormatInt(j.ID, 10) })
	cr.Attempts = 0
	return o.audit(t, actor, ActConnectorQueued, "", details)
}

// jobRun returns the connector run j is for when j is still the job doing
// t's current step, else nil.
func jobRun(t *Task, j *ConnectorJob) *ConnectorRun {
	if t.Status != StatusOpen || t.Step != j.Step || j.Step < 0 || j.Step >= len(t.Steps) {
		return nil
	}
	cr := t.Steps[j.Step].Connector
	if cr == nil || cr.Job != j.ID || cr.State != ConnectorPending {
		return nil
	}
	return cr
}

// JobRequest builds the request for job j, or says (ok false) that the task
// moved on and the job must not call its connector.
func (e *Engine) JobRequest(ctx context.Context, j *ConnectorJob) (r ConnectorRequest, ok bool, err error) {
	err = e.store.View(ctx, func(tx ReadTx) error {
		t, err := tx.Task(j.TaskID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if jobRun(t, j) == nil {
			return nil
		}
		ok = true
		r = ConnectorRequest{
			Action: j.Action, IdempotencyKey: j.Key, Task: t.Number(), App: t.AppID, Resource: t.ResourceID,
			Subject:   ConnectorSubject{Email: t.Subject, Account: e.Catalog().Account(t.Subject, t.AppID, j.Connector)},
			Approvers: approversOf(t), Attempt: j.Attempts,
		}
		switch {
		case j.Action == JobGrant && t.Duration != Permanent && t.Duration > 0:
			r.ExpiresAt = e.Now().Add(t.Duration).Format(time.RFC3339)
		case j.Action == JobRevoke && t.GrantID != 0:
			if g, err := tx.Grant(t.GrantID); err == nil && !g.ExpiresAt.IsZero() {
				r.ExpiresAt = g.ExpiresAt.UTC().Format(time.RFC3339)
			}
		}
		return nil
	})
	return r, ok, err
}

// approversOf lists who approved (or confirmed) the task's reviews.
func approversOf(t *Task) []string {
	out := []string{}
	for i, run := range t.Steps {
		if i >= len(t.Policy.Steps) || t.Policy.Steps[i].Type != StepReview {
			continue
		}
		for _, a := range run.Assignees {
			if a.State == AssignApproved {
				out = append(out, a.Email)
			}
		}
	}
	return out
}

// JobOutcome is what running a job came to.
type JobOutcome struct {
	Called bool // false: the task moved on and the connector was not called
	Result ConnectorResult
	Err    error
}

// FinishJob records what a job's call came to, in one transaction guarded
// by the job's lease (ECONFLICT when the lease was lost: another runner has
// the job, and this outcome is dropped): done ends the step and moves the
// task on (a grant's expiry starts now); a transient failure puts the job
// back with a backoff; a permanent one, or the last retry, hands the step to
// the app's provisioners (or deprovisioners), whose card offers Retry.
func (e *Engine) FinishJob(ctx context.Context, j *ConnectorJob, out JobOutcome, retry RetryPolicy) (*Task, error) {
	retry = retry.orDefault()
	var task *Task
	err := e.update(ctx, func(o *op) error {
		j.UpdatedAt = o.now
		t, err := o.load(j.TaskID)
		if ErrorCode(err) == ENOTFOUND {
			j.State, j.LastError = JobCanceled, "the task was deleted"
			o.saveJob(j)
			return nil
		}
		if err != nil {
			return err
		}
		task = t
		return o.finishJob(t, j, out, retry)
	})
	if err != nil {
		return nil, err
	}
	return task, nil
}

// finishJob decides what a job's outcome does to its task t.
func (o *op) finishJob(t *Task, j *ConnectorJob, out JobOutcome, retry RetryPolicy) error {
	cr := jobRun(t, j)
	if cr == nil {
		j.State, j.LastError = JobCanceled, "the task moved on"
		o.saveJob(j)
		if !out.Called {
			return nil
		}
		// The call ran while the task moved on: say what it did.
		details := map[string]string{"connector": j.Connector, "action": string(j.Action), "job": strconv.FormatInt(j.ID, 10), "outcome": "done"}
		if out.Err != nil {
			details["outcome"], details["error"] = "failed", out.Err.Error()
		}
		if err := o.audit(t, SystemActor, ActConnectorStale, "", details); err != nil {
			return err
		}
		return o.touch(t)
	}
	if !out.Called {
		// The runner saw the task moved on, but it is the job's again
		// (nothing should do that): run it once more rather than
		// count a call that was not made.
		j.State, j.NextAt = JobPending, o.now
		o.saveJob(j)
		return nil
	}
	step, run := &t.Policy.Steps[t.Step], &t.Steps[t.Step]
	cr.Attempts = j.Attempts
	details := map[string]string{"connector": j.Connector, "action": string(j.Action), "attempt": strconv.Itoa(j.Attempts), "job": strconv.FormatInt(j.ID, 10)}
	if out.Err == nil {
		j.State, j.LastError = JobDone, ""
		o.saveJob(j)
		cr.State, cr.Message, cr.At = ConnectorDone, out.Result.Message, o.now
		if out.Result.Message != "" {
			details["message"] = out.Result.Message
		}
		if err := o.audit(t, SystemActor, ActConnectorDone, "", details); err != nil {
			return err
		}
		o.closeStep(run, SystemActor, "", StepDone)
		if err := o.advance(t); err != nil {
			return err
		}
		return o.save(t)
	}
	msg := connectorMessage(out.Err)
	details["error"] = msg
	var ce *ConnectorError
	transient := !errors.As(out.Err, &ce) || ce.Retry
	if transient && j.Attempts < retry.MaxAttempts {
		after := time.Duration(0)
		if ce != nil {
			after = ce.RetryAfter
		}
		j.State, j.LastError, j.NextAt = JobPending, msg, o.now.Add(retry.Backoff(j.Attempts, after))
		o.saveJob(j)
		cr.LastError = msg
		details["next_at"] = j.NextAt.Format(time.RFC3339)
		if err := o.audit(t, SystemActor, ActConnectorRetry, "", details); err != nil {
			return err
		}
		return o.save(t)
	}
	j.State, j.LastError = JobFailed, msg
	o.saveJob(j)
	cr.State, cr.LastError, cr.At = ConnectorFailed, msg, o.now
	details["permanent"] = strconv.FormatBool(!transient)
	if err := o.audit(t, SystemActor, ActConnectorFailed, "", details); err != nil {
		return err
	}
	if _, err := o.assignStep(t, step, run); err != nil {
		return err
	}
	return o.move(t)
}

// connectorMessage is a failure as the card shows it, bounded.
func connectorMessage(err error) string {
	s := strings.TrimSpace(err.Error())
	if s == "" {
		s = "the connector failed without saying why"
	}
	return Truncate(s, 500)
}

// RetryConnector hands a step its connector failed on back to the
// connector: a pending provisioner (or deprovisioner) of the step, or an
// admin, asks for it. The people assigned are released while it runs, and
// get the step back if it fails again.
func (e *Engine) RetryConnector(ctx context.Context, d Decision) (*Task, error) {
	d.Actor = normEmail(d.Actor)
	task, err := e.updateTask(ctx, d.TaskID, func(o *op, t *Task) error { return o.retryConnector(t, d) })
	if err != nil {
		return nil, err
	}
	return task, nil
}

// retryConnector hands t's failed connector step back to its connector.
func (o *op) retryConnector(t *Task, d Decision) error {
	if _, err := checkActor(t, d.Actor, d.Revision); err != nil && !(o.cat.IsAdmin(d.Actor) && !t.Status.Closed()) {
		return err
	}
	step, run, ok := t.Current()
	if !ok || step.Connector == "" || run.Connector == nil || run.Connector.State != ConnectorFailed {
		return Errorf(EINVALID, "%s has no connector step that failed, so there is nothing to retry.", t.Number())
	}
	for i := range run.Assignees {
		if run.Assignees[i].State == AssignPending {
			run.Assignees[i].State = AssignReleased
		}
	}
	cr := run.Connector
	cr.State, cr.At, cr.Message = ConnectorPending, timeZero, ""
	t.Status, t.ErrorReason = StatusOpen, ""
	action := JobGrant
	if step.Type == StepDeprovision {
		action = JobRevoke
	}
	if err := o.audit(t, d.Actor, ActConnectorRetried, "", map[string]string{"connector": cr.Name, "error": cr.LastError}); err != nil {
		return err
	}
	if err := o.queueJob(t, cr, action, d.Actor); err != nil {
		return err
	}
	return o.move(t)
}

// ConnectorGrant is an access a connector should see in its system, for
// `accessbot connectors check`.
type ConnectorGrant struct {
	Grant   *Grant
	Request ConnectorRequest
	// Want: the access should be there (an active grant) or gone (ended).
	Want bool
}

// ConnectorGrants lists, for the connector named, every active grant of an
// app or resource it provisions (want present) and every ended one whose
// subject holds no active grant of it (want absent).
func (e *Engine) ConnectorGrants(ctx context.Context, connector string) ([]ConnectorGrant, error) {
	cat := e.Catalog()
	var out []ConnectorGrant
	err := e.store.View(ctx, func(tx ReadTx) error {
		for _, st := range []GrantStatus{GrantActive, GrantExpired, GrantRevoked} {
			gs, err := tx.FindGrants(GrantQuery{Status: st})
			if err != nil {
				return err
			}
			for _, g := range gs {
				ent, err := cat.Entitlement(g.AppID, g.ResourceID)
				if err != nil || ent.Provisioning != ProvisioningAutomatic || ent.Connector != connector {
					continue
				}
				want := st == GrantActive
				action := JobGrant
				if !want {
					action = JobRevoke
				}
				out = append(out, ConnectorGrant{Grant: g, Want: want, Request: ConnectorRequest{
					Action: action, App: g.AppID, Resource: g.ResourceID, Task: "T-" + strconv.FormatInt(g.TaskID, 10),
					Subject:   ConnectorSubject{Email: g.Subject, Account: cat.Account(g.Subject, g.AppID, connector)},
					Approvers: []string{},
				}})
			}
		}
		return nil
	})
	// An ended grant listed before an active one of the same access is
	// dropped: only the active one counts.
	seen := map[string]bool{}
	var res []ConnectorGrant
	for _, cg := range out {
		key := cg.Grant.Subject + "\x00" + cg.Grant.AppID + "\x00" + cg.Grant.ResourceID
		if cg.Want {
			res = append(res, cg)
			seen[key] = true
			continue
		}
		if !seen[key] {
			seen[key] = true
			res = append(res, cg)
		}
	}
	return res, err
}
