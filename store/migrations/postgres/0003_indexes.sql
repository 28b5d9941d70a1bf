-- Indexes for reviewer insights (workflow/insights.go). Keep in step with
-- ../sqlite/0003_indexes.sql.

-- A request's holders and the requester's peers among them: counted from
-- the index alone (CountGrants by app, resource, status and subjects).
CREATE INDEX grants_holders ON grants (app_id, resource_id, status, subject);

-- A person's requests by time: how many are recent, open or usual for them.
CREATE INDEX tasks_requests ON tasks (requester, kind, created_at, status);

-- A person's earlier tasks for the same access (denied before, open already).
CREATE INDEX tasks_subject_access ON tasks (subject, app_id, resource_id, kind, status);

-- What was approved for others lately (ApprovedDurations): only finished
-- grant tasks, with every column the query reads.
CREATE INDEX tasks_approved ON tasks (app_id, resource_id, closed_at, subject, duration_seconds)
    WHERE kind = 'grant' AND status = 'done';
