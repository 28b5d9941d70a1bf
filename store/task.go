package store

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"accessbot/workflow"
)

// readTx implements workflow.ReadTx on a transaction.
type readTx struct{ conn }

// writeTx implements workflow.Tx.
type writeTx struct {
	readTx
	now time.Time
	// heads are the chain heads this transaction has read or appended, so
	// a chain is read once per transaction however many events go on it.
	heads map[int64]auditHead
	// stored are the task rows this transaction has read or written, so
	// SaveTask writes only the columns that changed (storedTask).
	stored map[int64]storedTask
}

// storedTask is a tasks row as stored at a version: its taskCols values in
// taskArgs form. The version guard of SaveTask makes it exact: at that
// version the row still holds these values. Writing only what changed
// spares the indexes on unchanged columns (SQLite rewrites every index on
// a column the UPDATE sets, changed or not): a decision writes a third of
// the pages it did.
type storedTask struct {
	version int64
	args    []any
	// people are the task's task_people rows as taskPeople gives them for
	// the task at this version; SaveTask writes none when they stay the
	// same.
	people []person
}

type auditHead struct {
	seq  int64
	hash string
}

var (
	_ workflow.ReadTx = (*readTx)(nil)
	_ workflow.Tx     = (*writeTx)(nil)
)

// Now is the transaction's time: the clock read once when the transaction
// got the write lock, UTC, to the microsecond.
func (tx *writeTx) Now() time.Time { return tx.now }

// NextTaskID hands out the next task number from the counters row; the
// counter only grows, so a number is never reused, also after a delete.
func (tx *writeTx) NextTaskID() (int64, error) {
	var id int64
	err := tx.get(&id, "UPDATE counters SET value = value + 1 WHERE name = 'task' RETURNING value")
	return id, dbErr(err, "next task number")
}

// taskCols are the columns CreateTask and SaveTask write, in taskArgs order.
var taskCols = []string{
	"kind", "status", "revision", "requester", "subject", "app_id", "resource_id",
	"duration_seconds", "justification", "emergency", "extension", "origin", "grant_id",
	"policy_json", "step", "step_type", "step_started_at", "steps_json", "error_reason",
	"last_actor", "last_action", "last_action_at", "reminded_at", "escalated_at",
	"audit_head", "created_at", "updated_at", "closed_at",
}

var (
	taskSelect = "SELECT id, version, " + strings.Join(taskSelectCols(), ", ") + ", " + reminderCols + taskFrom
	taskInsert = "INSERT INTO tasks (id, version, " + strings.Join(taskCols, ", ") +
		") VALUES (?, ?" + strings.Repeat(", ?", len(taskCols)) + ")"
	taskUpdate = "UPDATE tasks SET " + strings.Join(taskCols, " = ?, ") +
		" = ?, version = version + 1 WHERE id = ? AND version = ?"
)

// taskArgs returns t's values for taskCols, with updatedAt for updated_at.
func (c conn) taskArgs(t *workflow.Task, updatedAt time.Time) ([]any, error) {
	policy, err := jsonText(t.Policy)
	if err != nil {
		return nil, fmt.Errorf("encode policy of %s: %w", t.Number(), err)
	}
	steps, err := jsonText(t.Steps)
	if err != nil {
		return nil, fmt.Errorf("encode steps of %s: %w", t.Number(), err)
	}
	var stepType workflow.StepType
	var stepStarted time.Time
	if t.Step >= 0 && t.Step < len(t.Policy.Steps) {
		stepType = t.Policy.Steps[t.Step].Type
	}
	if t.Step >= 0 && t.Step < len(t.Steps) {
		stepStarted = t.Steps[t.Step].StartedAt
	}
	return []any{
		string(t.Kind), string(t.Status), t.Revision, t.Requester, t.Subject, t.AppID, t.ResourceID,
		durationSeconds(t.Duration), t.Justification, t.Emergency, t.Extension, t.Origin, t.GrantID,
		policy, t.Step, string(stepType), c.t(stepStarted), steps, t.ErrorReason,
		t.Last.Actor, t.Last.Action, c.t(t.Last.At), c.t(t.RemindedAt), c.t(t.EscalatedAt),
		t.AuditHead, c.t(t.CreatedAt), c.t(updatedAt), c.t(t.ClosedAt),
	}, nil
}

