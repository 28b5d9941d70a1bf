package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// connectorCatalog adds "gh", provisioned automatically by connector "gh"
// with the it group as its fallback provisioners.
func connectorCatalog() *workflow.Catalog {
	cat := testCatalog()
	cat.Connectors = map[string]*workflow.ConnectorSpec{"gh": {Name: "gh", Type: "github"}}
	cat.People[alice] = workflow.Person{Email: alice, Manager: mgr, Groups: []string{"security"}, Accounts: map[string]string{"gh": "alice-gh"}}
	cat.Apps = append(cat.Apps, &workflow.App{ID: "gh", Name: "GitHub Teams", Settings: workflow.Settings{
		Owners: []workflow.Principal{"user:" + owner}, Provisioners: []workflow.Principal{"group:it"},
		Provisioning: workflow.ProvisioningAutomatic, Connector: "gh", RequestPolicy: "std", RevocationPolicy: "revoke",
		DefaultDuration: 8 * time.Hour,
	}})
	return cat
}

func connectorSetup(t *testing.T) *fixture {
	f := setup(t)
	f.e.SetCatalog(connectorCatalog())
	return f
}

// claim claims the due jobs as owner.
func (f *fixture) claim(owner string) []*workflow.ConnectorJob {
	f.t.Helper()
	js, err := f.db.ClaimJobs(f.ctx, owner, f.clock.Now(), time.Minute, 10)
	require.NoError(f.t, err)
	return js
}

func (f *fixture) approvedConnectorTask() *workflow.Task {
	f.t.Helper()
	task := f.request(alice, "gh", "")
	return f.decide(workflow.ActionApprove, task.ID, mgr)
}

func TestConnectorStepGrants(t *testing.T) {
	f := connectorSetup(t)
	task := f.approvedConnectorTask()
	step, run, ok := task.Current()
	require.True(t, ok)
	assert.Equal(t, workflow.StepProvision, step.Type)
	assert.Equal(t, "gh", step.Connector)
	assert.Empty(t, task.PendingAssignees(), "nobody is asked while the connector works")
	require.NotNil(t, run.Connector)
	assert.Equal(t, workflow.ConnectorPending, run.Connector.State)
	assert.Equal(t, "GitHub Teams", run.Connector.System)

	js := f.claim("a")
	require.Len(t, js, 1)
	assert.Equal(t, workflow.JobGrant, js[0].Action)
	assert.Equal(t, run.Connector.Key, js[0].Key)
	assert.Empty(t, f.claim("b"), "a leased job is not claimed twice")

	req, ok, err := f.e.JobRequest(f.ctx, js[0])
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, workflow.ConnectorSubject{Email: alice, Account: "alice-gh"}, req.Subject)
	assert.Equal(t, []string{mgr}, req.Approvers)
	assert.Equal(t, task.Number(), req.Task)

	f.clock.Advance(10 * time.Minute) // the call took a while: expiry starts when it granted
	done, err := f.e.FinishJob(f.ctx, js[0], workflow.JobOutcome{Called: true, Result: workflow.ConnectorResult{Message: "alice-gh added"}}, workflow.RetryPolicy{})
	require.NoError(t, err)
	assert.Equal(t, workflow.StatusDone, done.Status)
	cr := done.Steps[done.Step].Connector
	assert.Equal(t, workflow.ConnectorDone, cr.State)
	assert.Equal(t, "alice-gh added", cr.Message)
	assert.Equal(t, f.clock.Now(), cr.At)
	gs := f.grants(alice)
	require.Len(t, gs, 1)
	assert.Equal(t, f.clock.Now().Add(8*time.Hour), gs[0].ExpiresAt)
	assert.Contains(t, actions(f.events(task.ID)), workflow.ActConnectorQueued)
	assert.Contains(t, actions(f.events(task.ID)), workflow.ActConnectorDone)

	// The same outcome again (a second runner, a replay) is refused: the
	// lease was released with the first.
	_, err = f.e.FinishJob(f.ctx, js[0], workflow.JobOutcome{Called: true}, workflow.RetryPolicy{})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
	assert.Len(t, f.grants(alice), 1)
	f.verifyAudit()
}

