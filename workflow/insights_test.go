package workflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// Teammates of alice and bob (manager mgr) added by withTeam.
const (
	tm1 = "tm1@example.com"
	tm2 = "tm2@example.com"
)

// withTeam gives mgr two more reports, so alice has three peers: bob, tm1, tm2.
func (f *fixture) withTeam() {
	cat := testCatalog()
	cat.People[tm1] = workflow.Person{Email: tm1, Manager: mgr}
	cat.People[tm2] = workflow.Person{Email: tm2, Manager: mgr}
	f.e.SetCatalog(cat)
}

// putGrant writes a grant as it would be after its history.
func (f *fixture) putGrant(subject, app, res string, status workflow.GrantStatus, start, end time.Time) *workflow.Grant {
	f.t.Helper()
	g := &workflow.Grant{Subject: subject, AppID: app, ResourceID: res, Status: status, StartsAt: start, GrantedBy: mgr, TaskID: 999}
	if status == workflow.GrantActive {
		g.ExpiresAt = end
	} else {
		g.ExpiresAt, g.EndedAt = end, end
	}
	require.NoError(f.t, f.db.Update(f.ctx, func(tx workflow.Tx) error { return tx.CreateGrant(g) }))
	return g
}

// putTask writes a finished (or open) grant task with one review step.
func (f *fixture) putTask(requester, app, res string, status workflow.Status, created time.Time, dur time.Duration, decidedBy, comment string) *workflow.Task {
	f.t.Helper()
	run := workflow.StepRun{Status: workflow.StepActive, StartedAt: created, Assignees: []workflow.Assignment{{Email: mgr, Via: workflow.ViaPolicy, State: workflow.AssignPending}}}
	t := &workflow.Task{Kind: workflow.KindGrant, Status: status, Revision: 1, Requester: requester, Subject: requester,
		AppID: app, ResourceID: res, Duration: dur, Justification: "history", Origin: workflow.OriginRequest,
		Policy: workflow.Policy{Name: "std", Steps: []workflow.Step{review("manager")}}, CreatedAt: created}
	switch status {
	case workflow.StatusDenied:
		run.Status, run.DecidedBy, run.Comment, run.EndedAt = workflow.StepDenied, decidedBy, comment, created.Add(time.Hour)
		run.Assignees[0].State = workflow.AssignDenied
		t.ClosedAt = created.Add(time.Hour)
	case workflow.StatusDone:
		run.Status, run.DecidedBy, run.EndedAt = workflow.StepApproved, decidedBy, created.Add(time.Hour)
		run.Assignees[0].State = workflow.AssignApproved
		t.ClosedAt = created.Add(time.Hour)
	}
	t.Steps = []workflow.StepRun{run}
	// With its created event, as the engine writes a task (audit verify
	// reports a task without a chain).
	require.NoError(f.t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		if err := tx.CreateTask(t); err != nil {
			return err
		}
		return tx.AppendAudit(&workflow.AuditEvent{TaskID: t.ID, At: created, Actor: requester, Action: workflow.ActCreated})
	}))
	return t
}

func (f *fixture) insights(t *workflow.Task, reviewer string) []workflow.Insight {
	f.t.Helper()
	ins, err := f.e.Insights(f.ctx, t, reviewer)
	require.NoError(f.t, err)
	return ins
}

func findInsight(ins []workflow.Insight, k workflow.InsightKind) *workflow.Insight {
	for i := range ins {
		if ins[i].Kind == k {
			return &ins[i]
		}
	}
	return nil
}

// insightCase is one constructed history and what one insight must say.
type insightCase struct {
	name     string
	history  func(f *fixture)
	request  func(f *fixture) *workflow.Task
	reviewer string
	kind     workflow.InsightKind
	want     workflow.Severity // 0: the insight must be absent
	text     []string          // fragments of the explanation
	facts    map[string]string
}

