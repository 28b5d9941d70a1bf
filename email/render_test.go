package email

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func testTask() *workflow.Task {
	return &workflow.Task{
		ID: 12, Kind: workflow.KindGrant, Status: workflow.StatusOpen, Requester: "alice@example.com", Subject: "alice@example.com",
		AppID: "github", ResourceID: "admin", Duration: 8 * time.Hour, Justification: "fix <b>prod</b>",
		Policy: workflow.Policy{Steps: []workflow.Step{{Type: workflow.StepReview}}}, Steps: []workflow.StepRun{{Status: workflow.StepActive}},
		CreatedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	}
}

func TestRenderEveryKind(t *testing.T) {
	evil := &workflow.App{ID: "github", Name: "GitHub\r\nBcc: evil@example.com"}
	ent := workflow.Entitlement{App: evil, Resource: &workflow.Resource{ID: "admin", Name: "admin"}}
	link := Link{TeamID: "T0TEST1", AppID: "A0TEST1"}
	for _, in := range []Input{
		{Kind: KindAssigned, Task: testTask(), Ent: ent},
		{Kind: KindAssigned, Task: testTask(), From: "bob@example.com"},
		{Kind: KindReassigned, Task: testTask(), From: "bob@example.com", Reason: "away"},
		{Kind: KindReminder, Task: testTask()},
		{Kind: KindDigest, Tasks: []*workflow.Task{testTask(), testTask()}},
		{Kind: KindOutcome, Task: testTask(), Outcome: OutcomeDenied},
		{Kind: KindWarning, Text: "Your access ends at noon."},
		{Kind: KindDirect, Text: "Your delegate is now dave.", Topic: "delegation"},
		{Kind: KindDirect, Text: "Line one\r\nBcc: x@example.com. More."},
	} {
		in.Recipient, in.Link = "bob@example.com", link
		r := Render(in)
		require.True(t, strings.HasPrefix(r.Subject, "[accessbot] "), r.Subject)
		require.NotContains(t, r.Subject, "\r", "kind %s", in.Kind)
		require.NotContains(t, r.Subject, "\n", "kind %s", in.Kind)
		require.Contains(t, r.Text, "Hello bob,")
		require.Contains(t, r.Text, "slack://app?team=T0TEST1&id=A0TEST1&tab=home")
		require.Contains(t, r.HTML, `href="https://slack.com/app_redirect?app=A0TEST1&amp;team=T0TEST1"`)
		require.Contains(t, r.HTML, `href="slack://app?team=T0TEST1&amp;id=A0TEST1&amp;tab=home"`, "html/template keeps the checked slack: link")
		require.NotContains(t, r.HTML, "<b>prod</b>")
	}
	r := Render(Input{Kind: KindAssigned, Task: testTask(), Ent: ent, Recipient: "bob@example.com"})
	require.Equal(t, "[accessbot] T-12: approve alice's access to GitHub Bcc: evil@example.com / admin", r.Subject)
	require.NotContains(t, r.Text, "slack://", "no link without the ids")
	require.Contains(t, r.Text, "Open accessbot's App Home in Slack")
}

func TestMessageIDIsStable(t *testing.T) {
	a := MessageID(12, 7, "bob@example.com", "assigned:0", "example.com")
	require.Equal(t, a, MessageID(12, 7, "bob@example.com", "assigned:0", "example.com"))
	require.NotEqual(t, a, MessageID(12, 7, "carol@example.com", "assigned:0", "example.com"))
	require.True(t, strings.HasPrefix(a, "<accessbot.t12.7.") && strings.HasSuffix(a, "@example.com>"), a)
}
