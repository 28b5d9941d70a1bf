package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// reminderCatalog is the test catalog with reminders after 4h, every 24h,
// escalation after 48h (0: off), business hours 09:00-18:00.
func reminderCatalog(escalate time.Duration) *workflow.Catalog {
	cat := testCatalog()
	cat.Reminders = workflow.Reminders{
		After: 4 * time.Hour, Every: 24 * time.Hour, EscalateAfter: escalate,
		BusinessHours: workflow.BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour},
		ExpiryWarning: time.Hour,
	}
	return cat
}

func (f *fixture) setZone(email, tz string) {
	f.t.Helper()
	require.NoError(f.t, f.db.SaveChatUser(f.ctx, &workflow.ChatUser{Email: email, ChatID: "U" + strings.ToUpper(email[:3]), TZ: tz, ResolvedAt: t0}))
}

func (f *fixture) setNow(at time.Time) {
	f.clock.mu.Lock()
	f.clock.now = at
	f.clock.mu.Unlock()
}

func (f *fixture) sweep() workflow.Result {
	f.t.Helper()
	res, err := f.e.RemindSweep(f.ctx)
	require.NoError(f.t, err)
	return res
}

// takeNotices returns the undelivered notices of kind and marks them
// delivered, so each call sees what happened since the last.
func (f *fixture) takeNotices(kind workflow.NoticeKind) []workflow.Notice {
	f.t.Helper()
	all, err := f.db.ClaimNotices(f.ctx, "test", f.clock.Now().Add(time.Hour), time.Minute, 100000)
	require.NoError(f.t, err)
	var out []workflow.Notice
	for _, n := range all {
		require.NoError(f.t, f.db.NoticeDelivered(f.ctx, n.ID, "test", f.clock.Now()))
		if n.Kind() == kind {
			out = append(out, n)
		}
	}
	return out
}

// digests returns the reminder digests sent since the last call, by person.
func (f *fixture) digests() map[string][]int64 {
	f.t.Helper()
	out := map[string][]int64{}
	for _, n := range f.takeNotices(workflow.NoticeDigest) {
		require.NotContains(f.t, out, n.Recipient, "two digests for %s in one round", n.Recipient)
		ids := slices.Clone(n.Payload.(workflow.ReminderDigest).Tasks)
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		out[n.Recipient] = ids
	}
	return out
}

