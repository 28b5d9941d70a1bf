-- The reminder sweep pages open tasks by (step_started_at, id); with id in
-- the index, a page that continues a tie of equal step starts is a range
-- on the index rather than a rescan of the tie. It serves everything the
-- index it replaces did. (SQLite's indexes end with the rowid already.)
CREATE INDEX tasks_status_id ON tasks (status, step_started_at, id);
DROP INDEX tasks_status;