// durationSeconds stores a duration in whole seconds; Permanent is -1.
func durationSeconds(d time.Duration) int64 {
	if d == workflow.Permanent {
		return -1
	}
	return int64(d / time.Second)
}

// taskRow is a tasks row as scanned.
type taskRow struct {
	ID            int64  `db:"id"`
	Version       int64  `db:"version"`
	Kind          string `db:"kind"`
	Status        string `db:"status"`
	Revision      int64  `db:"revision"`
	Requester     string `db:"requester"`
	Subject       string `db:"subject"`
	AppID         string `db:"app_id"`
	ResourceID    string `db:"resource_id"`
	Duration      int64  `db:"duration_seconds"`
	Justification string `db:"justification"`
	Emergency     bool   `db:"emergency"`
	Extension     bool   `db:"extension"`
	Origin        string `db:"origin"`
	GrantID       int64  `db:"grant_id"`
	Policy        string `db:"policy_json"`
	Step          int    `db:"step"`
	StepType      string `db:"step_type"`
	StepStarted   dbTime `db:"step_started_at"`
	Steps         string `db:"steps_json"`
	ErrorReason   string `db:"error_reason"`
	LastActor     string `db:"last_actor"`
	LastAction    string `db:"last_action"`
	LastActionAt  dbTime `db:"last_action_at"`
	RemindedAt    dbTime `db:"reminded_at"`
	EscalatedAt   dbTime `db:"escalated_at"`
	AuditHead     string `db:"audit_head"`
	CreatedAt     dbTime `db:"created_at"`
	UpdatedAt     dbTime `db:"updated_at"`
	ClosedAt      dbTime `db:"closed_at"`
	reminderRow
}

func (r *taskRow) task() (*workflow.Task, error) { return r.taskWith(nil) }

// taskWith is task with a cache of decoded policies: the tasks of a page
// mostly share a few policy snapshots, and decoding one costs more than
// the rest of the row. Each task gets its own copy.
func (r *taskRow) taskWith(policies map[string]workflow.Policy) (*workflow.Task, error) {
	t := &workflow.Task{
		ID: r.ID, Kind: workflow.Kind(r.Kind), Status: workflow.Status(r.Status),
		Revision: r.Revision, Version: r.Version,
		Requester: r.Requester, Subject: r.Subject, AppID: r.AppID, ResourceID: r.ResourceID,
		Duration:      time.Duration(r.Duration) * time.Second,
		Justification: r.Justification, Emergency: r.Emergency, Extension: r.Extension,
		Origin: r.Origin, GrantID: r.GrantID, Step: r.Step, ErrorReason: r.ErrorReason,
		Last:       workflow.LastAction{Actor: r.LastActor, Action: r.LastAction, At: r.LastActionAt.Time},
		RemindedAt: r.RemindedAt.Time, EscalatedAt: r.EscalatedAt.Time, AuditHead: r.AuditHead,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time, ClosedAt: r.ClosedAt.Time,
	}
	if r.Duration == -1 {
		t.Duration = workflow.Permanent
	}
	if p, ok := policies[r.Policy]; ok {
		t.Policy = clonePolicy(p)
	} else {
		if err := jsonScan(&r.Policy, &t.Policy); err != nil {
			return nil, fmt.Errorf("store: decode policy of %s: %w", t.Number(), err)
		}
		if policies != nil {
			policies[r.Policy] = clonePolicy(t.Policy)
		}
	}
	if err := jsonScan(&r.Steps, &t.Steps); err != nil {
		return nil, fmt.Errorf("store: decode steps of %s: %w", t.Number(), err)
	}
	if err := r.reminderRow.apply(t); err != nil {
		return nil, err
	}
	return t, nil
}

func notFoundTask(id int64) error {
	return workflow.Errorf(workflow.ENOTFOUND, "T-%d does not exist", id)
}

