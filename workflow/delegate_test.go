package workflow_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// dms takes the undelivered direct messages, as recipient -> texts.
func (f *fixture) dms() map[string][]string {
	f.t.Helper()
	out := map[string][]string{}
	for _, n := range f.takeNotices(workflow.NoticeDirect) {
		out[n.Recipient] = append(out[n.Recipient], n.Text)
	}
	return out
}

func (f *fixture) delegationOf(email string) *workflow.Delegation {
	f.t.Helper()
	d, err := f.e.DelegationOf(f.ctx, email)
	require.NoError(f.t, err)
	return d
}

func (f *fixture) adminChain() []string {
	f.t.Helper()
	return actions(f.events(0))
}

func TestSetDelegationRefusals(t *testing.T) {
	t.Parallel()
	// t0 is Monday 2026-11-23 10:00 UTC: already Tuesday 24 in Kiritimati (UTC+14).
	cases := []struct {
		name      string
		in        workflow.DelegateInput
		code      string
		field     string
		msg       string
		kiritimat bool
	}{
		{name: "yourself", in: workflow.DelegateInput{Actor: mgr, Delegate: "MGR@example.com"}, code: workflow.EINVALID, field: "delegate", msg: "own delegate"},
		{name: "nobody", in: workflow.DelegateInput{Actor: mgr}, code: workflow.EINVALID, field: "delegate", msg: "Choose the person"},
		{name: "someone else's, not an admin", in: workflow.DelegateInput{Actor: eve, Person: mgr, Delegate: deputy}, code: workflow.EFORBIDDEN, msg: "Only an accessbot admin"},
		{name: "admin: the person to themselves", in: workflow.DelegateInput{Actor: admin, Person: mgr, Delegate: mgr}, code: workflow.EINVALID, field: "delegate", msg: "mgr@example.com cannot be their own delegate"},
		{name: "bad start", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "12/01/2026", End: "2026-12-15"}, code: workflow.EINVALID, field: "start", msg: "YYYY-MM-DD"},
		{name: "bad end", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-12-01", End: "2026-12-32"}, code: workflow.EINVALID, field: "end", msg: "is not a date"},
		{name: "end before start", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-12-15", End: "2026-12-01"}, code: workflow.EINVALID, field: "end", msg: "before the start date"},
		{name: "start before today", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-11-22", End: "2026-12-01"}, code: workflow.EINVALID, field: "start", msg: "before today (2026-11-23 in UTC)"},
		{name: "start before today in the person's zone", kiritimat: true, in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-11-23", End: "2026-12-01"}, code: workflow.EINVALID, field: "start", msg: "before today (2026-11-24 in Pacific/Kiritimati)"},
		{name: "start without an end", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-12-01"}, code: workflow.EINVALID, field: "end", msg: "needs its last day"},
		{name: "until a past day", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, End: "2026-11-20"}, code: workflow.EINVALID, field: "end", msg: "already past"},
		{name: "unknown zone", in: workflow.DelegateInput{Actor: mgr, Delegate: deputy, End: "2026-12-20", TZ: "Mars/Olympus"}, code: workflow.EINVALID, msg: "not a time zone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if c.kiritimat {
				f.setZone(mgr, "Pacific/Kiritimati")
			}
			_, err := f.e.SetDelegation(f.ctx, c.in)
			require.Error(t, err)
			var we *workflow.Error
			require.ErrorAs(t, err, &we)
			assert.Equal(t, c.code, we.Code)
			assert.Equal(t, c.field, we.Field)
			assert.Contains(t, we.Message, c.msg)
			assert.Nil(t, f.delegationOf(mgr), "nothing was set")
			assert.Empty(t, f.adminChain(), "nothing was audited")
			assert.Empty(t, f.dms(), "nobody was told")
		})
	}
}

func TestSetDelegationPermanentAndReplace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	res, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: deputy})
	require.NoError(t, err)
	assert.Nil(t, res.Replaced)
	d := f.delegationOf(mgr)
	require.NotNil(t, d)
	assert.Equal(t, deputy, d.Delegate)
	assert.True(t, d.Active)
	assert.True(t, d.Starts.IsZero() && d.Ends.IsZero(), "permanent")
	dms := f.dms()
	require.Len(t, dms[mgr], 1)
	require.Len(t, dms[deputy], 1)
	assert.Contains(t, dms[mgr][0], "Your accessbot delegate is now deputy@example.com")
	assert.Contains(t, dms[deputy][0], "mgr@example.com made you their accessbot delegate")
	assert.Equal(t, []string{workflow.ActDelegationSet}, f.adminChain())

	// A new one replaces it, says so, and tells the old delegate.
	res, err = f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: ceo, End: "2026-11-30"})
	require.NoError(t, err)
	require.NotNil(t, res.Replaced)
	assert.Equal(t, deputy, res.Replaced.Delegate)
	assert.Equal(t, ceo, f.delegationOf(mgr).Delegate)
	dms = f.dms()
	assert.Contains(t, dms[mgr][0], "It replaces your delegation to deputy@example.com")
	assert.Contains(t, dms[mgr][0], "until the end of Mon 30 Nov 2026 (UTC)")
	assert.Len(t, dms[ceo], 1)
	require.Len(t, dms[deputy], 1)
	assert.Contains(t, dms[deputy][0], "no longer delegates")
	evs := f.events(0)
	require.Len(t, evs, 2)
	assert.Equal(t, deputy, evs[1].Details["replaced"])
	assert.Equal(t, "2026-12-01T00:00:00Z", evs[1].Details["ends"], "the last day is inclusive")
	f.verifyAudit()
}