func runInsightCases(t *testing.T, cases []insightCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.withTeam()
			if c.history != nil {
				c.history(f)
			}
			task := c.request(f)
			reviewer := c.reviewer
			if reviewer == "" {
				reviewer = mgr
			}
			ins := f.insights(task, reviewer)
			got := findInsight(ins, c.kind)
			if c.want == 0 {
				require.Nil(t, got, "want no %s insight, got %+v", c.kind, got)
				return
			}
			require.NotNil(t, got, "want a %s insight; got %+v", c.kind, ins)
			assert.Equal(t, c.want, got.Severity, got.Text)
			assert.NotEmpty(t, got.Short)
			for _, frag := range c.text {
				assert.Contains(t, got.Text, frag)
			}
			for k, v := range c.facts {
				assert.Equal(t, v, got.Facts[k], "fact %s", k)
			}
			for i := 1; i < len(ins); i++ {
				assert.GreaterOrEqual(t, ins[i-1].Severity, ins[i].Severity, "strongest first")
			}
		})
	}
}

func reqAlice(app, res string) func(f *fixture) *workflow.Task {
	return func(f *fixture) *workflow.Task { return f.request(alice, app, res) }
}

func reqWith(in workflow.RequestInput) func(f *fixture) *workflow.Task {
	return func(f *fixture) *workflow.Task {
		f.t.Helper()
		if in.Justification == "" {
			in.Justification = "on call"
		}
		task, err := f.e.Request(f.ctx, in)
		require.NoError(f.t, err)
		return task
	}
}

func TestInsightPeers(t *testing.T) {
	t.Parallel()
	end := t0.Add(30 * 24 * time.Hour)
	runInsightCases(t, []insightCase{
		{name: "two of three peers hold it", kind: workflow.InsightPeers, want: workflow.SeverityInfo,
			history: func(f *fixture) {
				f.putGrant(bob, "github", "admin", workflow.GrantActive, t0, end)
				f.putGrant(tm1, "github", "admin", workflow.GrantActive, t0, end)
				f.putGrant(tm2, "github", "admin", workflow.GrantExpired, t0.Add(-48*time.Hour), t0.Add(-time.Hour))
				f.putGrant(eve, "github", "admin", workflow.GrantActive, t0, end)
				f.putGrant(dave, "github", "admin", workflow.GrantActive, t0, end)
				f.putGrant(bob, "github", "repo", workflow.GrantActive, t0, end) // other resource
			},
			request: reqAlice("github", "admin"),
			text:    []string{"2 of alice@example.com's 3 teammates", "report to you", "they are 2 of its 4 holders"},
			facts:   map[string]string{"peers": "3", "peer_holders": "2", "holders": "4"}},
		{name: "none of the peers, others do", kind: workflow.InsightPeers, want: workflow.SeverityNotice,
			history: func(f *fixture) { f.putGrant(eve, "github", "admin", workflow.GrantActive, t0, end) },
			request: reqAlice("github", "admin"),
			text:    []string{"None of alice@example.com's 3 teammates", "1 other person do"},
			facts:   map[string]string{"peer_holders": "0", "holders": "1"}},
		{name: "nobody holds it", kind: workflow.InsightPeers, want: workflow.SeverityInfo,
			request: reqAlice("github", "admin"), text: []string{"Nobody holds GitHub / org-admin now"}},
		{name: "no manager, no peers", kind: workflow.InsightPeers, want: 0,
			request: func(f *fixture) *workflow.Task { return f.request(dave, "github", "admin") }, reviewer: sec1},
	})
}

