-- Counts the writes of a task_reminders row, so a reminder sweep that
-- planned on an earlier snapshot writes only over what it read, as
-- tasks.version guards task rows (a new row is 1). The trigger moves rev
-- on for writers that do not (a replica still on an older binary during a
-- rolling upgrade), so their reminders are seen too. Keep in step with
-- ../sqlite/0011_reminder_rev.sql.
ALTER TABLE task_reminders ADD COLUMN rev BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION task_reminders_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rev = OLD.rev THEN
        NEW.rev := OLD.rev + 1;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER task_reminders_rev BEFORE UPDATE ON task_reminders
    FOR EACH ROW EXECUTE FUNCTION task_reminders_rev();
