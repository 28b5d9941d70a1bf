package workflow

import (
	"context"
	"strings"
	"sync/atomic"
	"time"
)

// Engine runs tasks through their policies. Each operation is one store
// transaction that loads, decides (checking state and authority) and
// persists the change with its audit events and notices; a refusal writes
// nothing.
type Engine struct {
	store Store
	clock func() time.Time
	cat   atomic.Pointer[Catalog]
	batch *batcher // set when the store can commit operations together
	// onJobs is called after a commit that wrote connector jobs.
	onJobs atomic.Pointer[func()]
}

// OnJobs sets fn to be called after every commit that wrote connector jobs,
// so a runner starts them at once instead of at its next poll.
func (e *Engine) OnJobs(fn func()) { e.onJobs.Store(&fn) }

// NewEngine returns an engine over store with the given catalog. A nil clock
// means time.Now.
func NewEngine(store Store, cat *Catalog, clock func() time.Time) *Engine {
	if clock == nil {
		clock = time.Now
	}
	e := &Engine{store: store, clock: clock}
	if bs, ok := store.(BatchStore); ok {
		e.batch = &batcher{store: bs}
	}
	e.cat.Store(cat)
	return e
}

// Catalog returns the configuration in force.
func (e *Engine) Catalog() *Catalog { return e.cat.Load() }

// SetCatalog puts a new configuration in force. Running tasks keep the
// policy they snapshotted.
func (e *Engine) SetCatalog(c *Catalog) { e.cat.Store(c) }

// Now is the engine's clock, truncated to what the store keeps.
func (e *Engine) Now() time.Time { return e.clock().UTC().Truncate(time.Microsecond) }

// An operation is load -> decide -> persist. The loading (the task, its
// chain head, anything read up front) and the deciding run against reads
// only: decide functions take an op and a task, read what else they need
// through op.rd (the write transaction, or a read snapshot for previews, or
// a table in tests), change the task in memory and record their outcome on
// the op. persist then writes the whole outcome in one place, the only
// place that writes tasks, grants, jobs, delegations, audit events and
// notices, and the only place that moves a task's revision.

// op is one engine operation: what its decision reads and what it came to.
type op struct {
	rd  ReadTx // what decisions read
	ids idSource
	// tx is the write transaction of a sweep, for its bulk reads
	// (BulkTx) and its one conditional write, SaveReminders (whose refusals
	// the sweep decides on); nil for everything else, which writes nothing
	// itself.
	tx  Tx
	cat *Catalog
	now time.Time
	// heads holds, per chain, the Seq of its newest event (this
	// operation's included) and the Hash of its newest stored event:
	// events are hashed by persist (seal), once the ids they name are
	// known.
	heads   map[int64]chainHead
	chains  map[int64]*Task // the task of each chain that gained events
	events  []*AuditEvent
	notices []*Notice
	emails  []*Notice // email notices beyond those derived from notices (notify.go)
	changed map[int64]bool

	// The writes of the outcome, in the order persist makes them.
	grants      []grantWrite
	ended       []*Grant // grants ended (EndGrants)
	warned      []*Grant // grants whose holder was warned (MarkGrantsWarned)
	newJobs     []jobWrite
	savedJobs   []*ConnectorJob
	delegations []delegationWrite
	tasks       []*taskWrite
	deletes     []int64
	jobs        int // connector jobs written
}

type chainHead struct {
	seq  int64
	hash string
}

// idSource hands out task numbers.
type idSource interface {
	NextTaskID() (int64, error)
}

// previewIDs numbers the tasks a preview would create below zero: they are
// never written, and no stored task has such a number.
type previewIDs struct{ last int64 }

func (p *previewIDs) NextTaskID() (int64, error) { p.last--; return p.last, nil }

// taskWrite is a task the outcome writes: created, or saved with a card
// update (notice) or not, and with its revision moved on or not.
type taskWrite struct {
	t      *Task
	create bool
	move   bool // what its cards show as actionable changed: a new revision
}

// grantWrite creates or saves a grant; then runs once a created grant
// has its id, to put it where the decision named it.
type grantWrite struct {
	g      *Grant
	create bool
	then   []func()
}

// jobWrite queues a connector job; then puts its id where it is named.
type jobWrite struct {
	j    *ConnectorJob
	then func()
}

// delegationWrite puts d, or deletes the delegation of email.
type delegationWrite struct {
	put   *Delegation
	email string
}

func (e *Engine) newOp(rd ReadTx, ids idSource, now time.Time) *op {
	return &op{rd: rd, ids: ids, cat: e.Catalog(), now: now, heads: map[int64]chainHead{}, chains: map[int64]*Task{}, changed: map[int64]bool{}}
}

