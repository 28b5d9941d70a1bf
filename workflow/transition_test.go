package workflow

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The transition table: every (status, step, action, actor role) cell a
// task can be asked for, decided without a database (the decisions read a
// table of facts), against an oracle written from the rules as people state
// them. A cell the engine allows must leave the task where the oracle says
// and write the task; a refused cell must give the oracle's error code and
// words and write nothing.

// People of the table.
const (
	trReq = "req@example.com" // asked for the grant, proposed the revocation
	trSub = "sub@example.com" // whose access a revocation removes (a grant's subject is its requester)
	trAsg = "asg@example.com" // pending on the current step
	trOth = "oth@example.com" // on the current step too, and already approved (or provisioned)
	trDlg = "dlg@example.com" // asg's delegate: not on the step
	trAdm = "adm@example.com" // an admin, otherwise not involved
	trStr = "str@example.com" // nobody in particular
)

var trRoles = []struct{ name, email string }{
	{"requester", trReq}, {"subject", trSub}, {"assignee", trAsg}, {"approved", trOth},
	{"delegate", trDlg}, {"admin", trAdm}, {"stranger", trStr},
}

// trShapes are the kinds of task and the step current in them: index 0 is a
// review, index 1 its (de)provisioning.
var trShapes = []struct {
	kind Kind
	step StepType
}{
	{KindGrant, StepReview}, {KindGrant, StepProvision},
	{KindRevoke, StepReview}, {KindRevoke, StepDeprovision},
}

var trStatuses = []Status{StatusOpen, StatusError, StatusDone, StatusDenied, StatusNotProvisioned, StatusNotDeprovisioned, StatusCanceled}

var trActions = []string{
	string(ActionApprove), string(ActionConfirm), string(ActionDeny), string(ActionProvisioned), string(ActionWontProvision),
	string(ActionDeprovisioned), string(ActionWontDeprovision), "reassign", "edit_duration", "comment", "remind",
	"declare_emergency", string(OpCancel), string(OpRestart), string(OpHardReset), string(OpSkipStep),
	string(OpProcessNow), string(OpChangePolicy), string(OpDelete),
}

func trCatalog() *Catalog {
	two := []Principal{"user:" + trAsg, "user:" + trOth}
	step := func(typ StepType) Step {
		return Step{Type: typ, Approvers: two, Mode: ModeAll, Delegate: true}
	}
	review := step(StepReview)
	review.Approvers = two
	return &Catalog{
		Admins: []string{trAdm},
		Policies: map[string]*Policy{
			"grant":     {Name: "grant", Steps: []Step{review, step(StepProvision)}},
			"revoke":    {Name: "revoke", Steps: []Step{review, step(StepDeprovision)}},
			"revoke2":   {Name: "revoke2", Steps: []Step{review, step(StepDeprovision)}},
			"emergency": {Name: "emergency", Steps: []Step{{Type: StepReview, Approvers: []Principal{"user:" + trAsg}, Mode: ModeAny}}},
		},
		Apps: []*App{{ID: "app", Name: "App", Settings: Settings{
			Owners: []Principal{"user:" + trStr}, Provisioners: two, Deprovisioners: two,
			Provisioning: ProvisioningManual, RequestPolicy: "grant", RevocationPolicy: "revoke", EmergencyPolicy: "emergency",
			DefaultDuration: 8 * time.Hour, MaxDuration: 7 * 24 * time.Hour,
		}}},
	}
}

var trNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// trTask is a task of kind at the step of type typ with status.
func trTask(cat *Catalog, kind Kind, typ StepType, status Status) *Task {
	name := "grant"
	t := &Task{ID: 1, Kind: kind, Status: status, Revision: 5, Version: 3, Requester: trReq, Subject: trReq,
		AppID: "app", Duration: 8 * time.Hour, Origin: OriginRequest, CreatedAt: trNow.Add(-time.Hour)}
	if kind == KindRevoke {
		name, t.Subject, t.Duration, t.Origin, t.GrantID = "revoke", trSub, 0, OriginProposal, 7
	}
	t.Policy = Policy{Name: name, Steps: append([]Step(nil), cat.Policies[name].Steps...)}
	decided := AssignApproved
	t.Steps = []StepRun{{Status: StepActive}, {Status: StepWaiting}}
	if typ != StepReview {
		t.Steps[0] = StepRun{Status: StepApproved, Assignees: []Assignment{
			{Email: trAsg, Via: ViaPolicy, State: AssignApproved, Duration: t.Duration},
			{Email: trOth, Via: ViaPolicy, State: AssignApproved, Duration: t.Duration}}}
		t.Step, decided = 1, AssignDone
	}
	t.Steps[t.Step] = StepRun{Status: StepActive, StartedAt: trNow.Add(-time.Hour), Assignees: []Assignment{
		{Email: trAsg, Via: ViaPolicy, State: AssignPending},
		{Email: trOth, Via: ViaPolicy, State: decided, DecidedAt: trNow.Add(-time.Minute), Duration: t.Duration}}}
	switch {
	case status == StatusError:
		t.ErrorReason = "a person is missing in Slack"
	case status.Closed():
		t.ClosedAt = trNow.Add(-time.Minute)
	}
	return t
}

