-- Reminder bookkeeping the reminder sweep writes without rewriting task
-- rows (whose JSON documents make each rewrite costly): when the task and
-- each assignee of its current step were last reminded. A row overrides
-- the task's reminded_at and the reminder times in its steps_json while
-- it exists; SaveTask folds it into the task row and deletes it. Keep in
-- step with ../sqlite/0010_task_reminders.sql.
CREATE TABLE task_reminders (
    task_id     BIGINT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    remind_step BIGINT NOT NULL, -- the task's step when written
    remind_at   TIMESTAMPTZ,     -- tasks.reminded_at
    remind_json TEXT   NOT NULL  -- each assignee's reminded_at, in order ("" never)
);
