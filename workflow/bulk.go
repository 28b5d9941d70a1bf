package workflow

// ChainHead is the newest event of an audit chain.
type ChainHead struct {
	Seq  int64
	Hash string
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
	// SaveTasksProgress is SaveTask for tasks whose only changes are to
	// Steps' reminder times, RemindedAt, AuditHead, Last and UpdatedAt:
	// nothing that moves a task, changes who is assigned or what any
	// index holds. It writes only those columns, each task guarded by its
	// Version (ECONFLICT when one moved on), and bumps every Version.
	SaveTasksProgress(ts []*Task) error
	// EndGrants is SaveGrant for grants whose only changes are Status,
	// EndedAt and EndTaskID.
	EndGrants(gs []*Grant) error
	// MarkGrantsWarned is SaveGrant for grants whose only change is
	// WarnedAt.
	MarkGrantsWarned(gs []*Grant) error
}
