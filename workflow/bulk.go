package workflow

// ChainHead is the newest event of an audit chain.
type ChainHead struct {
	Seq  int64
	Hash string
}

// TaskStep is where a task stands: its current step and the newest event
// of its chain (zero when the chain is empty).
type TaskStep struct {
	Step int
	Head ChainHead
}

// BulkTx writes many rows in few statements, for sweeps over thousands of
// tasks and grants. Each method does what the row-at-a-time method it
// names would do for every element, in order, with the same checks.
type BulkTx interface {
	// AuditHeads returns the heads of the chains of taskIDs; chains with
	// no event are left out.
	AuditHeads(taskIDs []int64) (map[int64]ChainHead, error)
	// AppendAudits is AppendAudit for each event in order.
	AppendAudits(evs []*AuditEvent) error
	// EnqueueAll is Enqueue for each notice in order.
	EnqueueAll(ns []*Notice) error
	// SaveReminders records, for tasks whose only changes are the reminder
	// times of their current step's assignees and RemindedAt, those times,
	// without rewriting the tasks: a task read later carries them, and its
	// next SaveTask keeps them. A task is written only while its Version
	// and RemindRev are still those it was read with (its Version stays,
	// its RemindRev moves on); it returns the IDs of the others (moved on
	// or gone), which it leaves alone.
	SaveReminders(ts []*Task) (moved []int64, err error)
	// TaskSteps returns the current step and the head of the audit chain
	// of each of ids that exists, for appending an event to each.
	TaskSteps(ids []int64) (map[int64]TaskStep, error)
	// EndGrants is SaveGrant for grants whose only changes are Status,
	// EndedAt and EndTaskID.
	EndGrants(gs []*Grant) error
	// MarkGrantsWarned is SaveGrant for grants whose only change is
	// WarnedAt.
	MarkGrantsWarned(gs []*Grant) error
}