// Task returns task id, or ENOTFOUND.
func (tx *readTx) Task(id int64) (*workflow.Task, error) {
	var r taskRow
	if err := tx.taskRow(&r, id); err != nil {
		return nil, err
	}
	return r.task()
}

func (tx *readTx) taskRow(r *taskRow, id int64) error {
	err := tx.get(r, taskSelect+" WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFoundTask(id)
	}
	return dbErr(err, fmt.Sprintf("read T-%d", id))
}

// Task is readTx.Task that remembers the row as stored, for SaveTask.
func (tx *writeTx) Task(id int64) (*workflow.Task, error) {
	var r taskRow
	if err := tx.taskRow(&r, id); err != nil {
		return nil, err
	}
	t, err := r.task()
	if err != nil {
		return nil, err
	}
	if tx.stored != nil {
		tx.stored[id] = storedTask{version: r.Version, args: tx.rowArgs(&r), people: taskPeople(t)}
	}
	return t, nil
}

// rowArgs returns the values of r's taskCols as taskArgs would give them
// for a task that holds them. The audit head is read from the chain, not
// from its column, so its value is nil here: SaveTask always writes it.
func (c conn) rowArgs(r *taskRow) []any {
	return []any{
		r.Kind, r.Status, r.Revision, r.Requester, r.Subject, r.AppID, r.ResourceID,
		r.Duration, r.Justification, r.Emergency, r.Extension, r.Origin, r.GrantID,
		r.Policy, r.Step, r.StepType, c.t(r.StepStarted.Time), r.Steps, r.ErrorReason,
		r.LastActor, r.LastAction, c.t(r.LastActionAt.Time), c.t(r.RemindedAt.Time), c.t(r.EscalatedAt.Time),
		nil, c.t(r.CreatedAt.Time), c.t(r.UpdatedAt.Time), c.t(r.ClosedAt.Time),
	}
}

// alwaysWritten are the taskCols SaveTask writes even when unchanged: the
// audit head (its stored column is not what rowArgs knows) and the update
// time.
var alwaysWritten = map[string]bool{"audit_head": true, "updated_at": true}