// trFacts is what the decisions read, as a table.
type trFacts struct {
	task        *Task
	grant       *Grant
	delegations map[string]*Delegation
}

func (f *trFacts) Task(id int64) (*Task, error) {
	if f.task == nil || id != f.task.ID {
		return nil, Errorf(ENOTFOUND, "no task %d", id)
	}
	return f.task, nil
}
func (f *trFacts) FindTasks(TaskQuery) ([]*Task, error) { return nil, nil }
func (f *trFacts) CountTasks(TaskQuery) (int, error)    { return 0, nil }
func (f *trFacts) Grant(id int64) (*Grant, error) {
	if f.grant == nil || f.grant.ID != id {
		return nil, Errorf(ENOTFOUND, "no grant %d", id)
	}
	g := *f.grant
	return &g, nil
}
func (f *trFacts) FindGrants(GrantQuery) ([]*Grant, error) { return nil, nil }
func (f *trFacts) Delegation(email string) (*Delegation, error) {
	if d, ok := f.delegations[email]; ok {
		return d, nil
	}
	return nil, Errorf(ENOTFOUND, "no delegation of %s", email)
}
func (f *trFacts) FindDelegations(DelegationQuery) ([]*Delegation, error) { return nil, nil }
func (f *trFacts) AuditEvents(int64) ([]AuditEvent, error)                { return nil, nil }
func (f *trFacts) WalkAudit(func(AuditEvent) error) error                 { return nil }
func (f *trFacts) AuditHead(int64) (int64, string, error)                 { return 4, "head", nil }
func (f *trFacts) TimeZones([]string) (map[string]string, error)          { return nil, nil }
func (f *trFacts) CountGrants(GrantQuery) (int, error)                    { return 0, nil }
func (f *trFacts) NextTaskID() (int64, error)                             { return 100, nil }
func (f *trFacts) ApprovedDurations(string, string, time.Time, string, int) ([]time.Duration, error) {
	return nil, nil
}

// trCell is one cell of the table.
type trCell struct {
	status Status
	kind   Kind
	step   StepType
	action string
	role   string
	actor  string
}

func (c trCell) String() string {
	return fmt.Sprintf("%s/%s/%s/%s/%s", c.status, c.kind, c.step, c.action, c.role)
}

// trResult is what a cell came to: a refusal (code and words), or the
// task's status and step after it (deleted for a delete).
type trResult struct {
	code, words string
	status      Status
	step        int
	deleted     bool
}

func (r trResult) String() string {
	switch {
	case r.code != "":
		return fmt.Sprintf("refused %s %q", r.code, r.words)
	case r.deleted:
		return "deleted"
	}
	return fmt.Sprintf("%s at step %d", r.status, r.step)
}

func refused(code, words string) trResult { return trResult{code: code, words: words} }

// run decides c on a fresh task and returns what it came to, with the
// operation holding its outcome.
func (c trCell) run(t *testing.T) (trResult, *op) {
	t.Helper()
	cat := trCatalog()
	task := trTask(cat, c.kind, c.step, c.status)
	facts := &trFacts{task: task,
		grant:       &Grant{ID: 7, Subject: trSub, AppID: "app", Status: GrantActive, TaskID: 3},
		delegations: map[string]*Delegation{trAsg: {Email: trAsg, Delegate: trDlg, Active: true, SetBy: trAsg}}}
	e := NewEngine(nil, cat, func() time.Time { return trNow })
	o := e.newOp(facts, facts, trNow)
	var err error
	switch c.action {
	case "reassign":
		err = o.reassign(task, ReassignInput{TaskID: 1, Actor: c.actor, To: trStr, Reason: "on leave"})
	case "edit_duration":
		err = o.editDuration(task, EditDurationInput{TaskID: 1, Actor: c.actor, Duration: 2 * time.Hour})
	case "comment":
		err = o.commentOn(task, CommentInput{TaskID: 1, Actor: c.actor, Text: "a word"})
	case "remind":
		err = o.remind(task, c.actor)
	case "declare_emergency":
		err = o.declareEmergency(task, EmergencyInput{TaskID: 1, Actor: c.actor, Reason: "prod is down"})
	default:
		if tr, ok := transitions[Action(c.action)]; ok {
			err = o.decide(task, tr, Decision{TaskID: 1, Actor: c.actor}, nil)
			break
		}
		d, derr := e.adminDecide(AdminOp(c.action), AdminInput{TaskID: 1, Actor: c.actor, Reason: "repair", Policy: "revoke2"})
		if derr != nil {
			t.Fatalf("%s: %v", c, derr)
		}
		_, _, err = o.decideAdmin(d, AdminInput{TaskID: 1, Actor: c.actor, Reason: "repair", Policy: "revoke2"})
	}
	if err != nil {
		return refused(ErrorCode(err), ErrorMessage(err)), o
	}
	o.finish()
	return trResult{status: task.Status, step: task.Step, deleted: len(o.deletes) > 0}, o
}

