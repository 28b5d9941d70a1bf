package blocks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func entOf(*workflow.Task) workflow.Entitlement { return github() }

func TestHome(t *testing.T) {
	temp := &workflow.Delegation{Email: mgr, Delegate: deputy, Starts: ago(24 * time.Hour), Ends: now.Add(48 * time.Hour), Active: true}
	perm := &workflow.Delegation{Email: mgr, Delegate: bob, Active: true}
	emergency := grantTask()
	emergency.ID, emergency.Emergency = 13, true
	mine := grantTask()
	mine.Requester, mine.Subject = mgr, mgr
	cases := []struct {
		name string
		in   HomeInput
	}{
		{"home_assigned", HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: TabAssigned}, Tasks: []*workflow.Task{grantTask(), emergency, revokeTask()},
			Total: 3, Counts: map[HomeTab]int{TabAssigned: 3, TabProvisioning: 0, TabDeprovisioning: 0},
			Kinds: map[workflow.Kind]bool{workflow.KindGrant: true, workflow.KindRevoke: true}, Delegation: temp}},
		{"home_assigned_paged", HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: TabAssigned, Page: 1}, Tasks: []*workflow.Task{grantTask()},
			Total: 2*HomePageSize + 1, Kinds: map[workflow.Kind]bool{workflow.KindGrant: true}, Delegation: perm,
			Notice: "T-9 was already approved by sec1@example.com at 2025-03-10 13:00 UTC"}},
		{"home_provisioning", HomeInput{Viewer: prov1, Meta: HomeMeta{Tab: TabProvisioning}, Tasks: []*workflow.Task{atProvisioning()}, Total: 1}},
		{"home_deprovisioning", HomeInput{Viewer: prov1, Meta: HomeMeta{Tab: TabDeprovisioning}, Tasks: []*workflow.Task{expiryTask()}, Total: 1}},
		{"home_requests", HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: TabRequests}, Tasks: []*workflow.Task{mine, denied()}, Total: 2}},
		{"home_completed", HomeInput{Viewer: prov1, Meta: HomeMeta{Tab: TabCompleted}, Tasks: []*workflow.Task{provisioned()}, Total: 1}},
		{"home_empty", HomeInput{Viewer: eveEmail, Meta: HomeMeta{Tab: TabAssigned}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Dir, tc.in.Now, tc.in.Ent = dir, now, entOf
			v := Home(tc.in)
			golden(t, tc.name, v)
			checkLimits(t, tc.name, v, surfaceHome)
		})
	}
}

const eveEmail = "eve@example.com"

func TestHomeRowsCarryTheTaskAndRevision(t *testing.T) {
	task := grantTask()
	v := Home(HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: TabAssigned}, Tasks: []*workflow.Task{task}, Total: 1, Dir: dir, Now: now})
	js, err := json.Marshal(v)
	require.NoError(t, err)
	s := string(js)
	ref := EncodeRef(task.ID, task.Revision)
	for _, want := range []string{`"action_id":"approve"`, `"action_id":"deny"`, `"value":"` + ref + `"`, `"block_id":"` + BlockHomeRow + ref + `"`, `"type":"checkboxes"`} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, `"action_id":"`+ActHomeCancel+`"`, "no Cancel on someone else's request")
	assert.Equal(t, HomeMeta{Tab: TabAssigned}, DecodeHomeMeta(v.PrivateMetadata))
}

func TestHomeCancelOnlyOnOwnOpenRequest(t *testing.T) {
	open, closed := grantTask(), denied()
	v := Home(HomeInput{Viewer: alice, Meta: HomeMeta{Tab: TabRequests}, Tasks: []*workflow.Task{open, closed}, Total: 2, Dir: dir, Now: now})
	js, _ := json.Marshal(v)
	assert.Equal(t, 1, strings.Count(string(js), `"action_id":"`+ActHomeCancel+`"`))
}

func TestHomeFullPageFits(t *testing.T) {
	var ts []*workflow.Task
	for i := range HomePageSize {
		task := hugeTask(workflow.KindGrant, workflow.StatusOpen, workflow.StepReview)
		task.ID = int64(i + 1)
		ts = append(ts, task)
	}
	for _, tab := range HomeTabs {
		v := Home(HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: tab, Page: 3}, Tasks: ts, Total: 1000, Dir: dir, Now: now,
			Notice: long(5000), Delegation: &workflow.Delegation{Delegate: long(300)},
			Ent: func(*workflow.Task) workflow.Entitlement { return hugeEnt() }})
		checkLimits(t, string(tab), v, surfaceHome)
		last, err := json.Marshal(v.Blocks.BlockSet[len(v.Blocks.BlockSet)-1])
		require.NoError(t, err)
		assert.Contains(t, string(last), "Page 4 of 25", tab)
		assert.LessOrEqual(t, len(v.Blocks.BlockSet), maxViewBlocks)
	}
}

