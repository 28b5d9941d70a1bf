-- Counts the writes of a task_reminders row, so a reminder sweep that
-- planned on an earlier snapshot writes only over what it read, as
-- tasks.version guards task rows (a new row is 1). Keep in step with
-- ../sqlite/0011_reminder_rev.sql.
ALTER TABLE task_reminders ADD COLUMN rev BIGINT NOT NULL DEFAULT 1;
