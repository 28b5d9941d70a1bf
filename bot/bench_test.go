package bot_test

import (
	"sort"
	"sync"
	"testing"
	"time"

	"accessbot/blocks"
	"accessbot/fakeslack"
	"accessbot/workflow"
)

// BenchmarkAckLatency pushes b.N clicks (16 people clicking at once) on a
// card through the fake Slack's WebSocket and reports how long the bot took
// to ack them: p50 and p99 in milliseconds. The clicks are stale (the task
// moved on), so each one also reaches the engine and answers with an
// ephemeral message, as a double click would.
func BenchmarkAckLatency(b *testing.B) {
	h := setup(b)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.click("mgr", card, "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })

	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	work := make(chan struct{})
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchClickers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				// What a double click on the card as it was sends: its
				// buttons are gone by now, so the payload is built here.
				id, err := h.slack.Push("interactive", map[string]any{
					"type": "block_actions", "user": map[string]any{"id": h.ids["mgr"]}, "trigger_id": "t",
					"container": map[string]any{"type": "message", "channel_id": card.Channel, "message_ts": card.TS},
					"channel":   map[string]any{"id": card.Channel},
					"actions":   []any{map[string]any{"action_id": "approve", "block_id": "b", "type": "button", "value": blocks.EncodeRef(task.ID, task.Revision)}},
				})
				if err == nil {
					var ack fakeslack.Ack
					if ack, err = h.slack.WaitAck(h.ctx, id); err == nil {
						mu.Lock()
						lat = append(lat, ack.Latency)
						mu.Unlock()
					}
				}
				if err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	acked := time.Since(start)
	// Every click is answered (an ephemeral "already approved").
	h.eventually("every click answered", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) >= len(lat) })
	b.StopTimer()
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "all-answered-ms")
	b.ReportMetric(float64(acked.Milliseconds()), "all-acked-ms")
	if len(lat) == 0 {
		b.Fatal("no acks")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "ack-p50-ms")
	b.ReportMetric(pct(0.99), "ack-p99-ms")
}

var benchClickers = 16

// BenchmarkAckBurst sends 1,000 clicks at once (b.N bursts of them; run
// it with -benchtime 1x) and
// reports the ack latency of the durable path: each envelope is stored in
// the inbox (group commit) before its ack. p99 must stay under 50 ms.
func BenchmarkAckBurst(b *testing.B) {
	const burst = 1000
	h := setup(b)
	task := h.request("alice", "github")
	card := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	h.click("mgr", card, "approve")
	h.eventually("approved", func() bool { return h.task(task.ID).Step == 1 })
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": h.ids["mgr"]}, "trigger_id": "t",
		"container": map[string]any{"type": "message", "channel_id": card.Channel, "message_ts": card.TS},
		"channel":   map[string]any{"id": card.Channel},
		"actions":   []any{map[string]any{"action_id": "approve", "block_id": "b", "type": "button", "value": blocks.EncodeRef(task.ID, task.Revision)}},
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		ids := make([]string, 0, burst)
		for range burst {
			id, err := h.slack.Push("interactive", payload)
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			ack, err := h.slack.WaitAck(h.ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, ack.Latency)
		}
		// Every click is answered (an ephemeral "already approved") before
		// the next burst, so bursts do not pile up.
		h.eventually("every click answered", func() bool { return len(h.slack.Ephemerals(h.ids["mgr"])) >= len(lat) })
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "ack-p50-ms")
	b.ReportMetric(pct(0.99), "ack-p99-ms")
	b.ReportMetric(pct(1), "ack-max-ms")
}
