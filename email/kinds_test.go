package email_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/workflow"
)

// kindsConfig: everyone but ghost wants email; bob reviews and may hand the
// review to anyone; grants of github/admin are provisioned by prov.
const kindsConfig = `
admins: [carol@example.com]
notify: email
email:
  host: 127.0.0.1
  from: accessbot@example.com
people:
  - email: alice@example.com
  - email: bob@example.com
  - email: dave@example.com
  - email: prov@example.com
  - email: carol@example.com
  - email: ghost@example.com
    notify: slack
policies:
  one:
    steps:
      - type: review
        approvers: [bob@example.com]
        reassign: anyone
  prov:
    steps:
      - type: review
        approvers: [bob@example.com]
      - type: provision
apps:
  - id: github
    name: GitHub
    owners: [carol@example.com]
    provisioners: [prov@example.com]
    request_policy: prov
    revocation_policy: one
    default_duration: 8h
  - id: vpn
    name: VPN
    owners: [carol@example.com]
    request_policy: one
    revocation_policy: one
    default_duration: 8h
    provisioning: none
reminders:
  after: 1h
  every: 1h
  business_hours: any
  expiry_warning: 2h
`

func setupKinds(t *testing.T) *env {
	t.Helper()
	e := setup(t)
	f, err := config.ParseFile([]byte(kindsConfig))
	require.NoError(t, err)
	e.engine.SetCatalog(f.Catalog)
	return e
}

// mailTo is the subjects of the emails to one person, in order.
func (e *env) subjects(t *testing.T, to string) []string {
	var out []string
	for _, m := range e.smtpd.mails() {
		if len(m.To) == 1 && m.To[0] == to {
			out = append(out, subject(t, parse(t, m)))
		}
	}
	return out
}

func TestReassignedEmailHasTheReason(t *testing.T) {
	e := setupKinds(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "travel"})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.Reassign(e.ctx, workflow.ReassignInput{TaskID: task.ID, Actor: bob, To: "dave@example.com", Reason: "I am out <b>all</b> week"})
	require.NoError(t, err)
	e.drain()
	got := e.smtpd.mails()
	last := parse(t, got[len(got)-1])
	require.Equal(t, "[accessbot] T-1: approve alice's access to VPN", subject(t, last))
	require.Equal(t, []string{"dave@example.com"}, got[len(got)-1].To)
	require.Contains(t, last.Text, "bob@example.com reassigned T-1 to you")
	require.Contains(t, last.Text, "Reason for reassigning: I am out <b>all</b> week")
	require.Contains(t, last.HTML, "I am out &lt;b&gt;all&lt;/b&gt; week")
}

