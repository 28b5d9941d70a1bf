package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// sqliteTime is how SQLite keeps times: fixed width, UTC, microseconds, so
// that comparing the text compares the times.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// t converts a time into a query argument: NULL for the zero time, UTC to
// the microsecond otherwise (TEXT for SQLite, TIMESTAMPTZ for PostgreSQL).
func (c conn) t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	v = v.UTC().Truncate(time.Microsecond)
	if c.d == dialectSQLite {
		return v.Format(sqliteTime)
	}
	return v
}

// dbTime scans a time column of either dialect; NULL is the zero time.
type dbTime struct{ time.Time }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = v.UTC()
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("store: cannot read %T as a time", src)
	}
	return nil
}

func (t *dbTime) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad time %q: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// jsonText encodes v for a TEXT column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// jsonNull encodes v, or NULL when empty.
func jsonNull(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	return jsonText(v)
}

// jsonScan decodes a nullable JSON column into v (left alone for NULL).
func jsonScan(s *string, v any) error {
	if s == nil || *s == "" {
		return nil
	}
	return json.Unmarshal([]byte(*s), v)
}

// where collects the conditions of a query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// in adds "col IN (?, ?, …)" for a non-empty list.
func in[T any](w *where, col string, vals []T) {
	if len(vals) == 0 {
		return
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
	w.conds = append(w.conds, col+" IN ("+marks+")")
	for _, v := range vals {
		w.args = append(w.args, v)
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limit returns the LIMIT/OFFSET clause of a query (both dialects need a
// LIMIT before an OFFSET).
func limit(n, offset int) string {
	switch {
	case n > 0 && offset > 0:
		return fmt.Sprintf(" LIMIT %d OFFSET %d", n, offset)
	case n > 0:
		return fmt.Sprintf(" LIMIT %d", n)
	case offset > 0:
		return fmt.Sprintf(" LIMIT %d OFFSET %d", int64(1)<<62, offset)
	}
	return ""
}
