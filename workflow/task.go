package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what a task does.
type Kind string

const (
	KindGrant  Kind = "grant"  // from a request: review steps, then provisioning
	KindRevoke Kind = "revoke" // from a revocation proposal or an expiry: review, then deprovisioning
)

// Status is where a task is in its life.
type Status string

const (
	// StatusOpen: a step is current and waits on its assignees. Entered from
	// Request, ProposeRevocation, expiry, Restart, HardReset, ChangePolicy and
	// ProcessNow of an errored task; left by the last step's decision, a deny,
	// a won't-do, Cancel, or an assignment that cannot be resolved.
	StatusOpen Status = "open"
	// StatusError: the current step has nobody who can act (no manager and no
	// fallback, a person missing in Slack). Admins see it; ProcessNow retries.
	StatusError Status = "error"
	// StatusDone: every step passed; a grant task made its grant active, a
	// revoke task revoked it. Final.
	StatusDone Status = "done"
	// StatusDenied: a reviewer denied; later steps never run. A revocation
	// that is denied leaves the access in place. Restart reopens it.
	StatusDenied Status = "denied"
	// StatusNotProvisioned: a provisioner said they won't provision.
	StatusNotProvisioned Status = "not_provisioned"
	// StatusNotDeprovisioned: a deprovisioner said they won't deprovision.
	StatusNotDeprovisioned Status = "not_deprovisioned"
	// StatusCanceled: an admin (or the requester) canceled the task.
	StatusCanceled Status = "canceled"
)

// Statuses lists every status with the actions that move a task into it.
func Statuses() map[Status]string {
	return map[Status]string{
		StatusOpen:             "Request, ProposeRevocation, ExpireGrants, Restart, HardReset, ChangePolicy, ProcessNow",
		StatusError:            "assignment with nobody to act (engine), MarkError (delivery)",
		StatusDone:             "last step approved/provisioned/confirmed/deprovisioned, SkipStep of the last step",
		StatusDenied:           "Deny",
		StatusNotProvisioned:   "WontProvision",
		StatusNotDeprovisioned: "WontDeprovision",
		StatusCanceled:         "Cancel",
	}
}

// Closed reports whether the task waits on nobody.
func (s Status) Closed() bool { return s != StatusOpen && s != StatusError }

// StepStatus is where one step of a task is.
type StepStatus string

const (
	StepWaiting  StepStatus = "waiting"  // not reached yet
	StepActive   StepStatus = "active"   // the current step
	StepApproved StepStatus = "approved" // review passed (approved or confirmed)
	StepDenied   StepStatus = "denied"
	StepDone     StepStatus = "done"     // provisioned / deprovisioned
	StepNotDone  StepStatus = "not_done" // won't provision / won't deprovision
	StepSkipped  StepStatus = "skipped"  // an admin skipped it
	StepCanceled StepStatus = "canceled" // the task ended while it was current
)

// Via says how a person came to be assigned.
type Via string

const (
	ViaPolicy    Via = "policy"
	ViaFallback  Via = "fallback"
	ViaDelegated Via = "delegated"
	ViaReassign  Via = "reassigned"
	ViaEscalated Via = "escalated"
)

// AssignmentState is what an assignee did.
type AssignmentState string

const (
	AssignPending  AssignmentState = "pending"
	AssignApproved AssignmentState = "approved"
	AssignDenied   AssignmentState = "denied"
	AssignDone     AssignmentState = "done"
	AssignNotDone  AssignmentState = "not_done"
	AssignReplaced AssignmentState = "replaced" // reassigned to someone else
	AssignReleased AssignmentState = "released" // the step ended without them
)

// Assignment is a person who must act on a step.
type Assignment struct {
	Email     string          `json:"email"`
	Via       Via             `json:"via"`
	From      string          `json:"from,omitempty"` // delegated or reassigned from
	Reason    string          `json:"reason,omitempty"`
	State     AssignmentState `json:"state"`
	DecidedAt time.Time       `json:"decided_at,omitzero"`
	// Duration is the access duration an approval of a grant review was
	// given for (0 before it was recorded); EditDuration raises no
	// duration past it.
	Duration time.Duration `json:"duration,omitempty"`
	// RemindedAt is when the reminder sweep last reminded this assignee.
	RemindedAt time.Time `json:"reminded_at,omitzero"`
}

// StepRun is one step of a task as it ran.
type StepRun struct {
	Status    StepStatus   `json:"status"`
	StartedAt time.Time    `json:"started_at,omitzero"`
	EndedAt   time.Time    `json:"ended_at,omitzero"`
	Assignees []Assignment `json:"assignees,omitempty"`
	DecidedBy string       `json:"decided_by,omitempty"`
	Comment   string       `json:"comment,omitempty"`
	// ApprovedFrom and ApprovedTo bound the revisions that approvals in a
	// step of mode all moved the task through, one each, so cards show who
	// approved: a card drawn from ApprovedFrom on decides the same thing
	// while the task is at ApprovedTo (checkActor). Zero when none.
	ApprovedFrom int64 `json:"approved_from,omitempty"`
	ApprovedTo   int64 `json:"approved_to,omitempty"`
	// Connector is the connector's part in a provision or deprovision step
	// of an app provisioned automatically.
	Connector *ConnectorRun `json:"connector,omitempty"`
}

