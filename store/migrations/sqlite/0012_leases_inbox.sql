-- Durable envelopes and leases that die with their process. Keep in step
-- with ../postgres/0012_leases_inbox.sql.
--
-- inbox: every Slack envelope is stored here before it is acked (group
-- commit), and marked done in the transaction that records its effect (or
-- after a handler that changes nothing). Rows not done are finished at
-- start-up or by another replica once their lease has run out.
CREATE TABLE inbox (
    id          TEXT PRIMARY KEY,          -- the envelope_id
    event_id    TEXT    NOT NULL,          -- Events API event_id, '' when none
    type        TEXT    NOT NULL,          -- socketmode envelope type
    payload     TEXT    NOT NULL,          -- the envelope's payload JSON
    state       TEXT    NOT NULL,          -- pending, leased, done
    lease_owner TEXT    NOT NULL,
    lease_until TEXT,
    attempts    INTEGER NOT NULL,
    received_at TEXT    NOT NULL,
    done_at     TEXT
) STRICT;

CREATE UNIQUE INDEX inbox_event ON inbox (event_id) WHERE event_id <> '';
CREATE INDEX inbox_open ON inbox (lease_until) WHERE state <> 'done';
CREATE INDEX inbox_done ON inbox (done_at) WHERE state = 'done';

-- The outbox's lifecycle (store.NoticeState): pending -> leased ->
-- delivered, or back to pending after a failure, or dead after too many.
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
UPDATE outbox SET state = 'delivered' WHERE delivered_at IS NOT NULL;

CREATE INDEX outbox_open ON outbox (state, next_at, id) WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_open_task ON outbox (task_id, id) WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE state = 'delivered';

-- A card is claimed (a row with ts '') before it is posted, so a second
-- poster finds the claim and waits, or finds the message and updates it.
ALTER TABLE cards ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN lease_until TEXT;
CREATE INDEX cards_claims ON cards (lease_owner) WHERE ts = '';