func TestConnectorOutcomes(t *testing.T) {
	retry := workflow.RetryPolicy{MaxAttempts: 3, Base: time.Second, Cap: time.Minute}
	tests := []struct {
		name     string
		err      error
		attempts int // claims before this outcome
		state    workflow.ConnectorState
		job      workflow.JobState
		assigned []string
		nextIn   time.Duration
	}{
		{"transient retries with backoff", workflow.TransientFailure(0, "HTTP 500"), 1, workflow.ConnectorPending, workflow.JobPending, nil, time.Second},
		{"second transient waits twice as long", errors.New("connection reset"), 2, workflow.ConnectorPending, workflow.JobPending, nil, 2 * time.Second},
		{"Retry-After wins", workflow.TransientFailure(30*time.Second, "HTTP 429"), 1, workflow.ConnectorPending, workflow.JobPending, nil, 30 * time.Second},
		{"retries run out", workflow.TransientFailure(0, "HTTP 503"), 3, workflow.ConnectorFailed, workflow.JobFailed, []string{prov1, prov2}, 0},
		{"permanent goes to people", workflow.PermanentFailure("no team acme/x"), 1, workflow.ConnectorFailed, workflow.JobFailed, []string{prov1, prov2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := connectorSetup(t)
			task := f.approvedConnectorTask()
			var j *workflow.ConnectorJob
			for i := range tt.attempts {
				js := f.claim("a")
				require.Len(t, js, 1)
				j = js[0]
				if i < tt.attempts-1 {
					_, err := f.e.FinishJob(f.ctx, j, workflow.JobOutcome{Called: true, Err: workflow.TransientFailure(0, "earlier")}, retry)
					require.NoError(t, err)
					f.clock.Advance(time.Hour)
				}
			}
			got, err := f.e.FinishJob(f.ctx, j, workflow.JobOutcome{Called: true, Err: tt.err}, retry)
			require.NoError(t, err)
			cr := got.Steps[got.Step].Connector
			assert.Equal(t, tt.state, cr.State)
			assert.Equal(t, tt.attempts, cr.Attempts)
			assert.Equal(t, tt.err.Error(), cr.LastError)
			assert.Equal(t, tt.assigned, got.PendingAssignees())
			jobs, err := f.db.Jobs(f.ctx, task.ID)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			assert.Equal(t, tt.job, jobs[0].State)
			assert.Equal(t, tt.err.Error(), jobs[0].LastError)
			if tt.nextIn > 0 {
				assert.Equal(t, f.clock.Now().Add(tt.nextIn), jobs[0].NextAt)
				assert.Empty(t, f.claim("b"), "not due before its backoff")
				f.clock.Advance(tt.nextIn)
				assert.Len(t, f.claim("b"), 1, "due after it")
			}
			evs := f.events(task.ID)
			last := evs[len(evs)-1]
			if tt.state == workflow.ConnectorFailed {
				assert.Contains(t, actions(evs), workflow.ActConnectorFailed)
			} else {
				assert.Equal(t, workflow.ActConnectorRetry, last.Action)
				assert.Equal(t, tt.err.Error(), last.Details["error"])
			}
			f.verifyAudit()
		})
	}
}

func TestConnectorLostLease(t *testing.T) {
	f := connectorSetup(t)
	task := f.approvedConnectorTask()
	dead := f.claim("dead")
	require.Len(t, dead, 1)
	// The holder dies mid-call; once its lease ends, another runner gets the job.
	assert.Empty(t, f.claim("b"))
	f.clock.Advance(2 * time.Minute)
	live := f.claim("b")
	require.Len(t, live, 1)
	assert.Equal(t, dead[0].ID, live[0].ID)
	assert.Equal(t, dead[0].Key, live[0].Key, "the idempotency key is stable across attempts")
	assert.Equal(t, 2, live[0].Attempts)

	_, err := f.e.FinishJob(f.ctx, live[0], workflow.JobOutcome{Called: true}, workflow.RetryPolicy{})
	require.NoError(t, err)
	// The first holder comes back (it was only slow): its outcome is dropped.
	_, err = f.e.FinishJob(f.ctx, dead[0], workflow.JobOutcome{Called: true}, workflow.RetryPolicy{})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err))
	n := 0
	for _, a := range actions(f.events(task.ID)) {
		if a == workflow.ActConnectorDone {
			n++
		}
	}
	assert.Equal(t, 1, n, "the outcome is recorded once")
	assert.Len(t, f.grants(alice), 1)
}

