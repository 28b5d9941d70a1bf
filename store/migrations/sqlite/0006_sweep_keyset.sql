-- Nothing to do: SQLite's index tasks_status (status, step_started_at)
-- ends with the rowid, which is what the reminder sweep's pages need (see
-- ../postgres/0006_sweep_keyset.sql).
SELECT 1;
