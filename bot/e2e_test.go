package bot_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/fakeslack"
	"accessbot/store"
	"accessbot/workflow"
)

// testConfig: alice asks; mgr is her manager and may hand the review only to
// the security group; sec1 and sec2 review "vpn" (any one of them); prov
// provisions github, whose cards also go to the #access-github channel.
// carol's manager, ghost, is not in Slack.
const testConfig = `
admins: [admin@example.com]
people:
  - email: alice@example.com
    manager: mgr@example.com
  - email: carol@example.com
    manager: ghost@example.com
  - email: mgr@example.com
  - email: ghost@example.com
  - email: sec1@example.com
  - email: sec2@example.com
  - email: prov@example.com
  - email: eve@example.com
  - email: admin@example.com
groups:
  security: [sec1@example.com, sec2@example.com]
  sre: [prov@example.com]
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
        reassign: [group:security]
  pair:
    steps:
      - type: review
        approvers: [group:security]
  revoke:
    steps:
      - type: review
        approvers: [group:security]
      - type: deprovision
apps:
  - id: github
    provisioners: [group:sre]
    channel: C0ACCESS01
    instructions: Add them in GitHub.
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    max_duration: 4w
  - id: vpn
    provisioning: none
    owners: [group:security]
    request_policy: pair
    revocation_policy: revoke
    default_duration: 1w
`

// harness is a running bot against the fake Slack.
type harness struct {
	t        testing.TB
	ctx      context.Context
	slack    *fakeslack.Server
	db       *store.DB
	engine   *workflow.Engine
	ids      map[string]string // short name -> Slack user id
	logLevel zerolog.Level
	// rateScale multiplies the bot's client-side rate limits.
	rateScale float64
	// stopBot stops the running bot and waits for it to return.
	stopBot func()
	// reload is the bot's Config.Reload (set before startBot).
	reload bot.ReloadFunc
	// logs holds the bot's log lines, for tests that check what it logs.
	logs lockedBuffer
	// wrapStore wraps the bot's Store (harnessOptions.wrapStore).
	wrapStore func(*store.DB) bot.Store
	leaseTTL  time.Duration // the bot's; 0 is its default
}

// lockedBuffer is a bytes.Buffer the bot may write while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log's lines, decoded.
func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

func email(name string) string { return name + "@example.com" }

func setup(t testing.TB) *harness {
	t.Helper()
	return setupWith(t, harnessOptions{})
}

// setupConfig is setup with another configuration (same people and
// channel) and a time limit for the whole test.
func setupConfig(t testing.TB, yaml string, limit time.Duration) *harness {
	t.Helper()
	return setupWith(t, harnessOptions{config: yaml, timeout: limit})
}

// harnessOptions vary the harness; zero values give setup's defaults.
type harnessOptions struct {
	config    string           // default testConfig
	timeout   time.Duration    // default 45 s
	rateScale float64          // the bot's client-side limits; default 100
	clock     func() time.Time // the engine's and the store's; default the wall clock
	slack     fakeslack.Options
	users     []fakeslack.User // Slack users beside setup's people, named by Name in ids
	trace     bool             // log at trace level (default info; error in benchmarks)
	// wrapStore, when set, gives the bot a Store around the harness's
	// database (to inject storage faults).
	wrapStore func(*store.DB) bot.Store
	leaseTTL  time.Duration // the bot's LeaseTTL; default the bot's own
}

