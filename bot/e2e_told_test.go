package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/workflow"
)

// grantGithub makes alice's github access active by clicks on the cards and
// returns the grant task once every card of it is drawn.
func (h *harness) grantGithub() *workflow.Task {
	h.t.Helper()
	task := h.request("alice", "github")
	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	h.click("prov", h.card(task.ID, workflow.CardAssignee, "prov", 1), "provisioned")
	h.eventually("access granted", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
	for _, c := range h.settled(task.ID) {
		require.Contains(h.t, h.msg(c).AllText(), "Access active until", "card %s/%s before the grant ends", c.Role, c.Email)
	}
	return h.task(task.ID)
}

// cardsSay waits until every card of the task holds want, and none holds
// notWant.
func (h *harness) cardsSay(id int64, want, notWant string) []workflow.Card {
	h.t.Helper()
	var cards []workflow.Card
	h.eventually("every card of T-? saying "+want, func() bool {
		var err error
		cards, err = h.db.Cards(h.ctx, id)
		require.NoError(h.t, err)
		for _, c := range cards {
			text := h.msg(c).AllText()
			if !strings.Contains(text, want) || (notWant != "" && strings.Contains(text, notWant)) {
				return false
			}
		}
		return len(cards) > 0
	})
	return cards
}

func (h *harness) dmTexts(name string) string {
	var texts []string
	for _, m := range h.slack.DMs(h.ids[name]) {
		texts = append(texts, m.AllText())
	}
	return strings.Join(texts, "\n")
}

// A confirmed and deprovisioned revocation tells the holder, and the cards
// of the task that granted the access stop saying it is active.
func TestRevocationTellsTheHolderAndTheGrantCards(t *testing.T) {
	t.Parallel()
	h := setup(t)
	grant := h.grantGithub()
	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("mgr"), Subject: email("alice"), AppID: "github", Reason: "left the team"})
	require.NoError(t, err)
	h.click("sec1", h.card(rev.ID, workflow.CardAssignee, "sec1", 0), "confirm")
	assert.NotContains(t, h.dmTexts("alice"), "was revoked", "not before the access is removed")
	h.click("prov", h.card(rev.ID, workflow.CardAssignee, "prov", 1), "deprovisioned")
	h.eventually("revocation done", func() bool { return h.task(rev.ID).Status == workflow.StatusDone })

	h.eventually("alice is told", func() bool { return strings.Contains(h.dmTexts("alice"), "Your access to github was revoked") })
	dm := h.dmTexts("alice")
	assert.Contains(t, dm, rev.Number()+", proposed by "+h.mention("mgr"), "the proposer by mention")
	assert.Contains(t, dm, "left the team")

	cards := h.cardsSay(grant.ID, "Access revoked by "+h.mention("mgr"), "Access active until")
	assert.Len(t, cards, 4, "requester, mgr, prov and the channel")
	for _, c := range cards {
		assert.Contains(t, h.msg(c).AllText(), ", "+rev.Number()+".", "card %s/%s names the revocation", c.Role, c.Email)
	}
	h.settled(grant.ID)
	h.settled(rev.ID)
}

// A revocation of access nobody removes by hand ends at its confirmation:
// the holder is told and the grant's cards say so too.
func TestRevocationWithoutDeprovisioningTellsTheHolder(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "vpn")
	h.click("sec2", h.card(task.ID, workflow.CardAssignee, "sec2", 0), "approve")
	h.eventually("access granted", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
	h.cardsSay(task.ID, "Access active until", "")

	rev, err := h.engine.ProposeRevocation(h.ctx, workflow.RevocationInput{Actor: email("sec1"), Subject: email("alice"), AppID: "vpn", Reason: "no longer needed"})
	require.NoError(t, err)
	h.click("sec2", h.card(rev.ID, workflow.CardAssignee, "sec2", 0), "confirm")
	h.eventually("revocation done", func() bool { return h.task(rev.ID).Status == workflow.StatusDone })
	h.eventually("alice is told", func() bool { return strings.Contains(h.dmTexts("alice"), "Your access to vpn was revoked") })
	h.cardsSay(task.ID, "Access revoked by "+h.mention("sec1"), "Access active until")
}

