package bot_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/connectors"
	"accessbot/connectors/fakegithub"
	"accessbot/workflow"
)

// connectorConfig: gh is provisioned by the github connector (team
// acme-admins for resource admins; resource ghost maps to a team GitHub
// does not have); prov is the fallback provisioner.
const connectorConfig = `
admins: [admin@example.com]
people:
  - email: alice@example.com
    manager: mgr@example.com
    accounts: {github: alice-gh}
  - email: mgr@example.com
  - email: sec1@example.com
  - email: sec2@example.com
  - email: prov@example.com
  - email: eve@example.com
  - email: admin@example.com
groups:
  security: [sec1@example.com, sec2@example.com]
  sre: [prov@example.com]
connectors:
  github:
    type: github
    org: acme
    token_env: GITHUB_TOKEN
    base_url: BASE_URL
    teams: {admins: acme-admins, ghost: acme-ghost}
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  revoke:
    steps:
      - type: review
        approvers: [group:security]
apps:
  - id: gh
    name: GitHub
    provisioning: automatic
    connector: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: admins
      - id: ghost
`

// offsetClock is the wall clock moved on by hand (backoffs still pass).
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *offsetClock) Advance(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

type connectorHarness struct {
	*harness
	gh    *fakegithub.Server
	clock *offsetClock
}

// setupConnector runs the bot with a github connector against a fake
// GitHub and the connector job runner.
func setupConnector(t *testing.T) *connectorHarness {
	gh := fakegithub.New("acme", "ghp_e2e")
	t.Cleanup(gh.Close)
	gh.AddTeam("acme-admins")
	clock := &offsetClock{}
	h := setupWith(t, harnessOptions{config: strings.Replace(connectorConfig, "BASE_URL", gh.BaseURL(), 1), clock: clock.Now})
	conn, err := connectors.NewGitHub(connectors.GitHubOptions{Name: "github", Org: "acme", Token: "ghp_e2e", BaseURL: gh.BaseURL(),
		Teams: map[string]string{"admins": "acme-admins", "ghost": "acme-ghost"}})
	require.NoError(t, err)
	r := &connectors.Runner{Engine: h.engine, Queue: h.db, Connectors: map[string]workflow.Connector{"github": conn},
		Poll: 20 * time.Millisecond, Retry: workflow.RetryPolicy{MaxAttempts: 4, Base: time.Millisecond, Cap: 10 * time.Millisecond},
		Log: zerolog.New(zerolog.NewTestWriter(t))}
	h.engine.OnJobs(r.Kick)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &connectorHarness{harness: h, gh: gh, clock: clock}
}

func (h *connectorHarness) requestRes(res string) *workflow.Task {
	h.t.Helper()
	task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: "gh", ResourceID: res, Justification: "on call"})
	require.NoError(h.t, err)
	return task
}

func (h *connectorHarness) waitStatus(id int64, s workflow.Status) *workflow.Task {
	h.t.Helper()
	var t *workflow.Task
	h.eventually("task "+string(s), func() bool { t = h.task(id); return t.Status == s })
	return t
}

