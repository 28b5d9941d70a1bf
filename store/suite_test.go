package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// testStore is the conformance suite every dialect passes.
func testStore(t *testing.T, open opener) {
	tests := map[string]func(t *testing.T, open opener){
		"Now":               testNow,
		"TaskRoundTrip":     testTaskRoundTrip,
		"SaveTaskConflict":  testSaveTaskConflict,
		"SaveTaskChanges":   testSaveTaskChanges,
		"SaveTaskUnknown":   testSaveTaskUnknownRow,
		"SaveTaskPeople":    testSaveTaskPeopleDrift,
		"Isolated":          testIsolated,
		"UpdateBatchAlone":  testUpdateBatchAlone,
		"UpdateRollback":    testUpdateRollback,
		"TaskQueries":       testTaskQueries,
		"DeleteTask":        testDeleteTask,
		"Grants":            testGrants,
		"Delegations":       testDelegations,
		"Audit":             testAudit,
		"AuditWalkBatches":  testAuditWalkBatches,
		"Outbox":            testOutbox,
		"ClaimNotices":      testClaimNotices,
		"OutboxLifecycle":   testOutboxLifecycle,
		"OutboxUpgrade":     testOutboxUpgrade,
		"DigestCards":       testDigestCards,
		"LeaseTakeover":     testLeaseTakeover,
		"Inbox":             testInbox,
		"InboxReceipt":      testInboxReceipt,
		"CardClaims":        testCardClaims,
		"UpdateBatch":       testUpdateBatch,
		"ChatUsers":         testChatUsers,
		"Cards":             testCards,
		"CommentMirrors":    testCommentMirrors,
		"SeenKeys":          testSeenKeys,
		"Migrations":        testMigrations,
		"ConcurrentWriters": testConcurrentWriters,
		"RawInsertRate":     testRawInsertRate,
		"TaskCounts":        testTaskCounts,
		"ConnectorJobs":     testConnectorJobs,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, open)
		})
	}
}

// newTask is an open grant task at its first (review) step, waiting on
// bob; provisioning by erin follows.
func newTask(subject string) *workflow.Task {
	return &workflow.Task{
		Kind:      workflow.KindGrant,
		Status:    workflow.StatusOpen,
		Revision:  1,
		Requester: subject,
		Subject:   subject,
		AppID:     "github",
		Duration:  8 * time.Hour,
		Origin:    workflow.OriginRequest,
		Policy: workflow.Policy{Name: "default", Steps: []workflow.Step{
			{Type: workflow.StepReview, Approvers: []workflow.Principal{"bob@x.com"}, Mode: workflow.ModeAny, Delegate: true},
			{Type: workflow.StepProvision, Approvers: []workflow.Principal{"erin@x.com"}, Reassign: workflow.ReassignRule{None: true}},
		}},
		Steps: []workflow.StepRun{
			{Status: workflow.StepActive, Assignees: []workflow.Assignment{{Email: "bob@x.com", Via: workflow.ViaPolicy, State: workflow.AssignPending}}},
			{Status: workflow.StepWaiting},
		},
	}
}

func testNow(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	update(t, db, func(tx workflow.Tx) error {
		now := tx.Now()
		require.Equal(t, micro(clock.Now()), now)
		require.Equal(t, time.UTC, now.Location())
		require.Zero(t, now.Nanosecond()%1000)
		require.True(t, tx.Now() == now, "Now is fixed for the transaction")
		return nil
	})
}

func testTaskRoundTrip(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := clock.Now()
	want := newTask("alice@x.com")
	want.ResourceID = "org-admin"
	want.Justification = "incident 42 — ünïcødé"
	want.Emergency, want.Extension = true, true
	want.GrantID = 9
	want.Duration = workflow.Permanent
	want.Steps[0].StartedAt = micro(base.Add(-time.Hour))
	want.Steps[0].Assignees = append(want.Steps[0].Assignees, workflow.Assignment{
		Email: "dan@x.com", Via: workflow.ViaDelegated, From: "carol@x.com", Reason: "on leave",
		State: workflow.AssignApproved, DecidedAt: base.Add(-time.Minute).UTC(), // nanoseconds survive in JSON
	})
	want.ErrorReason = "none"
	want.Last = workflow.LastAction{Actor: "dan@x.com", Action: workflow.ActApproved, At: micro(base.Add(-time.Minute))}
	want.RemindedAt = micro(base.Add(-30 * time.Minute))
	want.EscalatedAt = micro(base.Add(-20 * time.Minute))
	want.AuditHead = "abc"
	want.CreatedAt = micro(base.Add(-2 * time.Hour))

	update(t, db, func(tx workflow.Tx) error {
		require.NoError(t, tx.CreateTask(want))
		require.Equal(t, int64(1), want.ID)
		require.Equal(t, int64(1), want.Version)
		require.Equal(t, tx.Now(), want.UpdatedAt)
		return nil
	})
	// The ID given is kept; a taken one is a conflict.
	update(t, db, func(tx workflow.Tx) error {
		id, err := tx.NextTaskID()
		require.NoError(t, err)
		other := newTask("bob@x.com")
		other.ID = id
		other.Duration = 90 * time.Minute
		other.Steps = nil // round trips as nil
		require.NoError(t, tx.CreateTask(other))
		require.Equal(t, int64(2), other.ID)
		dup := newTask("x@x.com")
		dup.ID = 1
		requireCode(t, workflow.ECONFLICT, tx.CreateTask(dup))
		return nil
	})
	view(t, db, func(tx workflow.ReadTx) error {
		got, err := tx.Task(1)
		require.NoError(t, err)
		require.Equal(t, want, got)
		other, err := tx.Task(2)
		require.NoError(t, err)
		require.Equal(t, 90*time.Minute, other.Duration)
		require.Nil(t, other.Steps)
		_, err = tx.Task(99)
		requireCode(t, workflow.ENOTFOUND, err)
		require.Equal(t, "T-99 does not exist", err.Error())
		return nil
	})
}

