-- outbox_due and outbox_task were the outbox's indexes before its states
-- (0012): no query reads "delivered_at IS NULL" since, outbox_open and
-- outbox_open_task serve them, and every notice queued still paid for
-- writing both. Dropping them changes no query of an older binary from
-- 0012 on. Keep in step with ../sqlite/0024_drop_unused_outbox_indexes.sql.
DROP INDEX IF EXISTS outbox_due;
DROP INDEX IF EXISTS outbox_task;