// At expiry the grant task's cards say the access expired (and which task
// removes it), not "Access active until" a time gone by.
func TestExpiryUpdatesTheGrantCards(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: monday}
	h := setupWith(t, harnessOptions{clock: clk.Now})
	grant := h.grantGithub()
	clk.Set(monday.Add(8 * 24 * time.Hour))
	n, err := h.engine.ExpireGrants(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	h.eventually("alice is told", func() bool { return strings.Contains(h.dmTexts("alice"), "Your access to github has expired") })
	removal, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke})
	require.NoError(t, err)
	require.Len(t, removal, 1)
	cards := h.cardsSay(grant.ID, "Access expired at", "Access active until")
	for _, c := range cards {
		assert.Contains(t, h.msg(c).AllText(), "its removal by hand is "+removal[0].Number())
	}
}

// During a 429, no caller calls the method again before its Retry-After
// has passed: not only the notice that got the 429 waits, every card
// update does. Every card still arrives.
func TestRetryAfterHoldsBackEveryCallerOfTheMethod(t *testing.T) {
	t.Parallel()
	h := setup(t)
	var tasks []*workflow.Task
	for _, name := range []string{"alice", "carol", "eve", "mgr"} {
		task := h.request(name, "vpn")
		h.card(task.ID, workflow.CardAssignee, "sec1", 0)
		tasks = append(tasks, task)
	}
	for _, task := range tasks {
		h.settled(task.ID)
	}
	const retryAfter = 4 * time.Second
	h.slack.FailNext("chat.update", 1, fakeslack.FailRateLimited(int(retryAfter/time.Second)))
	for _, task := range tasks {
		_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("sec1")})
		require.NoError(t, err)
	}
	for _, task := range tasks {
		for _, c := range h.settled(task.ID) {
			assert.Empty(t, decisions(h.msg(c)), "card %s/%s of T-%d is up to date", c.Role, c.Email, task.ID)
		}
	}

	var limitedAt time.Time
	var updates []time.Time
	for _, c := range h.slack.Calls() {
		if c.Method != "chat.update" {
			continue
		}
		if c.Result == "ratelimited" {
			limitedAt = c.At
			continue
		}
		updates = append(updates, c.At)
	}
	require.False(t, limitedAt.IsZero(), "the 429 was answered")
	// Deliveries run side by side, so a call that passed the limiter just
	// before the 429 came back can reach Slack a moment after it: the
	// client could not have held that one back. Anything later could.
	const inFlight = 100 * time.Millisecond
	early := 0
	for _, at := range updates {
		if at.After(limitedAt.Add(inFlight)) && at.Before(limitedAt.Add(retryAfter)) {
			early++
		}
	}
	assert.Zero(t, early, "chat.update calls before the Retry-After had passed")
	assert.GreaterOrEqual(t, len(updates), 3*len(tasks), "every card was updated")
}

// allConfig is testConfig with vpn's review needing both of security.
var allConfig = strings.Replace(testConfig, `  pair:
    steps:
      - type: review
        approvers: [group:security]`, `  pair:
    steps:
      - type: review
        mode: all
        approvers: [group:security]`, 1)

// In a step of mode all, one approval redraws the cards: the approver's
// card loses its buttons and says what the step still waits on, the
// requester's card and the other approver's card show the approval.
func TestAllStepApprovalRedrawsTheCards(t *testing.T) {
	t.Parallel()
	require.Contains(t, allConfig, "mode: all")
	h := setupConfig(t, allConfig, 45*time.Second)
	task := h.request("alice", "vpn")
	sec1 := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	h.settled(task.ID)

	h.click("sec1", sec1, "approve")
	h.eventually("sec1's approval", func() bool { return len(h.task(task.ID).PendingAssignees()) == 1 })
	cards := h.settled(task.ID)
	require.Len(t, cards, 3)
	for _, c := range cards {
		text := h.msg(c).AllText()
		switch {
		case c.Email == email("sec1"):
			assert.Empty(t, decisions(h.msg(c)), "sec1's card has no Approve / Deny left")
			assert.Contains(t, text, "You approved at")
			assert.Contains(t, text, "the step waits on "+h.mention("sec2"))
		case c.Email == email("sec2"):
			assert.Contains(t, decisions(h.msg(c)), "approve", "sec2 still decides")
			assert.Contains(t, text, h.mention("sec1")+" (approved)")
		case c.Role == workflow.CardRequester:
			assert.Contains(t, text, "Waiting on "+h.mention("sec2")+"*")
		}
	}
	assert.Empty(t, h.ephemeralText("sec1"))
}