func TestOutcomesReachTheRequester(t *testing.T) {
	e := setupKinds(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", Justification: "release"})
	require.NoError(t, err)
	_, err = e.engine.Approve(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.Decide(e.ctx, workflow.ActionProvisioned, workflow.Decision{TaskID: task.ID, Actor: "prov@example.com"})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{
		"[accessbot] T-1: your request for GitHub was approved; it waits on provisioning",
		"[accessbot] T-1: your access to GitHub was provisioned",
	}, e.subjects(t, alice))
	require.Equal(t, []string{"[accessbot] T-1: provision alice's access to GitHub"}, e.subjects(t, "prov@example.com"))

	denied, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: "dave@example.com", AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	_, err = e.engine.Deny(e.ctx, workflow.Decision{TaskID: denied.ID, Actor: bob, Comment: "no"})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{"[accessbot] T-2: your request for VPN was denied"}, e.subjects(t, "dave@example.com"))

	// A revocation of alice's GitHub access, confirmed by bob.
	rev, err := e.engine.ProposeRevocation(e.ctx, workflow.RevocationInput{Actor: "carol@example.com", Subject: alice, AppID: "github", Reason: "left the team"})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.Confirm(e.ctx, workflow.Decision{TaskID: rev.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.Decide(e.ctx, workflow.ActionDeprovisioned, workflow.Decision{TaskID: rev.ID, Actor: "prov@example.com"})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, "[accessbot] T-3: your access to GitHub was revoked", e.subjects(t, alice)[2])
	require.Contains(t, e.subjects(t, bob), "[accessbot] T-3: confirm removing alice's access to GitHub")

	// Threading: alice's two emails about T-1 chain.
	var ids []string
	for _, m := range e.smtpd.mails() {
		if p := parse(t, m); m.To[0] == alice && strings.HasPrefix(subject(t, p), "[accessbot] T-1") {
			if len(ids) > 0 {
				require.Equal(t, ids[len(ids)-1], p.Header.Get("In-Reply-To"))
				require.Equal(t, strings.Join(ids, " "), p.Header.Get("References"))
			}
			ids = append(ids, p.Header.Get("Message-Id"))
		}
	}
	require.Len(t, ids, 2)
}

func TestDigestIsOneEmailPerPersonPerRound(t *testing.T) {
	e := setupKinds(t)
	_, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	_, err = e.engine.Request(e.ctx, workflow.RequestInput{Requester: "dave@example.com", AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	e.drain()
	before := len(e.subjects(t, bob))
	e.clock.Advance(2 * time.Hour)
	_, err = e.engine.RemindSweep(e.ctx)
	require.NoError(t, err)
	e.drain()
	subs := e.subjects(t, bob)
	require.Len(t, subs, before+1, "one digest for bob")
	require.Equal(t, "[accessbot] 2 tasks wait on you", subs[len(subs)-1])
}

func TestDelegationEmails(t *testing.T) {
	e := setupKinds(t)
	_, err := e.engine.SetDelegation(e.ctx, workflow.DelegateInput{Actor: bob, Delegate: "dave@example.com"})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{"[accessbot] your delegation"}, e.subjects(t, bob))
	require.Equal(t, []string{"[accessbot] your delegation"}, e.subjects(t, "dave@example.com"))

	// The delegate's copy: dave is assigned instead of bob and told so.
	_, err = e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	e.drain()
	got := e.smtpd.mails()
	last := parse(t, got[len(got)-1])
	require.Equal(t, []string{"dave@example.com"}, got[len(got)-1].To)
	require.Contains(t, last.Text, "as bob@example.com's delegate")
	require.Len(t, e.subjects(t, bob), 1, "bob is not assigned")
}

func TestFallbackAssigneeIsEmailed(t *testing.T) {
	e := setupKinds(t)
	cat := *e.engine.Catalog()
	cat.People = map[string]workflow.Person{}
	for k, p := range e.engine.Catalog().People {
		cat.People[k] = p
	}
	p := cat.People[bob]
	p.Notify = workflow.NotifySlack // bob wants Slack, but Slack does not know him
	cat.People[bob] = p
	e.engine.SetCatalog(&cat)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	e.drain()
	require.Empty(t, e.subjects(t, bob), "Slack first")
	_, err = e.engine.NotifiedByEmail(e.ctx, task.ID, bob, "bob is not in Slack")
	require.NoError(t, err)
	_, err = e.engine.NotifiedByEmail(e.ctx, task.ID, bob, "bob is not in Slack")
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{"[accessbot] T-1: approve alice's access to VPN"}, e.subjects(t, bob), "once")
	// Later reminders of the task reach him by email too.
	_, err = e.engine.SendReminder(e.ctx, alice, task.ID)
	require.NoError(t, err)
	e.drain()
	require.Len(t, e.subjects(t, bob), 2)
}

func TestExpiryEmails(t *testing.T) {
	e := setupKinds(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "x", Duration: 3 * time.Hour})
	require.NoError(t, err)
	_, err = e.engine.Approve(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	e.clock.Advance(90 * time.Minute)
	n, err := e.engine.WarnExpiring(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e.drain()
	e.clock.Advance(2 * time.Hour)
	_, err = e.engine.ExpireGrants(e.ctx)
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{
		"[accessbot] T-1: your request for VPN was approved",
		"[accessbot] your access ends soon",
		"[accessbot] your access has expired",
	}, e.subjects(t, alice))
}

// A restarted task assigns its first step again, so the approver is emailed
// again; a denial after the restart is told again too.
func TestRestartEmailsAgain(t *testing.T) {
	e := setupKinds(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.Deny(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob, Comment: "no"})
	require.NoError(t, err)
	e.drain()
	e.clock.Advance(time.Minute)
	_, err = e.engine.Restart(e.ctx, workflow.AdminInput{TaskID: task.ID, Actor: "carol@example.com", Reason: "try again"})
	require.NoError(t, err)
	e.drain()
	e.clock.Advance(time.Minute)
	_, err = e.engine.Deny(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob, Comment: "still no"})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{"[accessbot] T-1: approve alice's access to VPN", "[accessbot] T-1: approve alice's access to VPN"}, e.subjects(t, bob))
	require.Equal(t, []string{"[accessbot] T-1: your request for VPN was denied", "[accessbot] T-1: your request for VPN was denied"}, e.subjects(t, alice))
}

func TestFallbackRequesterHearsTheOutcome(t *testing.T) {
	e := setupKinds(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: "ghost@example.com", AppID: "vpn", Justification: "x"})
	require.NoError(t, err)
	e.drain()
	_, err = e.engine.NotifiedByEmail(e.ctx, task.ID, "ghost@example.com", "ghost is not in Slack")
	require.NoError(t, err)
	e.drain()
	require.Empty(t, e.subjects(t, "ghost@example.com"), "nothing to tell yet")
	_, err = e.engine.Approve(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	require.Equal(t, []string{"[accessbot] T-1: your request for VPN was approved"}, e.subjects(t, "ghost@example.com"))
}