// updateTask is the write path of an operation on one task: it loads task
// id, runs decide on it (which writes nothing) and persists the outcome. It
// returns the task as decide left it (as loaded when decide refused it),
// so a caller can say what it saw.
func (e *Engine) updateTask(ctx context.Context, id int64, decide func(o *op, t *Task) error) (*Task, error) {
	var task *Task
	err := e.write(ctx, func(tx Tx) (*op, error) {
		o := e.newOp(tx, tx, tx.Now())
		t, err := o.load(id)
		if err != nil {
			return nil, err
		}
		task = t
		return o, decide(o, t)
	})
	return task, err
}

// update runs fn, a decision that loads what it works on itself, as one
// operation and persists what it decided.
func (e *Engine) update(ctx context.Context, fn func(o *op) error) error {
	return e.write(ctx, func(tx Tx) (*op, error) {
		o := e.newOp(tx, tx, tx.Now())
		return o, fn(o)
	})
}

// sweep is update for the scheduler's sweeps over many tasks and grants:
// fn may also use o.tx (see op.tx).
func (e *Engine) sweep(ctx context.Context, fn func(o *op) error) error {
	return e.write(ctx, func(tx Tx) (*op, error) {
		o := e.newOp(tx, tx, tx.Now())
		o.tx = tx
		return o, fn(o)
	})
}

// write runs an operation in a write transaction and persists its outcome;
// with a BatchStore, in the same commit as the operations running at the
// same time (batch.go).
func (e *Engine) write(ctx context.Context, fn func(tx Tx) (*op, error)) error {
	jobs := 0
	run := func(tx Tx) error {
		o, err := fn(tx)
		if err != nil {
			return err
		}
		if err := o.persist(tx); err != nil {
			return err
		}
		jobs = o.jobs
		return nil
	}
	var err error
	if e.batch != nil {
		err = e.batch.do(ctx, run)
	} else {
		err = e.store.Update(ctx, run)
	}
	if err == nil && jobs > 0 {
		if fn := e.onJobs.Load(); fn != nil && *fn != nil {
			(*fn)()
		}
	}
	return err
}

// view runs fn, a decision, on a read snapshot and completes its outcome in
// memory without writing it: what a preview shows. Tasks it would create
// are numbered below zero.
func (e *Engine) view(ctx context.Context, fn func(o *op) error) error {
	return e.store.View(ctx, func(rd ReadTx) error {
		o := e.newOp(rd, &previewIDs{}, e.Now())
		if err := fn(o); err != nil {
			return err
		}
		o.finish()
		return nil
	})
}

// load reads the task an operation works on.
func (o *op) load(id int64) (*Task, error) {
	return o.rd.Task(id)
}

// head returns a chain's newest event, reading it once per operation.
func (o *op) head(taskID int64) (chainHead, error) {
	if h, ok := o.heads[taskID]; ok {
		return h, nil
	}
	seq, hash, err := o.rd.AuditHead(taskID)
	if err != nil {
		return chainHead{}, err
	}
	h := chainHead{seq: seq, hash: hash}
	o.heads[taskID] = h
	return h, nil
}

// newChain marks a task created in this operation: its chain is empty.
func (o *op) newChain(taskID int64) { o.heads[taskID] = chainHead{} }

// audit records an event on t's chain; persist hashes and writes it after
// the task row.
func (o *op) audit(t *Task, actor, action, comment string, details map[string]string) error {
	_, err := o.auditEvent(t, actor, action, comment, details)
	return err
}

// auditEvent is audit returning the event, for a decision that fills in an
// id once persist knows it.
func (o *op) auditEvent(t *Task, actor, action, comment string, details map[string]string) (*AuditEvent, error) {
	h, err := o.head(t.ID)
	if err != nil {
		return nil, err
	}
	ev := &AuditEvent{
		TaskID: t.ID, Seq: h.seq + 1, At: o.now, Actor: actor, Action: action,
		Step: t.Step, Comment: comment, Details: details,
	}
	h.seq = ev.Seq
	o.heads[t.ID] = h
	o.chains[t.ID] = t
	// Last explains stale clicks, so it names what people did, not the
	// engine's own bookkeeping.
	if actor != SystemActor && action != ActCommented && action != ActReminded && action != ActCreated && action != ActCommentEdited && action != ActCommentDeleted {
		t.Last = LastAction{Actor: actor, Action: action, At: o.now}
	}
	o.events = append(o.events, ev)
	return ev, nil
}

