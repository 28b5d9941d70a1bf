package store

import (
	"context"
	"fmt"
	"time"

	"accessbot/workflow"
)

// Connector jobs (table connector_jobs). The engine writes a job in the
// transaction of the decision that needs it (EnqueueJob) and records its
// outcome in another (SaveJob, guarded by the claim); runners claim due jobs
// outside any engine transaction (ClaimJobs).

const jobCols = "id, task_id, step, action, connector, idem_key, state, attempts, next_at, lease_owner, lease_until, last_error, created_at, updated_at"

type jobRow struct {
	ID         int64  `db:"id"`
	TaskID     int64  `db:"task_id"`
	Step       int    `db:"step"`
	Action     string `db:"action"`
	Connector  string `db:"connector"`
	Key        string `db:"idem_key"`
	State      string `db:"state"`
	Attempts   int    `db:"attempts"`
	NextAt     dbTime `db:"next_at"`
	LeaseOwner string `db:"lease_owner"`
	LeaseUntil dbTime `db:"lease_until"`
	LastError  string `db:"last_error"`
	CreatedAt  dbTime `db:"created_at"`
	UpdatedAt  dbTime `db:"updated_at"`
}

func (r *jobRow) job() *workflow.ConnectorJob {
	return &workflow.ConnectorJob{
		ID: r.ID, TaskID: r.TaskID, Step: r.Step, Action: workflow.JobAction(r.Action), Connector: r.Connector,
		Key: r.Key, State: workflow.JobState(r.State), Attempts: r.Attempts, NextAt: r.NextAt.Time,
		LeaseOwner: r.LeaseOwner, LeaseUntil: r.LeaseUntil.Time, LastError: r.LastError,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
}

// EnqueueJob implements workflow.JobTx.
func (tx *writeTx) EnqueueJob(j *workflow.ConnectorJob) error {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = tx.now
	}
	if j.NextAt.IsZero() {
		j.NextAt = j.CreatedAt
	}
	j.UpdatedAt = j.CreatedAt
	if j.State == "" {
		j.State = workflow.JobPending
	}
	id, err := tx.insertID(`INSERT INTO connector_jobs (task_id, step, action, connector, idem_key, state, attempts, next_at, lease_owner, lease_until, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, '', NULL, '', ?, ?)`,
		j.TaskID, j.Step, string(j.Action), j.Connector, j.Key, string(j.State), tx.t(j.NextAt), tx.t(j.CreatedAt), tx.t(j.UpdatedAt))
	if err != nil {
		return dbErr(err, "enqueue connector job")
	}
	j.ID = id
	return nil
}

// SaveJob implements workflow.JobTx: the claim (lease owner and attempt
// number) must still be the job's, or nothing is written.
func (tx *writeTx) SaveJob(j *workflow.ConnectorJob) error {
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = tx.now
	}
	n, err := tx.execN(`UPDATE connector_jobs SET state = ?, next_at = ?, last_error = ?, lease_owner = '', lease_until = NULL, updated_at = ?
		WHERE id = ? AND state = 'pending' AND lease_owner = ? AND attempts = ?`,
		string(j.State), tx.t(j.NextAt), j.LastError, tx.t(j.UpdatedAt), j.ID, j.LeaseOwner, j.Attempts)
	if err != nil {
		return dbErr(err, "save connector job")
	}
	if n == 0 || j.LeaseOwner == "" {
		return workflow.Errorf(workflow.ECONFLICT, "connector job %d: the lease of %q (attempt %d) is lost; another runner has the job", j.ID, j.LeaseOwner, j.Attempts)
	}
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
	return nil
}

// ClaimJobs claims up to limit due connector jobs for owner until
// now+lease: pending, due at or before now, and not leased (or their lease
// ended: the runner that held it died or hung). Each claim counts an
// attempt. On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so
// replicas claiming at once never get the same job; SQLite has one writer.
func (db *DB) ClaimJobs(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*workflow.ConnectorJob, error) {
	if lease <= 0 || owner == "" {
		return nil, fmt.Errorf("store: ClaimJobs: give an owner and a positive lease")
	}
	if limit <= 0 {
		limit = 10
	}
	lock := ""
	if db.dialect == dialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []jobRow
	err := db.write(ctx, "claim connector jobs", func(c conn) error {
		err := c.sel(&rows, `UPDATE connector_jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (SELECT id FROM connector_jobs
				WHERE state = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY next_at, id LIMIT ?`+lock+`)
			RETURNING `+jobCols,
			owner, c.t(now.Add(lease)), c.t(now), c.t(now), c.t(now), limit)
		return dbErr(err, "claim connector jobs")
	})
	if err != nil {
		return nil, err
	}
	out := make([]*workflow.ConnectorJob, len(rows))
	for i := range rows {
		out[i] = rows[i].job()
	}
	return out, nil
}

// Jobs returns a task's connector jobs, oldest first.
func (db *DB) Jobs(ctx context.Context, taskID int64) ([]*workflow.ConnectorJob, error) {
	var rows []jobRow
	if err := db.reader(ctx).sel(&rows, "SELECT "+jobCols+" FROM connector_jobs WHERE task_id = ? ORDER BY id", taskID); err != nil {
		return nil, dbErr(err, "read connector jobs")
	}
	out := make([]*workflow.ConnectorJob, len(rows))
	for i := range rows {
		out[i] = rows[i].job()
	}
	return out, nil
}

// PendingJobs counts the connector jobs not finished yet, for metrics and tests.
func (db *DB) PendingJobs(ctx context.Context) (int, error) {
	var n int
	err := db.reader(ctx).get(&n, "SELECT COUNT(*) FROM connector_jobs WHERE state = 'pending'")
	return n, dbErr(err, "count connector jobs")
}