// trOracle is the rules, stated apart from the engine's code.
func trOracle(c trCell) trResult {
	closed := c.status.Closed()
	last := c.step != StepReview // the (de)provisioning step is the last
	at := 0
	if last {
		at = 1
	}
	involved := c.role != "delegate" && c.role != "stranger" // the admin is not, but may
	requester := c.role == "requester" || (c.kind == KindGrant && c.role == "subject")
	admin := c.role == "admin"
	// checkActor: who may act on the current step.
	actor := func() *trResult {
		var r trResult
		switch {
		case closed:
			r = refused(ECONFLICT, "has moved on")
		case c.status == StatusError:
			r = refused(ECONFLICT, "stopped with an error")
		case c.role == "assignee":
			return nil
		case c.role == "approved":
			r = refused(ECONFLICT, "You already")
		case requester && c.kind == KindGrant:
			r = refused(EFORBIDDEN, "your own request")
		case c.role == "subject":
			r = refused(EFORBIDDEN, "about your own access")
		default:
			r = refused(EFORBIDDEN, "You are not assigned")
		}
		return &r
	}
	stays := trResult{status: c.status, step: at}
	switch c.action {
	case string(ActionApprove), string(ActionConfirm), string(ActionDeny), string(ActionProvisioned),
		string(ActionWontProvision), string(ActionDeprovisioned), string(ActionWontDeprovision):
		if r := actor(); r != nil {
			return *r
		}
		fits := map[string]struct {
			kind Kind
			step StepType
			end  Status // "" when it passes the step
		}{
			string(ActionApprove): {KindGrant, StepReview, ""}, string(ActionConfirm): {KindRevoke, StepReview, ""},
			string(ActionProvisioned): {KindGrant, StepProvision, ""}, string(ActionWontProvision): {KindGrant, StepProvision, StatusNotProvisioned},
			string(ActionDeprovisioned): {KindRevoke, StepDeprovision, ""}, string(ActionWontDeprovision): {KindRevoke, StepDeprovision, StatusNotDeprovisioned},
		}[c.action]
		switch {
		case c.action == string(ActionDeny) && c.step == StepReview:
			return trResult{status: StatusDenied, step: at}
		case c.action == string(ActionDeny) || fits.kind != c.kind || fits.step != c.step:
			return refused(EINVALID, "is waiting for")
		case fits.end != "":
			return trResult{status: fits.end, step: at}
		case last: // the other assignee approved already: the step passes
			return trResult{status: StatusDone, step: at}
		}
		return trResult{status: StatusOpen, step: at + 1}
	case "reassign":
		if r := actor(); r != nil {
			return *r
		}
		return stays
	case "edit_duration":
		if r := actor(); r != nil {
			return *r
		}
		if c.kind != KindGrant || c.step != StepReview {
			return refused(EINVALID, "Only a reviewer of a request")
		}
		return stays
	case "comment":
		if !involved && !admin {
			return refused(EFORBIDDEN, "not involved")
		}
		return stays
	case "remind":
		switch {
		case !involved && !admin:
			return refused(EFORBIDDEN, "not involved")
		case c.status != StatusOpen:
			return refused(ECONFLICT, "nobody to remind")
		}
		return stays
	case "declare_emergency":
		switch {
		case c.kind != KindGrant || !requester:
			return refused(EFORBIDDEN, "Only the requester")
		case closed:
			return refused(ECONFLICT, "has moved on")
		}
		return trResult{status: StatusOpen, step: 0}
	case string(OpCancel):
		switch {
		case !admin && !(requester && c.kind == KindGrant):
			return refused(EFORBIDDEN, "Only the requester or an admin")
		case closed:
			return refused(ECONFLICT, "there is nothing to cancel")
		}
		return trResult{status: StatusCanceled, step: at}
	}
	// The admin repairs.
	if !admin {
		return refused(EFORBIDDEN, "Only an accessbot admin")
	}
	switch c.action {
	case string(OpRestart), string(OpHardReset):
		if c.status == StatusDone {
			return refused(EINVALID, "its outcome stands")
		}
		return trResult{status: StatusOpen, step: 0}
	case string(OpChangePolicy):
		switch {
		case c.kind == KindGrant:
			return refused(EINVALID, "is an access request")
		case c.status == StatusDone:
			return refused(EINVALID, "its outcome stands")
		}
		return trResult{status: StatusOpen, step: 0}
	case string(OpSkipStep):
		switch {
		case closed:
			return refused(EINVALID, "has no step to skip")
		case last:
			return trResult{status: StatusDone, step: at}
		}
		return trResult{status: StatusOpen, step: at + 1}
	case string(OpProcessNow):
		if c.status == StatusError {
			return trResult{status: StatusOpen, step: at}
		}
		return stays
	case string(OpDelete):
		return trResult{deleted: true}
	}
	panic("no rule for " + c.action)
}