// adminAudit records an event on the global admin chain.
func (o *op) adminAudit(actor, action, comment string, details map[string]string) error {
	h, err := o.head(0)
	if err != nil {
		return err
	}
	ev := &AuditEvent{
		TaskID: 0, Seq: h.seq + 1, At: o.now, Actor: actor, Action: action,
		Comment: comment, Details: details,
	}
	h.seq = ev.Seq
	o.heads[0] = h
	o.events = append(o.events, ev)
	return nil
}

// notify queues a notice; task_changed notices are sent once per task per
// operation.
func (o *op) notify(n *Notice) {
	if n.Kind() == NoticeTaskChanged {
		if o.changed[n.TaskID] {
			return
		}
		o.changed[n.TaskID] = true
	}
	n.CreatedAt = o.now
	n.NextAt = o.now
	o.notices = append(o.notices, n)
}

// record records that t is written by persist.
func (o *op) record(t *Task) *taskWrite {
	for _, w := range o.tasks {
		if w.t == t {
			return w
		}
	}
	w := &taskWrite{t: t}
	o.tasks = append(o.tasks, w)
	return w
}

// bump moves t to a new revision when persist writes it (what its cards
// show as actionable changed: the current step, its assignees, the
// duration, the status); at most once an operation.
func (o *op) bump(t *Task) { o.record(t).move = true }

// move saves t with a new revision (what its cards show as actionable
// changed: the current step, its assignees, the duration, the status) and
// asks for its cards to be brought up to date.
func (o *op) move(t *Task) error {
	o.bump(t)
	return o.save(t)
}

// save saves t and asks for its cards to be brought up to date.
func (o *op) save(t *Task) error {
	o.record(t)
	o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{}})
	return nil
}

// touch saves t without a card update: only its bookkeeping changed (its
// audit head, a reminder time).
func (o *op) touch(t *Task) error {
	o.record(t)
	return nil
}

// create writes a task made in this operation, at its first revision.
func (o *op) create(t *Task) error {
	w := o.record(t)
	w.create, w.move = true, true // its first revision
	o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{}})
	return nil
}

// deleteTask removes t with its chain and indexes.
func (o *op) deleteTask(t *Task) { o.deletes = append(o.deletes, t.ID) }

// createGrant writes g; then runs once g has its id.
func (o *op) createGrant(g *Grant, then func()) {
	o.grants = append(o.grants, grantWrite{g: g, create: true, then: []func(){then}})
}

// onGrantID runs fn once g, created in this operation, has its id; at once
// when g is a stored grant.
func (o *op) onGrantID(g *Grant, fn func()) {
	for i := range o.grants {
		if o.grants[i].g == g && o.grants[i].create {
			o.grants[i].then = append(o.grants[i].then, fn)
			return
		}
	}
	fn()
}

// saveGrant writes a changed grant.
func (o *op) saveGrant(g *Grant) {
	g.UpdatedAt = o.now
	o.grants = append(o.grants, grantWrite{g: g})
}

// endGrants writes grants whose only changes are Status, EndedAt and
// EndTaskID, in bulk.
func (o *op) endGrants(gs []*Grant) { o.ended = append(o.ended, gs...) }

// markWarned writes grants whose only change is WarnedAt, in bulk.
func (o *op) markWarned(gs []*Grant) { o.warned = append(o.warned, gs...) }

// enqueueJob writes j; then runs once j has its id.
func (o *op) enqueueJob(j *ConnectorJob, then func()) {
	o.newJobs = append(o.newJobs, jobWrite{j: j, then: then})
	o.jobs++
}

// saveJob writes what became of a job (guarded by its lease: persist fails
// with ECONFLICT when it was lost).
func (o *op) saveJob(j *ConnectorJob) { o.savedJobs = append(o.savedJobs, j) }

func (o *op) putDelegation(d *Delegation) {
	o.delegations = append(o.delegations, delegationWrite{put: d})
}

func (o *op) deleteDelegation(email string) {
	o.delegations = append(o.delegations, delegationWrite{email: email})
}

// finish completes the outcome in memory: revisions move, times are
// stamped and events hashed. A preview stops here.
func (o *op) finish() {
	for _, w := range o.tasks {
		if w.move {
			w.t.Revision++
		}
		w.t.UpdatedAt = o.now
	}
	o.seal()
}

// seal hashes the events in order along their chains and records each
// task's newest hash.
func (o *op) seal() {
	cur := make(map[int64]string, len(o.heads))
	for id, h := range o.heads {
		cur[id] = h.hash
	}
	for _, ev := range o.events {
		ev.PrevHash = cur[ev.TaskID]
		ev.Hash = ev.ComputeHash()
		cur[ev.TaskID] = ev.Hash
	}
	for id, t := range o.chains {
		t.AuditHead = cur[id]
	}
}

