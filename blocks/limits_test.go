package blocks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// long repeats a text people might type, with what mrkdwn must escape, to n
// characters.
func long(n int) string {
	const unit = "Need it <now> & “later” — 🚨 *bold* <!channel> "
	s := strings.Repeat(unit, n/len([]rune(unit))+1)
	return string([]rune(s)[:n])
}

// hugeTask is a task as large as anything a config or a person can make:
// 10,000-character texts, 25 steps, 300 assignees on each, a huge number.
func hugeTask(kind workflow.Kind, status workflow.Status, current workflow.StepType) *workflow.Task {
	const steps, people = 25, 300
	t := &workflow.Task{
		ID: 9_223_372_036_854_775_807, Kind: kind, Status: status, Revision: 9_223_372_036_854_775_807,
		Requester: "requester-with-a-rather-long-address@subdivision.example.com", Subject: "someone.else@example.com",
		AppID: strings.Repeat("app", 100), ResourceID: strings.Repeat("res", 100),
		Duration: 3*24*time.Hour + time.Minute, Justification: long(10_000), Emergency: true, Extension: true,
		Origin: workflow.OriginRequest, ErrorReason: long(10_000), CreatedAt: ago(400 * 24 * time.Hour),
		ClosedAt: ago(time.Minute), AuditHead: strings.Repeat("f", 64),
		Policy: workflow.Policy{Name: long(1000)},
	}
	t.Step = steps / 2
	for i := range steps {
		typ := workflow.StepReview
		if i == t.Step {
			typ = current
		}
		t.Policy.Steps = append(t.Policy.Steps, workflow.Step{Type: typ, Mode: workflow.ModeAll, Delegate: i%2 == 0})
		run := workflow.StepRun{Status: workflow.StepApproved, StartedAt: ago(time.Hour), EndedAt: ago(time.Minute),
			DecidedBy: fmt.Sprintf("p%d@example.com", i), Comment: long(3000)}
		switch {
		case i == t.Step && status == workflow.StatusOpen, i == t.Step && status == workflow.StatusError:
			run.Status = workflow.StepActive
		case i == t.Step:
			run.Status = map[workflow.Status]workflow.StepStatus{
				workflow.StatusDenied: workflow.StepDenied, workflow.StatusCanceled: workflow.StepCanceled,
				workflow.StatusNotProvisioned: workflow.StepNotDone, workflow.StatusDone: workflow.StepDone,
			}[status]
		case i > t.Step:
			run = workflow.StepRun{Status: workflow.StepWaiting}
		}
		if i <= t.Step {
			for j := range people {
				a := workflow.Assignment{Email: fmt.Sprintf("person-%03d-with-a-long-name@example.com", j), Via: workflow.ViaPolicy,
					State: workflow.AssignApproved, DecidedAt: ago(time.Minute)}
				if run.Status == workflow.StepActive {
					a.State = workflow.AssignPending
				}
				switch j % 4 {
				case 1:
					a.Via, a.From = workflow.ViaDelegated, "delegator-"+a.Email
				case 2:
					a.Via, a.From, a.Reason = workflow.ViaReassign, "reassigner-"+a.Email, long(3000)
				}
				run.Assignees = append(run.Assignees, a)
			}
		}
		t.Steps = append(t.Steps, run)
	}
	return t
}

func hugeEnt() workflow.Entitlement {
	app := &workflow.App{ID: strings.Repeat("app", 100), Name: long(1000)}
	res := &workflow.Resource{ID: strings.Repeat("res", 100), Name: long(1000)}
	return workflow.Entitlement{App: app, Resource: res, Settings: workflow.Settings{Instructions: long(10_000), MaxDuration: 24 * time.Hour}}
}

