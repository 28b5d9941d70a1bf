package workflow

import "context"

// Reads for the Slack edge. The bot shows counts and lists that must agree
// with each other (a Home's tab counts and its page, a "what waits on you"
// summary), so each read here runs on one snapshot; the bot never reaches
// the store itself.

// TaskPage is what CountTasks read for one query: its count and, for a
// query with a Limit, its page.
type TaskPage struct {
	Total int
	// Tasks is the page of a query with a Limit (nil without one).
	Tasks []*Task
	// Offset is where that page starts: the query's Offset, or the start
	// of the last page when the query's Offset was past the last task (a
	// page that emptied since it was shown).
	Offset int
}

// CountTasks counts the tasks matching each of qs on one read snapshot,
// and reads the page of each query that has a Limit.
func (e *Engine) CountTasks(ctx context.Context, qs ...TaskQuery) ([]TaskPage, error) {
	out := make([]TaskPage, len(qs))
	err := e.store.View(ctx, func(tx ReadTx) error {
		for i, q := range qs {
			n, err := tx.CountTasks(q)
			if err != nil {
				return err
			}
			out[i].Total = n
			if q.Limit <= 0 || n == 0 {
				continue
			}
			if q.Offset >= n {
				q.Offset = (n - 1) / q.Limit * q.Limit
			}
			out[i].Offset = q.Offset
			if out[i].Tasks, err = tx.FindTasks(q); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Grant returns a grant and the task that made it (nil when that task is
// gone).
func (e *Engine) Grant(ctx context.Context, id int64) (*Grant, *Task, error) {
	var g *Grant
	var t *Task
	err := e.store.View(ctx, func(tx ReadTx) (err error) {
		if g, err = tx.Grant(id); err != nil {
			return err
		}
		if task, err := tx.Task(g.TaskID); err == nil {
			t = task
		}
		return nil
	})
	return g, t, err
}