func count(evs []workflow.AuditEvent, action string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestRemindSweepTiming(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	task := f.request(alice, "github", "admin") // waits on mgr (UTC: unknown zone)
	f.takeNotices(workflow.NoticeTaskChanged)

	steps := []struct {
		advance time.Duration
		want    map[string][]int64
	}{
		{3*time.Hour + 59*time.Minute, map[string][]int64{}}, // 13:59: not yet 4h
		{time.Minute, map[string][]int64{}},                  // 14:00: exactly 4h is not longer
		{time.Minute, map[string][]int64{mgr: {task.ID}}},    // 14:01: first reminder
		{0, map[string][]int64{}},                            // same instant: nothing twice
		{23 * time.Hour, map[string][]int64{}},               // Tue 13:01: within every
		{59 * time.Minute, map[string][]int64{}},             // Tue 14:00: 23h59m since
		{time.Minute, map[string][]int64{mgr: {task.ID}}},    // Tue 14:01: every 24h
		{5 * time.Hour, map[string][]int64{}},                // Tue 19:01
		{19 * time.Hour, map[string][]int64{mgr: {task.ID}}}, // Wed 14:01
		{time.Hour, map[string][]int64{}},                    // reminded an hour ago
		{22 * time.Hour, map[string][]int64{}},               // Thu 13:01: 23h since
		{time.Hour, map[string][]int64{mgr: {task.ID}}},      // Thu 14:01
		{time.Minute, map[string][]int64{}},
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		f.sweep()
		assert.Equal(t, s.want, f.digests(), "step %d at %s", i, f.clock.Now().Format(time.RFC3339))
	}
	got := f.task(task.ID)
	assert.Equal(t, 4, count(f.events(task.ID), workflow.ActReminded))
	assert.False(t, got.RemindedAt.IsZero())
	f.verifyAudit()

	// A decision ends the reminders.
	f.decide(workflow.ActionApprove, task.ID, mgr)
	f.clock.Advance(48 * time.Hour)
	f.sweep()
	for _, ids := range f.digests() {
		assert.NotContains(t, ids, task.ID)
	}
}

func TestRemindSweepBusinessHoursAcrossZones(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	f.setZone(mgr, "America/New_York")
	f.setZone(sec1, "Asia/Tokyo")
	f.setZone(sec2, "Europe/Paris")
	f.setZone(bob, "Not/AZone")              // unknown names count as UTC; alice has no row: UTC
	a := f.request(alice, "github", "admin") // mgr
	b := f.request(dave, "github", "admin")  // no manager: group security (alice, sec1, sec2)
	f.digests()

	// Mon 15:00 UTC: New York 10:00, Paris 16:00, UTC 15:00 in; Tokyo Tue 00:00 out.
	f.clock.Advance(5 * time.Hour)
	res := f.sweep()
	assert.Equal(t, map[string][]int64{mgr: {a.ID}, sec2: {b.ID}, alice: {b.ID}}, f.digests())
	assert.Equal(t, workflow.Result{Checked: 2, Reminded: 2, Notices: 3, Deferred: 1}, res)

	// Mon 23:30 UTC: Tokyo Tue 08:30, still out.
	f.setNow(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC))
	assert.Equal(t, 1, f.sweep().Deferred)
	assert.Empty(t, f.digests())

	// Tue 00:30 UTC: Tokyo 09:30 in; nobody else is due yet.
	f.setNow(time.Date(2026, 11, 24, 0, 30, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{sec1: {b.ID}}, f.digests())
	f.sweep()
	assert.Empty(t, f.digests())

	evs := f.events(b.ID)
	var to []string
	for _, e := range evs {
		if e.Action == workflow.ActReminded {
			to = append(to, e.Details["to"])
		}
	}
	assert.Equal(t, []string{alice + "," + sec2, sec1}, to)

	// Tue 14:00 UTC: New York 09:00 and Paris 15:00 are in, 23h after; at
	// 15:01 the 24h have passed for both, and Tokyo (midnight) is out.
	f.setNow(time.Date(2026, 11, 24, 15, 1, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{mgr: {a.ID}, sec2: {b.ID}, alice: {b.ID}}, f.digests())
	f.verifyAudit()
}

func TestRemindSweepWeekend(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	f.setZone(sec2, "Europe/Paris")
	// Friday 2026-11-27 16:00 UTC; due from 20:00, after hours everywhere.
	f.setNow(time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC))
	task := f.request(dave, "github", "admin") // alice, sec1, sec2
	f.digests()

	for _, at := range []time.Time{
		time.Date(2026, 11, 27, 20, 1, 0, 0, time.UTC),  // Fri evening
		time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),  // Saturday
		time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC),  // Sunday
		time.Date(2026, 11, 30, 7, 59, 0, 0, time.UTC),  // Mon 08:59 Paris
		time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC), // Mon 00:30 Paris (clock jumped back: still nothing)
	} {
		f.setNow(at)
		res := f.sweep()
		assert.Equal(t, 3, res.Deferred, "at %s", at)
		assert.Empty(t, f.digests(), "at %s", at)
	}
	// Monday 08:30 UTC: Paris 09:30 in, UTC 08:30 out.
	f.setNow(time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{sec2: {task.ID}}, f.digests())
	// Monday 09:00 UTC: the others.
	f.setNow(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{alice: {task.ID}, sec1: {task.ID}}, f.digests())
}

func TestInBusinessHours(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	day := workflow.BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour}
	night := workflow.BusinessHours{Start: 22 * time.Hour, End: 6 * time.Hour}
	cases := []struct {
		at   time.Time
		loc  *time.Location
		bh   workflow.BusinessHours
		want bool
	}{
		{time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), time.UTC, day, true},
		{time.Date(2026, 11, 23, 8, 59, 59, 0, time.UTC), time.UTC, day, false},
		{time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC), time.UTC, day, false},
		{time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), paris, day, true}, // 09:30 Paris
		{time.Date(2026, 11, 27, 17, 30, 0, 0, time.UTC), paris, day, false},
		{time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), time.UTC, day, false},                     // Saturday
		{time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), time.UTC, workflow.BusinessHours{}, true}, // any time
		{time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), time.UTC, night, true},
		{time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC), time.UTC, night, true},
		{time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), time.UTC, night, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, workflow.InBusinessHours(c.at, c.loc, c.bh), "%s in %s", c.at, c.loc)
	}
}

