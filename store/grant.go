package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"accessbot/workflow"
)

const grantCols = "subject, app_id, resource_id, status, starts_at, expires_at, task_id, granted_by, ended_at, end_task_id, warned_at, updated_at"

type grantRow struct {
	ID         int64  `db:"id"`
	Subject    string `db:"subject"`
	AppID      string `db:"app_id"`
	ResourceID string `db:"resource_id"`
	Status     string `db:"status"`
	StartsAt   dbTime `db:"starts_at"`
	ExpiresAt  dbTime `db:"expires_at"`
	TaskID     int64  `db:"task_id"`
	GrantedBy  string `db:"granted_by"`
	EndedAt    dbTime `db:"ended_at"`
	EndTaskID  int64  `db:"end_task_id"`
	WarnedAt   dbTime `db:"warned_at"`
	UpdatedAt  dbTime `db:"updated_at"`
}

func (r *grantRow) grant() *workflow.Grant {
	return &workflow.Grant{
		ID: r.ID, Subject: r.Subject, AppID: r.AppID, ResourceID: r.ResourceID,
		Status: workflow.GrantStatus(r.Status), StartsAt: r.StartsAt.Time, ExpiresAt: r.ExpiresAt.Time,
		TaskID: r.TaskID, GrantedBy: r.GrantedBy, EndedAt: r.EndedAt.Time, EndTaskID: r.EndTaskID,
		WarnedAt: r.WarnedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
}

func (c conn) grantArgs(g *workflow.Grant, updatedAt time.Time) []any {
	return []any{
		g.Subject, g.AppID, g.ResourceID, string(g.Status), c.t(g.StartsAt), c.t(g.ExpiresAt),
		g.TaskID, g.GrantedBy, c.t(g.EndedAt), g.EndTaskID, c.t(g.WarnedAt), c.t(updatedAt),
	}
}

// Grant returns grant id, or ENOTFOUND.
func (tx *readTx) Grant(id int64) (*workflow.Grant, error) {
	var r grantRow
	err := tx.get(&r, "SELECT id, "+grantCols+" FROM grants WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.Errorf(workflow.ENOTFOUND, "grant %d does not exist", id)
	}
	if err != nil {
		return nil, dbErr(err, fmt.Sprintf("read grant %d", id))
	}
	return r.grant(), nil
}

// FindGrants returns the grants matching q, oldest first (Newest: newest
// first; ByExpiry: the soonest to expire first; use it with ExpiresBefore). ExpiresBefore
// selects grants with an expiry at or before it (permanent ones never).
func (tx *readTx) FindGrants(q workflow.GrantQuery) ([]*workflow.Grant, error) {
	w := tx.grantWhere(q)
	order := " ORDER BY id"
	switch {
	case q.ByExpiry:
		order = " ORDER BY expires_at, id"
	case q.Newest:
		order = " ORDER BY id DESC"
	}
	var rows []grantRow
	err := tx.sel(&rows, "SELECT id, "+grantCols+" FROM grants"+w.String()+order+limit(q.Limit, 0), w.args...)
	if err != nil {
		return nil, dbErr(err, "find grants")
	}
	out := make([]*workflow.Grant, len(rows))
	for i := range rows {
		out[i] = rows[i].grant()
	}
	return out, nil
}

// CountGrants counts the grants matching q (Limit, ByExpiry and Newest aside).
// Subjects are a VALUES list joined to grants rather than an IN list: a
// PostgreSQL generic plan tests an IN list of parameters row by row (over a
// popular resource's holders, milliseconds) where it hashes a joined list,
// and the CROSS JOIN makes SQLite look each person up in the index.
func (tx *readTx) CountGrants(q workflow.GrantQuery) (int, error) {
	subjects := q.Subjects
	q.Subjects = nil
	w := tx.grantWhere(q)
	from := " FROM grants"
	if len(subjects) > 0 {
		from = " FROM (VALUES " + strings.TrimSuffix(strings.Repeat("(?), ", len(subjects)), ", ") + ") AS people CROSS JOIN grants"
		args := make([]any, 0, len(subjects)+len(w.args))
		for _, s := range subjects {
			args = append(args, s)
		}
		w.args = append(args, w.args...)
		w.conds = append(w.conds, "subject = people.column1")
	}
	var n int
	err := tx.get(&n, "SELECT COUNT(*)"+from+w.String(), w.args...)
	return n, dbErr(err, "count grants")
}

// grantWhere turns a query into conditions on grants.
func (tx *readTx) grantWhere(q workflow.GrantQuery) *where {
	w := &where{}
	if q.Subject != "" {
		w.add("subject = ?", q.Subject)
	}
	if q.AppID != "" {
		w.add("app_id = ?", q.AppID)
	}
	if q.ResourceID != nil {
		w.add("resource_id = ?", *q.ResourceID)
	}
	if q.Status != "" {
		w.add("status = ?", string(q.Status))
	}
	if !q.ExpiresBefore.IsZero() {
		w.add("expires_at IS NOT NULL AND expires_at <= ?", tx.t(q.ExpiresBefore))
	}
	if !q.ExpiresAfter.IsZero() {
		w.add("expires_at IS NOT NULL AND expires_at > ?", tx.t(q.ExpiresAfter))
	}
	if q.Unwarned {
		w.add("warned_at IS NULL")
	}
	if len(q.Subjects) > 0 {
		in(w, "subject", q.Subjects)
	}
	return w
}

// CreateGrant inserts g and sets g.ID; UpdatedAt is set to Now.
func (tx *writeTx) CreateGrant(g *workflow.Grant) error {
	id, err := tx.insertID("INSERT INTO grants ("+grantCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tx.grantArgs(g, tx.now)...)
	if err != nil {
		return dbErr(err, "create grant")
	}
	g.ID, g.UpdatedAt = id, tx.now
	return nil
}

// SaveGrant writes g (ENOTFOUND if it does not exist); UpdatedAt is set to Now.
func (tx *writeTx) SaveGrant(g *workflow.Grant) error {
	n, err := tx.execN(`UPDATE grants SET subject = ?, app_id = ?, resource_id = ?, status = ?, starts_at = ?,
		expires_at = ?, task_id = ?, granted_by = ?, ended_at = ?, end_task_id = ?, warned_at = ?, updated_at = ?
		WHERE id = ?`, append(tx.grantArgs(g, tx.now), g.ID)...)
	if err != nil {
		return dbErr(err, fmt.Sprintf("save grant %d", g.ID))
	}
	if n == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "grant %d does not exist", g.ID)
	}
	g.UpdatedAt = tx.now
	return nil
}