func TestDecodeHomeMetaFallsBack(t *testing.T) {
	for _, s := range []string{"", "{", `{"tab":"nope"}`, `{"tab":"assigned","page":-1}`} {
		assert.Equal(t, HomeMeta{Tab: TabAssigned}, DecodeHomeMeta(s), s)
	}
	assert.Equal(t, HomeMeta{Tab: TabCompleted, Page: 2}, DecodeHomeMeta(EncodeHomeMeta(HomeMeta{Tab: TabCompleted, Page: 2})))
}

func TestBulkMetaRoundTripAndFits(t *testing.T) {
	m := BulkMeta{Action: workflow.ActionApprove, Home: HomeMeta{Tab: TabAssigned, Page: 1}}
	for i := range MaxBulk {
		m.Tasks = append(m.Tasks, BulkRef{TaskID: 9_999_999 + int64(i), Revision: 1000 + int64(i)})
	}
	s := EncodeBulkMeta(m)
	assert.LessOrEqual(t, len(s), maxPrivateMetadata)
	got, err := DecodeBulkMeta(s)
	require.NoError(t, err)
	assert.Equal(t, m, got)
	checkLimits(t, "bulk modal", BulkModal(m), surfaceModal)
	for _, bad := range []string{"", "approve|assigned|0|", "steal|assigned|0|1:1", "approve|x|0|1:1", "approve|assigned|0|1:-1", "approve|assigned|0|0:1"} {
		_, err := DecodeBulkMeta(bad)
		assert.Error(t, err, bad)
	}
}

func TestBulkModals(t *testing.T) {
	m := BulkMeta{Action: workflow.ActionApprove, Tasks: []BulkRef{{12, 3}, {13, 3}}, Home: HomeMeta{Tab: TabAssigned}}
	golden(t, "modal_bulk", BulkModal(m))
	var failed []BulkFailure
	for i := range 400 {
		failed = append(failed, BulkFailure{TaskID: int64(i), Reason: "moved on", Detail: long(300)})
	}
	res := BulkResultModal(workflow.ActionApprove, 198, failed[:2])
	golden(t, "modal_bulk_result", res)
	checkLimits(t, "result", res, surfaceModal)
	checkLimits(t, "huge result", BulkResultModal(workflow.ActionWontDeprovision, 0, failed), surfaceModal)
	checkLimits(t, "working", BulkWorkingModal(m), surfaceModal)
}

// BenchmarkHome renders one page of a tab of 1,000 tasks.
func BenchmarkHome(b *testing.B) {
	var ts []*workflow.Task
	for i := range HomePageSize {
		task := grantTask()
		task.ID = int64(i + 1)
		ts = append(ts, task)
	}
	in := HomeInput{Viewer: mgr, Meta: HomeMeta{Tab: TabAssigned}, Tasks: ts, Total: 1000, Dir: dir, Now: now, Ent: entOf}
	for b.Loop() {
		v := Home(in)
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// The notice after a row's button says what the person did, not an order.
func TestDecidedNotice(t *testing.T) {
	t.Parallel()
	task := grantTask()
	for a, want := range map[workflow.Action]string{
		workflow.ActionApprove:         "T-12 (GitHub / Org admin): you approved it.",
		workflow.ActionDeny:            "T-12 (GitHub / Org admin): you denied it.",
		workflow.ActionConfirm:         "T-12 (GitHub / Org admin): you confirmed the revocation.",
		workflow.ActionProvisioned:     "T-12 (GitHub / Org admin): you marked it provisioned.",
		workflow.ActionWontDeprovision: "T-12 (GitHub / Org admin): you marked it won't deprovision.",
	} {
		assert.Equal(t, want, DecidedNotice(task, a, github()), string(a))
	}
	assert.Equal(t, "You approved it.", DecidedNotice(nil, workflow.ActionApprove, workflow.Entitlement{}))
}

// A finished request on the Home says what became of its access.
func TestHomeRowSaysTheAccessEnded(t *testing.T) {
	t.Parallel()
	task := provisioned()
	task.GrantID = 7
	g := &workflow.Grant{ID: 7, Subject: alice, AppID: "github", Status: workflow.GrantRevoked, TaskID: task.ID, EndedAt: ago(time.Minute), EndTaskID: 30}
	in := HomeInput{Viewer: alice, Meta: HomeMeta{Tab: TabCompleted}, Tasks: []*workflow.Task{task}, Total: 1, Dir: dir, Now: now,
		Grant: func(*workflow.Task) *workflow.GrantOutcome {
			return &workflow.GrantOutcome{Grant: g, Ended: revokeTask()}
		}}
	raw := string(render(t, Home(in)))
	assert.Contains(t, raw, "*Access revoked* by <@U0OWNER>")
	assert.NotContains(t, raw, "Access active until")
}