func TestRemindSweepDigest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	t1 := f.request(alice, "github", "admin") // mgr
	t2 := f.request(bob, "github", "admin")   // mgr
	t3 := f.request(alice, "aws", "")         // mgr
	t4 := f.request(dave, "github", "admin")  // alice, sec1, sec2
	f.setDelegation(sec1, deputy, time.Time{}, time.Time{})
	t5 := f.request(eve, "github", "admin") // alice, deputy (for sec1), sec2
	f.digests()

	f.clock.Advance(4*time.Hour + time.Minute)
	res := f.sweep()
	assert.Equal(t, map[string][]int64{
		mgr:    {t1.ID, t2.ID, t3.ID},
		alice:  {t4.ID, t5.ID},
		sec1:   {t4.ID},
		sec2:   {t4.ID, t5.ID},
		deputy: {t5.ID},
	}, f.digests())
	assert.Equal(t, workflow.Result{Checked: 5, Reminded: 5, Notices: 5}, res)

	// The digest text names the tasks; one reminded event per task.
	f.clock.Advance(24 * time.Hour)
	f.sweep()
	for _, n := range f.takeNotices(workflow.NoticeDigest) {
		if n.Recipient == mgr {
			assert.Equal(t, fmt.Sprintf("Reminder: 3 tasks wait on you: %s, %s, %s.", t1.Number(), t2.Number(), t3.Number()), n.Text)
		}
	}
	for _, id := range []int64{t1.ID, t2.ID, t3.ID, t4.ID, t5.ID} {
		assert.Equal(t, 2, count(f.events(id), workflow.ActReminded), "T-%d", id)
	}
	f.verifyAudit()
}

func TestRemindSweepManyTasksOneDigest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	const n = workflow.SweepPage*2 + 1 // three planning pages
	want := make([]int64, n)
	for i := range n {
		want[i] = f.request(fmt.Sprintf("u%d@example.com", i), "github", "admin").ID // security: alice, sec1, sec2
	}
	f.digests()
	f.clock.Advance(5 * time.Hour)
	res := f.sweep()
	assert.Equal(t, workflow.Result{Checked: n, Reminded: n, Notices: 3}, res)
	got := f.digests()
	assert.Equal(t, map[string][]int64{alice: want, sec1: want, sec2: want}, got)
	assert.Equal(t, workflow.Result{}, f.sweep(), "nobody due: skipped in SQL")
	assert.Empty(t, f.digests())
}