// sameArg reports whether two taskArgs values are the same stored value.
func sameArg(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// taskUpdateOf returns the UPDATE of t that sets only the columns whose
// values differ from the row as stored, when this transaction knows it at
// t's version, and every column otherwise.
func (tx *writeTx) taskUpdateOf(t *workflow.Task, args []any) (string, []any) {
	st, ok := tx.stored[t.ID]
	if !ok || st.version != t.Version {
		return taskUpdate, append(args, t.ID, t.Version)
	}
	var b strings.Builder
	b.WriteString("UPDATE tasks SET ")
	vals := make([]any, 0, len(args)+2)
	for i, col := range taskCols {
		if !alwaysWritten[col] && sameArg(st.args[i], args[i]) {
			continue
		}
		b.WriteString(col)
		b.WriteString(" = ?, ")
		vals = append(vals, args[i])
	}
	b.WriteString("version = version + 1 WHERE id = ? AND version = ?")
	return b.String(), append(vals, t.ID, t.Version)
}

// taskWhere turns a query into conditions on tasks.
func (tx *readTx) taskWhere(q workflow.TaskQuery) *where {
	w := &where{}
	in(w, "id", q.IDs)
	if q.Kind != "" {
		w.add("kind = ?", string(q.Kind))
	}
	in(w, "status", q.Statuses)
	if q.Subject != "" {
		w.add("subject = ?", q.Subject)
	}
	if q.Requester != "" {
		w.add("requester = ?", q.Requester)
	}
	if q.AppID != "" {
		w.add("app_id = ?", q.AppID)
	}
	if q.ResourceID != nil {
		w.add("resource_id = ?", *q.ResourceID)
	}
	if q.GrantID != 0 {
		w.add("grant_id = ?", q.GrantID)
	}
	// IN (subquery) rather than a correlated EXISTS: SQLite then starts
	// from task_people's (email, role) index instead of scanning tasks.
	const person = "id IN (SELECT task_id FROM task_people WHERE email = ? AND role "
	if q.Assignee != "" {
		w.add(person+"= 'assignee')", q.Assignee)
	}
	if q.AssigneeStep != "" {
		// Assignee rows exist only for the current step of open tasks;
		// without Assignee this selects open tasks at a step of this type.
		w.add("status = 'open' AND step_type = ?", string(q.AssigneeStep))
	}
	if q.Participant != "" {
		w.add(person+"IN ('requester', 'subject', 'involved'))", q.Participant)
	}
	if q.Actor != "" {
		w.add(person+"= 'actor')", q.Actor)
	}
	if !q.StepStartedBefore.IsZero() {
		w.add("status = 'open' AND step_started_at < ?", tx.t(q.StepStartedBefore))
	}
	if !q.RemindedBefore.IsZero() {
		// A task_reminders row, when there is one, holds the task's
		// reminded_at (see remindedAt).
		at := tx.t(q.RemindedBefore)
		w.add("(CASE WHEN r.task_id IS NULL THEN (reminded_at IS NULL OR reminded_at <= ?) ELSE (r.remind_at IS NULL OR r.remind_at <= ?) END)", at, at)
	}
	if q.Unescalated {
		w.add("escalated_at IS NULL")
	}
	if !q.CreatedAfter.IsZero() {
		w.add("created_at >= ?", tx.t(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		w.add("created_at < ?", tx.t(q.CreatedBefore))
	}
	switch {
	case q.ByStepStart && !q.AfterStepStart.IsZero():
		w.add("(step_started_at, id) > (?, ?)", tx.t(q.AfterStepStart), q.AfterID)
	case q.AfterID != 0:
		w.add("id > ?", q.AfterID)
	}
	return w
}

// findAfterStepStart is FindTasks for a page after (AfterStepStart,
// AfterID) by step start. Neither dialect walks an index along a row-value
// comparison whose ties are many (tasks created together start together),
// so each page would rescan every tie before it: instead the page is the
// rest of the tie (an equality and a range on the index) and then what
// starts later.
func (tx *readTx) findAfterStepStart(q workflow.TaskQuery) ([]taskRow, error) {
	after, start := q.AfterID, q.AfterStepStart
	q.AfterID, q.AfterStepStart = 0, time.Time{}
	w := tx.taskWhere(q)
	w.add("step_started_at = ? AND id > ?", tx.t(start), after)
	var rows []taskRow
	if err := tx.sel(&rows, selectFor(q)+w.String()+" ORDER BY id"+limit(q.Limit, 0), w.args...); err != nil {
		return nil, err
	}
	if q.Limit > 0 && len(rows) >= q.Limit {
		return rows, nil
	}
	w = tx.taskWhere(q)
	w.add("step_started_at > ?", tx.t(start))
	var more []taskRow
	n := 0
	if q.Limit > 0 {
		n = q.Limit - len(rows)
	}
	if err := tx.sel(&more, selectFor(q)+w.String()+" ORDER BY step_started_at, id"+limit(n, 0), w.args...); err != nil {
		return nil, err
	}
	return append(rows, more...), nil
}

// FindTasks returns the tasks matching q, by number (Newest: highest first;
// ByStepStart: by the current step's start, then number).
func (tx *readTx) FindTasks(q workflow.TaskQuery) ([]*workflow.Task, error) {
	w := tx.taskWhere(q)
	order := " ORDER BY id"
	switch {
	case q.ByStepStart:
		order = " ORDER BY step_started_at, id"
	case q.Newest:
		order += " DESC"
	}
	var rows []taskRow
	var err error
	if q.ByStepStart && !q.AfterStepStart.IsZero() && q.Offset == 0 {
		rows, err = tx.findAfterStepStart(q)
	} else {
		err = tx.sel(&rows, selectFor(q)+w.String()+order+limit(q.Limit, q.Offset), w.args...)
	}
	if err != nil {
		return nil, dbErr(err, "find tasks")
	}
	out := make([]*workflow.Task, 0, len(rows))
	policies := map[string]workflow.Policy{}
	for i := range rows {
		t, err := rows[i].taskWith(policies)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// CountTasks counts the tasks matching q (Limit, Offset and Newest aside).
func (tx *readTx) CountTasks(q workflow.TaskQuery) (int, error) {
	w := tx.taskWhere(q)
	var n int
	err := tx.get(&n, "SELECT COUNT(*)"+taskFrom+w.String(), w.args...)
	return n, dbErr(err, "count tasks")
}

// CreateTask inserts t. A zero ID takes the next task number, a zero
// Version becomes 1, a zero CreatedAt becomes Now; UpdatedAt is set to Now.
func (tx *writeTx) CreateTask(t *workflow.Task) error {
	if t.ID == 0 {
		id, err := tx.NextTaskID()
		if err != nil {
			return err
		}
		t.ID = id
	}
	if t.Version == 0 {
		t.Version = 1
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = tx.now
	}
	args, err := tx.taskArgs(t, tx.now)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	// ON CONFLICT DO NOTHING, not a unique violation: a failed statement
	// would abort a PostgreSQL transaction the caller may want to go on with.
	n, err := tx.execN(taskInsert+" ON CONFLICT (id) DO NOTHING", append([]any{t.ID, t.Version}, args...)...)
	if err != nil {
		return dbErr(err, "create "+t.Number())
	}
	if n == 0 {
		return workflow.Errorf(workflow.ECONFLICT, "%s already exists", t.Number())
	}
	t.UpdatedAt = tx.now
	people := taskPeople(t)
	if tx.stored != nil {
		tx.stored[t.ID] = storedTask{version: t.Version, args: args, people: people}
	}
	return tx.insertPeople(t.ID, people, false)
}

// SaveTask writes t if the stored version is still t.Version, then bumps
// t.Version and sets t.UpdatedAt to Now; otherwise ECONFLICT (or ENOTFOUND)
// and nothing is written, t included.
func (tx *writeTx) SaveTask(t *workflow.Task) error {
	args, err := tx.taskArgs(t, tx.now)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	query, vals := tx.taskUpdateOf(t, args)
	n, err := tx.execN(query, vals...)
	if err != nil {
		return dbErr(err, "save "+t.Number())
	}
	if n == 0 {
		var version int64
		err := tx.get(&version, "SELECT version FROM tasks WHERE id = ?", t.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundTask(t.ID)
		}
		if err != nil {
			return dbErr(err, "save "+t.Number())
		}
		return workflow.Errorf(workflow.ECONFLICT, "%s was changed by someone else at the same time (version %d, not %d); reload it and try again", t.Number(), version, t.Version)
	}
	// What the row held before this save, when this transaction read it
	// at t's version (taskUpdateOf's guard).
	before, known := tx.stored[t.ID]
	known = known && before.version == t.Version
	t.Version++
	t.UpdatedAt = tx.now
	people := taskPeople(t)
	if tx.stored != nil {
		tx.stored[t.ID] = storedTask{version: t.Version, args: args, people: people}
	}
	// t carries the reminder times the row overrode, now in the task row.
	if _, err := tx.exec("DELETE FROM task_reminders WHERE task_id = ?", t.ID); err != nil {
		return dbErr(err, "save "+t.Number())
	}
	t.RemindRev = 0
	if known {
		return tx.changePeople(t, before.people, people)
	}
	return tx.replacePeople(t, people)
}

// insertPeople writes task_people rows of task id; existing: rows that
// may be there already are left as they are.
func (tx *writeTx) insertPeople(id int64, people []person, existing bool) error {
	if len(people) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(people))
	for _, p := range people {
		args = append(args, id, p.role, p.email)
	}
	q := "INSERT INTO task_people (task_id, role, email) VALUES " + tx.values(make([]string, 3), len(people))
	if existing {
		q += " ON CONFLICT DO NOTHING"
	}
	_, err := tx.exec(q, args...)
	return dbErr(err, fmt.Sprintf("index T-%d", id))
}

// deletePeople deletes task_people rows of task id: those among people,
// or with others, those not among them.
func (tx *writeTx) deletePeople(id int64, people []person, others bool) error {
	args := make([]any, 0, 1+2*len(people))
	args = append(args, id)
	for _, p := range people {
		args = append(args, p.role, p.email)
	}
	in := " IN "
	if others {
		in = " NOT IN "
	}
	_, err := tx.exec("DELETE FROM task_people WHERE task_id = ? AND (role, email)"+in+"(VALUES "+tx.values([]string{"text", "text"}, len(people))+")", args...)
	return dbErr(err, fmt.Sprintf("index T-%d", id))
}

// changePeople writes the difference between the task_people rows of t as
// this transaction read it (was) and people: nothing when they are the
// same, else a delete of the rows gone and an insert of the new ones.
func (tx *writeTx) changePeople(t *workflow.Task, was, people []person) error {
	gone, added := missing(was, people), missing(people, was)
	if len(gone) > 0 {
		if err := tx.deletePeople(t.ID, gone, false); err != nil {
			return err
		}
	}
	return tx.insertPeople(t.ID, added, true)
}

// missing returns the people of xs that are not in ys.
func missing(xs, ys []person) []person {
	in := make(map[person]bool, len(ys))
	for _, p := range ys {
		in[p] = true
	}
	var out []person
	for _, p := range xs {
		if !in[p] {
			out = append(out, p)
		}
	}
	return out
}

// replacePeople makes t's task_people rows people when the transaction
// does not know what they were: it deletes the rows not among them and
// inserts those missing, in two statements whatever the rows held (an
// older binary's included), without reading them first. A row already
// there costs the insert an index probe, not a page write.
func (tx *writeTx) replacePeople(t *workflow.Task, people []person) error {
	// taskPeople always names the requester: people is never empty.
	if err := tx.deletePeople(t.ID, people, true); err != nil {
		return err
	}
	return tx.insertPeople(t.ID, people, true)
}

type person struct{ role, email string }

// taskPeople lists the task_people rows of t, without duplicates.
func taskPeople(t *workflow.Task) []person {
	seen := map[person]bool{}
	var out []person
	add := func(role, email string) {
		p := person{role, email}
		if email != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	add("requester", t.Requester)
	add("subject", t.Subject)
	for _, e := range t.PendingAssignees() {
		add("assignee", e)
	}
	for _, run := range t.Steps {
		add("actor", run.DecidedBy)
		for _, a := range run.Assignees {
			add("involved", a.Email)
			add("involved", a.From)
			switch a.State {
			case workflow.AssignApproved, workflow.AssignDenied, workflow.AssignDone, workflow.AssignNotDone:
				add("actor", a.Email)
			}
		}
	}
	return out
}

// DeleteTask removes the task, its audit chain and its index rows. Its
// cards and outbox rows stay: the task_deleted notice marks the cards as
// deleted in Slack, then the bot removes them (DeleteCards).
func (tx *writeTx) DeleteTask(id int64) error {
	what := fmt.Sprintf("delete T-%d", id)
	delete(tx.heads, id)
	delete(tx.stored, id)
	n, err := tx.execN("DELETE FROM tasks WHERE id = ?", id)
	if err != nil {
		return dbErr(err, what)
	}
	if n == 0 {
		return notFoundTask(id)
	}
	for _, q := range []string{
		"DELETE FROM task_people WHERE task_id = ?",
		"DELETE FROM audit_events WHERE task_id = ?",
	} {
		if _, err := tx.exec(q, id); err != nil {
			return dbErr(err, what)
		}
	}
	return nil
}

// clonePolicy deep-copies p, so that tasks sharing a decoded policy never
// share its slices.
func clonePolicy(p workflow.Policy) workflow.Policy {
	out := workflow.Policy{Name: p.Name, Steps: slices.Clone(p.Steps)}
	for i := range out.Steps {
		s := &out.Steps[i]
		s.Approvers = slices.Clone(s.Approvers)
		s.Fallback = slices.Clone(s.Fallback)
		s.Reassign.Allowed = slices.Clone(s.Reassign.Allowed)
	}
	return out
}