func TestAdminSetsAndRemovesAnothersDelegation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: admin, Person: mgr, Delegate: deputy})
	require.NoError(t, err)
	d := f.delegationOf(mgr)
	require.NotNil(t, d)
	assert.Equal(t, admin, d.SetBy)
	dms := f.dms()
	assert.Contains(t, dms[mgr][0], "set by an admin, admin@example.com")
	assert.Empty(t, dms[admin], "the admin reads the answer, not a DM")

	_, err = f.e.RemoveDelegation(f.ctx, workflow.RemoveDelegationInput{Actor: eve, Person: mgr})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
	assert.NotNil(t, f.delegationOf(mgr), "a non-admin removed nothing")

	gone, err := f.e.RemoveDelegation(f.ctx, workflow.RemoveDelegationInput{Actor: admin, Person: mgr})
	require.NoError(t, err)
	assert.Equal(t, deputy, gone.Delegate)
	assert.Nil(t, f.delegationOf(mgr))
	dms = f.dms()
	assert.Contains(t, dms[mgr][0], "was removed by an admin (admin@example.com)")
	assert.Contains(t, dms[deputy][0], "no longer delegates")
	evs := f.events(0)
	assert.Equal(t, []string{workflow.ActDelegationSet, workflow.ActDelegationUnset}, actions(evs))
	assert.Equal(t, admin, evs[1].Actor)

	_, err = f.e.RemoveDelegation(f.ctx, workflow.RemoveDelegationInput{Actor: mgr})
	assert.Equal(t, workflow.ENOTFOUND, workflow.ErrorCode(err))
	assert.Contains(t, workflow.ErrorMessage(err), "You have no delegate")
	assert.Empty(t, f.dms())
	f.verifyAudit()
}

func TestDelegationStartingTodayTakesEffectOnSave(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-11-23", End: "2026-11-24"})
	require.NoError(t, err)
	d := f.delegationOf(mgr)
	assert.True(t, d.Active)
	assert.Equal(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), d.Starts)
	f.dms()
	assert.Equal(t, []string{deputy}, f.request(bob, "github", "admin").PendingAssignees())
	res, err := f.e.SwitchDelegations(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, workflow.SwitchResult{}, res, "already on: no 'started' DM")
	assert.Empty(t, f.dms())
}