func TestRemindSweepCountsManualReminder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	task := f.request(alice, "github", "admin")
	f.clock.Advance(3 * time.Hour)
	_, err := f.e.SendReminder(f.ctx, alice, task.ID) // by hand at 13:00
	require.NoError(t, err)
	f.clock.Advance(2 * time.Hour) // 15:00: due by age, but reminded 2h ago
	f.sweep()
	assert.Empty(t, f.digests())
	f.clock.Advance(22 * time.Hour) // Tue 13:00: 24h since the manual one
	f.sweep()
	assert.Equal(t, map[string][]int64{mgr: {task.ID}}, f.digests())
	// The manual rate limit still holds right after a scheduled reminder.
	_, err = f.e.SendReminder(f.ctx, alice, task.ID)
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		by       string
		app, res string
		before   []string // pending before
		added    []string
		source   string
	}{
		// std: manager, fallback group:security (minus the requester alice);
		// sec1 delegated to deputy.
		{"fallback", alice, "github", "admin", []string{mgr}, []string{deputy, sec2}, "fallback"},
		// emergency: group:security, no fallback: alice's manager.
		{"manager", alice, "aws", "", []string{sec1, sec2}, []string{mgr}, "manager"},
		// nomgr: bob's manager only, already pending: the admins.
		{"admins", bob, "github", "nomgr", []string{mgr}, []string{admin}, "admins"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.e.SetCatalog(reminderCatalog(48 * time.Hour))
			f.setDelegation(sec1, deputy, t0.Add(time.Hour), time.Time{}) // starts after the request
			var task *workflow.Task
			if c.name == "manager" {
				var err error
				task, err = f.e.Request(f.ctx, workflow.RequestInput{Requester: c.by, AppID: c.app, ResourceID: c.res, Justification: "fire", Emergency: true})
				require.NoError(t, err)
			} else {
				task = f.request(c.by, c.app, c.res)
			}
			require.Equal(t, c.before, task.PendingAssignees())
			f.takeNotices(workflow.NoticeTaskChanged)

			f.clock.Advance(48 * time.Hour)
			assert.Zero(t, f.sweep().Escalated, "exactly 48h is not past")
			f.clock.Advance(time.Minute)
			assert.Equal(t, 1, f.sweep().Escalated)

			got := f.task(task.ID)
			assert.Equal(t, append(append([]string(nil), c.before...), c.added...), got.PendingAssignees())
			assert.Equal(t, f.clock.Now().UTC(), got.EscalatedAt)
			assert.Equal(t, task.Revision+1, got.Revision)
			_, run, _ := got.Current()
			for _, a := range run.Assignees[len(c.before):] {
				assert.Contains(t, []workflow.Via{workflow.ViaEscalated, workflow.ViaDelegated}, a.Via)
			}
			evs := f.events(task.ID)
			last := evs[len(evs)-1]
			assert.Equal(t, workflow.ActEscalated, last.Action)
			assert.Equal(t, c.source, last.Details["to"])
			assert.Equal(t, strings.Join(c.added, ","), last.Details["added"])
			assert.Contains(t, last.Details["reason"], "waited longer than 2d")
			assert.Len(t, f.takeNotices(workflow.NoticeTaskChanged), 1, "cards go to the new assignees")

			// Idempotent: nothing more at the same instant or later.
			assert.Zero(t, f.sweep().Escalated)
			f.clock.Advance(72 * time.Hour)
			assert.Zero(t, f.sweep().Escalated)
			assert.Equal(t, 1, count(f.events(task.ID), workflow.ActEscalated))
			assert.Empty(t, f.takeNotices(workflow.NoticeTaskChanged))
			f.verifyAudit()
		})
	}
}

func TestWarnExpiring(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	task := f.request(alice, "snowflake", "") // 24h, provisioning none
	f.decide(workflow.ActionApprove, task.ID, mgr)
	gs := f.grants(alice)
	require.Len(t, gs, 1)
	g := gs[0]
	require.Equal(t, t0.Add(24*time.Hour), g.ExpiresAt)
	f.takeNotices(workflow.NoticeExpiryWarning)

	warn := func() int {
		t.Helper()
		n, err := f.e.WarnExpiring(f.ctx)
		require.NoError(t, err)
		return n
	}
	f.clock.Advance(22*time.Hour + 59*time.Minute)
	assert.Zero(t, warn(), "61 minutes before")
	assert.Empty(t, f.takeNotices(workflow.NoticeExpiryWarning))
	f.clock.Advance(time.Minute)
	assert.Equal(t, 1, warn(), "an hour before")
	assert.Zero(t, warn(), "same instant")
	ns := f.takeNotices(workflow.NoticeExpiryWarning)
	require.Len(t, ns, 1)
	assert.Equal(t, alice, ns[0].Recipient)
	assert.Equal(t, workflow.ExpiryWarning{Grant: g.ID, App: "snowflake", ExpiresAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}, ns[0].Payload)
	assert.Equal(t, "Your access to Snowflake ends at 2026-11-24 10:00 UTC (in 1h). Request an extension if you still need it.", ns[0].Text)
	assert.Equal(t, f.clock.Now().UTC(), f.grants(alice)[0].WarnedAt)

	f.clock.Advance(30 * time.Minute)
	assert.Zero(t, warn())
	// At expiry the grant ends once; nothing more is warned.
	f.clock.Advance(30 * time.Minute)
	n, err := f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = f.e.ExpireGrants(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Zero(t, warn())
	assert.Empty(t, f.takeNotices(workflow.NoticeExpiryWarning))
}

func TestWarnExpiringSkipsPastAndPermanent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	require.NoError(t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		for _, g := range []*workflow.Grant{
			{Subject: alice, AppID: "snowflake", Status: workflow.GrantActive, StartsAt: t0},                                      // permanent
			{Subject: bob, AppID: "snowflake", Status: workflow.GrantActive, StartsAt: t0, ExpiresAt: t0.Add(-time.Minute)},       // already due to expire
			{Subject: dave, AppID: "snowflake", Status: workflow.GrantExpired, StartsAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}, // ended
			{Subject: eve, AppID: "snowflake", Status: workflow.GrantActive, StartsAt: t0, ExpiresAt: t0.Add(30 * time.Minute)},   // warn
		} {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
		}
		return nil
	}))
	n, err := f.e.WarnExpiring(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	ns := f.takeNotices(workflow.NoticeExpiryWarning)
	require.Len(t, ns, 1)
	assert.Equal(t, eve, ns[0].Recipient)
}