func testSaveTaskConflict(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(newTask("alice@x.com")) })
	var a, b *workflow.Task
	view(t, db, func(tx workflow.ReadTx) error {
		var err error
		a, err = tx.Task(1)
		require.NoError(t, err)
		b, err = tx.Task(1)
		return err
	})
	clock.Add(time.Minute)
	a.Status = workflow.StatusDenied
	a.Steps[0].Status = workflow.StepDenied
	a.Steps[0].Assignees[0].State = workflow.AssignDenied
	a.Steps[0].DecidedBy = "bob@x.com"
	update(t, db, func(tx workflow.Tx) error {
		require.NoError(t, tx.SaveTask(a))
		require.Equal(t, int64(2), a.Version)
		require.Equal(t, tx.Now(), a.UpdatedAt)
		return nil
	})

	// b is a version behind: conflict, nothing written, b untouched.
	clock.Add(time.Minute)
	b.Justification = "lost update"
	before := *b
	err := db.Update(context.Background(), func(tx workflow.Tx) error { return tx.SaveTask(b) })
	requireCode(t, workflow.ECONFLICT, err)
	require.Contains(t, err.Error(), "T-1")
	require.Equal(t, before, *b)
	// Even when the caller goes on and commits.
	update(t, db, func(tx workflow.Tx) error {
		requireCode(t, workflow.ECONFLICT, tx.SaveTask(b))
		return nil
	})
	view(t, db, func(tx workflow.ReadTx) error {
		got, err := tx.Task(1)
		require.NoError(t, err)
		require.Equal(t, a, got)
		// The index still says what a said: bob decided, nobody is pending.
		n, err := tx.CountTasks(workflow.TaskQuery{Assignee: "bob@x.com"})
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = tx.CountTasks(workflow.TaskQuery{Actor: "bob@x.com"})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		return nil
	})
	missing := newTask("x@x.com")
	missing.ID, missing.Version = 77, 1
	err = db.Update(context.Background(), func(tx workflow.Tx) error { return tx.SaveTask(missing) })
	requireCode(t, workflow.ENOTFOUND, err)
}

func testUpdateRollback(t *testing.T, open opener) {
	db, _ := open(t, newClock().Now)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.Update(ctx, func(tx workflow.Tx) error {
		require.NoError(t, tx.CreateTask(newTask("alice@x.com")))
		require.NoError(t, tx.CreateGrant(&workflow.Grant{Subject: "alice@x.com", AppID: "github", Status: workflow.GrantActive}))
		require.NoError(t, tx.AppendAudit(&workflow.AuditEvent{TaskID: 1, Actor: "a", Action: workflow.ActCreated}))
		require.NoError(t, tx.Enqueue(&workflow.Notice{Payload: workflow.TaskChanged{}, TaskID: 1}))
		return boom
	})
	require.ErrorIs(t, err, boom, "fn's error comes back as it is")
	require.Panics(t, func() {
		db.Update(ctx, func(tx workflow.Tx) error {
			tx.CreateTask(newTask("bob@x.com"))
			panic("fn panics")
		})
	})
	view(t, db, func(tx workflow.ReadTx) error {
		n, err := tx.CountTasks(workflow.TaskQuery{})
		require.NoError(t, err)
		require.Zero(t, n)
		gs, err := tx.FindGrants(workflow.GrantQuery{})
		require.NoError(t, err)
		require.Empty(t, gs)
		seq, _, err := tx.AuditHead(1)
		require.NoError(t, err)
		require.Zero(t, seq)
		return nil
	})
	depth, _, err := db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Zero(t, depth)
	// The writer is free again and the counter did not move.
	update(t, db, func(tx workflow.Tx) error {
		id, err := tx.NextTaskID()
		require.Equal(t, int64(1), id)
		return err
	})
}