// Task is one run of a policy.
type Task struct {
	ID   int64
	Kind Kind
	// Status is where the task is; see the Status constants.
	Status Status
	// Revision changes whenever what a card shows as actionable changes (the
	// current step, the duration, the assignees, the status). Cards carry it;
	// a decision made on an older revision is stale.
	Revision int64
	// Version is the storage lock version, bumped on every save.
	Version int64
	// RemindRev is the storage lock version of the reminder times recorded
	// apart from the task (BulkTx.SaveReminders), 0 when there are none.
	RemindRev int64

	Requester     string // who asked (grant) or proposed (revoke); "accessbot" for expiry
	Subject       string // whose access
	AppID         string
	ResourceID    string
	Duration      time.Duration // grant tasks: requested/approved duration, or Permanent
	Justification string
	Emergency     bool
	Extension     bool   // a request to extend an active grant
	Origin        string // request, proposal, expiry
	GrantID       int64  // revoke tasks: the grant; grant tasks: the grant made

	Policy      Policy
	Step        int // index of the current (or last reached) step
	Steps       []StepRun
	ErrorReason string
	Last        LastAction
	RemindedAt  time.Time
	EscalatedAt time.Time
	AuditHead   string // hash of the task's newest audit event

	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
}

// Origins of tasks.
const (
	OriginRequest  = "request"
	OriginProposal = "proposal"
	OriginExpiry   = "expiry"
)

// SystemActor is the actor of what the engine does by itself.
const SystemActor = "accessbot"

// Number is the task's number as people see it: T-12.
func (t *Task) Number() string { return "T-" + strconv.FormatInt(t.ID, 10) }

// ParseNumber reads "T-12" (or "t-12", "12") into 12.
func ParseNumber(s string) (int64, error) {
	s = strings.TrimSpace(s)
	digits := s
	if len(s) > 2 && (s[0] == 'T' || s[0] == 't') && s[1] == '-' {
		digits = s[2:]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 {
		return 0, FieldError("task", "%q is not a task number: write it as T-12", s)
	}
	return n, nil
}

// Current returns the current step's definition and run, or false when the
// task is closed.
func (t *Task) Current() (*Step, *StepRun, bool) {
	run, ok := t.currentRun()
	if !ok {
		return nil, nil, false
	}
	return &t.Policy.Steps[t.Step], run, true
}

// currentRun is Current without the step's definition, so it also serves
// tasks read Lean.
func (t *Task) currentRun() (*StepRun, bool) {
	if t.Status.Closed() || t.Step < 0 || t.Step >= len(t.Steps) {
		return nil, false
	}
	return &t.Steps[t.Step], true
}

// PendingAssignees returns the emails that must still act on the current step.
func (t *Task) PendingAssignees() []string {
	_, run, ok := t.Current()
	if !ok || t.Status != StatusOpen {
		return nil
	}
	var out []string
	for _, a := range run.Assignees {
		if a.State == AssignPending {
			out = append(out, a.Email)
		}
	}
	return out
}

// pending returns the actor's pending assignment on the current step; it
// also serves tasks read Lean.
func (t *Task) pending(actor string) *Assignment {
	run, ok := t.currentRun()
	if !ok {
		return nil
	}
	for i := range run.Assignees {
		a := &run.Assignees[i]
		if a.State == AssignPending && strings.EqualFold(a.Email, actor) {
			return a
		}
	}
	return nil
}

// barred reports whether email may never act on step of t: the subject of a
// task (whose access it grants or removes) never acts on any of its steps,
// and its requester never reviews it nor provisions their own access.
func (t *Task) barred(email string, step *Step) bool {
	email = normEmail(email)
	switch {
	case email == "" || email == SystemActor:
		return false
	case email == normEmail(t.Subject):
		return true
	}
	return email == normEmail(t.Requester) && (step.Type == StepReview || t.Kind == KindGrant)
}

// barredWhy says why email may not act on t, for refusals; barred must hold.
func (t *Task) barredWhy(email string) string {
	if normEmail(email) == normEmail(t.Subject) && t.Kind == KindRevoke {
		return fmt.Sprintf("%s is about %s's own access, so they cannot act on it", t.Number(), normEmail(email))
	}
	return fmt.Sprintf("%s asked for %s, so they cannot act on it", normEmail(email), t.Number())
}

// onStep reports whether email is pending on run or has decided on it:
// someone who cannot be assigned to it again, so that a step in all mode
// has as many distinct people as it has assignees.
func onStep(run *StepRun, email string) bool {
	for _, a := range run.Assignees {
		if a.Email == email && a.State != AssignReplaced && a.State != AssignReleased {
			return true
		}
	}
	return false
}

// Involves reports whether email has a part in the task: requester, subject
// or anyone ever assigned.
func (t *Task) Involves(email string) bool {
	if strings.EqualFold(t.Requester, email) || strings.EqualFold(t.Subject, email) {
		return true
	}
	for _, r := range t.Steps {
		for _, a := range r.Assignees {
			if strings.EqualFold(a.Email, email) || strings.EqualFold(a.From, email) {
				return true
			}
		}
	}
	return false
}

// People returns everyone involved in the task, for indexes and lists.
func (t *Task) People() []string {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		if e != "" && e != SystemActor && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	add(t.Requester)
	add(t.Subject)
	for _, r := range t.Steps {
		for _, a := range r.Assignees {
			add(a.Email)
		}
	}
	return out
}

// Describe is a one-line label for logs and messages: "T-12 grant github/admin".
func (t *Task) Describe() string {
	res := t.AppID
	if t.ResourceID != "" {
		res += "/" + t.ResourceID
	}
	return fmt.Sprintf("%s %s %s for %s", t.Number(), t.Kind, res, t.Subject)
}

// TaskCount is how many tasks have one kind and status (for metrics).
type TaskCount struct {
	Kind   Kind   `db:"kind"`
	Status Status `db:"status"`
	N      int    `db:"n"`
}