func TestInsightReviewer(t *testing.T) {
	t.Parallel()
	end := t0.Add(30 * 24 * time.Hour)
	runInsightCases(t, []insightCase{
		{name: "reviewer holds it", kind: workflow.InsightReviewerHolds, want: workflow.SeverityInfo,
			history: func(f *fixture) { f.putGrant(mgr, "github", "admin", workflow.GrantActive, t0.Add(-24*time.Hour), end) },
			request: reqAlice("github", "admin"), text: []string{"You hold GitHub / org-admin yourself, since 2026-11-22, until 2026-12-23"}},
		{name: "reviewer held it once", kind: workflow.InsightReviewerHolds, want: 0,
			history: func(f *fixture) { f.putGrant(mgr, "github", "admin", workflow.GrantRevoked, t0.Add(-48*time.Hour), t0) },
			request: reqAlice("github", "admin")},
		{name: "reviewer is the manager", kind: workflow.InsightReviewerIsManager, want: workflow.SeverityInfo,
			request: reqAlice("github", "admin"), text: []string{"You are alice@example.com's manager"}},
		{name: "reviewer is not the manager", kind: workflow.InsightReviewerIsManager, want: 0,
			request: reqAlice("github", "admin"), reviewer: sec1},
		{name: "no reviewer", kind: workflow.InsightReviewerIsManager, want: 0,
			request: reqAlice("github", "admin"), reviewer: "none"},
	})
}

func TestInsightHistory(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	runInsightCases(t, []insightCase{
		{name: "held before, expired", kind: workflow.InsightHeldBefore, want: workflow.SeverityInfo,
			history: func(f *fixture) {
				f.putGrant(alice, "github", "admin", workflow.GrantExpired, t0.Add(-100*day), t0.Add(-90*day))
				f.putGrant(alice, "github", "admin", workflow.GrantExpired, t0.Add(-20*day), t0.Add(-17*day))
			},
			request: reqAlice("github", "admin"),
			text:    []string{"held GitHub / org-admin before (2 times in all): last from 2026-11-03 to 2026-11-06 (3 days), and it expired"},
			facts:   map[string]string{"times": "2", "ended": "expired"}},
		{name: "held before, revoked", kind: workflow.InsightHeldBefore, want: workflow.SeverityNotice,
			history: func(f *fixture) {
				g := f.putGrant(alice, "github", "admin", workflow.GrantActive, t0.Add(-10*day), time.Time{})
				rt := &workflow.Task{Kind: workflow.KindRevoke, Status: workflow.StatusDone, Revision: 1, Requester: owner, Subject: alice,
					AppID: "github", ResourceID: "admin", Justification: "left the team", Origin: workflow.OriginProposal, GrantID: g.ID,
					Policy: workflow.Policy{Name: "revoke", Steps: []workflow.Step{review("app_owners")}}, Steps: []workflow.StepRun{{Status: workflow.StepApproved}},
					CreatedAt: t0.Add(-5 * day), ClosedAt: t0.Add(-5 * day)}
				require.NoError(f.t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
					if err := tx.CreateTask(rt); err != nil {
						return err
					}
					g.Status, g.EndedAt, g.EndTaskID = workflow.GrantRevoked, t0.Add(-5*day), rt.ID
					return tx.SaveGrant(g)
				}))
			},
			request: reqAlice("github", "admin"),
			text:    []string{"(5 days), and it was revoked (T-1, proposed by owner@example.com: “left the team”)"}},
		{name: "never held", kind: workflow.InsightHeldBefore, want: 0,
			history: func(f *fixture) {
				f.putGrant(alice, "github", "repo", workflow.GrantExpired, t0.Add(-20*day), t0.Add(-17*day))
			},
			request: reqAlice("github", "admin")},
		{name: "holds it now, extension", kind: workflow.InsightHoldsNow, want: workflow.SeverityInfo,
			history: func(f *fixture) {
				f.putGrant(alice, "github", "admin", workflow.GrantActive, t0.Add(-day), t0.Add(2*time.Hour))
			},
			request: reqWith(workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Extension: true}),
			text:    []string{"holds GitHub / org-admin now (since 2026-11-22, until 2026-11-23); this request would extend it"}},
		{name: "denied recently", kind: workflow.InsightDeniedBefore, want: workflow.SeverityCaution,
			history: func(f *fixture) {
				f.putTask(alice, "github", "admin", workflow.StatusDenied, t0.Add(-10*day), 8*time.Hour, mgr, "not for this project")
			},
			request: reqAlice("github", "admin"),
			text:    []string{"asked for GitHub / org-admin before and was denied; last in T-1 on 2026-11-13 by you: “not for this project”"},
			facts:   map[string]string{"times": "1", "by": mgr}},
		{name: "denied long ago, twice, no reason", kind: workflow.InsightDeniedBefore, want: workflow.SeverityNotice, reviewer: sec1,
			history: func(f *fixture) {
				f.putTask(alice, "github", "admin", workflow.StatusDenied, t0.Add(-300*day), 8*time.Hour, mgr, "")
				f.putTask(alice, "github", "admin", workflow.StatusDenied, t0.Add(-200*day), 8*time.Hour, mgr, "")
				f.putTask(alice, "github", "repo", workflow.StatusDenied, t0.Add(-2*day), 8*time.Hour, mgr, "other resource")
			},
			request: reqAlice("github", "admin"),
			text:    []string{"was denied 2 times; last in T-2 on 2026-05-07 by mgr@example.com, with no reason given."}},
		{name: "approved before is no denial", kind: workflow.InsightDeniedBefore, want: 0,
			history: func(f *fixture) {
				f.putTask(alice, "github", "admin", workflow.StatusDone, t0.Add(-10*day), 8*time.Hour, mgr, "")
			},
			request: reqAlice("github", "admin")},
	})
}