func testTaskQueries(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := micro(clock.Now())

	// T-1: open, alice asks for github/admin, bob to review (started base).
	t1 := newTask("alice@x.com")
	t1.ResourceID = "admin"
	t1.Steps[0].StartedAt = base
	// T-2: open, dave asks for carol; bob approved, erin provisions (started base+1h).
	t2 := newTask("carol@x.com")
	t2.Requester = "dave@x.com"
	t2.Step = 1
	t2.Steps[0] = workflow.StepRun{Status: workflow.StepApproved, StartedAt: base, DecidedBy: "bob@x.com",
		Assignees: []workflow.Assignment{{Email: "bob@x.com", State: workflow.AssignApproved}}}
	t2.Steps[1] = workflow.StepRun{Status: workflow.StepActive, StartedAt: base.Add(time.Hour),
		Assignees: []workflow.Assignment{{Email: "erin@x.com", State: workflow.AssignPending}}}
	// T-3: revoke of grant 7 from alice, done; frank deprovisioned.
	t3 := newTask("alice@x.com")
	t3.Kind, t3.Status, t3.Requester, t3.AppID, t3.GrantID, t3.Origin = workflow.KindRevoke, workflow.StatusDone, workflow.SystemActor, "aws", 7, workflow.OriginExpiry
	t3.Policy.Steps = []workflow.Step{{Type: workflow.StepDeprovision}}
	t3.Steps = []workflow.StepRun{{Status: workflow.StepDone, StartedAt: base.Add(-time.Hour), DecidedBy: "frank@x.com",
		Assignees: []workflow.Assignment{{Email: "frank@x.com", State: workflow.AssignDone}}}}
	// T-4: bob asked for aws/ro, denied by alice, delegated from grace.
	t4 := newTask("bob@x.com")
	t4.AppID, t4.ResourceID, t4.Status = "aws", "ro", workflow.StatusDenied
	t4.Steps[0] = workflow.StepRun{Status: workflow.StepDenied, StartedAt: base.Add(-time.Hour), DecidedBy: "alice@x.com",
		Assignees: []workflow.Assignment{{Email: "alice@x.com", From: "grace@x.com", Via: workflow.ViaDelegated, State: workflow.AssignDenied}}}
	// T-5: carol asks for github/admin; in error with bob still listed.
	t5 := newTask("carol@x.com")
	t5.ResourceID, t5.Status = "admin", workflow.StatusError
	t5.Steps[0].StartedAt = base.Add(-2 * time.Hour)

	update(t, db, func(tx workflow.Tx) error {
		for _, task := range []*workflow.Task{t1, t2, t3, t4, t5} {
			require.NoError(t, tx.CreateTask(task))
		}
		return nil
	})
	empty, admin := "", "admin"
	tests := []struct {
		name string
		q    workflow.TaskQuery
		want []int64
	}{
		{"all", workflow.TaskQuery{}, []int64{1, 2, 3, 4, 5}},
		{"ids", workflow.TaskQuery{IDs: []int64{4, 2, 99}}, []int64{2, 4}},
		{"kind", workflow.TaskQuery{Kind: workflow.KindRevoke}, []int64{3}},
		{"statuses", workflow.TaskQuery{Statuses: []workflow.Status{workflow.StatusOpen, workflow.StatusError}}, []int64{1, 2, 5}},
		{"subject", workflow.TaskQuery{Subject: "alice@x.com"}, []int64{1, 3}},
		{"requester", workflow.TaskQuery{Requester: "dave@x.com"}, []int64{2}},
		{"app", workflow.TaskQuery{AppID: "aws"}, []int64{3, 4}},
		{"resource any", workflow.TaskQuery{AppID: "github", ResourceID: nil}, []int64{1, 2, 5}},
		{"resource none", workflow.TaskQuery{AppID: "github", ResourceID: &empty}, []int64{2}},
		{"resource", workflow.TaskQuery{ResourceID: &admin}, []int64{1, 5}},
		{"grant", workflow.TaskQuery{GrantID: 7}, []int64{3}},
		{"assignee", workflow.TaskQuery{Assignee: "bob@x.com"}, []int64{1}},
		{"assignee erin", workflow.TaskQuery{Assignee: "erin@x.com"}, []int64{2}},
		{"assignee step", workflow.TaskQuery{Assignee: "erin@x.com", AssigneeStep: workflow.StepProvision}, []int64{2}},
		{"assignee other step", workflow.TaskQuery{Assignee: "erin@x.com", AssigneeStep: workflow.StepReview}, nil},
		{"step type alone", workflow.TaskQuery{AssigneeStep: workflow.StepReview}, []int64{1}},
		{"participant bob", workflow.TaskQuery{Participant: "bob@x.com"}, []int64{1, 2, 4, 5}},
		{"participant grace (delegated from)", workflow.TaskQuery{Participant: "grace@x.com"}, []int64{4}},
		{"participant nobody", workflow.TaskQuery{Participant: "zed@x.com"}, nil},
		{"actor bob", workflow.TaskQuery{Actor: "bob@x.com"}, []int64{2}},
		{"actor alice", workflow.TaskQuery{Actor: "alice@x.com"}, []int64{4}},
		{"actor frank", workflow.TaskQuery{Actor: "frank@x.com"}, []int64{3}},
		{"step started before", workflow.TaskQuery{StepStartedBefore: base.Add(time.Minute)}, []int64{1}},
		{"step started before, exclusive", workflow.TaskQuery{StepStartedBefore: base}, nil},
		{"step started before later", workflow.TaskQuery{StepStartedBefore: base.Add(2 * time.Hour)}, []int64{1, 2}},
		{"and", workflow.TaskQuery{Subject: "carol@x.com", Statuses: []workflow.Status{workflow.StatusOpen}, AppID: "github"}, []int64{2}},
		{"newest", workflow.TaskQuery{Newest: true}, []int64{5, 4, 3, 2, 1}},
		{"limit", workflow.TaskQuery{Limit: 2}, []int64{1, 2}},
		{"limit offset newest", workflow.TaskQuery{Newest: true, Limit: 2, Offset: 1}, []int64{4, 3}},
		{"offset", workflow.TaskQuery{Offset: 3}, []int64{4, 5}},
	}
	view(t, db, func(tx workflow.ReadTx) error {
		for _, tt := range tests {
			got, err := tx.FindTasks(tt.q)
			require.NoError(t, err, tt.name)
			var ids []int64
			for _, task := range got {
				ids = append(ids, task.ID)
			}
			require.Equal(t, tt.want, ids, tt.name)
			if tt.q.Limit == 0 && tt.q.Offset == 0 {
				n, err := tx.CountTasks(tt.q)
				require.NoError(t, err, tt.name)
				require.Equal(t, len(tt.want), n, tt.name)
			}
		}
		n, err := tx.CountTasks(workflow.TaskQuery{Limit: 1, Offset: 1})
		require.NoError(t, err)
		require.Equal(t, 5, n, "count ignores Limit and Offset")
		return nil
	})
}

func testDeleteTask(t *testing.T, open opener) {
	db, _ := open(t, newClock().Now)
	ctx := context.Background()
	update(t, db, func(tx workflow.Tx) error {
		for _, s := range []string{"alice@x.com", "bob@x.com"} {
			task := newTask(s)
			require.NoError(t, tx.CreateTask(task))
			for range 3 {
				require.NoError(t, tx.AppendAudit(&workflow.AuditEvent{TaskID: task.ID, Actor: s, Action: workflow.ActCommented}))
			}
			require.NoError(t, tx.Enqueue(&workflow.Notice{Payload: workflow.TaskChanged{}, TaskID: task.ID}))
		}
		return tx.AppendAudit(&workflow.AuditEvent{Actor: "admin@x.com", Action: workflow.ActDeleted, Details: map[string]string{"task": "T-2"}})
	})
	for _, id := range []int64{1, 2} {
		require.NoError(t, db.SaveCard(ctx, &workflow.Card{TaskID: id, Role: workflow.CardAssignee, Email: "bob@x.com", Channel: "D1", TS: fmt.Sprint(id)}))
	}
	update(t, db, func(tx workflow.Tx) error {
		require.NoError(t, tx.DeleteTask(2))
		requireCode(t, workflow.ENOTFOUND, tx.DeleteTask(2))
		requireCode(t, workflow.ENOTFOUND, tx.DeleteTask(0))
		return nil
	})
	view(t, db, func(tx workflow.ReadTx) error {
		_, err := tx.Task(2)
		requireCode(t, workflow.ENOTFOUND, err)
		events, err := tx.AuditEvents(2)
		require.NoError(t, err)
		require.Empty(t, events)
		tasks, err := tx.FindTasks(workflow.TaskQuery{Participant: "bob@x.com"})
		require.NoError(t, err)
		require.Len(t, tasks, 1, "T-1 only: bob reviews it")
		require.Equal(t, int64(1), tasks[0].ID)
		events, err = tx.AuditEvents(1)
		require.NoError(t, err)
		require.Len(t, events, 3, "other chains stay")
		events, err = tx.AuditEvents(0)
		require.NoError(t, err)
		require.Len(t, events, 1, "the admin chain stays")
		return nil
	})
	cards, err := db.Cards(ctx, 2)
	require.NoError(t, err)
	require.Len(t, cards, 1, "cards stay until the bot has marked them deleted")
	require.NoError(t, db.DeleteCards(ctx, 2))
	cards, err = db.Cards(ctx, 2)
	require.NoError(t, err)
	require.Empty(t, cards)
	cards, err = db.Cards(ctx, 1)
	require.NoError(t, err)
	require.Len(t, cards, 1)
	depth, _, err := db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, depth, "outbox rows stay")
	// The deleted number, the highest, is never handed out again.
	update(t, db, func(tx workflow.Tx) error {
		task := newTask("carol@x.com")
		require.NoError(t, tx.CreateTask(task))
		require.Equal(t, int64(3), task.ID)
		return nil
	})
}

