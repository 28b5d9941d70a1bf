package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"accessbot/store"
	"accessbot/workflow"
)

const exportUsage = "usage: accessbot audit export [--db DSN] [--since DATE] [--until DATE] [--format csv|json]\n" +
	"  DATE is YYYY-MM-DD (UTC; --until includes that whole day) or RFC 3339 (2026-11-23T15:04:05Z)\n" +
	"  In CSV, a comment that begins with = + - @ ' or a tab gets a leading ' so spreadsheets do not run it; JSON keeps it exact.\n" +
	"  chain is the hash chain an event is on (admin, or T-<n>); task the task it is about. docs/AUDIT.md says how to re-verify."

// exportColumns are the CSV header and the JSON keys, in order.
var exportColumns = []string{"chain", "seq", "task", "time", "kind", "app", "resource", "subject", "actor", "action", "step", "comment", "details", "hash", "prev_hash"}

// exportRow is one audit event with what its task was about.
type exportRow struct {
	Chain    string            `json:"chain"` // "admin" or "T-<n>": the chain the event is on
	Seq      int64             `json:"seq"`
	Task     string            `json:"task"` // the task it is about (on the admin chain, the one acted on)
	Time     string            `json:"time"`
	Kind     string            `json:"kind"`
	App      string            `json:"app"`
	Resource string            `json:"resource"`
	Subject  string            `json:"subject"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Step     string            `json:"step"`
	Comment  string            `json:"comment"`
	Details  map[string]string `json:"details,omitempty"`
	Hash     string            `json:"hash"`
	PrevHash string            `json:"prev_hash"`
}

// exportFilter selects events by time: At >= since and At < until (zero:
// no bound).
type exportFilter struct {
	since, until time.Time
}

func (f exportFilter) keep(at time.Time) bool {
	return (f.since.IsZero() || !at.Before(f.since)) && (f.until.IsZero() || at.Before(f.until))
}

// parseExportDate reads YYYY-MM-DD (UTC midnight; as an upper bound, the
// midnight after) or RFC 3339 (as an upper bound, inclusive).
func parseExportDate(flagName, s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse("2006-01-02", s); err == nil {
		if upper {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("--%s %q is not a date: write YYYY-MM-DD (2026-11-23) or RFC 3339 (2026-11-23T15:04:05Z)", flagName, s)}
	}
	if upper {
		t = t.Add(time.Nanosecond)
	}
	return t.UTC(), nil
}

// runAuditExport writes every audit event, with the task it belongs to, to
// stdout as CSV or JSON lines. It streams: events are read in pages by
// WalkAudit and written as they come, and only the current chain's task is
// held, so memory stays flat however long the log is.
func runAuditExport(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	var c common
	c.register(fs, env)
	since := fs.String("since", "", "first day (YYYY-MM-DD, UTC) or instant (RFC 3339) to export")
	until := fs.String("until", "", "last day (YYYY-MM-DD, UTC, included) or instant (RFC 3339, included)")
	format := fs.String("format", "csv", "csv or json (one object per line)")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("audit export takes no arguments (got %q)\n%s", fs.Args(), exportUsage)}
	}
	var f exportFilter
	var err error
	if f.since, err = parseExportDate("since", *since, false); err != nil {
		return err
	}
	if f.until, err = parseExportDate("until", *until, true); err != nil {
		return err
	}
	if !f.since.IsZero() && !f.until.IsZero() && !f.since.Before(f.until) {
		return usageError{fmt.Sprintf("--since %s is not before --until %s: nothing could match", *since, *until)}
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	var w exportWriter
	switch *format {
	case "csv":
		w = newCSVExport(out)
	case "json":
		w = jsonExport{enc: json.NewEncoder(out)}
	default:
		return usageError{fmt.Sprintf("--format %q: use csv or json", *format)}
	}
	// Read-only, as verify: a mistyped path is refused, not created.
	db, err := store.OpenReadOnly(ctx, c.dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	n := 0
	err = db.View(ctx, func(tx workflow.ReadTx) error {
		tasks := taskCache{tx: tx}
		return tx.WalkAudit(func(ev workflow.AuditEvent) error {
			if !f.keep(ev.At) {
				return nil
			}
			row, err := tasks.row(ev)
			if err != nil {
				return err
			}
			n++
			return w.write(row)
		})
	})
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return fmt.Errorf("audit export (after %d events): %w", n, err)
	}
	fmt.Fprintf(env.Stderr, "audit export: %d events\n", n)
	return nil
}

// taskCache holds the task of the chain being walked (events come ordered
// by task), so each task is read once.
type taskCache struct {
	tx   workflow.ReadTx
	id   int64
	task *workflow.Task // nil when gone
}

func (c *taskCache) get(id int64) (*workflow.Task, error) {
	if id == c.id {
		return c.task, nil
	}
	t, err := c.tx.Task(id)
	if workflow.ErrorCode(err) == workflow.ENOTFOUND {
		t, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read T-%d: %w", id, err)
	}
	c.id, c.task = id, t
	return t, nil
}

// row joins an event with its task. Events of the admin chain name their
// task in Details; a deleted task's facts are in its delete event.
func (c *taskCache) row(ev workflow.AuditEvent) (exportRow, error) {
	r := exportRow{Chain: workflow.ChainLabel(ev.TaskID), Seq: ev.Seq, Time: ev.At.UTC().Format(time.RFC3339Nano), Actor: ev.Actor, Action: ev.Action,
		Comment: ev.Comment, Details: ev.Details, Hash: ev.Hash, PrevHash: ev.PrevHash}
	id := ev.TaskID
	if id == 0 {
		r.Task = ev.Details["task"]
		if ev.Step != 0 {
			r.Step = strconv.Itoa(ev.Step + 1)
		}
		r.Kind, r.App, r.Resource, r.Subject = ev.Details["kind"], ev.Details["app"], ev.Details["resource"], ev.Details["subject"]
		if r.Kind != "" {
			return r, nil
		}
		if n, err := workflow.ParseNumber(r.Task); err == nil {
			id = n
		}
	} else {
		r.Task = "T-" + strconv.FormatInt(id, 10)
		r.Step = strconv.Itoa(ev.Step + 1)
	}
	if id == 0 {
		return r, nil
	}
	t, err := c.get(id)
	if err != nil || t == nil {
		return r, err
	}
	r.Kind, r.App, r.Resource, r.Subject = string(t.Kind), t.AppID, t.ResourceID, t.Subject
	return r, nil
}

type exportWriter interface {
	write(exportRow) error
	flush() error
}

type csvExport struct {
	w      *csv.Writer
	header bool
}

func newCSVExport(out io.Writer) *csvExport { return &csvExport{w: csv.NewWriter(out)} }

func (e *csvExport) write(r exportRow) error {
	if !e.header {
		e.header = true
		if err := e.w.Write(exportColumns); err != nil {
			return err
		}
	}
	details := ""
	if len(r.Details) > 0 {
		b, err := json.Marshal(r.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	return e.w.Write([]string{r.Chain, strconv.FormatInt(r.Seq, 10), r.Task, r.Time, r.Kind, r.App, r.Resource, r.Subject,
		r.Actor, r.Action, r.Step, csvSafe(r.Comment), details, r.Hash, r.PrevHash})
}

// csvSafe keeps a comment people typed from being read as a formula by a
// spreadsheet (CSV injection): a leading =, +, - or @ gets a quote mark.
// So that the mark can be taken off again exactly (to re-verify the hash),
// a comment that already starts with one gets one more.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r'", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (e *csvExport) flush() error {
	if !e.header { // an empty export still says what its columns are
		e.header = true
		if err := e.w.Write(exportColumns); err != nil {
			return err
		}
	}
	e.w.Flush()
	return e.w.Error()
}

type jsonExport struct{ enc *json.Encoder }

func (e jsonExport) write(r exportRow) error { return e.enc.Encode(r) }
func (e jsonExport) flush() error            { return nil }
