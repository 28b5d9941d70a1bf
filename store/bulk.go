package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"accessbot/workflow"
)

// bulkRows is how many rows one multi-row statement writes or reads: well
// under SQLite's 32,766 and PostgreSQL's 65,535 parameters at ten columns,
// and large enough that a sweep's statements cost little next to its rows.
const bulkRows = 500

// chunks calls fn with consecutive slices of at most bulkRows elements.
func chunks[T any](xs []T, fn func([]T) error) error {
	for len(xs) > 0 {
		n := min(len(xs), bulkRows)
		if err := fn(xs[:n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}

// values returns n rows of VALUES placeholders. PostgreSQL cannot infer the
// types of parameters in a VALUES list that is not an INSERT's, so each
// placeholder carries its column's type there.
func (c conn) values(types []string, n int) string {
	var row strings.Builder
	row.WriteByte('(')
	for i, typ := range types {
		if i > 0 {
			row.WriteString(", ")
		}
		row.WriteByte('?')
		if c.d == dialectPostgres && typ != "" {
			row.WriteString("::" + typ)
		}
	}
	row.WriteByte(')')
	r := row.String()
	var b strings.Builder
	b.Grow(n * (len(r) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r)
	}
	return b.String()
}

// bulkUpdate runs "UPDATE table SET set FROM (VALUES …) AS v WHERE cond"
// over rows, bulkRows at a time; the VALUES columns are v.column1, … (both
// dialects name them so) and types are their PostgreSQL types. It returns
// how many rows changed.
func (c conn) bulkUpdate(table, set, cond string, types []string, rows [][]any) (int64, error) {
	var total int64
	err := chunks(rows, func(part [][]any) error {
		args := make([]any, 0, len(part)*len(types))
		for _, r := range part {
			args = append(args, r...)
		}
		n, err := c.execN("UPDATE "+table+" SET "+set+" FROM (VALUES "+c.values(types, len(part))+") AS v WHERE "+cond, args...)
		total += n
		return err
	})
	return total, err
}

// newestEvent is the condition that audit event a is the newest of the
// chain of the task numbered taskCol.
func newestEvent(taskCol string) string {
	return "a.seq = (SELECT MAX(b.seq) FROM audit_events b WHERE b.task_id = " + taskCol + ")"
}

// AuditHeads returns the heads of the chains of ids (empty chains left
// out), from the heads this transaction knows and one query per bulkRows
// chains for the others, which it then knows too.
func (tx *writeTx) AuditHeads(ids []int64) (map[int64]workflow.ChainHead, error) {
	out := make(map[int64]workflow.ChainHead, len(ids))
	var want []int64
	for _, id := range ids {
		if h, ok := tx.heads[id]; ok {
			if h.seq > 0 {
				out[id] = workflow.ChainHead{Seq: h.seq, Hash: h.hash}
			}
			continue
		}
		want = append(want, id)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	err := chunks(want, func(part []int64) error {
		w := &where{}
		in(w, "a.task_id", part)
		var rows []struct {
			TaskID int64  `db:"task_id"`
			Seq    int64  `db:"seq"`
			Hash   string `db:"hash"`
		}
		q := "SELECT a.task_id, a.seq, a.hash FROM audit_events a" + w.String() + " AND " + newestEvent("a.task_id")
		if err := tx.sel(&rows, q, w.args...); err != nil {
			return dbErr(err, "read audit heads")
		}
		for _, id := range part {
			tx.heads[id] = auditHead{}
		}
		for _, r := range rows {
			tx.heads[r.TaskID] = auditHead{seq: r.Seq, hash: r.Hash}
			out[r.TaskID] = workflow.ChainHead{Seq: r.Seq, Hash: r.Hash}
		}
		return nil
	})
	return out, err
}

// auditCols are the columns AppendAudit(s) write, in auditArgs order.
const auditCols = "task_id, seq, at, actor, action, step, comment, details_json, prev_hash, hash"

// chainEvent checks e against its chain's head as AppendAudit documents,
// fills in what it may, and returns the stored copy and its arguments. It
// advances the transaction's head of the chain.
func (tx *writeTx) chainEvent(e *workflow.AuditEvent) (workflow.AuditEvent, []any, error) {
	chain := chainName(e.TaskID)
	seq, head, err := tx.AuditHead(e.TaskID)
	if err != nil {
		return workflow.AuditEvent{}, nil, err
	}
	c := *e
	switch {
	case c.Seq == 0:
		c.Seq, c.PrevHash = seq+1, head
	case c.Seq != seq+1 || c.PrevHash != head:
		return c, nil, workflow.Errorf(workflow.ECONFLICT, "the audit chain of %s moved on (event %d is next, not %d); try again", chain, seq+1, c.Seq)
	}
	if c.At.IsZero() {
		c.At = tx.now
	}
	c.At = c.At.UTC().Truncate(time.Microsecond)
	switch h := c.ComputeHash(); {
	case c.Hash == "":
		c.Hash = h
	case c.Hash != h:
		return c, nil, fmt.Errorf("store: audit event %d of %s (%s): its hash does not match its content as stored (times are kept to the microsecond: use Tx.Now)", c.Seq, chain, c.Action)
	}
	details, err := jsonNull(c.Details, len(c.Details) == 0)
	if err != nil {
		return c, nil, fmt.Errorf("store: encode audit details: %w", err)
	}
	tx.heads[c.TaskID] = auditHead{seq: c.Seq, hash: c.Hash}
	return c, []any{c.TaskID, c.Seq, tx.t(c.At), c.Actor, c.Action, c.Step, c.Comment, details, c.PrevHash, c.Hash}, nil
}

// singleAudits is how many events AppendAudits writes one at a time.
const singleAudits = 8

// AppendAudits appends evs in order, as AppendAudit would one by one, with
// one INSERT per bulkRows events, and sets their IDs. On an error the
// transaction must be rolled back. The few events of one operation go in
// one by one: a prepared one-row INSERT ... RETURNING costs less than a
// multi-row one returning several rows (SQLite buffers those first).
func (tx *writeTx) AppendAudits(evs []*workflow.AuditEvent) error {
	if len(evs) <= singleAudits {
		for _, e := range evs {
			if err := tx.AppendAudit(e); err != nil {
				return err
			}
		}
		return nil
	}
	return chunks(evs, func(part []*workflow.AuditEvent) error {
		stored := make([]workflow.AuditEvent, len(part))
		args := make([]any, 0, 10*len(part))
		for i, e := range part {
			c, a, err := tx.chainEvent(e)
			if err != nil {
				return err
			}
			stored[i] = c
			args = append(args, a...)
		}
		var ids []int64
		q := "INSERT INTO audit_events (" + auditCols + ") VALUES " + tx.values(make([]string, 10), len(part)) + " RETURNING id"
		if err := tx.sel(&ids, q, args...); err != nil {
			return dbErr(err, "append to the audit log")
		}
		if len(ids) != len(part) {
			return fmt.Errorf("store: append to the audit log: %d ids for %d events", len(ids), len(part))
		}
		// As in EnqueueAll: one sequence, drawn in VALUES order.
		slices.Sort(ids)
		for i, e := range part {
			stored[i].ID = ids[i]
			*e = stored[i]
		}
		return nil
	})
}

// outboxCols are the columns Enqueue(All) write, in noticeArgs order.
const outboxCols = "kind, task_id, recipient, recipients_json, text, data_json, created_at, attempts, next_at, last_error, payload_json"

func (tx *writeTx) noticeArgs(n *workflow.Notice) ([]any, error) {
	n.State = workflow.NoticePending
	if n.CreatedAt.IsZero() {
		n.CreatedAt = tx.now
	}
	if n.NextAt.IsZero() {
		n.NextAt = n.CreatedAt
	}
	recipients, err := jsonNull(n.Recipients, len(n.Recipients) == 0)
	if err != nil {
		return nil, fmt.Errorf("store: encode notice recipients: %w", err)
	}
	kind, data, payload, err := encodePayload(n)
	if err != nil {
		return nil, err
	}
	return []any{kind, n.TaskID, n.Recipient, recipients, n.Text, data, tx.t(n.CreatedAt), n.Attempts, tx.t(n.NextAt), n.LastError, payload}, nil
}

// EnqueueAll writes ns to the outbox in order, as Enqueue would one by
// one, with one INSERT per bulkRows notices, and sets their IDs.
func (tx *writeTx) EnqueueAll(ns []*workflow.Notice) error {
	if len(ns) == 1 {
		return tx.Enqueue(ns[0])
	}
	return chunks(ns, func(part []*workflow.Notice) error {
		args := make([]any, 0, 11*len(part))
		for _, n := range part {
			a, err := tx.noticeArgs(n)
			if err != nil {
				return err
			}
			args = append(args, a...)
		}
		var ids []int64
		q := "INSERT INTO outbox (" + outboxCols + ") VALUES " + tx.values(make([]string, 11), len(part)) + " RETURNING id"
		if err := tx.sel(&ids, q, args...); err != nil {
			return dbErr(err, "enqueue notices")
		}
		if len(ids) != len(part) {
			return fmt.Errorf("store: enqueue notices: %d ids for %d notices", len(ids), len(part))
		}
		// The ids come from one sequence, drawn row by row in VALUES order
		// by this statement alone, so sorted they match the notices;
		// RETURNING's own order is not promised.
		slices.Sort(ids)
		for i, n := range part {
			n.ID = ids[i]
		}
		return nil
	})
}

// EndGrants writes the status, end and ending task of gs.
func (tx *writeTx) EndGrants(gs []*workflow.Grant) error {
	rows := make([][]any, len(gs))
	for i, g := range gs {
		rows[i] = []any{g.ID, string(g.Status), tx.t(g.EndedAt), g.EndTaskID, tx.t(tx.now)}
	}
	n, err := tx.bulkUpdate("grants",
		"status = v.column2, ended_at = v.column3, end_task_id = v.column4, updated_at = v.column5",
		"grants.id = v.column1", []string{"bigint", "text", "timestamptz", "bigint", "timestamptz"}, rows)
	return tx.grantsSaved(gs, n, err, "end grants")
}

// MarkGrantsWarned writes the WarnedAt of gs.
func (tx *writeTx) MarkGrantsWarned(gs []*workflow.Grant) error {
	rows := make([][]any, len(gs))
	for i, g := range gs {
		rows[i] = []any{g.ID, tx.t(g.WarnedAt), tx.t(tx.now)}
	}
	n, err := tx.bulkUpdate("grants", "warned_at = v.column2, updated_at = v.column3",
		"grants.id = v.column1", []string{"bigint", "timestamptz", "timestamptz"}, rows)
	return tx.grantsSaved(gs, n, err, "mark grants warned")
}

func (tx *writeTx) grantsSaved(gs []*workflow.Grant, n int64, err error, what string) error {
	if err != nil {
		return dbErr(err, what)
	}
	if int(n) != len(gs) {
		return workflow.Errorf(workflow.ENOTFOUND, "%s: %d of %d grants do not exist", what, len(gs)-int(n), len(gs))
	}
	for _, g := range gs {
		g.UpdatedAt = tx.now
	}
	return nil
}
