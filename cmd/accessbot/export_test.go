package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/store"
	"accessbot/workflow"
)

const exportConfig = `
admins: [admin@example.com]
people:
  - email: alice@example.com
    manager: mgr@example.com
  - email: mgr@example.com
  - email: prov@example.com
  - email: admin@example.com
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  revoke:
    steps:
      - type: deprovision
apps:
  - id: github
    provisioners: [prov@example.com]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: admin
      - id: read
`

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// exportDB builds a database through the engine over three days: on the
// 20th alice asks (T-1), on the 21st mgr comments and approves, on the
// 22nd alice asks for admin (T-2) and an admin deletes it.
func exportDB(t *testing.T) (path string, total int) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "a.db")
	cat, err := config.Parse([]byte(exportConfig))
	require.NoError(t, err)
	clk := &fakeClock{now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, path, clk.Now)
	require.NoError(t, err)
	defer db.Close()
	e := workflow.NewEngine(db, cat, clk.Now)
	t1, err := e.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", ResourceID: "read", Justification: "on call, \"tier 1\"\nweek 48"})
	require.NoError(t, err)
	clk.Set(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
	_, err = e.Comment(ctx, workflow.CommentInput{TaskID: t1.ID, Actor: "mgr@example.com", Text: "=HYPERLINK(\"http://evil\"), ok"})
	require.NoError(t, err)
	_, err = e.Approve(ctx, workflow.Decision{TaskID: t1.ID, Actor: "mgr@example.com"})
	require.NoError(t, err)
	clk.Set(time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC))
	t2, err := e.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "github", ResourceID: "admin", Justification: "x"})
	require.NoError(t, err)
	_, err = e.Delete(ctx, workflow.AdminInput{TaskID: t2.ID, Actor: "admin@example.com", Reason: "test"})
	require.NoError(t, err)
	require.NoError(t, db.View(ctx, func(tx workflow.ReadTx) error {
		return tx.WalkAudit(func(workflow.AuditEvent) error { total++; return nil })
	}))
	return path, total
}

func TestAuditExportCSV(t *testing.T) {
	t.Parallel()
	path, total := exportDB(t)
	code, out, errOut := run(t, nil, "audit", "export", "--db", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, fmt.Sprintf("audit export: %d events", total))
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err, "the CSV parses")
	require.Equal(t, exportColumns, recs[0])
	require.Len(t, recs[1:], total, "every event, once")
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	var sawDelete, sawComment, sawCreate bool
	for _, r := range recs[1:] {
		assert.Len(t, r[col["hash"]], 64)
		switch r[col["action"]] {
		case workflow.ActDeleted:
			sawDelete = true
			assert.Equal(t, "T-2", r[col["task"]], "the admin chain names the task it acted on")
			assert.Equal(t, []string{"grant", "github", "admin", "alice@example.com", "admin@example.com"},
				[]string{r[col["kind"]], r[col["app"]], r[col["resource"]], r[col["subject"]], r[col["actor"]]})
		case workflow.ActCommented:
			sawComment = true
			assert.Equal(t, `'=HYPERLINK("http://evil"), ok`, r[col["comment"]], "a formula is defused")
			assert.Equal(t, "2026-11-21T09:30:00Z", r[col["time"]])
		case workflow.ActCreated:
			if r[col["task"]] == "T-1" {
				sawCreate = true
				assert.Equal(t, "on call, \"tier 1\"\nweek 48", r[col["comment"]], "quotes and newlines survive")
				assert.Equal(t, "grant", r[col["kind"]])
			}
		}
	}
	assert.True(t, sawDelete && sawComment && sawCreate, "deleted, commented and created events are exported")
}

func TestAuditExportJSONAndFilters(t *testing.T) {
	t.Parallel()
	path, total := exportDB(t)
	lines := func(args ...string) []map[string]any {
		t.Helper()
		code, out, errOut := run(t, nil, append([]string{"audit", "export", "--db", path, "--format", "json"}, args...)...)
		require.Equal(t, 0, code, errOut)
		var rows []map[string]any
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), "each line is one JSON object: %s", l)
			rows = append(rows, m)
		}
		return rows
	}
	all := lines()
	require.Len(t, all, total)
	for _, k := range []string{"task", "kind", "app", "resource", "subject", "actor", "action", "comment", "time", "hash"} {
		assert.Contains(t, all[0], k)
	}
	days := func(rows []map[string]any) map[string]int {
		out := map[string]int{}
		for _, r := range rows {
			out[r["time"].(string)[:10]]++
		}
		return out
	}
	byDay := days(all)
	require.Len(t, byDay, 3)

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--since", "2026-11-21"}, []string{"2026-11-21", "2026-11-22"}},
		{[]string{"--until", "2026-11-21"}, []string{"2026-11-20", "2026-11-21"}},
		{[]string{"--since", "2026-11-21", "--until", "2026-11-21"}, []string{"2026-11-21"}},
		{[]string{"--since", "2026-11-21T09:30:00Z", "--until", "2026-11-21T09:30:00Z"}, []string{"2026-11-21"}},
		{[]string{"--since", "2026-11-22T16:00:00.000001Z"}, nil},
		{[]string{"--since", "2027-01-01"}, nil},
	}
	for _, tt := range tests {
		got := days(lines(tt.args...))
		var want = map[string]int{}
		for _, d := range tt.want {
			want[d] = byDay[d]
		}
		assert.Equal(t, want, got, "%v", tt.args)
	}
	code, out, _ := run(t, nil, "audit", "export", "--db", path, "--since", "2027-01-01")
	assert.Equal(t, 0, code)
	assert.Equal(t, strings.Join(exportColumns, ",")+"\n", out, "an empty CSV export still has its header")
}

