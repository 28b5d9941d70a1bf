-- accessbot schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql.
-- Times are TEXT in one fixed-width UTC format (2006-01-02T15:04:05.000000Z)
-- so that text order is time order; NULL is the zero time.
-- Booleans are INTEGER 0/1.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

INSERT INTO counters (name, value) VALUES ('task', 0);

CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    revision         INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    requester        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    app_id           TEXT    NOT NULL,
    resource_id      TEXT    NOT NULL,
    duration_seconds INTEGER NOT NULL,
    justification    TEXT    NOT NULL,
    emergency        INTEGER NOT NULL,
    extension        INTEGER NOT NULL,
    origin           TEXT    NOT NULL,
    grant_id         INTEGER NOT NULL,
    policy_json      TEXT    NOT NULL,
    step             INTEGER NOT NULL,
    step_type        TEXT    NOT NULL,
    step_started_at  TEXT,
    steps_json       TEXT    NOT NULL,
    error_reason     TEXT    NOT NULL,
    last_actor       TEXT    NOT NULL,
    last_action      TEXT    NOT NULL,
    last_action_at   TEXT,
    reminded_at      TEXT,
    escalated_at     TEXT,
    audit_head       TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    closed_at        TEXT
) STRICT;

CREATE INDEX tasks_status ON tasks (status, step_started_at);
CREATE INDEX tasks_subject ON tasks (subject);
CREATE INDEX tasks_requester ON tasks (requester);
CREATE INDEX tasks_app ON tasks (app_id, resource_id);
CREATE INDEX tasks_grant ON tasks (grant_id) WHERE grant_id <> 0;

-- People index of a task, rewritten on every CreateTask/SaveTask. Roles:
-- requester, subject, assignee (pending on the current step of an open
-- task), involved (assigned at any time, or delegated/reassigned from),
-- actor (decided a step).
CREATE TABLE task_people (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    role    TEXT    NOT NULL,
    email   TEXT    NOT NULL,
    PRIMARY KEY (task_id, role, email)
) STRICT;

CREATE INDEX task_people_email ON task_people (email, role, task_id);

CREATE TABLE grants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject     TEXT    NOT NULL,
    app_id      TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    starts_at   TEXT,
    expires_at  TEXT,
    task_id     INTEGER NOT NULL,
    granted_by  TEXT    NOT NULL,
    ended_at    TEXT,
    end_task_id INTEGER NOT NULL,
    warned_at   TEXT,
    updated_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX grants_subject ON grants (subject, app_id, resource_id);
CREATE INDEX grants_app ON grants (app_id, resource_id);
CREATE INDEX grants_expiry ON grants (status, expires_at);

CREATE TABLE delegations (
    email     TEXT PRIMARY KEY,
    delegate  TEXT    NOT NULL,
    starts_at TEXT,
    ends_at   TEXT,
    set_by    TEXT    NOT NULL,
    set_at    TEXT,
    active    INTEGER NOT NULL
) STRICT;

CREATE INDEX delegations_delegate ON delegations (delegate);

-- Hash-chained audit log; task_id 0 is the admin chain. The unique
-- (task_id, seq) makes a forked chain a constraint violation.
CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    step         INTEGER NOT NULL,
    comment      TEXT    NOT NULL,
    details_json TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    UNIQUE (task_id, seq)
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    task_id         INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    recipients_json TEXT,
    text            TEXT    NOT NULL,
    data_json       TEXT,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_at         TEXT    NOT NULL,
    last_error      TEXT    NOT NULL,
    delivered_at    TEXT
) STRICT;

CREATE INDEX outbox_due ON outbox (next_at, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_task ON outbox (task_id, id) WHERE delivered_at IS NULL;

-- Bot side.

CREATE TABLE chat_users (
    email       TEXT PRIMARY KEY,
    chat_id     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    tz          TEXT    NOT NULL,
    is_bot      INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    resolved_at TEXT
) STRICT;

CREATE UNIQUE INDEX chat_users_chat_id ON chat_users (chat_id) WHERE chat_id <> '';

CREATE TABLE cards (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    step       INTEGER NOT NULL,
    channel    TEXT    NOT NULL,
    ts         TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    final      INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
) STRICT;

CREATE INDEX cards_task ON cards (task_id, id);
CREATE UNIQUE INDEX cards_message ON cards (channel, ts) WHERE ts <> '';

CREATE TABLE seen_keys (
    key     TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
) STRICT;

CREATE INDEX seen_keys_seen_at ON seen_keys (seen_at);
