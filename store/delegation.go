package store

import (
	"database/sql"
	"errors"

	"accessbot/workflow"
)

const delegationSelect = "SELECT email, delegate, starts_at, ends_at, set_by, set_at, active FROM delegations"

type delegationRow struct {
	Email    string `db:"email"`
	Delegate string `db:"delegate"`
	Starts   dbTime `db:"starts_at"`
	Ends     dbTime `db:"ends_at"`
	SetBy    string `db:"set_by"`
	SetAt    dbTime `db:"set_at"`
	Active   bool   `db:"active"`
}

func (r *delegationRow) delegation() *workflow.Delegation {
	return &workflow.Delegation{
		Email: r.Email, Delegate: r.Delegate, Starts: r.Starts.Time, Ends: r.Ends.Time,
		SetBy: r.SetBy, SetAt: r.SetAt.Time, Active: r.Active,
	}
}

// Delegation returns email's delegation, or ENOTFOUND.
func (tx *readTx) Delegation(email string) (*workflow.Delegation, error) {
	var r delegationRow
	err := tx.get(&r, delegationSelect+" WHERE email = ?", email)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.Errorf(workflow.ENOTFOUND, "no delegation for %s", email)
	}
	if err != nil {
		return nil, dbErr(err, "read delegation of "+email)
	}
	return r.delegation(), nil
}

// FindDelegations returns the delegations matching q, by email. Due keeps
// those whose Active flag disagrees with their window [Starts, Ends) at Due.
func (tx *readTx) FindDelegations(q workflow.DelegationQuery) ([]*workflow.Delegation, error) {
	w := &where{}
	if q.Delegate != "" {
		w.add("delegate = ?", q.Delegate)
	}
	if !q.Due.IsZero() {
		due := tx.t(q.Due)
		// The same test as workflow.Delegation.ActiveAt.
		inside := "(starts_at IS NULL OR starts_at <= ?) AND (ends_at IS NULL OR ends_at > ?)"
		w.add("((active = ? AND NOT ("+inside+")) OR (active = ? AND "+inside+"))",
			true, due, due, false, due, due)
	}
	var rows []delegationRow
	if err := tx.sel(&rows, delegationSelect+w.String()+" ORDER BY email", w.args...); err != nil {
		return nil, dbErr(err, "find delegations")
	}
	out := make([]*workflow.Delegation, len(rows))
	for i := range rows {
		out[i] = rows[i].delegation()
	}
	return out, nil
}

// PutDelegation sets d.Email's delegation, replacing any other; a zero
// SetAt becomes Now.
func (tx *writeTx) PutDelegation(d *workflow.Delegation) error {
	if d.SetAt.IsZero() {
		d.SetAt = tx.now
	}
	_, err := tx.exec(`INSERT INTO delegations (email, delegate, starts_at, ends_at, set_by, set_at, active)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET delegate = excluded.delegate, starts_at = excluded.starts_at,
			ends_at = excluded.ends_at, set_by = excluded.set_by, set_at = excluded.set_at, active = excluded.active`,
		d.Email, d.Delegate, tx.t(d.Starts), tx.t(d.Ends), d.SetBy, tx.t(d.SetAt), d.Active)
	return dbErr(err, "set delegation of "+d.Email)
}

// DeleteDelegation removes email's delegation, or returns ENOTFOUND.
func (tx *writeTx) DeleteDelegation(email string) error {
	n, err := tx.execN("DELETE FROM delegations WHERE email = ?", email)
	if err != nil {
		return dbErr(err, "remove delegation of "+email)
	}
	if n == 0 {
		return workflow.Errorf(workflow.ENOTFOUND, "no delegation for %s", email)
	}
	return nil
}