// persist writes the outcome of an operation: the one place that writes.
// Grants and jobs go first, so the ids they get are in the task rows and
// events that name them.
func (o *op) persist(tx Tx) error {
	for _, w := range o.grants {
		if !w.create {
			if err := tx.SaveGrant(w.g); err != nil {
				return err
			}
			continue
		}
		if err := tx.CreateGrant(w.g); err != nil {
			return err
		}
		for _, fn := range w.then {
			fn()
		}
	}
	if len(o.ended) > 0 {
		if err := tx.EndGrants(o.ended); err != nil {
			return err
		}
	}
	if len(o.warned) > 0 {
		if err := tx.MarkGrantsWarned(o.warned); err != nil {
			return err
		}
	}
	for _, w := range o.newJobs {
		if err := tx.EnqueueJob(w.j); err != nil {
			return err
		}
		if w.then != nil {
			w.then()
		}
	}
	for _, j := range o.savedJobs {
		if err := tx.SaveJob(j); err != nil {
			return err
		}
	}
	for _, w := range o.delegations {
		var err error
		if w.put != nil {
			err = tx.PutDelegation(w.put)
		} else {
			err = tx.DeleteDelegation(w.email)
		}
		if err != nil {
			return err
		}
	}
	o.finish()
	for _, w := range o.tasks {
		var err error
		if w.create {
			err = tx.CreateTask(w.t)
		} else {
			err = tx.SaveTask(w.t)
		}
		if err != nil {
			return err
		}
	}
	for _, id := range o.deletes {
		if err := tx.DeleteTask(id); err != nil {
			return err
		}
	}
	if err := tx.AppendAudits(o.events); err != nil {
		return err
	}
	if err := tx.EnqueueAll(o.notices); err != nil {
		return err
	}
	if !o.cat.Email {
		return nil
	}
	// The email channel's own outbox, in the same transaction (notify.go).
	if ems := append(emailNotices(o.notices), o.emails...); len(ems) > 0 {
		return tx.EnqueueEmails(ems)
	}
	return nil
}

// preloadHeads reads the heads of the chains of ids not read yet in one go,
// for sweeps that append to many chains.
func (o *op) preloadHeads(ids []int64) error {
	var want []int64
	for _, id := range ids {
		if _, ok := o.heads[id]; !ok {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	heads, err := o.tx.AuditHeads(want)
	if err != nil {
		return err
	}
	for _, id := range want {
		h := heads[id]
		o.heads[id] = chainHead{seq: h.Seq, hash: h.Hash}
	}
	return nil
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Task returns a task by number.
func (e *Engine) Task(ctx context.Context, id int64) (*Task, error) {
	var t *Task
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		t, err = tx.Task(id)
		return err
	})
	return t, err
}

// TaskFor returns a task for a viewer who may see it: someone involved, an
// owner of the app, or an admin.
func (e *Engine) TaskFor(ctx context.Context, viewer string, id int64) (*Task, []AuditEvent, error) {
	var t *Task
	var evs []AuditEvent
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		if t, err = tx.Task(id); err != nil {
			return err
		}
		if !e.maySee(viewer, t) {
			return Errorf(EFORBIDDEN, "You are not involved in %s, so you cannot see it. Ask its requester or an admin.", t.Number())
		}
		evs, err = tx.AuditEvents(id)
		return err
	})
	return t, evs, err
}

func (e *Engine) maySee(viewer string, t *Task) bool { return maySee(e.Catalog(), viewer, t) }

func maySee(cat *Catalog, viewer string, t *Task) bool {
	if cat.IsAdmin(viewer) || t.Involves(viewer) {
		return true
	}
	if ent, err := cat.Entitlement(t.AppID, t.ResourceID); err == nil {
		rc := resolveContext{cat: cat, subject: t.Subject, ent: ent}
		for _, o := range rc.resolve(append(append([]Principal(nil), ent.Owners...), ent.App.Owners...)) {
			if o == normEmail(viewer) {
				return true
			}
		}
	}
	return false
}

// Tasks lists tasks matching q.
func (e *Engine) Tasks(ctx context.Context, q TaskQuery) ([]*Task, error) {
	var ts []*Task
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		ts, err = tx.FindTasks(q)
		return err
	})
	return ts, err
}

// DelegationOf returns the delegation email has set, or nil when none.
func (e *Engine) DelegationOf(ctx context.Context, email string) (*Delegation, error) {
	var d *Delegation
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		d, err = tx.Delegation(normEmail(email))
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return d, err
}