func TestEscalatedPeopleAreRemindedLater(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(48 * time.Hour))
	task := f.request(alice, "github", "admin") // mgr; fallback security: sec1, sec2
	f.digests()

	f.setNow(time.Date(2026, 11, 23, 14, 1, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{mgr: {task.ID}}, f.digests())

	// Wed 10:01: mgr is due again, and the step is escalated; the newcomers
	// get cards, not a digest on top.
	f.setNow(time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC))
	assert.Equal(t, 1, f.sweep().Escalated)
	assert.Equal(t, map[string][]int64{mgr: {task.ID}}, f.digests())
	f.clock.Advance(time.Minute)
	f.sweep()
	assert.Empty(t, f.digests())

	// Thu 10:01: a day later, everyone on the step.
	f.setNow(time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC))
	f.sweep()
	assert.Equal(t, map[string][]int64{mgr: {task.ID}, sec1: {task.ID}, sec2: {task.ID}}, f.digests())
	f.verifyAudit()
}

// racingStore runs before once, ahead of the first write transaction: the
// work of another replica or person that lands between a sweep's plan
// (on a read snapshot) and its writes.
type racingStore struct {
	workflow.Store
	once   sync.Once
	before func()
}

func (s *racingStore) Update(ctx context.Context, fn func(workflow.Tx) error) error {
	s.once.Do(s.before)
	return s.Store.Update(ctx, fn)
}

// TestRemindSweepRacing: what changes between a sweep's plan and its
// writes wins. A task decided, reminded by hand or reminded by another
// replica's sweep meanwhile is not reminded again; the rest are, in one
// digest a person.
func TestRemindSweepRacing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		race   func(f *fixture, ids []int64)
		wantTo []int // indexes into the tasks this sweep reminds mgr of
	}{
		{"another replica swept", func(f *fixture, ids []int64) {
			other := workflow.NewEngine(f.db, reminderCatalog(0), f.clock.Now)
			res, err := other.RemindSweep(f.ctx)
			require.NoError(f.t, err)
			require.Equal(f.t, 4, res.Reminded)
		}, nil},
		{"a decision and a reminder by hand", func(f *fixture, ids []int64) {
			f.decide(workflow.ActionApprove, ids[0], mgr)
			_, err := f.e.SendReminder(f.ctx, alice, ids[1])
			require.NoError(f.t, err)
		}, []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.e.SetCatalog(reminderCatalog(0))
			ids := []int64{
				f.request(alice, "github", "admin").ID, f.request(alice, "github", "nomgr").ID,
				f.request(bob, "github", "admin").ID, f.request(bob, "github", "nomgr").ID,
			} // all four wait on mgr
			f.clock.Advance(5 * time.Hour)
			f.takeNotices(workflow.NoticeTaskChanged)
			racing := workflow.NewEngine(&racingStore{Store: f.db, before: func() { tc.race(f, ids) }}, reminderCatalog(0), f.clock.Now)
			res, err := racing.RemindSweep(f.ctx)
			require.NoError(t, err)
			var want []int64
			for _, i := range tc.wantTo {
				want = append(want, ids[i])
			}
			assert.Equal(t, len(want), res.Reminded)
			digests := f.digests() // fails on two digests for one person
			if tc.wantTo != nil {
				assert.Equal(t, map[string][]int64{mgr: want}, digests)
			}
			for _, id := range ids {
				n := count(f.events(id), workflow.ActReminded)
				assert.LessOrEqual(t, n, 1, "T-%d reminded twice", id)
			}
			f.verifyAudit()
			// Nothing is left due: a second sweep sends nothing.
			res, err = racing.RemindSweep(f.ctx)
			require.NoError(t, err)
			assert.Zero(t, res.Reminded)
		})
	}
}