func testGrants(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := micro(clock.Now())
	grants := []*workflow.Grant{
		{Subject: "alice@x.com", AppID: "github", ResourceID: "admin", Status: workflow.GrantActive, StartsAt: base, ExpiresAt: base.Add(time.Hour), TaskID: 1, GrantedBy: "erin@x.com"},
		{Subject: "alice@x.com", AppID: "aws", Status: workflow.GrantActive, StartsAt: base}, // permanent
		{Subject: "bob@x.com", AppID: "github", Status: workflow.GrantActive, StartsAt: base, ExpiresAt: base.Add(2 * time.Hour)},
		{Subject: "bob@x.com", AppID: "github", Status: workflow.GrantExpired, StartsAt: base, ExpiresAt: base.Add(-time.Hour), EndedAt: base},
	}
	update(t, db, func(tx workflow.Tx) error {
		for i, g := range grants {
			require.NoError(t, tx.CreateGrant(g))
			require.Equal(t, int64(i+1), g.ID)
			require.Equal(t, tx.Now(), g.UpdatedAt)
		}
		return nil
	})
	clock.Add(time.Minute)
	g := *grants[0]
	g.ExpiresAt = base.Add(3 * time.Hour)
	g.WarnedAt = base.Add(time.Minute)
	g.EndTaskID = 5
	update(t, db, func(tx workflow.Tx) error {
		require.NoError(t, tx.SaveGrant(&g))
		require.Equal(t, tx.Now(), g.UpdatedAt)
		requireCode(t, workflow.ENOTFOUND, tx.SaveGrant(&workflow.Grant{ID: 99}))
		return nil
	})
	grants[0] = &g
	empty := ""
	tests := []struct {
		name string
		q    workflow.GrantQuery
		want []int64
	}{
		{"all", workflow.GrantQuery{}, []int64{1, 2, 3, 4}},
		{"subject", workflow.GrantQuery{Subject: "alice@x.com"}, []int64{1, 2}},
		{"app", workflow.GrantQuery{AppID: "github"}, []int64{1, 3, 4}},
		{"no resource", workflow.GrantQuery{AppID: "github", ResourceID: &empty}, []int64{3, 4}},
		{"status", workflow.GrantQuery{Status: workflow.GrantActive}, []int64{1, 2, 3}},
		{"expiring", workflow.GrantQuery{Status: workflow.GrantActive, ExpiresBefore: base.Add(2 * time.Hour)}, []int64{3}},
		{"expiring, at the instant", workflow.GrantQuery{Status: workflow.GrantActive, ExpiresBefore: base.Add(3 * time.Hour)}, []int64{1, 3}},
		{"expiring, none yet", workflow.GrantQuery{Status: workflow.GrantActive, ExpiresBefore: base.Add(time.Hour)}, nil},
		{"limit", workflow.GrantQuery{Subject: "bob@x.com", Limit: 1}, []int64{3}},
	}
	view(t, db, func(tx workflow.ReadTx) error {
		for _, tt := range tests {
			got, err := tx.FindGrants(tt.q)
			require.NoError(t, err, tt.name)
			var ids []int64
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			require.Equal(t, tt.want, ids, tt.name)
		}
		for _, want := range grants {
			got, err := tx.Grant(want.ID)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		_, err := tx.Grant(42)
		requireCode(t, workflow.ENOTFOUND, err)
		return nil
	})
}

func testDelegations(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	base := micro(clock.Now())
	ds := []*workflow.Delegation{
		{Email: "a@x.com", Delegate: "z@x.com", SetBy: "a@x.com", Active: true},                                                             // permanent, on: not due
		{Email: "b@x.com", Delegate: "z@x.com", SetBy: "b@x.com", Starts: base.Add(-time.Hour), Ends: base.Add(time.Hour)},                  // window open, off: due
		{Email: "c@x.com", Delegate: "y@x.com", SetBy: "c@x.com", Starts: base.Add(time.Hour), Active: true},                                // not started, on: due
		{Email: "d@x.com", Delegate: "y@x.com", SetBy: "d@x.com", Starts: base.Add(-2 * time.Hour), Ends: base, Active: true},               // ended at base (exclusive): due
		{Email: "e@x.com", Delegate: "y@x.com", SetBy: "e@x.com", Starts: base, Ends: base.Add(time.Hour), Active: true},                    // started at base (inclusive): not due
		{Email: "f@x.com", Delegate: "y@x.com", SetBy: "f@x.com", Starts: base.Add(time.Hour), Ends: base.Add(2 * time.Hour)},               // future, off: not due
		{Email: "g@x.com", Delegate: "y@x.com", SetBy: "g@x.com", Ends: base.Add(-time.Minute), SetAt: base.Add(-time.Hour), Active: false}, // over, off: not due
	}
	update(t, db, func(tx workflow.Tx) error {
		for _, d := range ds {
			require.NoError(t, tx.PutDelegation(d))
		}
		return nil
	})
	var due []string
	for _, d := range ds {
		if d.Active != d.ActiveAt(base) {
			due = append(due, d.Email)
		}
	}
	require.Equal(t, []string{"b@x.com", "c@x.com", "d@x.com"}, due, "fixture")
	view(t, db, func(tx workflow.ReadTx) error {
		for _, want := range ds {
			got, err := tx.Delegation(want.Email)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		_, err := tx.Delegation("nobody@x.com")
		requireCode(t, workflow.ENOTFOUND, err)
		require.Equal(t, "no delegation for nobody@x.com", err.Error())

		got, err := tx.FindDelegations(workflow.DelegationQuery{Due: base})
		require.NoError(t, err)
		require.Equal(t, due, emails(got))
		got, err = tx.FindDelegations(workflow.DelegationQuery{Delegate: "z@x.com"})
		require.NoError(t, err)
		require.Equal(t, []string{"a@x.com", "b@x.com"}, emails(got))
		got, err = tx.FindDelegations(workflow.DelegationQuery{Delegate: "y@x.com", Due: base})
		require.NoError(t, err)
		require.Equal(t, []string{"c@x.com", "d@x.com"}, emails(got))
		got, err = tx.FindDelegations(workflow.DelegationQuery{})
		require.NoError(t, err)
		require.Len(t, got, len(ds))
		return nil
	})
	// Replace and delete.
	update(t, db, func(tx workflow.Tx) error {
		require.NoError(t, tx.PutDelegation(&workflow.Delegation{Email: "a@x.com", Delegate: "q@x.com", SetBy: "admin@x.com"}))
		got, err := tx.Delegation("a@x.com")
		require.NoError(t, err)
		require.Equal(t, &workflow.Delegation{Email: "a@x.com", Delegate: "q@x.com", SetBy: "admin@x.com", SetAt: tx.Now()}, got)
		require.NoError(t, tx.DeleteDelegation("b@x.com"))
		requireCode(t, workflow.ENOTFOUND, tx.DeleteDelegation("b@x.com"))
		_, err = tx.Delegation("b@x.com")
		requireCode(t, workflow.ENOTFOUND, err)
		return nil
	})
}

func emails(ds []*workflow.Delegation) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Email)
	}
	return out
}

