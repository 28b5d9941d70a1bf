package workflow

import (
	"context"
	"time"
)

// Store is what the engine needs from storage. Update runs fn in one write
// transaction that is serialised with every other write (a failed fn or
// commit changes nothing); View runs fn on a consistent read snapshot.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(ReadTx) error) error
}

// ReadTx reads inside a transaction. Lookups of one row return an *Error
// with ENOTFOUND when there is none.
type ReadTx interface {
	Task(id int64) (*Task, error)
	FindTasks(q TaskQuery) ([]*Task, error)
	CountTasks(q TaskQuery) (int, error)
	Grant(id int64) (*Grant, error)
	FindGrants(q GrantQuery) ([]*Grant, error)
	Delegation(email string) (*Delegation, error)
	FindDelegations(q DelegationQuery) ([]*Delegation, error)
	// AuditEvents returns a task's events (0: the admin chain) in order.
	AuditEvents(taskID int64) ([]AuditEvent, error)
	// WalkAudit calls fn for every event ordered by (TaskID, Seq), streaming.
	WalkAudit(fn func(AuditEvent) error) error
	// AuditHead returns the Seq and Hash of a chain's newest event (0, "" when empty).
	AuditHead(taskID int64) (int64, string, error)
	// TimeZones returns the chat time zone (IANA name) of each of emails
	// that the bot has looked up; people it has not are left out.
	TimeZones(emails []string) (map[string]string, error)
	// CountGrants counts the grants matching q (Limit, ByExpiry and Newest aside).
	CountGrants(q GrantQuery) (int, error)
	// ApprovedDurations returns the durations of the newest grant tasks for
	// an app or resource that ended done at or after since, newest first, at
	// most limit, leaving out those whose subject is except.
	ApprovedDurations(appID, resourceID string, since time.Time, except string, limit int) ([]time.Duration, error)
}

// Tx writes inside a transaction.
type Tx interface {
	ReadTx
	// Now is the transaction's time, taken from the engine's clock.
	Now() time.Time
	// NextTaskID hands out task numbers; a number is never handed out twice,
	// also after a delete.
	NextTaskID() (int64, error)
	CreateTask(t *Task) error
	// SaveTask writes t if the stored version is still t.Version, then bumps
	// t.Version; otherwise it returns ECONFLICT and writes nothing.
	SaveTask(t *Task) error
	// DeleteTask removes the task, its audit chain and its indexes.
	DeleteTask(id int64) error
	CreateGrant(g *Grant) error
	SaveGrant(g *Grant) error
	PutDelegation(d *Delegation) error
	DeleteDelegation(email string) error
	AppendAudit(e *AuditEvent) error
	Enqueue(n *Notice) error
	// EnqueueEmails writes ns to the email channel's outbox (apart from
	// Slack's, so each channel delivers, retries and fails on its own).
	EnqueueEmails(ns []*Notice) error
	BulkTx
	JobTx
}

// TaskQuery selects tasks; zero fields do not filter.
type TaskQuery struct {
	IDs        []int64
	Kind       Kind
	Statuses   []Status
	Subject    string
	Requester  string
	AppID      string
	ResourceID *string // nil: any resource
	GrantID    int64
	// Assignee: tasks whose current step waits on this email.
	Assignee string
	// AssigneeStep: with Assignee, only steps of this type.
	AssigneeStep StepType
	// Participant: tasks this email is involved in (requester, subject, assignee).
	Participant string
	// Actor: tasks this email decided a step of.
	Actor string
	// StepStartedBefore: open tasks whose current step started before it.
	StepStartedBefore time.Time
	// Unescalated: tasks whose current step was not escalated yet.
	Unescalated bool
	// RemindedBefore: tasks never reminded or last reminded at or before it.
	RemindedBefore time.Time
	// AfterID: tasks numbered above it, to page through a sweep. With
	// ByStepStart and a non-zero AfterStepStart, tasks after the pair
	// (AfterStepStart, AfterID) in that order.
	AfterID        int64
	AfterStepStart time.Time
	// ByStepStart orders by the current step's start, then number, so a
	// sweep with StepStartedBefore pages along the index.
	ByStepStart   bool
	Newest        bool // order newest first (default oldest first)
	Limit, Offset int
	// Lean: read only ID, Version, Status, Step, Steps and RemindedAt (the
	// rest is left zero, Policy included), for sweeps over many tasks.
	Lean bool

	// CreatedAfter and CreatedBefore: tasks created at or after, and
	// before, these times.
	CreatedAfter  time.Time
	CreatedBefore time.Time
}

// GrantQuery selects grants; zero fields do not filter.
type GrantQuery struct {
	Subject       string
	AppID         string
	ResourceID    *string
	Status        GrantStatus
	ExpiresBefore time.Time // with Status active: grants due to expire
	ExpiresAfter  time.Time // grants with an expiry after it
	Unwarned      bool      // grants whose holder was not warned yet
	ByExpiry      bool      // order by expiry (then id) rather than by id
	Limit         int

	Subjects []string // grants of any of these people
	Newest   bool     // order newest first (by id)
}

// DelegationQuery selects delegations.
type DelegationQuery struct {
	Delegate string
	// Due: delegations whose Active flag disagrees with the window at this time.
	Due time.Time
}

// BatchStore is a Store that can commit independent operations together.
// UpdateBatch runs each item's Fn in one write transaction, each isolated
// (a failed item changes nothing and gets its error; the others commit),
// and returns one error per item. The engine uses it, where the store has
// it, to group concurrent operations into one commit.
type BatchStore interface {
	Store
	UpdateBatch(ctx context.Context, items []BatchItem) []error
}

// BatchItem is one operation of a batch: its context (receipt, deadline)
// and its transaction function.
type BatchItem struct {
	Ctx context.Context
	Fn  func(Tx) error
}
