-- The email channel's outbox (issue 17). Rows are written in the same
-- transaction as the change they tell of (workflow.Tx.EnqueueEmails) and
-- delivered by email.Worker, apart from the Slack outbox, so each channel
-- retries and fails on its own. A worker leases a row (lease_owner,
-- lease_until); it finishes it only while it still holds the lease.
-- email_sent records each email sent, so a retried row skips what went out
-- and later emails about a task thread under the earlier ones. Keep in
-- step with ../postgres/0018_email_outbox.sql.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    task_id         INTEGER NOT NULL,
    recipient       TEXT    NOT NULL,
    recipients_json TEXT,
    text            TEXT    NOT NULL,
    data_json       TEXT,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         TEXT    NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     TEXT,
    last_error      TEXT    NOT NULL DEFAULT '',
    done_at         TEXT,
    dropped         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX email_outbox_due ON email_outbox (next_at, id) WHERE done_at IS NULL;
CREATE INDEX email_outbox_task ON email_outbox (task_id, id) WHERE done_at IS NULL;

CREATE TABLE email_sent (
    task_id    INTEGER NOT NULL,
    recipient  TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    sent_at    TEXT    NOT NULL,
    PRIMARY KEY (task_id, recipient, purpose)
) STRICT;
