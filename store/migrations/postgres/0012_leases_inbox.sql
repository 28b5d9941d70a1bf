-- Durable envelopes and leases that die with their process. Keep in step
-- with ../sqlite/0012_leases_inbox.sql.
CREATE TABLE inbox (
    id          TEXT PRIMARY KEY,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    lease_owner TEXT    NOT NULL,
    lease_until TIMESTAMPTZ,
    attempts    BIGINT  NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    done_at     TIMESTAMPTZ
);

CREATE UNIQUE INDEX inbox_event ON inbox (event_id) WHERE event_id <> '';
CREATE INDEX inbox_open ON inbox (lease_until) WHERE state <> 'done';
CREATE INDEX inbox_done ON inbox (done_at) WHERE state = 'done';

ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
UPDATE outbox SET state = 'delivered' WHERE delivered_at IS NOT NULL;

CREATE INDEX outbox_open ON outbox (state, next_at, id) WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_open_task ON outbox (task_id, id) WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 'delivered';

ALTER TABLE cards ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX cards_claims ON cards (lease_owner) WHERE ts = '';
