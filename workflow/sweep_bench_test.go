package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"accessbot/store"
	"accessbot/workflow"
)

// BenchmarkSweeps measures one reminder sweep over 100,000 open tasks (all
// due: 1,000 reviewers in three time zones, 100 tasks each, so 100,000
// reminded tasks and 1,000 digests), the same sweep again with nothing due
// (the every-minute cost), one expiry-warning sweep over 100,000 grants
// (all warned) and one expiry sweep over them (all expire, each with an
// "expired" event on the chain of the task that made it; provisioning
// none, so no revoke tasks). Each reports its seconds and the peak heap
// while it ran, and its CPU time (steadier than wall time on a shared
// machine), and the bytes it wrote to files (WAL and checkpoints; the same
// from run to run, so a change's effect on I/O shows through the noise);
// max_rss_MB is the whole process, seeding included. Peak memory of the
// whole run: /usr/bin/time -v on the test binary. Seeding takes longer than
// the sweeps: SWEEPS_SEED=file keeps the seeded database there and starts
// later runs from a copy of it (delete the file after a schema change).
//
//	go test -run '^$' -bench Sweeps -benchtime 1x ./workflow/
func BenchmarkSweeps(b *testing.B) {
	const tasks, grants, reviewers = 100_000, 100_000, 1_000
	for range b.N {
		b.StopTimer()
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)} // Monday
		path := filepath.Join(b.TempDir(), "bench.db")
		seed := os.Getenv("SWEEPS_SEED")
		seeded := seed != "" && copyFile(b, seed, path)
		db, err := store.Open(ctx, path, c.Now)
		if err != nil {
			b.Fatal(err)
		}
		if !seeded {
			seedSweeps(b, ctx, db, c.now, tasks, grants, reviewers)
			if seed != "" {
				db.Close() // checkpoints the WAL into the file
				copyFile(b, path, seed)
				if db, err = store.Open(ctx, path, c.Now); err != nil {
					b.Fatal(err)
				}
			}
		}
		cat := reminderCatalog(0)
		e := workflow.NewEngine(db, cat, c.Now)

		b.StartTimer()
		run := func(name string, fn func() (string, error)) {
			runtime.GC()
			stop := peakHeap()
			cpu0, written0 := cpuTime(), bytesWritten()
			start := time.Now()
			what, err := fn()
			elapsed := time.Since(start)
			cpu, written := cpuTime()-cpu0, bytesWritten()-written0
			peak := stop()
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			b.ReportMetric(elapsed.Seconds(), name+"_s")
			// CPU time (user and system, every thread, SQLite's included)
			// varies less than wall time on a busy machine.
			b.ReportMetric(cpu.Seconds(), name+"_cpu_s")
			b.ReportMetric(float64(peak)/(1<<20), name+"_peak_heap_MB")
			b.ReportMetric(float64(written)/(1<<20), name+"_written_MB")
			b.Logf("%s: %s in %s (CPU %s), peak heap %.0f MB, wrote %.0f MB", name, what, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(peak)/(1<<20), float64(written)/(1<<20))
		}
		run("remind", func() (string, error) {
			res, err := e.RemindSweep(ctx)
			if err == nil && (res.Reminded != tasks || res.Notices != reviewers) {
				err = fmt.Errorf("reminded %d tasks with %d digests, want %d and %d", res.Reminded, res.Notices, tasks, reviewers)
			}
			return fmt.Sprintf("%+v", res), err
		})
		run("remind_again", func() (string, error) {
			res, err := e.RemindSweep(ctx)
			if err == nil && res.Reminded != 0 {
				err = fmt.Errorf("reminded %d tasks twice", res.Reminded)
			}
			return fmt.Sprintf("%+v", res), err
		})
		run("warn", func() (string, error) {
			n, err := e.WarnExpiring(ctx)
			if err == nil && n != grants {
				err = fmt.Errorf("warned %d, want %d", n, grants)
			}
			return fmt.Sprintf("%d warned", n), err
		})
		c.Advance(time.Hour)
		run("expire", func() (string, error) {
			n, err := e.ExpireGrants(ctx)
			if err == nil && n != grants {
				err = fmt.Errorf("expired %d, want %d", n, grants)
			}
			return fmt.Sprintf("%d expired", n), err
		})
		b.StopTimer()
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "max_rss_MB")
		}
		db.Close()
	}
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bytesWritten is how many bytes the process has passed to write calls
// (Linux's /proc/self/io wchar; 0 elsewhere).
func bytesWritten() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// copyFile copies from to to and reports whether it did; a missing from
// is false, any other failure fails b.
func copyFile(b *testing.B, from, to string) bool {
	b.Helper()
	src, err := os.Open(from)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
	return true
}

// peakHeap samples the live heap until the returned stop is called, which
// returns the highest value seen.
func peakHeap() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		peak = max(peak, m.HeapAlloc)
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// seedSweeps writes open tasks whose review step started five hours before
// now, each waiting on one of reviewers (in UTC, Paris or New York, all in
// business hours at now), and active grants that end within the hour.
func seedSweeps(b *testing.B, ctx context.Context, db *store.DB, now time.Time, tasks, grants, reviewers int) {
	b.Helper()
	zones := []string{"UTC", "Europe/Paris", "America/New_York"}
	for r := range reviewers {
		email := fmt.Sprintf("r%d@example.com", r)
		if err := db.SaveChatUser(ctx, &workflow.ChatUser{Email: email, ChatID: fmt.Sprintf("U%d", r), TZ: zones[r%len(zones)], ResolvedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	step := review("manager")
	started := now.Add(-5 * time.Hour)
	const chunk = 10_000
	for from := 0; from < max(tasks, grants); from += chunk {
		err := db.Update(ctx, func(tx workflow.Tx) error {
			for i := from; i < from+chunk; i++ {
				subject := fmt.Sprintf("u%d@example.com", i)
				if i < tasks {
					t := &workflow.Task{
						Kind: workflow.KindGrant, Status: workflow.StatusOpen, Revision: 1,
						Requester: subject, Subject: subject, AppID: "snowflake", Duration: 24 * time.Hour,
						Justification: "bench", Origin: workflow.OriginRequest,
						Policy: workflow.Policy{Name: "std", Steps: []workflow.Step{step}},
						Steps: []workflow.StepRun{{Status: workflow.StepActive, StartedAt: started, Assignees: []workflow.Assignment{
							{Email: fmt.Sprintf("r%d@example.com", i%reviewers), Via: workflow.ViaPolicy, State: workflow.AssignPending},
						}}},
						CreatedAt: started,
					}
					if err := tx.CreateTask(t); err != nil {
						return err
					}
				}
				if i < grants {
					// Each grant names a task that made it, whose chain
					// its expiry extends, as a real grant's does.
					g := &workflow.Grant{Subject: subject, AppID: "snowflake", Status: workflow.GrantActive, TaskID: int64(i%tasks + 1),
						StartsAt: now.Add(-23 * time.Hour), ExpiresAt: now.Add(time.Second + time.Duration(i%3599)*time.Second)}
					if err := tx.CreateGrant(g); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
