package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"accessbot/workflow"
)

// Shape of the insights benchmark's history.
const (
	benchPeople   = 10_000 // p<i>@x.com, 100 per manager m<i/100>@x.com
	benchTeam     = 100
	benchApps     = 20 // a<i>, each with resources r0..r4
	benchRes      = 5
	benchTasks    = 100_000
	benchEvents   = 10 // per task: 1,000,000 audit events
	benchGrants   = 100_000
	benchPopular  = 3 // one task or grant in benchPopular is for a0/r0
	benchHistDays = 720
)

// BenchmarkInsights measures computing a reviewer's insights for one
// request against a history of 100,000 tasks with 1,000,000 audit events and
// 100,000 grants (a third of it for the requested resource, which about
// 4,000 people hold now), 10,000 people in teams of 100. "request" is a
// grant task reviewed by the requester's manager, with a history that makes
// every grant insight run its queries; "revocation" a revoke task. The
// history is written in one transaction with prepared multi-row inserts,
// the indexes built once at the end; only the computation is timed, and
// ms/op is per computation. PostgreSQL runs when it is reachable (see
// postgresDSN).
//
//	go test -run '^$' -bench Insights -benchtime 200x ./store/
func BenchmarkInsights(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchInsights(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		if _, err := postgresBase(); err != nil {
			b.Skipf("PostgreSQL not reachable at %s: %v", redact(postgresDSN()), err)
		}
		base, _ := postgresBase()
		schema := fmt.Sprintf("accessbot_bench_%d", time.Now().UnixNano())
		admin, err := sql.Open("pgx", base)
		if err != nil {
			b.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			b.Fatal(err)
		}
		defer admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		db, err := Open(context.Background(), base+sep+"search_path="+schema, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchInsights(b, db)
	})
}