func TestConnectorGrantsOnceAndRemovesAtExpiry(t *testing.T) {
	h := setupConnector(t)
	task := h.requestRes("admins")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	assert.Contains(t, card.AllText(), "alice-gh", "the reviewer sees the account")
	d := h.click("mgr", card, "approve")
	require.NoError(t, h.slack.Redeliver(d.EnvelopeID)) // Slack sends the click again
	h.click("mgr", card, "approve")                     // and the reviewer clicks twice

	h.waitStatus(task.ID, workflow.StatusDone)
	cards := h.settled(task.ID)
	assert.True(t, h.gh.IsMember("acme-admins", "alice-gh"))
	assert.Equal(t, 1, h.gh.Adds("acme-admins", "alice-gh"), "membership added exactly once")
	puts := 0
	for _, c := range h.gh.Calls() {
		if strings.HasPrefix(c, "PUT ") {
			puts++
		}
	}
	assert.Equal(t, 1, puts, "one call to GitHub")
	seen := 0
	for _, c := range cards {
		if c.Role == workflow.CardRequester || c.Email == email("mgr") {
			assert.Contains(t, h.msg(c).AllText(), "Granted in GitHub by the github connector at", "%s's card", c.Email)
			seen++
		}
	}
	assert.Equal(t, 2, seen, "the requester's and the reviewer's cards")

	// Expiry removes the membership through the connector, and the holder is told.
	h.clock.Advance(8 * 24 * time.Hour)
	n, err := h.engine.ExpireGrants(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	h.eventually("membership removed", func() bool { return !h.gh.IsMember("acme-admins", "alice-gh") })
	revokes, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke})
	require.NoError(t, err)
	require.Len(t, revokes, 1)
	h.waitStatus(revokes[0].ID, workflow.StatusDone)
	h.eventually("the holder told", func() bool {
		for _, m := range h.slack.DMs(h.ids["alice"]) {
			if strings.Contains(m.Text, "has expired") {
				return true
			}
		}
		return false
	})
}

func TestConnectorServerErrorsThenOneGrant(t *testing.T) {
	h := setupConnector(t)
	h.gh.FailNext(http.StatusInternalServerError, http.StatusBadGateway)
	task := h.requestRes("admins")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.waitStatus(task.ID, workflow.StatusDone)
	assert.Equal(t, 1, h.gh.Adds("acme-admins", "alice-gh"))
	jobs, err := h.db.Jobs(h.ctx, task.ID)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, 3, jobs[0].Attempts)
	var retries int
	evs := auditOf(t, h.harness, task.ID)
	for _, e := range evs {
		if e.Action == workflow.ActConnectorRetry {
			retries++
			assert.Contains(t, e.Details["error"], "GitHub answered 5")
		}
	}
	assert.Equal(t, 2, retries, "every attempt is on the chain")
}

func TestConnectorMissingTeamFallsBackToPeopleWithRetry(t *testing.T) {
	h := setupConnector(t)
	task := h.requestRes("ghost")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	var step int
	h.eventually("the step handed to prov", func() bool {
		t := h.task(task.ID)
		step = t.Step
		return len(t.PendingAssignees()) == 1 && t.PendingAssignees()[0] == email("prov")
	})
	card := h.card(task.ID, workflow.CardAssignee, "prov", step)
	assert.Contains(t, card.AllText(), "GitHub has no team acme/acme-ghost")
	_, ok := card.FindAction("connector_retry")
	require.True(t, ok, "the card has Retry")

	h.gh.AddTeam("acme-ghost") // someone fixes GitHub, then presses Retry
	h.settled(task.ID)
	card = h.card(task.ID, workflow.CardAssignee, "prov", step)
	h.click("prov", card, "connector_retry")
	h.waitStatus(task.ID, workflow.StatusDone)
	assert.True(t, h.gh.IsMember("acme-ghost", "alice-gh"))
}

func TestConnectorRevocationConfirmRemoves(t *testing.T) {
	h := setupConnector(t)
	task := h.requestRes("admins")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.waitStatus(task.ID, workflow.StatusDone)
	require.True(t, h.gh.IsMember("acme-admins", "alice-gh"))
	rv, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("admin"), Subject: email("alice"), AppID: "gh", ResourceID: "admins", Reason: "left the team"})
	require.NoError(t, err)
	h.click("sec1", h.card(rv.ID, workflow.CardAssignee, "sec1", 0), "confirm")
	h.waitStatus(rv.ID, workflow.StatusDone)
	assert.False(t, h.gh.IsMember("acme-admins", "alice-gh"))
}

func auditOf(t *testing.T, h *harness, id int64) []workflow.AuditEvent {
	var evs []workflow.AuditEvent
	require.NoError(t, h.db.View(h.ctx, func(tx workflow.ReadTx) (err error) {
		evs, err = tx.AuditEvents(id)
		return err
	}))
	return evs
}