// TestDelegationWindowSwitching follows a window in Europe/Paris (UTC+1 in
// winter) through the scheduler: on at local midnight of its first day, off
// after its last, each DM once however often the sweep runs.
func TestDelegationWindowSwitching(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.setZone(mgr, "Europe/Paris")
	_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-11-25", End: "2026-11-26"})
	require.NoError(t, err)
	d := f.delegationOf(mgr)
	assert.False(t, d.Active)
	assert.Equal(t, time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC), d.Starts, "midnight in Paris")
	assert.Equal(t, time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC), d.Ends, "the end of the last day in Paris")
	dms := f.dms()
	assert.Contains(t, dms[mgr][0], "will go to them from Wed 25 Nov 2026 to Thu 26 Nov 2026 (Europe/Paris)")
	assert.Contains(t, dms[deputy][0], "will come to you from Wed 25 Nov 2026")

	sweep := func() workflow.SwitchResult {
		t.Helper()
		res, err := f.e.SwitchDelegations(f.ctx)
		require.NoError(t, err)
		return res
	}
	assert.Equal(t, workflow.SwitchResult{}, sweep(), "not started yet")
	assert.Equal(t, []string{mgr}, f.request(bob, "github", "admin").PendingAssignees(), "before the window")

	f.clock.Advance(time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	assert.Equal(t, workflow.SwitchResult{Started: 1}, sweep())
	assert.Equal(t, workflow.SwitchResult{}, sweep(), "running twice does nothing twice")
	dms = f.dms()
	require.Len(t, dms[mgr], 1)
	require.Len(t, dms[deputy], 1)
	assert.Contains(t, dms[mgr][0], "has started")
	assert.Contains(t, dms[deputy][0], "until Thu 26 Nov 2026 (Europe/Paris)")
	assert.True(t, f.delegationOf(mgr).Active)
	assert.Equal(t, []string{mgr}, f.task(1).PendingAssignees(), "existing tasks are not moved")
	assert.Equal(t, []string{deputy}, f.request(bob, "github", "repo").PendingAssignees(), "inside the window")

	f.clock.Advance(48*time.Hour - time.Microsecond)
	assert.Equal(t, workflow.SwitchResult{}, sweep(), "still the last day")
	f.clock.Advance(time.Microsecond)
	assert.Equal(t, workflow.SwitchResult{Ended: 1}, sweep())
	assert.Equal(t, workflow.SwitchResult{}, sweep())
	dms = f.dms()
	require.Len(t, dms[mgr], 1)
	require.Len(t, dms[deputy], 1)
	assert.Contains(t, dms[mgr][0], "has ended")
	assert.Nil(t, f.delegationOf(mgr), "an ended window is gone")
	assert.Equal(t, []string{mgr}, f.request(bob, "github", "limited").PendingAssignees(), "after the window")
	assert.Equal(t, []string{workflow.ActDelegationSet, workflow.ActDelegationStarted, workflow.ActDelegationEnded}, f.adminChain())
	f.verifyAudit()
}

// A window the scheduler never saw open (the bot was down throughout) is
// still ended and cleared.
func TestDelegationWindowMissedEntirely(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: deputy, Start: "2026-11-25", End: "2026-11-25"})
	require.NoError(t, err)
	f.dms()
	f.clock.Advance(5 * 24 * time.Hour)
	res, err := f.e.SwitchDelegations(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, workflow.SwitchResult{Ended: 1}, res)
	assert.Nil(t, f.delegationOf(mgr))
	dms := f.dms()
	assert.Len(t, dms[mgr], 1)
	assert.Len(t, dms[deputy], 1)
}

func TestSwitchDelegationsConcurrently(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, p := range []string{mgr, ceo, sec1, sec2} {
		_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: p, Delegate: deputy, Start: "2026-11-24", End: "2026-11-24"})
		require.NoError(t, err)
	}
	f.dms()
	f.clock.Advance(24 * time.Hour)
	results := make(chan workflow.SwitchResult, 4)
	for range 4 {
		go func() {
			res, err := f.e.SwitchDelegations(f.ctx)
			assert.NoError(t, err)
			results <- res
		}()
	}
	total := 0
	for range 4 {
		total += (<-results).Started
	}
	assert.Equal(t, 4, total, "each window switched on once")
	dms := f.dms()
	assert.Len(t, dms[deputy], 4)
	var people []string
	for p, texts := range dms {
		if p != deputy {
			people = append(people, p)
			assert.Len(t, texts, 1)
		}
	}
	sort.Strings(people)
	assert.Equal(t, []string{ceo, mgr, sec1, sec2}, people)
}