// sec2's card drawn before sec1's approval still decides: the approval
// moved the revision, but not what sec2 approves.
func TestAllStepCardBeforeAnotherApprovalStillDecides(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, allConfig, 45*time.Second)
	task := h.request("alice", "vpn")
	sec1 := h.card(task.ID, workflow.CardAssignee, "sec1", 0)
	sec2 := h.card(task.ID, workflow.CardAssignee, "sec2", 0)
	h.settled(task.ID)
	h.slack.FailNext("chat.update", 1000, fakeslack.FailStatus(503)) // cards keep what they showed
	h.click("sec1", sec1, "approve")
	h.eventually("sec1's approval", func() bool { return len(h.task(task.ID).PendingAssignees()) == 1 })
	h.click("sec2", sec2, "approve")
	h.eventually("the step passed", func() bool { return h.task(task.ID).Status == workflow.StatusDone })
	assert.Empty(t, h.ephemeralText("sec2"), "no refusal")
	h.slack.ClearFailures()
	h.settled(task.ID)
}

// People are named by mention: on a card drawn before the bot looked them
// up, and in a refusal.
func TestPeopleAreNamedByMention(t *testing.T) {
	t.Parallel()
	h := setup(t)
	task := h.request("alice", "github")
	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	assert.Contains(t, status.AllText(), "Waiting on "+h.mention("mgr")+"*", "the requester's card, drawn before mgr's card was posted")
	assert.NotContains(t, status.AllText(), email("mgr"))

	h.click("mgr", h.card(task.ID, workflow.CardAssignee, "mgr", 0), "approve")
	chanCard := h.card(task.ID, workflow.CardChannel, "", 1)
	h.settled(task.ID)
	h.click("eve", chanCard, "provisioned")
	h.eventually("eve's refusal", func() bool { return len(h.slack.Ephemerals(h.ids["eve"])) == 1 })
	assert.Contains(t, h.ephemeralText("eve"), "it waits on "+h.mention("prov"))
	assert.NotContains(t, h.ephemeralText("eve"), email("prov"))
}

// A card drawn while Slack could not say who someone is names them by
// email; once the bot learns who it is, the card is drawn again.
func TestCardIsRedrawnOnceAPersonIsKnown(t *testing.T) {
	t.Parallel()
	h := setup(t)
	require.NoError(t, h.db.SaveChatUser(h.ctx, &workflow.ChatUser{Email: email("alice"), ChatID: h.ids["alice"], ResolvedAt: time.Now()}))
	// The first look-up is mgr's, for the requester's card; the next one,
	// for mgr's own card, succeeds.
	h.slack.FailNext("users.lookupByEmail", 1, fakeslack.FailError("internal_error"))
	task := h.request("alice", "github")
	h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.eventually("the requester's card mentions mgr", func() bool {
		cards, err := h.db.Cards(h.ctx, task.ID)
		require.NoError(t, err)
		for _, c := range cards {
			if c.Role == workflow.CardRequester {
				return strings.Contains(h.msg(c).AllText(), "Waiting on "+h.mention("mgr")+"*")
			}
		}
		return false
	})
	require.Equal(t, 1, h.slack.Count("users.lookupByEmail", "internal_error"), "the first drawing named mgr by email")
	for _, c := range h.settled(task.ID) {
		if c.Role == workflow.CardRequester {
			assert.Positive(t, h.msg(c).Edits, "drawn again in place")
		}
	}
}