func setupWith(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	if o.config == "" {
		o.config = testConfig
	}
	if o.timeout == 0 {
		o.timeout = 45 * time.Second
	}
	if o.rateScale == 0 {
		o.rateScale = 100
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "accessbot.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(o.config), 0o600))
	cat, err := config.Load(cfgPath)
	require.NoError(t, err)

	srv, err := fakeslack.New(o.slack)
	require.NoError(t, err)
	srv.AddChannel("C0ACCESS01", "access-github", true)
	h := &harness{t: t, ctx: ctx, slack: srv, ids: map[string]string{}, stopBot: func() {}, logLevel: zerolog.InfoLevel, rateScale: o.rateScale, wrapStore: o.wrapStore, leaseTTL: o.leaseTTL}
	if _, ok := t.(*testing.B); ok {
		h.logLevel = zerolog.ErrorLevel
	}
	if o.trace {
		h.logLevel = zerolog.TraceLevel
	}
	for i, name := range []string{"alice", "carol", "mgr", "sec1", "sec2", "prov", "eve", "admin"} {
		u := srv.AddUser(fakeslack.User{ID: "U0000000" + string(rune('A'+i)), Name: name, Email: email(name)})
		h.ids[name] = u.ID
	}
	for _, u := range o.users {
		h.ids[u.Name] = srv.AddUser(u).ID
	}

	h.db, err = store.Open(ctx, filepath.Join(dir, "accessbot.db"), o.clock)
	require.NoError(t, err)
	h.engine = workflow.NewEngine(h.db, cat, o.clock)
	t.Cleanup(func() {
		h.stopBot()
		srv.Close()
		h.db.Close()
		cancel()
	})
	h.startBot()
	return h
}

// startBot runs a bot on the harness's store and waits for its connection.
func (h *harness) startBot() {
	t := h.t
	t.Helper()
	connects := h.slack.ConnectCount()
	var st bot.Store = h.db
	if h.wrapStore != nil {
		st = h.wrapStore(h.db)
	}
	b, err := bot.New(bot.Config{
		BotToken: h.slack.BotToken(), AppToken: h.slack.AppToken(), APIURL: h.slack.APIURL(),
		Engine: h.engine, Store: st,
		Log:     zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t), &h.logs)).Level(h.logLevel),
		Reload:  h.reload,
		Workers: 4, Poll: 20 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		RateScale: h.rateScale, LeaseTTL: h.leaseTTL,
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx) }()
	h.stopBot = func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("bot did not stop within 10 s")
		}
		h.stopBot = func() {}
	}
	h.eventually("the bot's connection", func() bool {
		return h.slack.ConnectCount() > connects && h.slack.Connections() == 1
	})
}

// eventually waits until cond holds, re-checking on every change in the fake
// Slack and every 10 ms (store changes do not show in the fake).
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		case <-h.slack.Changed():
		case <-tick.C:
		}
	}
}

func (h *harness) request(name, app string) *workflow.Task {
	h.t.Helper()
	task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email(name), AppID: app, Justification: "on call this week"})
	require.NoError(h.t, err)
	return task
}

func (h *harness) task(id int64) *workflow.Task {
	h.t.Helper()
	task, err := h.engine.Task(h.ctx, id)
	require.NoError(h.t, err)
	return task
}

// card waits for the card of role for name ("" for a channel card) on step
// and returns its message as Slack shows it.
func (h *harness) card(id int64, role workflow.CardRole, name string, step int) fakeslack.Message {
	h.t.Helper()
	var msg fakeslack.Message
	h.eventually("the "+string(role)+" card of "+name, func() bool {
		cards, err := h.db.Cards(h.ctx, id)
		require.NoError(h.t, err)
		for _, c := range cards {
			if c.Role == role && (name == "" || c.Email == email(name)) && c.Step == step {
				var ok bool
				msg, ok = h.slack.Message(c.Channel, c.TS)
				return ok
			}
		}
		return false
	})
	return msg
}

// settled waits until every card of the task shows its current revision.
func (h *harness) settled(id int64) []workflow.Card {
	h.t.Helper()
	var cards []workflow.Card
	h.eventually("every card up to date", func() bool {
		// The outbox first: once it is empty, the cards are all written.
		depth, _, err := h.db.OutboxStats(h.ctx)
		require.NoError(h.t, err)
		if depth > 0 {
			return false
		}
		task := h.task(id)
		cards, err = h.db.Cards(h.ctx, id)
		require.NoError(h.t, err)
		for _, c := range cards {
			if c.Revision != task.Revision {
				return false
			}
		}
		return true
	})
	return cards
}

func (h *harness) msg(c workflow.Card) fakeslack.Message {
	m, ok := h.slack.Message(c.Channel, c.TS)
	require.True(h.t, ok, "message of card %+v", c)
	return m
}

func (h *harness) click(name string, m fakeslack.Message, action string) fakeslack.Delivery {
	h.t.Helper()
	d, err := h.slack.Click(h.ctx, h.ids[name], m.Channel, m.TS, action)
	require.NoError(h.t, err)
	return d
}

func (h *harness) ephemeralText(name string) string {
	var texts []string
	for _, m := range h.slack.Ephemerals(h.ids[name]) {
		texts = append(texts, m.Text)
	}
	return strings.Join(texts, "\n")
}