func TestAuditExportBadInput(t *testing.T) {
	t.Parallel()
	path, _ := exportDB(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `--since "yesterday" is not a date`},
		{[]string{"--until", "2026-13-01"}, `--until "2026-13-01" is not a date`},
		{[]string{"--format", "xml"}, `--format "xml": use csv or json`},
		{[]string{"--since", "2026-11-22", "--until", "2026-11-21"}, "is not before"},
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--sinse", "2026-11-22"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, nil, append([]string{"audit", "export", "--db", path}, tt.args...)...)
		assert.Equal(t, 2, code, "%v", tt.args)
		assert.Contains(t, errOut, tt.want, "%v", tt.args)
		assert.Empty(t, out, "%v: nothing on stdout", tt.args)
	}
}

// heapWriter discards what it is given and samples the live heap every
// 256 KiB written, keeping the largest.
type heapWriter struct {
	n, next int
	peak    uint64
}

func (w *heapWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n >= w.next {
		w.next = w.n + 256<<10
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.peak = max(w.peak, ms.HeapAlloc)
	}
	return len(p), nil
}

// bulkAudit appends n events over 50 chains straight to the store (valid
// chains: verify passes), 5,000 to a transaction.
func bulkAudit(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, nil)
	require.NoError(t, err)
	defer db.Close()
	for done := 0; done < n; {
		err := db.Update(ctx, func(tx workflow.Tx) error {
			for i := 0; i < 5000 && done < n; i++ {
				ev := &workflow.AuditEvent{TaskID: int64(done%50) + 1, Actor: "mgr@example.com", Action: workflow.ActCommented,
					Comment: "comment number " + strconv.Itoa(done), Details: map[string]string{"source": "bulk"}}
				if err := tx.AppendAudit(ev); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		require.NoError(t, err)
	}
}

// TestAuditExportMemoryIsFlat exports 10 times as many events and expects
// the live heap not to grow with them.
func TestAuditExportMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 110,000 audit events")
	}
	small, big := 10_000, 100_000
	if raceOn {
		small, big = 3_000, 30_000
	}
	peak := map[int]uint64{}
	for _, n := range []int{small, big} {
		path := filepath.Join(t.TempDir(), "bulk.db")
		bulkAudit(t, path, n)
		for _, format := range []string{"csv", "json"} {
			w := &heapWriter{}
			var errOut bytes.Buffer
			start := time.Now()
			code := Main(context.Background(), []string{"audit", "export", "--db", path, "--format", format},
				Env{Stdout: w, Stderr: &errOut, Getenv: os.Getenv})
			require.Equal(t, 0, code, errOut.String())
			require.Contains(t, errOut.String(), fmt.Sprintf("%d events", n))
			t.Logf("%s: %d events, %.1f MB written in %s, peak live heap %.1f MB", format, n, float64(w.n)/1e6, time.Since(start).Round(time.Millisecond), float64(w.peak)/1e6)
			peak[n] = max(peak[n], w.peak)
		}
	}
	// Ten times the events may not cost more than a few MB more heap (GC
	// noise, caches); a export holding its rows would grow by ~100 MB.
	assert.Less(t, peak[big], peak[small]+8<<20, "peak heap %d B for %d events vs %d B for %d", peak[big], big, peak[small], small)
}

// BenchmarkAuditExport exports 50,000 events per iteration and reports
// the rate and the peak live heap.
func BenchmarkAuditExport(b *testing.B) {
	const n = 50_000
	path := filepath.Join(b.TempDir(), "bulk.db")
	bulkAudit(b, path, n)
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		w := &heapWriter{}
		var errOut bytes.Buffer
		if code := Main(context.Background(), []string{"audit", "export", "--db", path},
			Env{Stdout: w, Stderr: &errOut, Getenv: os.Getenv}); code != 0 {
			b.Fatal(errOut.String())
		}
		peak = max(peak, w.peak)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}
