package workflow

import (
	"context"
	"strings"
	"sync/atomic"
	"time"
)

// Engine runs tasks through their policies. Each operation is one store
// transaction that checks state and authority, writes the change, its audit
// events and its notices, and commits; a refusal writes nothing.
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

// Store returns the engine's store, for read-only views.
func (e *Engine) Store() Store { return e.store }

// op is the state of one engine operation inside its transaction.
type op struct {
	tx      Tx
	cat     *Catalog
	now     time.Time
	heads   map[int64]chainHead
	events  []*AuditEvent
	notices []*Notice
	emails  []*Notice // email notices beyond those derived from notices (notify.go)
	changed map[int64]bool
	dry     *dryRun // set by Preview: roll back instead of committing
	jobs    int     // connector jobs written
}

type chainHead struct {
	seq  int64
	hash string
}

// updateTask is update for an operation on one task: it loads task id and
// runs fn on it, and returns the task as fn left it (as loaded when fn
// refused it), so a caller can say what it saw.
func (e *Engine) updateTask(ctx context.Context, id int64, fn func(o *op, t *Task) error) (*Task, error) {
	var task *Task
	err := e.update(ctx, func(o *op) error {
		t, err := o.tx.Task(id)
		if err != nil {
			return err
		}
		task = t
		return fn(o, t)
	})
	return task, err
}

// update runs fn as one operation and writes what it collected; with a
// BatchStore, in the same commit as the operations running at the same
// time (batch.go). Previews (dry runs) run alone: they roll back.
func (e *Engine) update(ctx context.Context, fn func(o *op) error) error {
	jobs := 0
	run := func(tx Tx) error {
		o := &op{tx: tx, cat: e.Catalog(), now: tx.Now(), heads: map[int64]chainHead{}, changed: map[int64]bool{}, dry: dryRunOf(ctx)}
		if err := fn(o); err != nil {
			return err
		}
		if err := o.flush(); err != nil {
			return err
		}
		jobs = o.jobs
		return o.dry.done(o)
	}
	var err error
	if e.batch != nil && dryRunOf(ctx) == nil {
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

// head returns a chain's newest event, reading it once per operation.
func (o *op) head(taskID int64) (chainHead, error) {
	if h, ok := o.heads[taskID]; ok {
		return h, nil
	}
	seq, hash, err := o.tx.AuditHead(taskID)
	if err != nil {
		return chainHead{}, err
	}
	h := chainHead{seq: seq, hash: hash}
	o.heads[taskID] = h
	return h, nil
}

// newChain marks a task created in this operation: its chain is empty.
func (o *op) newChain(taskID int64) { o.heads[taskID] = chainHead{} }

// audit records an event on t's chain; it is written by flush after the
// task row.
func (o *op) audit(t *Task, actor, action, comment string, details map[string]string) error {
	h, err := o.head(t.ID)
	if err != nil {
		return err
	}
	ev := &AuditEvent{
		TaskID: t.ID, Seq: h.seq + 1, At: o.now, Actor: actor, Action: action,
		Step: t.Step, Comment: comment, Details: details, PrevHash: h.hash,
	}
	ev.Hash = ev.ComputeHash()
	o.heads[t.ID] = chainHead{seq: ev.Seq, hash: ev.Hash}
	t.AuditHead = ev.Hash
	// Last explains stale clicks, so it names what people did, not the
	// engine's own bookkeeping.
	if actor != SystemActor && action != ActCommented && action != ActReminded && action != ActCreated && action != ActCommentEdited && action != ActCommentDeleted {
		t.Last = LastAction{Actor: actor, Action: action, At: o.now}
	}
	o.events = append(o.events, ev)
	return nil
}

// adminAudit records an event on the global admin chain.
func (o *op) adminAudit(actor, action, comment string, details map[string]string) error {
	h, err := o.head(0)
	if err != nil {
		return err
	}
	ev := &AuditEvent{
		TaskID: 0, Seq: h.seq + 1, At: o.now, Actor: actor, Action: action,
		Comment: comment, Details: details, PrevHash: h.hash,
	}
	ev.Hash = ev.ComputeHash()
	o.heads[0] = chainHead{seq: ev.Seq, hash: ev.Hash}
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

// save writes a changed task and asks for its cards to be brought up to date.
func (o *op) save(t *Task) error {
	t.UpdatedAt = o.now
	if err := o.tx.SaveTask(t); err != nil {
		return err
	}
	o.dry.saw(t)
	o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{}})
	return nil
}

func (o *op) create(t *Task) error {
	t.UpdatedAt = o.now
	if err := o.tx.CreateTask(t); err != nil {
		return err
	}
	o.notify(&Notice{TaskID: t.ID, Payload: TaskChanged{}})
	return nil
}

func (o *op) flush() error {
	if err := o.tx.AppendAudits(o.events); err != nil {
		return err
	}
	if err := o.tx.EnqueueAll(o.notices); err != nil {
		return err
	}
	if !o.cat.Email {
		return nil
	}
	// The email channel's own outbox, in the same transaction (notify.go).
	if ems := append(emailNotices(o.notices), o.emails...); len(ems) > 0 {
		return o.tx.EnqueueEmails(ems)
	}
	return nil
}

// preloadHeads reads the heads of the chains of ids not read yet in one go,
// for operations that append to many chains.
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

func (e *Engine) maySee(viewer string, t *Task) bool {
	cat := e.Catalog()
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
