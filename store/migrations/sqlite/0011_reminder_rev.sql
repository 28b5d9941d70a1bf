-- Counts the writes of a task_reminders row, so a reminder sweep that
-- planned on an earlier snapshot writes only over what it read, as
-- tasks.version guards task rows (a new row is 1). The trigger moves rev
-- on for writers that do not (a replica still on an older binary during a
-- rolling upgrade), so their reminders are seen too. Keep in step with
-- ../postgres/0011_reminder_rev.sql.
ALTER TABLE task_reminders ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER task_reminders_rev AFTER UPDATE ON task_reminders
WHEN NEW.rev = OLD.rev
BEGIN
    UPDATE task_reminders SET rev = OLD.rev + 1 WHERE task_id = NEW.task_id;
END;
