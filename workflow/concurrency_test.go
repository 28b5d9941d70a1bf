package workflow_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// TestConcurrentApprovals: 50 goroutines approve the same task at once;
// exactly one transition happens and the others are told it moved on.
func TestConcurrentApprovals(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := f.request(dave, "github", "admin") // fallback: alice, sec1, sec2 (any)
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	approvers := task.PendingAssignees()
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.e.Approve(f.ctx, workflow.Decision{TaskID: task.ID, Actor: approvers[i%len(approvers)], Revision: task.Revision})
			switch workflow.ErrorCode(err) {
			case "":
				ok.Add(1)
			case workflow.ECONFLICT:
				conflict.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(49), conflict.Load())
	var approvals int
	for _, e := range f.events(task.ID) {
		if e.Action == workflow.ActApproved {
			approvals++
		}
	}
	assert.Equal(t, 1, approvals)
	assert.Equal(t, 1, f.task(task.ID).Step)
	f.verifyAudit()
}

// TestRandomOperations drives random operation sequences and checks the
// invariants after each.
func TestRandomOperations(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (set it in the test to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	f := setup(t)
	people := []string{alice, bob, mgr, ceo, sec1, sec2, prov1, prov2, owner, admin, dave, eve}
	resources := [][2]string{{"github", "admin"}, {"github", "repo"}, {"github", "limited"}, {"snowflake", ""}, {"aws", ""}}
	actionsList := []workflow.Action{workflow.ActionApprove, workflow.ActionDeny, workflow.ActionConfirm, workflow.ActionProvisioned, workflow.ActionWontProvision, workflow.ActionDeprovisioned, workflow.ActionWontDeprovision}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var ids []int64
	for i := range 400 {
		var err error
		var touched int64
		switch op := rng.IntN(20); {
		case op < 4 || len(ids) == 0:
			r := resources[rng.IntN(len(resources))]
			var task *workflow.Task
			task, err = f.e.Request(f.ctx, workflow.RequestInput{Requester: pick(people), AppID: r[0], ResourceID: r[1], Justification: "x", Emergency: rng.IntN(5) == 0})
			if err == nil {
				ids = append(ids, task.ID)
				touched = task.ID
			}
		case op < 13:
			id := ids[rng.IntN(len(ids))]
			actor := pick(people)
			if task, e := f.e.Task(f.ctx, id); e == nil && rng.IntN(3) > 0 && len(task.PendingAssignees()) > 0 {
				actor = task.PendingAssignees()[0]
			}
			_, err = f.e.Decide(f.ctx, actionsList[rng.IntN(len(actionsList))], workflow.Decision{TaskID: id, Actor: actor})
			touched = id
		case op < 14:
			r := resources[rng.IntN(len(resources))]
			var task *workflow.Task
			task, err = f.e.ProposeRevocation(f.ctx, workflow.RevocationInput{Actor: pick([]string{admin, owner, mgr}), Subject: pick(people), AppID: r[0], ResourceID: r[1], Reason: "r"})
			if err == nil {
				ids = append(ids, task.ID)
			}
		case op < 15:
			f.clock.Advance(time.Duration(rng.IntN(10)) * time.Hour)
			_, err = f.e.ExpireGrants(f.ctx)
		case op < 16:
			id := ids[rng.IntN(len(ids))]
			_, err = f.e.Reassign(f.ctx, workflow.ReassignInput{TaskID: id, Actor: pick(people), To: pick(people), Reason: "r"})
		default:
			id := ids[rng.IntN(len(ids))]
			in := workflow.AdminInput{TaskID: id, Actor: pick([]string{admin, admin, eve}), Policy: "std"}
			switch rng.IntN(6) {
			case 0:
				_, err = f.e.Restart(f.ctx, in)
			case 1:
				_, err = f.e.SkipStep(f.ctx, in)
			case 2:
				_, err = f.e.Cancel(f.ctx, in)
			case 3:
				_, err = f.e.HardReset(f.ctx, in)
			case 4:
				_, err = f.e.ProcessNow(f.ctx, in)
			case 5:
				_, err = f.e.Delete(f.ctx, in)
			}
		}
		if code := workflow.ErrorCode(err); code == workflow.EINTERNAL {
			t.Fatalf("op %d: internal error: %v", i, err)
		}
		_ = touched
		checkInvariants(t, f)
	}
	f.verifyAudit()
}

func checkInvariants(t *testing.T, f *fixture) {
	t.Helper()
	var tasks []*workflow.Task
	var grants []*workflow.Grant
	require.NoError(t, f.db.View(f.ctx, func(tx workflow.ReadTx) (err error) {
		if tasks, err = tx.FindTasks(workflow.TaskQuery{}); err != nil {
			return err
		}
		grants, err = tx.FindGrants(workflow.GrantQuery{})
		return err
	}))
	byID := map[int64]*workflow.Task{}
	for _, task := range tasks {
		byID[task.ID] = task
		active := 0
		for _, s := range task.Steps {
			if s.Status == workflow.StepActive {
				active++
			}
		}
		require.LessOrEqual(t, active, 1, "%s: at most one current step", task.Number())
		if task.Status.Closed() {
			require.Zero(t, active, "%s: a closed task has no current step", task.Number())
			require.Empty(t, task.PendingAssignees())
		}
		for i, s := range task.Steps {
			if s.Status == workflow.StepDenied {
				require.NotEqual(t, workflow.StatusDone, task.Status, "%s: a denied task never completes", task.Number())
				for _, later := range task.Steps[i+1:] {
					require.Equal(t, workflow.StepWaiting, later.Status, "%s: after a deny, later steps never run", task.Number())
				}
			}
		}
		for _, p := range task.PendingAssignees() {
			if task.Policy.Steps[task.Step].Type == workflow.StepReview {
				require.NotEqual(t, task.Requester, p, "%s: the requester is never a reviewer", task.Number())
			}
		}
	}
	for _, g := range grants {
		src, ok := byID[g.TaskID]
		if !ok {
			continue // its task was deleted by an admin
		}
		require.Equal(t, workflow.KindGrant, src.Kind)
		require.Equal(t, workflow.StatusDone, src.Status, "grant %d comes from a finished task", g.ID)
		for _, s := range src.Steps {
			require.NotEqual(t, workflow.StepDenied, s.Status, "grant %d from a denied step", g.ID)
			require.NotEqual(t, workflow.StepNotDone, s.Status)
		}
	}
}