func benchInsights(b *testing.B, db *DB) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	start := time.Now()
	if err := seedInsightHistory(ctx, db, now); err != nil {
		b.Fatal(err)
	}
	if db.dialect == dialectPostgres {
		// What autovacuum does to a table at rest: statistics for the
		// planner and a visibility map for index-only scans.
		if _, err := db.w.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
		// Flush the load's WAL now rather than during the timed part (a
		// superuser may; elsewhere the figure includes the checkpoint).
		if _, err := db.w.ExecContext(ctx, "CHECKPOINT"); err != nil {
			b.Logf("no checkpoint before timing: %v", err)
		}
	}
	b.Logf("%s: seeded %d tasks, %d audit events, %d grants in %s", db.dialect, benchTasks, benchTasks*benchEvents, benchGrants, time.Since(start).Round(time.Millisecond))
	cat := benchCatalog()
	e := workflow.NewEngine(db, cat, func() time.Time { return now })

	requester, reviewer := "p0@x.com", "m0@x.com"
	var req, rev *workflow.Task
	err := db.Update(ctx, func(tx workflow.Tx) error {
		// The requester's own history: denied for this access three weeks
		// ago, and five other requests this month.
		day := 24 * time.Hour
		history := []*workflow.Task{benchTask(now.Add(-21*day), requester, "a0", "r0", workflow.StatusDenied, reviewer)}
		for i := range 5 {
			history = append(history, benchTask(now.Add(-time.Duration(i+1)*day), requester, "a1", fmt.Sprintf("r%d", i), workflow.StatusDone, reviewer))
		}
		for _, h := range history {
			if err := tx.CreateTask(h); err != nil {
				return err
			}
		}
		req = benchTask(now, requester, "a0", "r0", workflow.StatusOpen, reviewer)
		req.Duration = 7 * day
		if err := tx.CreateTask(req); err != nil {
			return err
		}
		g := &workflow.Grant{Subject: "p1@x.com", AppID: "a0", ResourceID: "r0", Status: workflow.GrantActive, StartsAt: now.Add(-40 * 24 * time.Hour), ExpiresAt: now.Add(30 * time.Hour), GrantedBy: reviewer, TaskID: 1}
		if err := tx.CreateGrant(g); err != nil {
			return err
		}
		rev = benchTask(now, "owner@x.com", "a0", "r0", workflow.StatusOpen, "owner@x.com")
		rev.Kind, rev.Subject, rev.GrantID, rev.Origin = workflow.KindRevoke, "p1@x.com", g.ID, workflow.OriginProposal
		return tx.CreateTask(rev)
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		task *workflow.Task
		who  string
	}{{"request", req, reviewer}, {"revocation", rev, "owner@x.com"}} {
		b.Run(c.name, func(b *testing.B) {
			ins, err := e.Insights(ctx, c.task, c.who)
			if err != nil {
				b.Fatal(err)
			}
			for _, in := range ins {
				b.Logf("%s %s: %s", in.Severity, in.Kind, in.Text)
			}
			if len(ins) < 3 {
				b.Fatalf("only %d insights: the fixture lost its history", len(ins))
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Insights(ctx, c.task, c.who); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

func benchCatalog() *workflow.Catalog {
	cat := &workflow.Catalog{People: map[string]workflow.Person{}, Policies: map[string]*workflow.Policy{}}
	for i := range benchPeople {
		email := fmt.Sprintf("p%d@x.com", i)
		cat.People[email] = workflow.Person{Email: email, Manager: fmt.Sprintf("m%d@x.com", i/benchTeam)}
	}
	for i := range benchApps {
		app := &workflow.App{ID: fmt.Sprintf("a%d", i), Name: fmt.Sprintf("App %d", i), Settings: workflow.Settings{
			Provisioning: workflow.ProvisioningNone, RequestPolicy: "std", RevocationPolicy: "std",
			DefaultDuration: 8 * time.Hour, MaxDuration: 7 * 24 * time.Hour,
		}}
		for r := range benchRes {
			app.Resources = append(app.Resources, &workflow.Resource{ID: fmt.Sprintf("r%d", r), Name: fmt.Sprintf("Resource %d", r)})
		}
		cat.Apps = append(cat.Apps, app)
	}
	cat.Policies["std"] = &workflow.Policy{Name: "std", Steps: []workflow.Step{{Type: workflow.StepReview, Approvers: []workflow.Principal{"manager"}, Mode: workflow.ModeAny}}}
	return cat
}

// benchAccess spreads history over the entitlements, one in benchPopular
// on a0/r0.
func benchAccess(i int) (app, res string) {
	if i%benchPopular == 0 {
		return "a0", "r0"
	}
	return fmt.Sprintf("a%d", i%benchApps), fmt.Sprintf("r%d", i/benchApps%benchRes)
}

func benchTask(created time.Time, requester, app, res string, status workflow.Status, reviewer string) *workflow.Task {
	run := workflow.StepRun{Status: workflow.StepActive, StartedAt: created, Assignees: []workflow.Assignment{{Email: reviewer, Via: workflow.ViaPolicy, State: workflow.AssignPending}}}
	t := &workflow.Task{Kind: workflow.KindGrant, Status: status, Revision: 1, Version: 1, Requester: requester, Subject: requester,
		AppID: app, ResourceID: res, Duration: 8 * time.Hour, Justification: "bench", Origin: workflow.OriginRequest,
		Policy:    workflow.Policy{Name: "std", Steps: []workflow.Step{{Type: workflow.StepReview, Approvers: []workflow.Principal{"manager"}, Mode: workflow.ModeAny}}},
		CreatedAt: created}
	if status != workflow.StatusOpen {
		run.Status, run.EndedAt, run.DecidedBy = workflow.StepApproved, created.Add(time.Hour), reviewer
		run.Assignees[0].State, run.Assignees[0].DecidedAt = workflow.AssignApproved, created.Add(time.Hour)
		if status == workflow.StatusDenied {
			run.Status, run.Comment = workflow.StepDenied, "not needed"
			run.Assignees[0].State = workflow.AssignDenied
		}
		t.ClosedAt = created.Add(time.Hour)
	}
	t.Steps = []workflow.StepRun{run}
	return t
}

// seedInsightHistory writes the benchmark's history in one transaction:
// tasks (60% done, 25% denied, 5% open, the rest canceled), benchEvents
// audit events each, grants (40% active, 40% expired, 20% revoked) and a
// time zone for everyone.
func seedInsightHistory(ctx context.Context, db *DB, now time.Time) error {
	return db.Update(ctx, func(t workflow.Tx) (rerr error) {
		tx := t.(*writeTx)
		c := tx.conn
		// Building the indexes once at the end is much faster than keeping
		// them up to date row by row.
		indexes, err := dropIndexes(c, "tasks", "audit_events", "grants")
		if err != nil {
			return err
		}
		defer func() {
			for _, ddl := range indexes {
				if _, err := c.exec(ddl); err != nil && rerr == nil {
					rerr = fmt.Errorf("recreate index: %w", err)
				}
			}
		}()
		span := time.Duration(benchHistDays) * 24 * time.Hour
		at := func(i, n int) time.Time { return now.Add(-span + time.Duration(i)*(span/time.Duration(n))) }

		cols := append([]string{"id", "version"}, taskCols...)
		rows := make([][]any, 0, benchTasks)
		for i := range benchTasks {
			app, res := benchAccess(i)
			status := workflow.StatusDone
			switch i % 20 {
			case 1, 2, 3, 4, 5:
				status = workflow.StatusDenied
			case 6:
				status = workflow.StatusOpen
			case 7:
				status = workflow.StatusCanceled
			}
			person := i % benchPeople
			task := benchTask(at(i, benchTasks), fmt.Sprintf("p%d@x.com", person), app, res, status, fmt.Sprintf("m%d@x.com", person/benchTeam))
			task.ID = int64(i + 1)
			args, err := c.taskArgs(task, task.CreatedAt)
			if err != nil {
				return err
			}
			rows = append(rows, append([]any{task.ID, 1}, args...))
		}
		if err := bulkInsert(c, "tasks", cols, rows); err != nil {
			return err
		}
		if _, err := c.exec("UPDATE counters SET value = ? WHERE name = 'task'", benchTasks); err != nil {
			return err
		}

		rows = rows[:0]
		actions := []string{workflow.ActCreated, workflow.ActStepStarted, workflow.ActAssigned, workflow.ActReminded, workflow.ActCommented,
			workflow.ActReminded, workflow.ActCommented, workflow.ActApproved, workflow.ActGranted, workflow.ActExpired}
		for i := range benchTasks {
			for s := range benchEvents {
				hash := fmt.Sprintf("%064x", i*benchEvents+s+1)
				prev := ""
				if s > 0 {
					prev = fmt.Sprintf("%064x", i*benchEvents+s)
				}
				rows = append(rows, []any{int64(i + 1), int64(s + 1), c.t(at(i, benchTasks).Add(time.Duration(s) * time.Minute)), "accessbot", actions[s], 0, "", `{"k":"v"}`, prev, hash})
			}
		}
		if err := bulkInsert(c, "audit_events", []string{"task_id", "seq", "at", "actor", "action", "step", "comment", "details_json", "prev_hash", "hash"}, rows); err != nil {
			return err
		}

		// A person holds an access at most once (the engine extends a grant
		// rather than making a second): the newest grant of each stays active.
		rows = rows[:0]
		held := map[string]bool{}
		for i := benchGrants - 1; i >= 0; i-- {
			app, res := benchAccess(i)
			g := &workflow.Grant{Subject: fmt.Sprintf("p%d@x.com", (i*7)%benchPeople), AppID: app, ResourceID: res,
				StartsAt: at(i, benchGrants), GrantedBy: "m0@x.com", TaskID: int64(i%benchTasks + 1)}
			g.ExpiresAt = g.StartsAt.Add(30 * 24 * time.Hour)
			key := g.Subject + " " + app + " " + res
			switch i % 5 {
			case 0, 1:
				if held[key] {
					g.Status, g.EndedAt = workflow.GrantExpired, g.ExpiresAt
					break
				}
				held[key] = true
				g.Status = workflow.GrantActive
				g.ExpiresAt = now.Add(time.Duration(i%1000) * time.Hour)
			case 2, 3:
				g.Status, g.EndedAt = workflow.GrantExpired, g.ExpiresAt
			default:
				g.Status, g.EndedAt = workflow.GrantRevoked, g.StartsAt.Add(24*time.Hour)
			}
			rows = append(rows, c.grantArgs(g, now))
		}
		if err := bulkInsert(c, "grants", strings.Split(grantCols, ", "), rows); err != nil {
			return err
		}

		rows = rows[:0]
		zones := []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"}
		for i := range benchPeople {
			rows = append(rows, []any{fmt.Sprintf("p%d@x.com", i), fmt.Sprintf("U%d", i), "", zones[i%len(zones)], false, false, c.t(now)})
		}
		return bulkInsert(c, "chat_users", []string{"email", "chat_id", "name", "tz", "is_bot", "deleted", "resolved_at"}, rows)
	})
}

// bulkInsert writes rows with one prepared multi-row INSERT of up to
// bulkRows rows (and a last one for the rest), under both dialects' limits
// on bound parameters.
func bulkInsert(c conn, table string, cols []string, rows [][]any) error {
	const bulkRows = 100
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	stmt := func(n int) string {
		return c.q.Rebind("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", "))
	}
	prep, ok := c.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return fmt.Errorf("bulk insert into %s: %T cannot prepare", table, c.q)
	}
	full, err := prep.PrepareContext(c.ctx, stmt(bulkRows))
	if err != nil {
		return fmt.Errorf("bulk insert into %s: %w", table, err)
	}
	defer full.Close()
	args := make([]any, 0, bulkRows*len(cols))
	for from := 0; from < len(rows); from += bulkRows {
		chunk := rows[from:min(from+bulkRows, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == bulkRows {
			_, err = full.ExecContext(c.ctx, args...)
		} else {
			_, err = c.q.ExecContext(c.ctx, stmt(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("bulk insert into %s: %w", table, err)
		}
	}
	return nil
}

// dropIndexes drops the secondary indexes of tables (not those behind a
// primary key or unique constraint) and returns the statements that
// recreate them.
func dropIndexes(c conn, tables ...string) ([]string, error) {
	var out []string
	for _, table := range tables {
		var defs []struct {
			Name string `db:"name"`
			DDL  string `db:"ddl"`
		}
		q := "SELECT name, sql AS ddl FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
		if c.d == dialectPostgres {
			q = `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS ddl FROM pg_index x
				JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
				WHERE t.relname = ? AND t.relnamespace = current_schema()::regnamespace
				AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)`
		}
		if err := c.sel(&defs, q, table); err != nil {
			return nil, fmt.Errorf("list indexes of %s: %w", table, err)
		}
		for _, d := range defs {
			if _, err := c.exec("DROP INDEX " + d.Name); err != nil {
				return nil, fmt.Errorf("drop index %s: %w", d.Name, err)
			}
			out = append(out, d.DDL)
		}
	}
	return out, nil
}