func TestInsightDuration(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	others := func(d time.Duration, n int) func(f *fixture) {
		return func(f *fixture) {
			for i := range n {
				f.putTask(bob, "github", "admin", workflow.StatusDone, t0.Add(-time.Duration(i+2)*day), d, mgr, "")
			}
			// Too old, and alice's own: neither counts.
			f.putTask(eve, "github", "admin", workflow.StatusDone, t0.Add(-100*day), workflow.Permanent, mgr, "")
			f.putTask(alice, "github", "admin", workflow.StatusDone, t0.Add(-3*day), 7*day, mgr, "")
		}
	}
	req := func(d time.Duration) func(f *fixture) *workflow.Task {
		return reqWith(workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Duration: d})
	}
	runInsightCases(t, []insightCase{
		{name: "the default, no history", kind: workflow.InsightDuration, want: workflow.SeverityInfo, request: req(0),
			text: []string{"Asks for 8h: the default; within the maximum of 1w."}, facts: map[string]string{"requested": "8h", "default": "8h", "max": "1w"}},
		{name: "longer than the default", kind: workflow.InsightDuration, want: workflow.SeverityNotice, request: req(3 * day),
			text: []string{"Asks for 3d: longer than the default of 8h; within the maximum of 1w."}},
		{name: "shorter than usual", kind: workflow.InsightDuration, want: workflow.SeverityInfo, history: others(8*time.Hour, 5), request: req(4 * time.Hour),
			text:  []string{"shorter than the default of 8h", "others were approved for 8h (median of the last 5 approvals in 90 days; the longest 8h)"},
			facts: map[string]string{"approved_n": "5", "approved_median": "8h"}},
		{name: "the maximum, far above what others got", kind: workflow.InsightDuration, want: workflow.SeverityCaution, history: others(8*time.Hour, 5), request: req(7 * day),
			text: []string{"the maximum allowed", "this is longer than all of them"}},
		{name: "longer than the median, within the default", kind: workflow.InsightDuration, want: workflow.SeverityNotice, history: others(4*time.Hour, 3), request: req(8 * time.Hour),
			text: []string{"the default", "others were approved for 4h"}},
	})
}