func TestConnectorRetryButton(t *testing.T) {
	f := connectorSetup(t)
	task := f.approvedConnectorTask()
	j := f.claim("a")[0]
	failed, err := f.e.FinishJob(f.ctx, j, workflow.JobOutcome{Called: true, Err: workflow.PermanentFailure("no team")}, workflow.RetryPolicy{})
	require.NoError(t, err)

	_, err = f.e.RetryConnector(f.ctx, workflow.Decision{TaskID: task.ID, Actor: eve})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err))
	_, err = f.e.RetryConnector(f.ctx, workflow.Decision{TaskID: task.ID, Actor: prov1, Revision: failed.Revision - 1})
	assert.Equal(t, workflow.ECONFLICT, workflow.ErrorCode(err), "a stale card")

	again, err := f.e.RetryConnector(f.ctx, workflow.Decision{TaskID: task.ID, Actor: prov1, Revision: failed.Revision})
	require.NoError(t, err)
	assert.Empty(t, again.PendingAssignees())
	cr := again.Steps[again.Step].Connector
	assert.Equal(t, workflow.ConnectorPending, cr.State)
	js := f.claim("a")
	require.Len(t, js, 1)
	assert.NotEqual(t, j.ID, js[0].ID)
	assert.Equal(t, j.Key, js[0].Key, "the retry keeps the idempotency key")

	_, err = f.e.RetryConnector(f.ctx, workflow.Decision{TaskID: task.ID, Actor: prov1})
	assert.Equal(t, workflow.EFORBIDDEN, workflow.ErrorCode(err), "nobody is assigned while it runs again")

	// It fails again: the people get it back, and can still do it by hand.
	_, err = f.e.FinishJob(f.ctx, js[0], workflow.JobOutcome{Called: true, Err: workflow.PermanentFailure("no team")}, workflow.RetryPolicy{})
	require.NoError(t, err)
	done := f.decide(workflow.ActionProvisioned, task.ID, prov2)
	assert.Equal(t, workflow.StatusDone, done.Status)
	assert.Len(t, f.grants(alice), 1)
	f.verifyAudit()
}

func TestConnectorJobOfCanceledTaskIsNotCalled(t *testing.T) {
	f := connectorSetup(t)
	task := f.approvedConnectorTask()
	_, err := f.e.Cancel(f.ctx, workflow.AdminInput{TaskID: task.ID, Actor: admin, Reason: "not needed"})
	require.NoError(t, err)
	j := f.claim("a")[0]
	_, ok, err := f.e.JobRequest(f.ctx, j)
	require.NoError(t, err)
	assert.False(t, ok, "the task moved on: no call")
	_, err = f.e.FinishJob(f.ctx, j, workflow.JobOutcome{}, workflow.RetryPolicy{})
	require.NoError(t, err)
	jobs, err := f.db.Jobs(f.ctx, task.ID)
	require.NoError(t, err)
	assert.Equal(t, workflow.JobCanceled, jobs[0].State)
	assert.Empty(t, f.grants(alice))
}

func TestConnectorRemovesAtExpiryAndRevocation(t *testing.T) {
	for _, how := range []string{"expiry", "revocation"} {
		t.Run(how, func(t *testing.T) {
			f := connectorSetup(t)
			f.approvedConnectorTask()
			_, err := f.e.FinishJob(f.ctx, f.claim("a")[0], workflow.JobOutcome{Called: true}, workflow.RetryPolicy{})
			require.NoError(t, err)
			g := f.grants(alice)[0]
			var revoke *workflow.Task
			if how == "expiry" {
				f.clock.Advance(9 * time.Hour)
				n, err := f.e.ExpireGrants(f.ctx)
				require.NoError(t, err)
				require.Equal(t, 1, n)
				ts, err := f.e.Tasks(f.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke, GrantID: g.ID})
				require.NoError(t, err)
				require.Len(t, ts, 1)
				revoke = ts[0]
			} else {
				revoke, err = f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: admin, Subject: alice, AppID: "gh", Reason: "left the team"})
				require.NoError(t, err)
				revoke = f.decide(workflow.ActionConfirm, revoke.ID, owner)
			}
			_, run, ok := revoke.Current()
			require.True(t, ok)
			require.NotNil(t, run.Connector, "the connector removes it, not a person")
			assert.Empty(t, revoke.PendingAssignees())
			js := f.claim("a")
			require.Len(t, js, 1)
			assert.Equal(t, workflow.JobRevoke, js[0].Action)
			done, err := f.e.FinishJob(f.ctx, js[0], workflow.JobOutcome{Called: true, Result: workflow.ConnectorResult{Message: "removed"}}, workflow.RetryPolicy{})
			require.NoError(t, err)
			assert.Equal(t, workflow.StatusDone, done.Status)
			g = f.grants(alice)[0]
			assert.NotEqual(t, workflow.GrantActive, g.Status)
			f.verifyAudit()
		})
	}
}