// countingStore counts the tasks SaveReminders refused as moved on.
type countingStore struct {
	workflow.Store
	moved int
}

type countingTx struct {
	workflow.Tx
	s *countingStore
}

func (s *countingStore) Update(ctx context.Context, fn func(workflow.Tx) error) error {
	return s.Store.Update(ctx, func(tx workflow.Tx) error { return fn(&countingTx{Tx: tx, s: s}) })
}

func (tx *countingTx) SaveReminders(ts []*workflow.Task) ([]int64, error) {
	moved, err := tx.Tx.SaveReminders(ts)
	tx.s.moved += len(moved)
	return moved, err
}

// TestRemindSweepSharedTasksAcrossGroups: tasks waiting on several people
// whose digests go out in different transactions are recorded in each
// from the plan, as the earlier ones left them: none is refused as moved
// on (and read again), and each person gets one digest of all of them.
func TestRemindSweepSharedTasksAcrossGroups(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	n := workflow.SweepBatch/2 + 1 // two people's tasks overflow a transaction
	want := make([]int64, n)
	for i := range n {
		want[i] = f.request(fmt.Sprintf("u%d@example.com", i), "github", "admin").ID // security: alice, sec1, sec2
	}
	f.digests()
	f.clock.Advance(5 * time.Hour)
	counting := &countingStore{Store: f.db}
	res, err := workflow.NewEngine(counting, reminderCatalog(0), f.clock.Now).RemindSweep(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, workflow.Result{Checked: n, Reminded: n, Notices: 3}, res)
	assert.Zero(t, counting.moved, "a transaction refused what an earlier one of the same sweep recorded")
	assert.Equal(t, map[string][]int64{alice: want, sec1: want, sec2: want}, f.digests())
	for _, id := range want[:3] {
		var to []string // each transaction's event names whom it reminded
		for _, ev := range f.events(id) {
			if ev.Action == workflow.ActReminded {
				to = append(to, strings.Split(ev.Details["to"], ",")...)
			}
		}
		sort.Strings(to)
		assert.Equal(t, []string{alice, sec1, sec2}, to, "T-%d", id)
	}
	f.verifyAudit()
}

// TestRemindSweepMovedButStillDue: a task decided in part between the
// plan and the writes (one of an all-must-approve group approved) is read
// again and its remaining reviewers reminded, once, the one who approved
// not at all.
func TestRemindSweepMovedButStillDue(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	task := f.request(bob, "github", "repo") // two: mgr, then all of security
	f.decide(workflow.ActionApprove, task.ID, mgr)
	f.clock.Advance(5 * time.Hour)
	f.takeNotices(workflow.NoticeTaskChanged)
	racing := workflow.NewEngine(&racingStore{Store: f.db, before: func() {
		f.decide(workflow.ActionApprove, task.ID, sec1)
	}}, reminderCatalog(0), f.clock.Now)
	res, err := racing.RemindSweep(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Reminded)
	assert.Equal(t, map[string][]int64{alice: {task.ID}, sec2: {task.ID}}, f.digests())
	evs := f.events(task.ID)
	require.Equal(t, 1, count(evs, workflow.ActReminded))
	assert.Equal(t, "alice@example.com,sec2@example.com", evs[len(evs)-1].Details["to"])
	f.verifyAudit()
	res, err = racing.RemindSweep(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, res.Reminded)
}

// A grant warned of with under 30 s left says so, not "(in none)".
func TestWarnExpiringWithSecondsLeft(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	require.NoError(t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		return tx.CreateGrant(&workflow.Grant{Subject: eve, AppID: "snowflake", Status: workflow.GrantActive, StartsAt: t0, ExpiresAt: t0.Add(20 * time.Second)})
	}))
	n, err := f.e.WarnExpiring(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ns := f.takeNotices(workflow.NoticeExpiryWarning)
	require.Len(t, ns, 1)
	assert.Equal(t, "Your access to Snowflake ends at 2026-11-23 10:00 UTC (in less than a minute). Request an extension if you still need it.", ns[0].Text)
	assert.NotContains(t, ns[0].Text, "none")
}