func TestTransitionTable(t *testing.T) {
	t.Parallel()
	var cells, allowed, refusals int
	for _, status := range trStatuses {
		for _, sh := range trShapes {
			for _, action := range trActions {
				for _, role := range trRoles {
					c := trCell{status: status, kind: sh.kind, step: sh.step, action: action, role: role.name, actor: role.email}
					if c.kind == KindGrant && c.role == "subject" {
						c.actor = trReq // a grant's subject is its requester
					}
					cells++
					want := trOracle(c)
					got, o := c.run(t)
					switch {
					case want.code != "":
						refusals++
						if got.code != want.code || !strings.Contains(got.words, want.words) {
							t.Errorf("%s: got %s, want %s", c, got, want)
						}
						if len(o.tasks)+len(o.events)+len(o.notices)+len(o.grants)+len(o.deletes) > 0 {
							t.Errorf("%s: refused, but its outcome writes something", c)
						}
					default:
						allowed++
						if got.code != "" || got.deleted != want.deleted || (!want.deleted && (got.status != want.status || got.step != want.step)) {
							t.Errorf("%s: got %s, want %s", c, got, want)
						}
						if len(o.tasks) == 0 && len(o.deletes) == 0 {
							t.Errorf("%s: allowed, but its outcome writes no task", c)
						}
					}
				}
			}
		}
	}
	t.Logf("%d cells: %d allowed, %d refused", cells, allowed, refusals)
	if want := len(trStatuses) * len(trShapes) * len(trActions) * len(trRoles); cells != want {
		t.Fatalf("%d cells, want %d", cells, want)
	}
}

// TestTransitionOutcome checks what the outcome of an allowed cell holds
// besides the task's place: the revision moves once for a change cards
// show, a completed grant task writes its grant and a completed revocation
// ends it, and every event is hashed along its chain.
func TestTransitionOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cell    trCell
		rev     int64 // the task's revision after
		grants  int   // grant writes
		created bool  // the grant is created (not saved)
	}{
		{trCell{StatusOpen, KindGrant, StepReview, string(ActionApprove), "assignee", trAsg}, 6, 0, false},
		{trCell{StatusOpen, KindGrant, StepProvision, string(ActionProvisioned), "assignee", trAsg}, 6, 1, true},
		{trCell{StatusOpen, KindRevoke, StepDeprovision, string(ActionDeprovisioned), "assignee", trAsg}, 6, 1, false},
		{trCell{StatusOpen, KindGrant, StepReview, "comment", "requester", trReq}, 5, 0, false},
		{trCell{StatusOpen, KindGrant, StepReview, "reassign", "assignee", trAsg}, 6, 0, false},
		{trCell{StatusDone, KindGrant, StepProvision, string(OpProcessNow), "admin", trAdm}, 5, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.cell.String(), func(t *testing.T) {
			got, o := tt.cell.run(t)
			if got.code != "" {
				t.Fatalf("refused: %s", got)
			}
			task := o.tasks[0].t
			if task.Revision != tt.rev {
				t.Errorf("revision %d, want %d", task.Revision, tt.rev)
			}
			if len(o.grants) != tt.grants || (tt.grants > 0 && o.grants[0].create != tt.created) {
				t.Errorf("grant writes %+v, want %d (created %v)", o.grants, tt.grants, tt.created)
			}
			prev, seq := "head", int64(4) // trFacts.AuditHead
			for _, ev := range o.events {
				if ev.TaskID != task.ID {
					continue
				}
				seq++
				if ev.PrevHash != prev || ev.Hash != ev.ComputeHash() || ev.Seq != seq {
					t.Errorf("event %s is not chained: seq %d (want %d), prev %q", ev.Action, ev.Seq, seq, ev.PrevHash)
				}
				prev = ev.Hash
			}
			if task.AuditHead != prev {
				t.Errorf("audit head %q, want the newest event's hash", task.AuditHead)
			}
		})
	}
}
