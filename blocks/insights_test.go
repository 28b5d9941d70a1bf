package blocks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// sampleInsights are what workflow computes for T-12, in no particular order.
func sampleInsights() []workflow.Insight {
	return []workflow.Insight{
		{Kind: workflow.InsightReviewerIsManager, Severity: workflow.SeverityInfo, Short: "You are their manager",
			Text: "You are alice@example.com's manager in accessbot's configuration.", People: []string{alice}},
		{Kind: workflow.InsightPeers, Severity: workflow.SeverityInfo, Short: "2 of 3 teammates hold it",
			Text:   "2 of alice@example.com's 3 teammates (people who, like alice@example.com, report to you) hold GitHub / Org admin now; they are 2 of its 9 holders.",
			People: []string{alice, mgr}},
		{Kind: workflow.InsightDuration, Severity: workflow.SeverityNotice, Short: "8h, longer than the usual 4h",
			Text: "Asks for 8h: the default; within the maximum of 1w; others were approved for 4h (median of the last 6 approvals in 90 days; the longest 8h)."},
		{Kind: workflow.InsightDeniedBefore, Severity: workflow.SeverityCaution, Short: "Denied before, 2025-02-20",
			Text:   "alice@example.com asked for GitHub / Org admin before and was denied; last in T-9 on 2025-02-20 by bob@example.com: “use the <deploy> bot & its key”.",
			People: []string{alice, bob}},
		{Kind: workflow.InsightOffHours, Severity: workflow.SeverityNotice, Short: "Asked Sun 23:10 their time",
			Text: "alice@example.com asked on Sunday 2025-03-09 at 23:10 their time (Europe/Paris), outside business hours (09:00–18:00, Monday to Friday).", People: []string{alice}},
	}
}

func TestInsightRendering(t *testing.T) {
	t.Parallel()
	in := assignee(grantTask(), mgr, 0)
	in.Insights = sampleInsights()
	text, bs := Card(in)
	msg := message{Text: text, Blocks: bs}
	golden(t, "card_review_insights", msg)
	checkLimits(t, "card_review_insights", msg, surfaceMessage)
	raw := string(render(t, msg))
	assert.Contains(t, raw, ":mag: *Insights* · :warning: Denied before, 2025-02-20 · :eyes: 8h, longer than the usual 4h · :eyes: Asked Sun 23:10 their time · _2 more in Details_")
	assert.Equal(t, reviewButtons, actionIDs(bs), "insights never take a button away")

	modal := DetailsModal(DetailsInput{Task: grantTask(), Ent: github(), Events: events(), Viewer: mgr, Dir: dir, Now: now, Insights: sampleInsights()})
	golden(t, "modal_details_insights", modal)
	checkLimits(t, "details_insights", modal, surfaceModal)
	raw = string(render(t, modal))
	for _, want := range []string{
		"*Insights* (5)",
		":warning: *Denied before, 2025-02-20*\\n<@U0ALICE> asked for GitHub / Org admin before and was denied; last in T-9 on 2025-02-20 by <@U0BOB>: “use the &lt;deploy&gt; bot &amp; its key”.",
		"like <@U0ALICE>, report to you",
		":information_source: *You are their manager*",
	} {
		assert.Contains(t, raw, want)
	}
	assert.Less(t, strings.Index(raw, "Denied before"), strings.Index(raw, "You are their manager"), "strongest first")

	// Without insights nothing changes: the existing goldens hold that.
	_, plain := Card(assignee(grantTask(), mgr, 0))
	assert.NotContains(t, string(render(t, message{Text: "x", Blocks: plain})), "Insights")
}

// However many and however long, insights keep the modal within Slack's limits.
func TestInsightsFitLimits(t *testing.T) {
	t.Parallel()
	var many []workflow.Insight
	for i := range 60 {
		many = append(many, workflow.Insight{Kind: workflow.InsightPeers, Severity: workflow.Severity(i%3 + 1),
			Short: strings.Repeat("short ", 40), Text: fmt.Sprintf("%d %s", i, strings.Repeat("alice@example.com long text ", 80)), People: []string{alice}})
	}
	modal := DetailsModal(DetailsInput{Task: grantTask(), Ent: github(), Events: events(), Viewer: mgr, Dir: dir, Now: now, Insights: many})
	checkLimits(t, "details_many_insights", modal, surfaceModal)
	require.Contains(t, string(render(t, modal)), "more insights.")
	in := assignee(grantTask(), mgr, 0)
	in.Insights = many
	text, bs := Card(in)
	checkLimits(t, "card_many_insights", message{Text: text, Blocks: bs}, surfaceMessage)
}

func TestMentionPeople(t *testing.T) {
	t.Parallel()
	w := words{dir: dir}
	for _, c := range []struct{ in, want string }{
		{"alice@example.com asked.", "<@U0ALICE> asked."},
		{"by bob@example.com: no", "by <@U0BOB>: no"},
		{"malice@example.com is someone else", "malice@example.com is someone else"},
		{"alice@example.com.au is someone else", "alice@example.com.au is someone else"},
		{"(alice@example.com) and alice@example.com's", "(<@U0ALICE>) and <@U0ALICE>'s"},
		{"prov2@example.com has no Slack id", "prov2@example.com has no Slack id"},
	} {
		assert.Equal(t, c.want, mentionPeople(w, c.in, []string{alice, bob, prov2}), c.in)
	}
}
