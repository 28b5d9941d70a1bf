package workflow_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/store"
	"accessbot/workflow"
)

// Emails of the people in the test catalog.
const (
	alice  = "alice@example.com" // requester; manager mgr; in group security too
	bob    = "bob@example.com"   // manager mgr
	mgr    = "mgr@example.com"   // manager ceo
	ceo    = "ceo@example.com"
	sec1   = "sec1@example.com"
	sec2   = "sec2@example.com"
	prov1  = "prov1@example.com"
	prov2  = "prov2@example.com"
	owner  = "owner@example.com"
	admin  = "admin@example.com"
	dave   = "dave@example.com" // no manager
	eve    = "eve@example.com"  // nobody in particular
	deputy = "deputy@example.com"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func review(approvers ...workflow.Principal) workflow.Step {
	return workflow.Step{Type: workflow.StepReview, Approvers: approvers, Mode: workflow.ModeAny, Delegate: true}
}

// testCatalog is a small company. Policies:
//
//	std:      manager, fallback group:security
//	two:      manager, then group:security (all)
//	nomgr:    manager, no fallback
//	revoke:   app_owners
//	noreassign, limited, blocked: manager with reassign none / [group:security] / delegation blocked
func testCatalog() *workflow.Catalog {
	all := review("group:security")
	all.Mode = workflow.ModeAll
	std := review("manager")
	std.Fallback = []workflow.Principal{"group:security"}
	noreassign := review("manager")
	noreassign.Reassign.None = true
	limited := review("manager")
	limited.Reassign.Allowed = []workflow.Principal{"group:security"}
	blocked := review("manager")
	blocked.Delegate = false
	pol := func(name string, steps ...workflow.Step) *workflow.Policy {
		return &workflow.Policy{Name: name, Steps: steps}
	}
	return &workflow.Catalog{
		Admins: []string{admin},
		People: map[string]workflow.Person{
			alice: {Email: alice, Manager: mgr, Groups: []string{"security"}},
			bob:   {Email: bob, Manager: mgr},
			mgr:   {Email: mgr, Manager: ceo},
			ceo:   {Email: ceo},
			dave:  {Email: dave},
		},
		Groups: map[string][]string{
			"security": {alice, sec1, sec2},
			"it":       {prov1, prov2},
		},
		Policies: map[string]*workflow.Policy{
			"std":        pol("std", std),
			"two":        pol("two", review("manager"), all),
			"nomgr":      pol("nomgr", review("manager")),
			"revoke":     pol("revoke", review("app_owners")),
			"emergency":  pol("emergency", review("group:security")),
			"noreassign": pol("noreassign", noreassign),
			"limited":    pol("limited", limited),
			"blocked":    pol("blocked", blocked),
		},
		Apps: []*workflow.App{
			{ID: "github", Name: "GitHub", Settings: workflow.Settings{
				Owners: []workflow.Principal{"user:" + owner}, Provisioners: []workflow.Principal{"group:it"},
				Provisioning: workflow.ProvisioningManual, RequestPolicy: "two", RevocationPolicy: "revoke",
				Instructions: "Add them to the org.", DefaultDuration: 8 * time.Hour, MaxDuration: 7 * 24 * time.Hour,
			}, Resources: []*workflow.Resource{
				{ID: "admin", Name: "org-admin", Settings: workflow.Settings{RequestPolicy: "std"}},
				{ID: "repo", Name: "repo-write"},
				{ID: "nomgr", Name: "no-manager", Settings: workflow.Settings{RequestPolicy: "nomgr"}},
				{ID: "fixed", Name: "fixed", Settings: workflow.Settings{RequestPolicy: "noreassign"}},
				{ID: "limited", Name: "limited", Settings: workflow.Settings{RequestPolicy: "limited"}},
				{ID: "blocked", Name: "blocked", Settings: workflow.Settings{RequestPolicy: "blocked"}},
			}},
			{ID: "snowflake", Name: "Snowflake", Settings: workflow.Settings{
				Owners: []workflow.Principal{"user:" + owner}, Provisioning: workflow.ProvisioningNone,
				RequestPolicy: "std", RevocationPolicy: "revoke", DefaultDuration: 24 * time.Hour,
			}},
			{ID: "aws", Name: "AWS", Settings: workflow.Settings{
				Owners: []workflow.Principal{"user:" + owner}, Provisioners: []workflow.Principal{"user:" + prov1},
				Provisioning: workflow.ProvisioningManual, RequestPolicy: "std", RevocationPolicy: "revoke",
				EmergencyPolicy: "emergency", DefaultDuration: time.Hour, MaxDuration: 8 * time.Hour,
			}},
		},
	}
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	e     *workflow.Engine
	clock *clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: t0}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "test.db"), c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return &fixture{t: t, ctx: ctx, db: db, e: workflow.NewEngine(db, testCatalog(), c.Now), clock: c}
}

// request makes a request that must succeed.
func (f *fixture) request(requester, app, res string) *workflow.Task {
	f.t.Helper()
	task, err := f.e.Request(f.ctx, workflow.RequestInput{Requester: requester, AppID: app, ResourceID: res, Justification: "on call"})
	require.NoError(f.t, err)
	return task
}

func (f *fixture) task(id int64) *workflow.Task {
	f.t.Helper()
	task, err := f.e.Task(f.ctx, id)
	require.NoError(f.t, err)
	return task
}

func (f *fixture) decide(a workflow.Action, id int64, actor string) *workflow.Task {
	f.t.Helper()
	task, err := f.e.Decide(f.ctx, a, workflow.Decision{TaskID: id, Actor: actor})
	require.NoError(f.t, err, "%s by %s", a, actor)
	return task
}

func (f *fixture) grants(subject string) []*workflow.Grant {
	f.t.Helper()
	var gs []*workflow.Grant
	require.NoError(f.t, f.db.View(f.ctx, func(tx workflow.ReadTx) (err error) {
		gs, err = tx.FindGrants(workflow.GrantQuery{Subject: subject})
		return err
	}))
	return gs
}

func (f *fixture) events(id int64) []workflow.AuditEvent {
	f.t.Helper()
	var evs []workflow.AuditEvent
	require.NoError(f.t, f.db.View(f.ctx, func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(id)
		return err
	}))
	return evs
}

// verifyAudit checks every hash chain in the database.
func (f *fixture) verifyAudit() {
	f.t.Helper()
	var v workflow.ChainVerifier
	require.NoError(f.t, f.db.View(f.ctx, func(tx workflow.ReadTx) error { return tx.WalkAudit(v.Check) }))
	// The whole check (task numbers, chains of every task) finds nothing
	// on a database only the engine wrote.
	require.NoError(f.t, f.db.ViewAudit(f.ctx, func(tx workflow.AuditReadTx) error {
		rep, err := workflow.VerifyAudit(tx, workflow.VerifyOptions{})
		if err == nil {
			require.Empty(f.t, rep.Problems)
		}
		return err
	}))
}

func (f *fixture) setDelegation(from, to string, starts, ends time.Time) {
	f.t.Helper()
	require.NoError(f.t, f.db.Update(f.ctx, func(tx workflow.Tx) error {
		return tx.PutDelegation(&workflow.Delegation{Email: from, Delegate: to, Starts: starts, Ends: ends, SetBy: from, SetAt: t0})
	}))
}

func actions(evs []workflow.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Action
	}
	return out
}
