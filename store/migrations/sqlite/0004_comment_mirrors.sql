-- Where the bot mirrored each comment: one row per channel it posted the
-- comment into, written right after the post, so a retried notice skips the
-- threads that already have it, and an edit or deletion of the comment
-- updates the copies. A comment is named by its task and the Seq of the
-- audit event that carries it. Keep in step with ../postgres/0004_comment_mirrors.sql.
CREATE TABLE comment_mirrors (
    task_id     INTEGER NOT NULL,
    comment_seq INTEGER NOT NULL,
    channel     TEXT    NOT NULL,
    thread_ts   TEXT    NOT NULL,
    ts          TEXT    NOT NULL,
    posted_at   TEXT    NOT NULL,
    PRIMARY KEY (task_id, comment_seq, channel)
) STRICT;