// decisions returns the action ids on a card other than the task number's
// Details button, which stays on finished cards.
func decisions(m fakeslack.Message) []string {
	var ids []string
	for _, a := range m.Actions() {
		if a.ActionID != "details" {
			ids = append(ids, a.ActionID)
		}
	}
	return ids
}

func countActions(h *harness, cards []workflow.Card) int {
	n := 0
	for _, c := range cards {
		n += len(decisions(h.msg(c)))
	}
	return n
}

func TestGrantPathEndToEnd(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")

	mgrCard := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	_, ok := mgrCard.FindAction("approve")
	require.True(t, ok, "mgr's card has Approve: %s", mgrCard.AllText())
	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	assert.Empty(t, decisions(status), "the requester's status card has no decision buttons")

	h.click("mgr", mgrCard, "approve")
	provCard := h.card(task.ID, workflow.CardAssignee, "prov", 1)
	chanCard := h.card(task.ID, workflow.CardChannel, "", 1)
	assert.Equal(t, "C0ACCESS01", chanCard.Channel)
	assert.Contains(t, provCard.AllText(), "Add them in GitHub.", "provisioning cards carry the instructions")

	h.click("prov", provCard, "provisioned")
	h.eventually("task done", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
	cards := h.settled(task.ID)
	assert.Len(t, cards, 4, "requester, mgr, prov and channel: one card each")
	assert.Zero(t, countActions(h, cards), "every card lost its buttons")
	for _, c := range cards {
		assert.True(t, c.Final, "card %s/%s is final", c.Role, c.Email)
		assert.Positive(t, h.msg(c).Edits, "card %s/%s was updated in place", c.Role, c.Email)
	}
	assert.Equal(t, 4, h.slack.Count("chat.postMessage", "ok"), "nothing was posted twice")
	assert.Empty(t, h.ephemeralText("mgr")+h.ephemeralText("prov"))
	t.Logf("requester's card at the end: %s", h.msg(cards[0]).AllText())
}

func TestDenyEndsTheTask(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "deny")
	h.eventually("task denied", func() bool { return h.task(task.ID).Status == workflow.StatusDenied })
	cards := h.settled(task.ID)
	assert.Len(t, cards, 2, "no provisioning card after a deny")
	assert.Zero(t, countActions(h, cards))
}

func TestClickByNonAssigneeIsRefused(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	chanCard := h.card(task.ID, workflow.CardChannel, "", 1)
	h.settled(task.ID)
	before := h.task(task.ID)

	h.click("eve", chanCard, "provisioned")
	h.eventually("eve's refusal", func() bool { return len(h.slack.Ephemerals(h.ids["eve"])) == 1 })
	assert.Contains(t, h.ephemeralText("eve"), "not assigned")
	h.click("alice", chanCard, "provisioned")
	h.eventually("alice's refusal", func() bool { return len(h.slack.Ephemerals(h.ids["alice"])) == 1 })
	assert.Contains(t, h.ephemeralText("alice"), "your own request")

	after := h.task(task.ID)
	assert.Equal(t, before.Revision, after.Revision)
	assert.Equal(t, before.Version, after.Version, "nothing changed")
}

func TestTwoApproversAtOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "vpn")
	c1 := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	c2 := h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	h.settled(task.ID)
	// Hold card updates so both people still see buttons, then click together.
	h.slack.FailNext("chat.update", 1000, fakeslack.FailStatus(503))
	var wg sync.WaitGroup
	for name, c := range map[string]fakeslack.Message{"sec1": c1, "sec2": c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.slack.Click(h.ctx, h.ids[name], c.Channel, c.TS, "approve")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	h.eventually("one refusal", func() bool {
		return len(h.slack.Ephemerals(h.ids["sec1"]))+len(h.slack.Ephemerals(h.ids["sec2"])) == 1
	})
	got := h.task(task.ID)
	assert.Equal(t, workflow.StatusDone, got.Status)
	assert.Contains(t, h.ephemeralText("sec1")+h.ephemeralText("sec2"), "already approved by")
	_, evs, err := h.engine.TaskFor(h.ctx, email("admin"), task.ID)
	require.NoError(t, err)
	approvals := 0
	for _, ev := range evs {
		if ev.Action == workflow.ActApproved {
			approvals++
		}
	}
	assert.Equal(t, 1, approvals, "exactly one transition")

	h.slack.ClearFailures()
	cards := h.settled(task.ID)
	assert.Zero(t, countActions(h, cards))
}