func testAudit(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	// Chains of T-2, T-1 and the admin chain, appended interleaved.
	var appended []workflow.AuditEvent
	for i := range 4 {
		clock.Add(1234567 * time.Nanosecond) // sub-microsecond parts are dropped
		update(t, db, func(tx workflow.Tx) error {
			for _, task := range []int64{2, 1, 0} {
				e := &workflow.AuditEvent{TaskID: task, Actor: "bob@x.com", Action: workflow.ActCommented, Step: i,
					Comment: fmt.Sprintf("comment %d", i)}
				if i%2 == 0 {
					e.Details = map[string]string{"k": "v", "a": "ß"}
				}
				require.NoError(t, tx.AppendAudit(e))
				require.NotZero(t, e.ID)
				require.Equal(t, int64(i+1), e.Seq)
				require.Equal(t, tx.Now(), e.At)
				require.Equal(t, e.ComputeHash(), e.Hash)
				seq, head, err := tx.AuditHead(task)
				require.NoError(t, err)
				require.Equal(t, e.Seq, seq)
				require.Equal(t, e.Hash, head)
				appended = append(appended, *e)
			}
			return nil
		})
	}
	// An event the engine chains itself, with a time of its own.
	update(t, db, func(tx workflow.Tx) error {
		seq, head, err := tx.AuditHead(1)
		require.NoError(t, err)
		at := time.Date(2031, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", -5*3600))
		e := &workflow.AuditEvent{TaskID: 1, Seq: seq + 1, PrevHash: head, At: at, Actor: "a", Action: workflow.ActApproved}
		e.Hash = e.ComputeHash()
		require.NoError(t, tx.AppendAudit(e))
		appended = append(appended, *e)

		// A stale Seq or PrevHash is a conflict: the chain never forks.
		requireCode(t, workflow.ECONFLICT, tx.AppendAudit(&workflow.AuditEvent{TaskID: 1, Seq: seq + 1, PrevHash: head, Actor: "a", Action: "x"}))
		requireCode(t, workflow.ECONFLICT, tx.AppendAudit(&workflow.AuditEvent{TaskID: 1, Seq: seq + 2, PrevHash: "bad", Actor: "a", Action: "x"}))
		// A hash over nanoseconds could never be verified once stored.
		bad := &workflow.AuditEvent{TaskID: 1, Seq: seq + 2, PrevHash: e.Hash, At: at.Add(1), Actor: "a", Action: "x"}
		bad.Hash = bad.ComputeHash()
		require.Error(t, tx.AppendAudit(bad))
		return nil
	})
	view(t, db, func(tx workflow.ReadTx) error {
		for _, task := range []int64{0, 1, 2} {
			events, err := tx.AuditEvents(task)
			require.NoError(t, err)
			var want []workflow.AuditEvent
			for _, e := range appended {
				if e.TaskID == task {
					want = append(want, e)
				}
			}
			require.Equal(t, want, events, "chain %d", task)
			for _, e := range events {
				require.Equal(t, e.Hash, e.ComputeHash(), "hash after a round trip")
				require.True(t, e.At.Location() == time.UTC)
			}
		}
		var walked []workflow.AuditEvent
		var v workflow.ChainVerifier
		require.NoError(t, tx.WalkAudit(func(e workflow.AuditEvent) error {
			walked = append(walked, e)
			return v.Check(e)
		}))
		require.Equal(t, len(appended), v.Count)
		require.True(t, slices.IsSortedFunc(walked, func(a, b workflow.AuditEvent) int {
			if a.TaskID != b.TaskID {
				return int(a.TaskID - b.TaskID)
			}
			return int(a.Seq - b.Seq)
		}))
		stop := errors.New("stop")
		n := 0
		require.ErrorIs(t, tx.WalkAudit(func(workflow.AuditEvent) error { n++; return stop }), stop)
		require.Equal(t, 1, n)
		seq, head, err := tx.AuditHead(42)
		require.NoError(t, err)
		require.Zero(t, seq)
		require.Empty(t, head)
		return nil
	})
}

// testAuditWalkBatches crosses WalkAudit's batch boundaries and uses the
// transaction from inside fn.
func testAuditWalkBatches(t *testing.T, open opener) {
	db, _ := open(t, newClock().Now)
	const tasks, per = 3, walkBatch/2 + 7
	update(t, db, func(tx workflow.Tx) error {
		for task := int64(tasks); task >= 1; task-- {
			for range per {
				if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: task, Actor: "x", Action: workflow.ActReminded}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	view(t, db, func(tx workflow.ReadTx) error {
		var v workflow.ChainVerifier
		err := tx.WalkAudit(func(e workflow.AuditEvent) error {
			if e.Seq == per {
				seq, _, err := tx.AuditHead(e.TaskID)
				require.NoError(t, err)
				require.Equal(t, e.Seq, seq)
			}
			return v.Check(e)
		})
		require.NoError(t, err)
		require.Equal(t, tasks*per, v.Count)
		return nil
	})
}

func testOutbox(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	notices := []*workflow.Notice{
		{Payload: workflow.TaskChanged{Why: "bob@x.com"}, TaskID: 1},
		{Payload: workflow.CommentPosted{}, TaskID: 1, Text: "looks fine"},
		{Payload: workflow.TaskReminder{}, TaskID: 2, Recipients: []string{"bob@x.com", "erin@x.com"}},
		{Payload: workflow.DirectMessage{}, Recipient: "carol@x.com", Text: "hello"},
		{Payload: workflow.DirectMessage{}, Recipient: "dave@x.com", Text: "later", NextAt: base.Add(time.Hour)},
	}
	update(t, db, func(tx workflow.Tx) error {
		for _, n := range notices {
			require.NoError(t, tx.Enqueue(n))
			require.NotZero(t, n.ID)
			require.Equal(t, tx.Now(), n.CreatedAt)
		}
		return nil
	})
	due := func(at time.Time, limit int) []int64 {
		t.Helper()
		ns, err := db.DueNotices(ctx, at, limit)
		require.NoError(t, err)
		var ids []int64
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		return ids
	}
	id := func(i int) int64 { return notices[i].ID }

	got, err := db.DueNotices(ctx, base, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, *notices[0], got[0], "round trip")
	require.Equal(t, *notices[2], got[1])
	require.Equal(t, []int64{id(0), id(2), id(3)}, due(base, 10), "T-1's second notice waits for its first")
	require.Equal(t, []int64{id(0), id(2)}, due(base, 2))
	require.Empty(t, due(base.Add(-time.Second), 10))

	depth, oldest, err := db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, depth)
	require.Equal(t, base, oldest)

	// A worker claims them: leased, due for nobody else.
	claimed, err := db.ClaimNotices(ctx, "w1", base, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	for _, n := range claimed {
		require.Equal(t, workflow.NoticeLeased, n.State)
	}
	require.Empty(t, due(base, 10))

	// The first of T-1 fails: it is retried later and T-1's comment still waits.
	state, err := db.NoticeFailed(ctx, id(0), "w1", base.Add(time.Minute), "ratelimited", 0)
	require.NoError(t, err)
	require.Equal(t, workflow.NoticePending, state)
	require.NoError(t, db.NoticeDelivered(ctx, id(2), "w1", base))
	require.NoError(t, db.NoticeDelivered(ctx, id(3), "w1", base))
	require.Empty(t, due(base, 10))
	got, err = db.DueNotices(ctx, base.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, id(0), got[0].ID)
	require.Equal(t, 1, got[0].Attempts)
	require.Equal(t, "ratelimited", got[0].LastError)
	require.Equal(t, base.Add(time.Minute), got[0].NextAt)

	_, err = db.ClaimNotices(ctx, "w1", base.Add(time.Minute), time.Minute, 1)
	require.NoError(t, err)
	require.NoError(t, db.NoticeDelivered(ctx, id(0), "w1", base.Add(time.Minute)))
	require.Equal(t, []int64{id(1)}, due(base.Add(time.Minute), 10))
	require.Equal(t, []int64{id(1), id(4)}, due(base.Add(time.Hour), 10))

	depth, oldest, err = db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, depth)
	require.Equal(t, base, oldest)
	_, err = db.ClaimNotices(ctx, "w1", base.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.NoError(t, db.NoticeDelivered(ctx, id(1), "w1", base))
	require.NoError(t, db.NoticeDelivered(ctx, id(4), "w1", base))
	depth, oldest, err = db.OutboxStats(ctx)
	require.NoError(t, err)
	require.Zero(t, depth)
	require.True(t, oldest.IsZero())

	requireCode(t, workflow.ENOTFOUND, db.NoticeDelivered(ctx, 999, "w1", base))
	_, err = db.NoticeFailed(ctx, 999, "w1", base, "x", 0)
	requireCode(t, workflow.ENOTFOUND, err)
	n, err := db.PruneOutbox(ctx, base.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(5), n)
}

func testClaimNotices(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	update(t, db, func(tx workflow.Tx) error {
		for i := range 30 {
			if err := tx.Enqueue(&workflow.Notice{Payload: workflow.DirectMessage{}, Recipient: fmt.Sprintf("u%d@x.com", i)}); err != nil {
				return err
			}
		}
		// Two of one task: the second waits for the first, claimed or not.
		for range 2 {
			if err := tx.Enqueue(&workflow.Notice{Payload: workflow.TaskChanged{}, TaskID: 7}); err != nil {
				return err
			}
		}
		return nil
	})
	// Workers claiming at once never get the same notice.
	var (
		mu     sync.Mutex
		seen   = map[int64]int{}
		wg     sync.WaitGroup
		failed error
	)
	for range 6 {
		wg.Go(func() {
			for {
				ns, err := db.ClaimNotices(ctx, "w", base, time.Minute, 4)
				mu.Lock()
				if err != nil {
					failed = err
				}
				for _, n := range ns {
					seen[n.ID]++
				}
				mu.Unlock()
				if err != nil || len(ns) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, failed)
	require.Len(t, seen, 31, "30 direct notices and the first of T-7")
	for id, n := range seen {
		require.Equal(t, 1, n, "notice %d claimed %d times", id, n)
	}
	// Nothing is due during the lease; everything undelivered after it.
	ns, err := db.DueNotices(ctx, base.Add(59*time.Second), 100)
	require.NoError(t, err)
	require.Empty(t, ns)
	ns, err = db.ClaimNotices(ctx, "w2", base.Add(time.Minute+time.Second), time.Minute, 100)
	require.NoError(t, err)
	require.Len(t, ns, 31)
	_, err = db.ClaimNotices(ctx, "w", base, 0, 1)
	require.Error(t, err)
}

func testChatUsers(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	alice := &workflow.ChatUser{Email: "alice@x.com", ChatID: "U1", Name: "Alice", TZ: "Europe/Paris", ResolvedAt: base}
	bot := &workflow.ChatUser{Email: "bot@x.com", ChatID: "U2", IsBot: true, ResolvedAt: base}
	ghost := &workflow.ChatUser{Email: "ghost@x.com", Deleted: true} // no chat id
	ghost2 := &workflow.ChatUser{Email: "ghost2@x.com"}
	for _, u := range []*workflow.ChatUser{alice, bot, ghost, ghost2} {
		require.NoError(t, db.SaveChatUser(ctx, u))
	}
	got, err := db.ChatUserByEmail(ctx, "alice@x.com")
	require.NoError(t, err)
	require.Equal(t, alice, got)
	got, err = db.ChatUserByID(ctx, "U2")
	require.NoError(t, err)
	require.Equal(t, bot, got)
	got, err = db.ChatUserByEmail(ctx, "ghost@x.com")
	require.NoError(t, err)
	require.Equal(t, ghost, got)
	_, err = db.ChatUserByEmail(ctx, "nobody@x.com")
	requireCode(t, workflow.ENOTFOUND, err)
	_, err = db.ChatUserByID(ctx, "U404")
	requireCode(t, workflow.ENOTFOUND, err)
	_, err = db.ChatUserByID(ctx, "")
	requireCode(t, workflow.ENOTFOUND, err)

	// Update in place.
	alice.Name, alice.ResolvedAt = "Alice A.", base.Add(time.Hour)
	require.NoError(t, db.SaveChatUser(ctx, alice))
	got, err = db.ChatUserByID(ctx, "U1")
	require.NoError(t, err)
	require.Equal(t, alice, got)

	// U1 moves to a new address: the old one loses it.
	moved := &workflow.ChatUser{Email: "alice@new.com", ChatID: "U1", Name: "Alice"}
	require.NoError(t, db.SaveChatUser(ctx, moved))
	got, err = db.ChatUserByID(ctx, "U1")
	require.NoError(t, err)
	require.Equal(t, "alice@new.com", got.Email)
	got, err = db.ChatUserByEmail(ctx, "alice@x.com")
	require.NoError(t, err)
	require.Empty(t, got.ChatID)

	requireCode(t, workflow.EINVALID, db.SaveChatUser(ctx, &workflow.ChatUser{ChatID: "U9"}))
}

func testCards(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	a := &workflow.Card{TaskID: 1, Role: workflow.CardAssignee, Email: "bob@x.com", Step: 0, Channel: "D1", TS: "1.1", Revision: 1}
	r := &workflow.Card{TaskID: 1, Role: workflow.CardRequester, Email: "alice@x.com", Step: -1} // not posted yet
	r2 := &workflow.Card{TaskID: 1, Role: workflow.CardChannel, Step: -1}                        // nor this one
	o := &workflow.Card{TaskID: 2, Role: workflow.CardChannel, Step: -1, Channel: "C1", TS: "2.2", UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []*workflow.Card{a, r, r2, o} {
		require.NoError(t, db.SaveCard(ctx, c))
		require.NotZero(t, c.ID)
	}
	require.Equal(t, micro(clock.Now()), a.UpdatedAt, "a zero UpdatedAt takes the clock")

	clock.Add(time.Minute)
	r.Channel, r.TS, r.Revision, r.UpdatedAt = "D2", "3.3", 2, micro(clock.Now())
	a.Final = true
	require.NoError(t, db.SaveCard(ctx, r))
	require.NoError(t, db.SaveCard(ctx, a))

	cards, err := db.Cards(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, []workflow.Card{*a, *r}, cards, "r2 has no message: a claim, not listed")
	got, err := db.CardByMessage(ctx, "D2", "3.3")
	require.NoError(t, err)
	require.Equal(t, r, got)
	got, err = db.CardByMessage(ctx, "C1", "2.2")
	require.NoError(t, err)
	require.Equal(t, o, got)
	_, err = db.CardByMessage(ctx, "C1", "9.9")
	requireCode(t, workflow.ENOTFOUND, err)
	_, err = db.CardByMessage(ctx, "", "")
	requireCode(t, workflow.ENOTFOUND, err)

	// One message, one card.
	dup := &workflow.Card{TaskID: 3, Role: workflow.CardChannel, Step: -1, Channel: "C1", TS: "2.2"}
	requireCode(t, workflow.ECONFLICT, db.SaveCard(ctx, dup))
	requireCode(t, workflow.ENOTFOUND, db.SaveCard(ctx, &workflow.Card{ID: 999, TaskID: 1}))
}

func testSeenKeys(t *testing.T, open opener) {
	clock := newClock()
	db, _ := open(t, clock.Now)
	ctx := context.Background()
	base := micro(clock.Now())
	for i, k := range []string{"env/1", "event/Ev1", "action/U1/1.1/approve"} {
		first, err := db.FirstSeen(ctx, k, base.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		require.True(t, first, k)
		first, err = db.FirstSeen(ctx, k, base.Add(time.Duration(i)*time.Hour+time.Minute))
		require.NoError(t, err)
		require.False(t, first, k)
	}
	n, err := db.PruneSeen(ctx, base.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	first, err := db.FirstSeen(ctx, "env/1", base)
	require.NoError(t, err)
	require.True(t, first, "forgotten after pruning")
	first, err = db.FirstSeen(ctx, "event/Ev1", base)
	require.NoError(t, err)
	require.False(t, first, "kept")
}

func testMigrations(t *testing.T, open opener) {
	clock := newClock()
	db, dsn := open(t, clock.Now)
	ctx := context.Background()
	ok, err := db.MigrationsCurrent(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(newTask("alice@x.com")) })

	// Open the same database twice more, at once: nothing is applied again.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			again, err := Open(ctx, dsn, clock.Now)
			if err == nil {
				err = again.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	ms, err := migrations(db.dialect)
	require.NoError(t, err)
	var rows []struct {
		Version   int    `db:"version"`
		AppliedAt dbTime `db:"applied_at"`
	}
	require.NoError(t, db.reader(ctx).sel(&rows, "SELECT version, applied_at FROM schema_migrations ORDER BY version"))
	require.Len(t, rows, len(ms))
	for i, m := range ms {
		require.Equal(t, m.version, rows[i].Version)
		require.Equal(t, micro(clock.Now()), rows[i].AppliedAt.Time, "applied_at comes from the clock")
	}
	view(t, db, func(tx workflow.ReadTx) error {
		_, err := tx.Task(1)
		return err
	})

	// A missing migration is noticed.
	_, err = db.writer(ctx).exec("DELETE FROM schema_migrations WHERE version = ?", ms[len(ms)-1].version)
	require.NoError(t, err)
	ok, err = db.MigrationsCurrent(ctx)
	require.NoError(t, err)
	require.False(t, ok)
}

// testConcurrentWriters runs many goroutines whose transactions read then
// write, with readers alongside: none may fail ("database is locked" or
// any other error) and no task number may be handed out twice.
//
// On PostgreSQL the writers are split between two *DB handles, as two
// replicas would be. (SQLite is one process's database: two processes
// writing without pause would starve each other past the busy timeout.)
func testConcurrentWriters(t *testing.T, open opener) {
	clock := newClock()
	db, dsn := open(t, clock.Now)
	ctx := context.Background()
	dbs := []*DB{db}
	if db.dialect == dialectPostgres {
		replica, err := Open(ctx, dsn, clock.Now)
		require.NoError(t, err)
		t.Cleanup(func() { replica.Close() })
		dbs = append(dbs, replica)
	}
	writers, perWriter := 32, 50
	if testing.Short() {
		writers, perWriter = 8, 10
	}
	update(t, db, func(tx workflow.Tx) error { return tx.CreateTask(newTask("first@x.com")) })
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		ids     = map[int64]bool{}
		done    = make(chan struct{})
		reads   int
		readers sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				err := db.View(ctx, func(tx workflow.ReadTx) error {
					n, err := tx.CountTasks(workflow.TaskQuery{})
					if err != nil {
						return err
					}
					tasks, err := tx.FindTasks(workflow.TaskQuery{Newest: true, Limit: 5})
					if err != nil {
						return err
					}
					if n > 0 && len(tasks) == 0 {
						return fmt.Errorf("counted %d tasks, found none", n)
					}
					return nil
				})
				if err != nil {
					fail(err)
				}
				mu.Lock()
				reads++
				mu.Unlock()
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			db := dbs[w%len(dbs)]
			for i := range perWriter {
				var err error
				if i%2 == 0 {
					err = db.Update(ctx, func(tx workflow.Tx) error { return createOne(tx, w, i, &mu, ids) })
				} else {
					err = db.Update(ctx, bumpFirst)
				}
				if err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	for _, err := range errs {
		require.NotContains(t, strings.ToLower(err.Error()), "locked")
		require.NotContains(t, strings.ToLower(err.Error()), "busy")
	}
	require.NoError(t, errors.Join(errs...))
	creates, bumps := writers*((perWriter+1)/2), writers*(perWriter/2)
	require.Len(t, ids, creates)
	require.Positive(t, reads)
	view(t, db, func(tx workflow.ReadTx) error {
		n, err := tx.CountTasks(workflow.TaskQuery{})
		require.NoError(t, err)
		require.Equal(t, 1+creates, n)
		first, err := tx.Task(1)
		require.NoError(t, err)
		require.Equal(t, int64(1+bumps), first.Revision, "no update was lost")
		require.Equal(t, int64(1+bumps), first.Version)
		var v workflow.ChainVerifier
		require.NoError(t, tx.WalkAudit(v.Check), "no chain forked")
		require.Equal(t, creates+bumps, v.Count)
		return nil
	})
}

// createOne reads, then creates a task and appends to the admin chain.
// Reading first is the pattern a deferred SQLite transaction fails with
// SQLITE_BUSY.
func createOne(tx workflow.Tx, w, i int, mu *sync.Mutex, ids map[int64]bool) error {
	n, err := tx.CountTasks(workflow.TaskQuery{})
	if err != nil {
		return err
	}
	task := newTask(fmt.Sprintf("user%d@x.com", w))
	task.Justification = fmt.Sprint(n)
	if err := tx.CreateTask(task); err != nil {
		return err
	}
	if err := tx.AppendAudit(&workflow.AuditEvent{TaskID: 0, Actor: "x", Action: workflow.ActCreated, Step: i}); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if ids[task.ID] {
		return fmt.Errorf("task number %d handed out twice", task.ID)
	}
	ids[task.ID] = true
	return nil
}

// bumpFirst reads T-1, saves it one revision on and appends to its chain:
// without serialised writes, two of these would conflict.
func bumpFirst(tx workflow.Tx) error {
	first, err := tx.Task(1)
	if err != nil {
		return err
	}
	first.Revision++
	if err := tx.SaveTask(first); err != nil {
		return err
	}
	return tx.AppendAudit(&workflow.AuditEvent{TaskID: 1, Actor: "x", Action: workflow.ActReminded})
}

func testRawInsertRate(t *testing.T, open opener) {
	db, _ := open(t, newClock().Now)
	ctx := context.Background()
	rate, err := RawInsertRate(ctx, db, 20)
	require.NoError(t, err)
	require.Positive(t, rate)
	t.Logf("%.0f one-row write transactions per second", rate)
	first, err := db.FirstSeen(ctx, "bench/1", time.Now())
	require.NoError(t, err)
	require.True(t, first, "bench rows are removed")
	_, err = RawInsertRate(ctx, db, 0)
	require.Error(t, err)
}