func TestInsightTimingAndRate(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tz := func(email, zone string) func(f *fixture) {
		return func(f *fixture) {
			require.NoError(f.t, f.db.SaveChatUser(f.ctx, &workflow.ChatUser{Email: email, ChatID: "U" + email[:3], TZ: zone, ResolvedAt: t0}))
		}
	}
	tasks := func(n int, from time.Time, step time.Duration, status workflow.Status) func(f *fixture) {
		return func(f *fixture) {
			for i := range n {
				f.putTask(alice, "snowflake", "", status, from.Add(time.Duration(i)*step), day, mgr, "")
			}
		}
	}
	both := func(fns ...func(f *fixture)) func(f *fixture) {
		return func(f *fixture) {
			for _, fn := range fns {
				fn(f)
			}
		}
	}
	runInsightCases(t, []insightCase{
		{name: "emergency", kind: workflow.InsightEmergency, want: workflow.SeverityNotice,
			request: reqWith(workflow.RequestInput{Requester: alice, AppID: "aws", Emergency: true}), reviewer: sec1,
			text: []string{"as an emergency", "(emergency)"}},
		{name: "not an emergency", kind: workflow.InsightEmergency, want: 0, request: reqAlice("aws", "")},
		{name: "in hours in UTC", kind: workflow.InsightOffHours, want: 0, request: reqAlice("snowflake", "")},
		{name: "evening in Tokyo", kind: workflow.InsightOffHours, want: workflow.SeverityNotice, history: tz(alice, "Asia/Tokyo"), request: reqAlice("snowflake", ""),
			text:  []string{"asked on Monday 2026-11-23 at 19:00 their time (Asia/Tokyo), outside business hours (09:00–18:00, Monday to Friday)"},
			facts: map[string]string{"zone": "Asia/Tokyo"}},
		{name: "weekend, zone unknown", kind: workflow.InsightOffHours, want: workflow.SeverityNotice,
			history: func(f *fixture) { f.clock.Advance(-2 * day) }, request: reqAlice("snowflake", ""),
			text: []string{"on Saturday 2026-11-21 at 10:00 their time (UTC, as accessbot does not know their time zone)"}},
		{name: "the catalog's hours", kind: workflow.InsightOffHours, want: workflow.SeverityNotice,
			history: func(f *fixture) {
				cat := testCatalog()
				cat.Reminders.BusinessHours = workflow.BusinessHours{Start: 6 * time.Hour, End: 9 * time.Hour}
				f.e.SetCatalog(cat)
			}, request: reqAlice("snowflake", ""), text: []string{"(06:00–09:00, Monday to Friday)"}},
		{name: "few requests", kind: workflow.InsightRequestRate, want: 0,
			history: tasks(1, t0.Add(-5*day), day, workflow.StatusDone), request: reqAlice("snowflake", "")},
		{name: "three new, none before", kind: workflow.InsightRequestRate, want: workflow.SeverityNotice,
			history: tasks(2, t0.Add(-5*day), day, workflow.StatusDone), request: reqAlice("snowflake", ""),
			text:  []string{"made 3 requests in the last 30 days (this one included); they made none in the 330 days before."},
			facts: map[string]string{"recent": "3", "usual": "0.0"}},
		{name: "three is usual for them", kind: workflow.InsightRequestRate, want: 0,
			history: both(tasks(2, t0.Add(-5*day), day, workflow.StatusDone), tasks(22, t0.Add(-360*day), 15*day, workflow.StatusDone)),
			request: reqAlice("snowflake", "")},
		{name: "more than usual, with an old one open", kind: workflow.InsightRequestRate, want: workflow.SeverityNotice,
			history: both(tasks(4, t0.Add(-10*day), day, workflow.StatusDone), tasks(11, t0.Add(-360*day), 30*day, workflow.StatusDone),
				func(f *fixture) {
					f.putTask(alice, "github", "repo", workflow.StatusOpen, t0.Add(-40*day), day, "", "")
				}),
			request: reqAlice("snowflake", ""),
			text:    []string{"made 5 requests in the last 30 days and has 1 more from before still open (this one included); before that they made 1.1 per 30 days on average (12 requests since"},
			facts:   map[string]string{"recent": "5", "open_older": "1"}},
		{name: "a burst", kind: workflow.InsightRequestRate, want: workflow.SeverityCaution,
			history: tasks(11, t0.Add(-20*day), day, workflow.StatusDone), request: reqAlice("snowflake", "")},
	})
}