func TestDuplicateEnvelopeDoesNothingTwice(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	d := h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
	h.settled(task.ID)
	posts := h.slack.Count("chat.postMessage", "ok")

	require.NoError(t, h.slack.Redeliver(d.EnvelopeID))
	h.eventually("second ack", func() bool { return len(h.slack.AcksFor(d.EnvelopeID)) == 2 })
	// A second Decide would answer "You already approved"; give the worker
	// the time of another full round trip by clicking something harmless.
	h.click("eve", h.card(task.ID, workflow.CardChannel, "", 1), "provisioned")
	h.eventually("eve's refusal", func() bool { return len(h.slack.Ephemerals(h.ids["eve"])) == 1 })
	assert.Empty(t, h.slack.Ephemerals(h.ids["mgr"]), "the duplicate was not handled again")
	h.settled(task.ID)
	assert.Equal(t, posts, h.slack.Count("chat.postMessage", "ok"))
}

func TestReassignViaModal(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.click("mgr", card, "reassign")
	var view fakeslack.View
	h.eventually("the reassign modal", func() bool {
		var ok bool
		view, ok = h.slack.TopModal(h.ids["mgr"])
		return ok
	})

	sub, err := h.slack.Submit(h.ctx, h.ids["mgr"], view.ID, fakeslack.Inputs{
		"reassign_to": {h.ids["eve"]}, "reason": {"I am away"}})
	require.NoError(t, err)
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Contains(t, sub.Errors["reassign_to"], "can only be reassigned to")
	assert.Equal(t, []string{email("mgr")}, h.task(task.ID).PendingAssignees(), "nothing changed")

	sub, err = h.slack.Submit(h.ctx, h.ids["mgr"], view.ID, fakeslack.Inputs{
		"reassign_to": {h.ids["sec1"]}, "reason": {"I am away"}})
	require.NoError(t, err)
	assert.Empty(t, sub.ResponseAction, "the modal closes")
	assert.Equal(t, []string{email("sec1")}, h.task(task.ID).PendingAssignees())
	secCard := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	cards := h.settled(task.ID)
	_, ok := secCard.FindAction("approve")
	assert.True(t, ok)
	for _, c := range cards {
		if c.Email == email("mgr") {
			assert.Empty(t, decisions(h.msg(c)), "mgr's card lost its buttons")
		}
	}
}

func TestSlackOutageDelaysCardsNeverLosesThem(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.settled(task.ID)

	h.slack.SetDown(true)
	h.click("mgr", card, "approve")
	h.eventually("decision committed", func() bool { return h.task(task.ID).Step == 1 })
	h.eventually("a few failed deliveries", func() bool { return h.slack.Count("chat.update", "down") >= 3 })
	h.slack.SetDown(false)

	h.card(task.ID, workflow.CardAssignee, "prov", 1)
	cards := h.settled(task.ID)
	assert.Len(t, cards, 4)
	assert.Equal(t, 4, h.slack.Count("chat.postMessage", "ok"), "every card exactly once")
}

func TestAssigneeMissingInSlackStopsTheTask(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("carol", "github")
	h.eventually("task in error", func() bool { return h.task(task.ID).Status == workflow.StatusError })
	assert.Contains(t, h.task(task.ID).ErrorReason, "ghost@example.com")
	h.settled(task.ID)
}

func TestMalformedEnvelopeIsAcked(t *testing.T) {
	t.Parallel()
	h := setup(t)
	id, err := h.slack.PushRaw([]byte(`{"envelope_id":"bad-1","type":"interactive","payload":"not an object","accepts_response_payload":true}`))
	require.NoError(t, err)
	_, err = h.slack.WaitAck(h.ctx, id)
	require.NoError(t, err)
}

func TestDuplicateEnvelopeAfterRestart(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	d := h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
	h.settled(task.ID)

	h.stopBot()
	h.startBot()
	require.NoError(t, h.slack.Redeliver(d.EnvelopeID))
	h.eventually("the redelivery acked", func() bool { return len(h.slack.AcksFor(d.EnvelopeID)) == 2 })
	h.click("eve", h.card(task.ID, workflow.CardChannel, "", 1), "provisioned")
	h.eventually("eve's refusal", func() bool { return len(h.slack.Ephemerals(h.ids["eve"])) == 1 })
	assert.Empty(t, h.slack.Ephemerals(h.ids["mgr"]), "the restarted bot remembers the envelope")
}
