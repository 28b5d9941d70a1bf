-- A reminder digest is a card (store/digestcard.go): one message listing
-- several tasks, kept current as they change. digest_card_tasks lists its
-- tasks in order with the revision of each that the message shows, so a
-- change of a task finds the digests to redraw. A digest is claimed (a row
-- with ts '') before it is posted, so a second poster (a replica
-- delivering the same notice after a lost lease) never posts it twice;
-- version counts saves, so two redraws at once cannot both record what
-- they showed. Keep in step with ../postgres/0023_digest_cards.sql.
CREATE TABLE digest_cards (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    notice_id   INTEGER NOT NULL,
    email       TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    ts          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT    NOT NULL,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until TEXT
) STRICT;

CREATE UNIQUE INDEX digest_cards_notice ON digest_cards (notice_id);
CREATE UNIQUE INDEX digest_cards_message ON digest_cards (channel, ts) WHERE ts <> '';
CREATE INDEX digest_cards_claims ON digest_cards (lease_owner) WHERE ts = '';

CREATE TABLE digest_card_tasks (
    digest_id INTEGER NOT NULL,
    pos       INTEGER NOT NULL,
    task_id   INTEGER NOT NULL,
    revision  INTEGER NOT NULL,
    PRIMARY KEY (digest_id, pos)
) STRICT;

CREATE INDEX digest_card_tasks_task ON digest_card_tasks (task_id, digest_id);