// Delegation through the engine's own operation follows chains and keeps
// blocked steps with the original person, as the store-level tests show for
// hand-written rows.
func TestSetDelegationIsFollowedByNewAssignments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, in := range []workflow.DelegateInput{{Actor: mgr, Delegate: deputy}, {Actor: deputy, Delegate: ceo}} {
		_, err := f.e.SetDelegation(f.ctx, in)
		require.NoError(t, err)
	}
	task := f.request(bob, "github", "admin")
	assert.Equal(t, []string{ceo}, task.PendingAssignees())
	var ev *workflow.AuditEvent
	for _, e := range f.events(task.ID) {
		if e.Action == workflow.ActDelegated {
			ev = &e
		}
	}
	require.NotNil(t, ev)
	assert.Equal(t, "mgr@example.com -> deputy@example.com -> ceo@example.com", ev.Details["chain"])
	assert.Equal(t, []string{mgr}, f.request(bob, "github", "blocked").PendingAssignees(), "delegation: blocked keeps the original")

	_, err := f.e.RemoveDelegation(f.ctx, workflow.RemoveDelegationInput{Actor: deputy})
	require.NoError(t, err)
	assert.Equal(t, []string{deputy}, f.request(bob, "github", "repo").PendingAssignees(), "the chain now stops at deputy")
}

func TestDescribeDelegation(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	starts := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	ends := time.Date(2026, 12, 15, 23, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    workflow.Delegation
		now  time.Time
		want string
	}{
		{workflow.Delegation{}, t0, "permanently, until removed"},
		{workflow.Delegation{Starts: starts, Ends: ends}, t0, "from Tue 1 Dec 2026 to Tue 15 Dec 2026 (Europe/Paris)"},
		{workflow.Delegation{Starts: starts, Ends: ends}, starts, "until the end of Tue 15 Dec 2026 (Europe/Paris)"},
		{workflow.Delegation{Ends: ends}, t0, "until the end of Tue 15 Dec 2026 (Europe/Paris)"},
		{workflow.Delegation{Starts: starts, Ends: ends}, ends, "until the end of Tue 15 Dec 2026 (Europe/Paris), which is over"},
	} {
		assert.Equal(t, c.want, workflow.DescribeDelegation(&c.d, paris, c.now))
	}
}

// Resolution cases the store-level table does not cover.
func TestDelegationResolutionMore(t *testing.T) {
	t.Parallel()
	type deleg struct {
		from, to     string
		starts, ends time.Time
	}
	for _, c := range []struct {
		name   string
		delegs []deleg
		want   string
		chain  string
	}{
		{name: "a chain stops at a link not yet on",
			delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: ceo, starts: t0.Add(24 * time.Hour), ends: t0.Add(48 * time.Hour)}},
			want:   deputy, chain: "mgr@example.com -> deputy@example.com"},
		{name: "a cycle further down falls back to the original",
			delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: ceo}, {from: ceo, to: deputy}}, want: mgr},
		{name: "a chain of three", delegs: []deleg{{from: mgr, to: deputy}, {from: deputy, to: ceo}, {from: ceo, to: dave}},
			want: dave, chain: "mgr@example.com -> deputy@example.com -> ceo@example.com -> dave@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			for _, d := range c.delegs {
				f.setDelegation(d.from, d.to, d.starts, d.ends)
			}
			task := f.request(bob, "github", "admin")
			require.Equal(t, []string{c.want}, task.PendingAssignees())
			var got *workflow.AuditEvent
			for _, e := range f.events(task.ID) {
				if e.Action == workflow.ActDelegated {
					got = &e
				}
			}
			if c.chain == "" {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, c.chain, got.Details["chain"])
			assert.Contains(t, got.Details["rule"], "delegation of mgr@example.com to deputy@example.com (permanent, set by mgr@example.com)")
		})
	}
}

// The audit names the window a delegated assignment followed, and the
// reminders of a delegated task go to the delegate, not the original person.
func TestDelegatedTaskRuleAndReminders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.e.SetCatalog(reminderCatalog(0))
	_, err := f.e.SetDelegation(f.ctx, workflow.DelegateInput{Actor: mgr, Delegate: deputy, End: "2026-11-30"})
	require.NoError(t, err)
	task := f.request(bob, "github", "admin")
	require.Equal(t, []string{deputy}, task.PendingAssignees())
	for _, e := range f.events(task.ID) {
		if e.Action == workflow.ActDelegated {
			assert.Equal(t, "delegation of mgr@example.com to deputy@example.com (until 2026-12-01T00:00:00Z, set by mgr@example.com)", e.Details["rule"])
		}
	}
	f.clock.Advance(5 * time.Hour) // 15:00 UTC, a Monday, 5h later
	f.sweep()
	assert.Equal(t, map[string][]int64{deputy: {task.ID}}, f.digests())
}
