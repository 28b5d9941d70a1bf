package bot_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// cardsConfig: sec1 alone reviews each of n resources of vpn, so every
// approval moves two cards (sec1's and alice's status card) and nothing
// else.
func cardsConfig(n int) string {
	var sb strings.Builder
	sb.WriteString(`
people:
  - email: alice@example.com
  - email: sec1@example.com
policies:
  one:
    steps:
      - type: review
        approvers: [sec1@example.com]
apps:
  - id: vpn
    provisioning: none
    request_policy: one
    revocation_policy: one
    default_duration: 1w
    resources:
`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "      - id: r%03d\n", i)
	}
	return sb.String()
}

const (
	benchCardTasks = 1000
	// benchRateScale speeds Slack's tiers up (chat.update: 50/min becomes
	// 50*scale/min) on both sides, the fake's limits and the bot's.
	benchRateScale = 200
)

// BenchmarkCardUpdates pushes 1,000 Approve clicks (16 at a time, through
// the fake Slack's WebSocket) on 1,000 tasks and measures the time until
// every card of every task shows the outcome, against the least time the
// fake Slack's rate limits allow for the chat.update calls that took
// (ratio: target at most 1.2). Run it once per figure:
//
//	go test -run XXX -bench BenchmarkCardUpdates -benchtime 1x ./bot
func BenchmarkCardUpdates(b *testing.B) {
	for range b.N {
		benchCardUpdates(b)
	}
}

func benchCardUpdates(b *testing.B) {
	b.StopTimer()
	h := setupWith(b, harnessOptions{config: cardsConfig(benchCardTasks), timeout: 5 * time.Minute, rateScale: benchRateScale})
	tasks, cards := h.manyRequests(benchCardTasks)
	h.slack.EnableRateLimits(benchRateScale)
	before := h.slack.Count("chat.update", "ok")

	b.StartTimer()
	start := time.Now()
	work := make(chan workflow.Card)
	var wg sync.WaitGroup
	for range benchClickers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if _, err := h.slack.Click(h.ctx, h.ids["sec1"], c.Channel, c.TS, "approve"); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, c := range cards {
		work <- c
	}
	close(work)
	wg.Wait()
	clicked := time.Since(start)
	h.eventually("every card updated", func() bool {
		depth, _, err := h.db.OutboxStats(h.ctx)
		require.NoError(b, err)
		return depth == 0 && h.slack.Count("chat.update", "ok")-before >= 2*benchCardTasks
	})
	took := time.Since(start)
	b.StopTimer()

	for _, task := range tasks[:10] {
		require.Equal(b, workflow.StatusDone, h.task(task.ID).Status)
	}
	updates := h.slack.Count("chat.update", "ok") - before
	floor := h.slack.MinDuration(map[string]int{"chat.update": updates})
	b.ReportMetric(float64(clicked.Milliseconds()), "clicked-ms")
	b.ReportMetric(float64(took.Milliseconds()), "all-updated-ms")
	b.ReportMetric(float64(floor.Milliseconds()), "rate-floor-ms")
	b.ReportMetric(took.Seconds()/floor.Seconds(), "ratio")
	b.ReportMetric(float64(updates), "updates")
	b.ReportMetric(float64(h.slack.Count("chat.update", "rate_limited")), "429s")
	h.stopBot()
}

// manyRequests has alice request n resources of cardsConfig's vpn and
// returns the tasks and sec1's cards, once every card is posted.
func (h *harness) manyRequests(n int) ([]*workflow.Task, []workflow.Card) {
	h.t.Helper()
	tasks := h.requestResources("vpn", n)
	h.drained()
	cards := make([]workflow.Card, n)
	for i, task := range tasks {
		cs, err := h.db.Cards(h.ctx, task.ID)
		require.NoError(h.t, err)
		for _, c := range cs {
			if c.Role == workflow.CardAssignee {
				cards[i] = c
			}
		}
		require.NotEmpty(h.t, cards[i].TS, "T-%d has sec1's card", task.ID)
	}
	return tasks, cards
}
