-- Connector jobs: one durable call (with its retries) of a connector,
-- written in the transaction of the decision that needs it and run after
-- the commit. A runner claims a pending job by setting lease_owner and
-- lease_until (and counting the attempt); only the holder of that claim
-- (lease_owner and attempts) moves the job on. Keep in step with
-- ../postgres/0016_connector_jobs.sql.
CREATE TABLE connector_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    connector   TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     TEXT    NOT NULL,
    lease_owner TEXT    NOT NULL,
    lease_until TEXT,
    last_error  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX connector_jobs_due ON connector_jobs (next_at, id) WHERE state = 'pending';
CREATE INDEX connector_jobs_task ON connector_jobs (task_id, id);