func TestInsightRevocation(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	revoke := func(f *fixture) *workflow.Task {
		task, err := f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: owner, Subject: alice, AppID: "github", ResourceID: "admin", Reason: "left"})
		require.NoError(f.t, err)
		return task
	}
	grant := func(end time.Time) func(f *fixture) {
		return func(f *fixture) { f.putGrant(alice, "github", "admin", workflow.GrantActive, t0.Add(-40*day), end) }
	}
	runInsightCases(t, []insightCase{
		{name: "given by mgr, expires later", kind: workflow.InsightGrantOrigin, want: workflow.SeverityInfo, reviewer: owner,
			history: grant(t0.Add(10 * day)), request: revoke,
			text:  []string{"alice@example.com got GitHub / org-admin on 2026-10-14 (40 days ago), approved by mgr@example.com in T-999; it expires on 2026-12-03."},
			facts: map[string]string{"by": mgr}},
		{name: "permanent", kind: workflow.InsightGrantOrigin, want: workflow.SeverityInfo, reviewer: owner,
			history: grant(time.Time{}), request: revoke, text: []string{"; it is permanent."}},
		{name: "expires tomorrow anyway", kind: workflow.InsightExpiresSoon, want: workflow.SeverityNotice, reviewer: owner,
			history: grant(t0.Add(30 * time.Hour)), request: revoke, text: []string{"expires in 30 hours anyway"}},
		{name: "expires in ten days", kind: workflow.InsightExpiresSoon, want: 0, reviewer: owner,
			history: grant(t0.Add(10 * day)), request: revoke},
		{name: "permanent never expires", kind: workflow.InsightExpiresSoon, want: 0, reviewer: owner,
			history: grant(time.Time{}), request: revoke},
	})
}

// Insights are for reviews only, and a decision records the ones its
// reviewer saw in its audit event, inside the hash chain.
func TestInsightsRecordedInDecision(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.withTeam()
	f.putGrant(bob, "github", "admin", workflow.GrantActive, t0, time.Time{})
	f.putTask(alice, "github", "admin", workflow.StatusDenied, t0.Add(-24*time.Hour), 8*time.Hour, mgr, "no")
	task := f.request(alice, "github", "admin")
	shown := f.insights(task, mgr)
	require.NotEmpty(t, shown)
	assert.Equal(t, workflow.InsightDeniedBefore, shown[0].Kind, "the strongest comes first")

	done := f.decide(workflow.ActionApprove, task.ID, mgr)
	var approved *workflow.AuditEvent
	for _, e := range f.events(task.ID) {
		if e.Action == workflow.ActApproved {
			approved = &e
		}
	}
	require.NotNil(t, approved)
	sum := approved.Details["insights"]
	assert.Equal(t, workflow.InsightSummary(shown), sum)
	for _, want := range []string{"denied_before:caution[", "peers:info[holders=1 peer_holders=1 peers=3]", "reviewer_is_manager:info"} {
		assert.Contains(t, sum, want)
	}
	f.verifyAudit()

	// Provisioning is no review: no insights.
	require.Equal(t, workflow.StepProvision, done.Policy.Steps[done.Step].Type)
	assert.Empty(t, f.insights(done, prov1))
	for _, e := range f.events(task.ID) {
		if e.Action == workflow.ActCreated || e.Action == workflow.ActApproved {
			continue
		}
		assert.Empty(t, e.Details["insights"], e.Action)
	}

	// A deny records them too.
	other := f.request(bob, "github", "repo")
	f.decide(workflow.ActionDeny, other.ID, mgr)
	evs := f.events(other.ID)
	last := evs[len(evs)-1]
	require.Equal(t, workflow.ActDenied, last.Action)
	assert.True(t, strings.Contains(last.Details["insights"], "reviewer_is_manager:info"), last.Details["insights"])
	f.verifyAudit()
}
