package store

import (
	"context"
	"fmt"

	"accessbot/workflow"
)

// CommentMirrors returns where the comment (taskID, seq) was mirrored, in
// the order it was posted.
func (db *DB) CommentMirrors(ctx context.Context, taskID, seq int64) ([]workflow.CommentMirror, error) {
	var rows []struct {
		TaskID   int64  `db:"task_id"`
		Seq      int64  `db:"comment_seq"`
		Channel  string `db:"channel"`
		ThreadTS string `db:"thread_ts"`
		TS       string `db:"ts"`
		PostedAt dbTime `db:"posted_at"`
	}
	err := db.reader(ctx).sel(&rows, `SELECT task_id, comment_seq, channel, thread_ts, ts, posted_at
		FROM comment_mirrors WHERE task_id = ? AND comment_seq = ? ORDER BY posted_at, channel`, taskID, seq)
	if err != nil {
		return nil, dbErr(err, fmt.Sprintf("read mirrors of comment %d of T-%d", seq, taskID))
	}
	out := make([]workflow.CommentMirror, len(rows))
	for i, r := range rows {
		out[i] = workflow.CommentMirror{TaskID: r.TaskID, Seq: r.Seq, Channel: r.Channel, ThreadTS: r.ThreadTS, TS: r.TS, PostedAt: r.PostedAt.Time}
	}
	return out, nil
}

// SaveCommentMirror records that the comment was posted as message m.TS in
// m.Channel. A second record for the same channel is ECONFLICT. A zero
// PostedAt is the store's clock.
func (db *DB) SaveCommentMirror(ctx context.Context, m workflow.CommentMirror) error {
	if m.PostedAt.IsZero() {
		m.PostedAt = db.now()
	}
	c := db.writer(ctx)
	_, err := c.exec(`INSERT INTO comment_mirrors (task_id, comment_seq, channel, thread_ts, ts, posted_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.TaskID, m.Seq, m.Channel, m.ThreadTS, m.TS, c.t(m.PostedAt))
	return dbErr(err, fmt.Sprintf("save mirror of comment %d of T-%d", m.Seq, m.TaskID))
}