func hugeEvents() []workflow.AuditEvent {
	actions := []string{workflow.ActCommented, workflow.ActAssigned, workflow.ActApproved, workflow.ActDelegated, workflow.ActReassigned,
		workflow.ActError, workflow.ActReminded, workflow.ActGranted, "something_new"}
	var assignees []string
	for j := range 300 {
		assignees = append(assignees, fmt.Sprintf("person-%03d@example.com", j))
	}
	evs := make([]workflow.AuditEvent, 500)
	for i := range evs {
		evs[i] = workflow.AuditEvent{TaskID: 1, Seq: int64(i + 1), At: ago(time.Duration(500-i) * time.Minute),
			Actor: fmt.Sprintf("actor-%d@example.com", i), Action: actions[i%len(actions)], Step: i % 25, Comment: long(3000),
			Details: map[string]string{"assignees": strings.Join(assignees, ","), "to": strings.Join(assignees, ","), "from": long(500),
				"reason": long(3000), "expires": "2025-03-11T14:00:00Z"}}
	}
	return evs
}

// Every output stays within Slack's limits, whatever the task holds.
func TestLimitsHoldForHugeTasks(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		kind    workflow.Kind
		current workflow.StepType
	}{
		{workflow.KindGrant, workflow.StepReview}, {workflow.KindGrant, workflow.StepProvision},
		{workflow.KindRevoke, workflow.StepReview}, {workflow.KindRevoke, workflow.StepDeprovision},
	}
	statuses := []workflow.Status{workflow.StatusOpen, workflow.StatusError, workflow.StatusDone, workflow.StatusDenied,
		workflow.StatusCanceled, workflow.StatusNotProvisioned}
	pending := "person-000-with-a-long-name@example.com"
	events := hugeEvents()
	for _, k := range kinds {
		for _, st := range statuses {
			name := fmt.Sprintf("%s_%s_%s", k.kind, k.current, st)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				task := hugeTask(k.kind, st, k.current)
				for _, in := range []CardInput{
					{Role: workflow.CardAssignee, Viewer: pending, Step: task.Step},
					{Role: workflow.CardAssignee, Viewer: "person-002-with-a-long-name@example.com", Step: task.Step},
					{Role: workflow.CardAssignee, Viewer: pending, Step: 0},
					{Role: workflow.CardRequester, Viewer: task.Requester},
					{Role: workflow.CardChannel, Step: task.Step},
				} {
					for _, ent := range []workflow.Entitlement{hugeEnt(), {}} {
						in.Task, in.Ent, in.Dir, in.Now = task, ent, dir, now
						text, bs := Card(in)
						checkLimits(t, fmt.Sprintf("%s card %s %s", name, in.Role, in.Viewer), message{Text: text, Blocks: bs}, surfaceMessage)
					}
				}
				meta := ModalMeta{TaskID: task.ID, Revision: task.Revision, Channel: long(5000), MessageTS: long(5000)}
				for _, m := range []slack.ModalViewRequest{
					DetailsModal(DetailsInput{Task: task, Ent: hugeEnt(), Events: events, Viewer: pending, IsAdmin: true, Dir: dir, Now: now}),
					DetailsModal(DetailsInput{Task: task, Events: events, Viewer: "nobody@example.com", Dir: dir, Now: now}),
					ReassignModal(nil, task, hugeEnt(), meta, long(10_000)),
					EditDurationModal(nil, task, hugeEnt(), meta),
					CommentModal(nil, task, meta),
					DecisionModal(nil, task, OptWontDeprovisionComment, meta),
					DecisionModal(nil, task, long(500), meta),
				} {
					checkLimits(t, name+" modal "+m.CallbackID, m, surfaceModal)
				}
			})
		}
	}
}

// The Details modal says how much of a long history it leaves out.
func TestDetailsTruncatesWithMarker(t *testing.T) {
	t.Parallel()
	task := hugeTask(workflow.KindGrant, workflow.StatusOpen, workflow.StepReview)
	m := DetailsModal(DetailsInput{Task: task, Events: hugeEvents(), Viewer: admin, Dir: dir, Now: now})
	raw := string(render(t, m))
	for _, s := range []string{"more events; see `accessbot audit export`", "earlier comments; see `accessbot audit export`", "more steps; see `accessbot audit export`"} {
		if !strings.Contains(raw, s) {
			t.Errorf("details of a huge task lack %q", s)
		}
	}
	// A step with 300 assignees names those that fit and counts the rest.
	if !regexp.MustCompile(`• .*\\n… and \d+ more`).MatchString(raw) {
		t.Error("details of a huge task do not count the assignees left out")
	}
}
