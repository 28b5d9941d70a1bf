package workflow

import "testing"

// Every status and step has its words in the one table, and each sentence
// kind has words for it (a missing entry would show the raw name).
func TestWordTables(t *testing.T) {
	t.Parallel()
	for s := range Statuses() {
		w, ok := statusWordTable[s]
		if !ok || w.State == "" || w.Outcome == "" || w.Ending == "" {
			t.Errorf("status %s: words %+v", s, w)
		}
	}
	if len(statusWordTable) != len(Statuses()) {
		t.Errorf("%d statuses have words, %d statuses exist", len(statusWordTable), len(Statuses()))
	}
	seen := map[StepWords]bool{}
	for _, k := range []Kind{KindGrant, KindRevoke} {
		for _, s := range []StepType{StepReview, StepProvision, StepDeprovision} {
			w := WordsOf(k, s)
			if w.Name == "" || w.Title == "" || w.Verb == "" || w.Want == "" {
				t.Errorf("%s %s: words %+v", k, s, w)
			}
			seen[w] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("%d distinct step words, want 4 (grant review, revocation review, provisioning, deprovisioning)", len(seen))
	}
}
