package workflow

import (
	"fmt"
	"reflect"
	"testing"
)

// TestCardActionable is the rule for buttons, cell by cell: every status,
// step, card role and person, and a card of an older step.
func TestCardActionable(t *testing.T) {
	t.Parallel()
	cat := trCatalog()
	n := 0
	for _, status := range trStatuses {
		for _, sh := range trShapes {
			for _, busy := range []bool{false, true} {
				task := trTask(cat, sh.kind, sh.step, status)
				if busy {
					task.Steps[task.Step].Connector = &ConnectorRun{Name: "c", State: ConnectorPending}
				}
				cards := []struct {
					card Card
					want bool
				}{
					{Card{Role: CardAssignee, Email: trAsg, Step: task.Step}, status == StatusOpen},
					// The same person's card of the step before, or of a
					// step not reached: never buttons.
					{Card{Role: CardAssignee, Email: trAsg, Step: task.Step - 1}, false},
					{Card{Role: CardAssignee, Email: trAsg, Step: task.Step + 1}, false},
					{Card{Role: CardAssignee, Email: "ASG@example.com", Step: task.Step}, status == StatusOpen},
					{Card{Role: CardAssignee, Email: trOth, Step: task.Step}, false}, // decided already
					{Card{Role: CardAssignee, Email: trStr, Step: task.Step}, false},
					{Card{Role: CardRequester, Email: trReq, Step: -1}, false},
					{Card{Role: CardChannel, Step: task.Step}, status == StatusOpen && sh.step != StepReview && !busy},
					{Card{Role: CardChannel, Step: -1}, status == StatusOpen && sh.step != StepReview && !busy},
					{Card{Role: CardChannel, Step: task.Step - 1}, false},
				}
				for _, c := range cards {
					n++
					if got := CardActionable(task, c.card); got != c.want {
						t.Errorf("%s %s at %s (busy %v): card %s %s step %d: actionable %v, want %v",
							status, sh.kind, sh.step, busy, c.card.Role, c.card.Email, c.card.Step, got, c.want)
					}
				}
			}
		}
	}
	t.Logf("%d cells", n)
}

func TestCardsNeeded(t *testing.T) {
	t.Parallel()
	cat := trCatalog()
	tests := []struct {
		status  Status
		kind    Kind
		step    StepType
		channel string
		want    []CardNeed
	}{
		{StatusOpen, KindGrant, StepReview, "C1", []CardNeed{{CardRequester, trReq, -1}, {CardAssignee, trAsg, 0}}},
		{StatusOpen, KindGrant, StepProvision, "C1", []CardNeed{{CardRequester, trReq, -1}, {CardAssignee, trAsg, 1}, {CardChannel, "", 1}}},
		{StatusOpen, KindGrant, StepProvision, "", []CardNeed{{CardRequester, trReq, -1}, {CardAssignee, trAsg, 1}}},
		{StatusOpen, KindRevoke, StepDeprovision, "C1", []CardNeed{{CardRequester, trReq, -1}, {CardAssignee, trAsg, 1}, {CardChannel, "", 1}}},
		{StatusError, KindGrant, StepReview, "C1", []CardNeed{{CardRequester, trReq, -1}}},
		{StatusDone, KindGrant, StepProvision, "C1", []CardNeed{{CardRequester, trReq, -1}}},
		{StatusDenied, KindRevoke, StepReview, "C1", []CardNeed{{CardRequester, trReq, -1}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%s_%s_%q", tt.status, tt.kind, tt.step, tt.channel), func(t *testing.T) {
			got := CardsNeeded(trTask(cat, tt.kind, tt.step, tt.status), tt.channel)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// The engine's own tasks (an expiry) have no requester card.
	expiry := trTask(cat, KindRevoke, StepDeprovision, StatusOpen)
	expiry.Requester = SystemActor
	if got := CardsNeeded(expiry, ""); !reflect.DeepEqual(got, []CardNeed{{CardAssignee, trAsg, 1}}) {
		t.Errorf("expiry: got %+v", got)
	}
}
