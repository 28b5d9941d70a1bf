package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"accessbot/blocks"
	"accessbot/config"
	"accessbot/store"
	"accessbot/workflow"
)

// BenchmarkHomeBuild builds the App Home of a person with 1,000 review
// tasks assigned (the first page of Assigned to me, with every tab's count
// and the delegation), from a real SQLite store: what the bot does before
// each views.publish. The target is under 50 ms.
//
//	go test ./bot -run '^$' -bench BenchmarkHomeBuild -benchtime 50x
func BenchmarkHomeBuild(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	var cfg strings.Builder
	cfg.WriteString("people:\n  - email: alice@example.com\n    manager: mgr@example.com\n  - email: mgr@example.com\n")
	cfg.WriteString("policies:\n  std:\n    steps:\n      - type: review\n        approvers: [manager]\n")
	cfg.WriteString("apps:\n  - id: bulk\n    provisioners: [mgr@example.com]\n    request_policy: std\n    revocation_policy: std\n    default_duration: 1w\n    resources:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "      - id: r%04d\n", i)
	}
	cat, err := config.Parse([]byte(cfg.String()))
	require.NoError(b, err)
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	engine := workflow.NewEngine(db, cat, nil)
	for i := range n {
		_, err := engine.Request(ctx, workflow.RequestInput{Requester: "alice@example.com", AppID: "bulk",
			ResourceID: fmt.Sprintf("r%04d", i), Justification: "benchmark"})
		require.NoError(b, err)
	}
	bot, err := New(Config{BotToken: "xoxb-bench", AppToken: "xapp-bench", Engine: engine, Store: db, Log: zerolog.Nop()})
	require.NoError(b, err)

	var worst time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		v, err := bot.out.buildHome(ctx, "mgr@example.com", blocks.HomeMeta{Tab: blocks.TabAssigned}, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		if got := len(v.Blocks.BlockSet); got > 100 {
			b.Fatalf("%d blocks", got)
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
