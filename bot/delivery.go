package bot

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// delivery is the outbox worker: it brings Slack in line with the
// engine's notices (cards posted once and then updated in place, digests,
// comment mirrors, reminders, direct messages; outbox.go, digest.go,
// mirror.go, email.go), redraws a clicked card at once (redraw.go) and
// keeps the App Homes that are open current (homerefresh.go). It reads
// the engine, draws with blocks, calls Slack through the client and keeps
// its own records (cards, digests, mirrors, the outbox lease) in the
// bot's Store; the handlers reach it as Bot.out.
type delivery struct {
	engine deliveryEngine
	store  Store
	slack  *client
	dir    *directory
	log    *zerolog.Logger // when ctx carries none
	owner  string          // lease owner id of this instance
	// botUserID is the bot's own Slack user (auth.test, before the loops
	// start): a card it posted before a restart is found by it.
	botUserID string

	poll                time.Duration // outbox read when nothing wakes it
	retryBase, retryMax time.Duration // bounds of the backoff
	leaseTTL            time.Duration // of a card or digest claimed to post
	maxAttempts         int           // failed deliveries that make a notice dead

	cards cardLocks // one card update at a time in this process
	// unsaved holds cards posted whose save failed, by claim id, so the
	// retry saves them instead of posting them again.
	unsaved sync.Map
	digests cardLocks // one redraw of a digest at a time in this process
	// unsavedDigests holds digests posted whose save failed, by claim id.
	unsavedDigests sync.Map

	wake chan struct{} // nudges the outbox worker
	home homes         // App Homes to refresh (homerefresh.go)
}

// deliveryEngine is what delivery needs of the engine: reads, and the two
// writes by which delivery records that Slack cannot reach someone
// (email.go). *workflow.Engine implements it.
type deliveryEngine interface {
	Now() time.Time
	Catalog() *workflow.Catalog
	Task(ctx context.Context, id int64) (*workflow.Task, error)
	Tasks(ctx context.Context, q workflow.TaskQuery) ([]*workflow.Task, error)
	CountTasks(ctx context.Context, qs ...workflow.TaskQuery) ([]workflow.TaskPage, error)
	DelegationOf(ctx context.Context, email string) (*workflow.Delegation, error)
	GrantOutcome(ctx context.Context, t *workflow.Task) (*workflow.GrantOutcome, error)
	Insights(ctx context.Context, t *workflow.Task, reviewer string) ([]workflow.Insight, error)

	NotifiedByEmail(ctx context.Context, id int64, email, reason string) (*workflow.Task, error)
	MarkError(ctx context.Context, id int64, reason string) (*workflow.Task, error)
}

// newDelivery takes cfg after New's defaults.
func newDelivery(cfg Config, log *zerolog.Logger, slack *client, dir *directory) *delivery {
	return &delivery{
		engine: cfg.Engine, store: cfg.Store, slack: slack, dir: dir, log: log, owner: cfg.Owner,
		poll: cfg.Poll, retryBase: cfg.RetryBase, retryMax: cfg.RetryMax,
		leaseTTL: cfg.LeaseTTL, maxAttempts: cfg.MaxAttempts,
		wake: make(chan struct{}, 1),
	}
}

// clickedMessage is the message a click came from, as delivery redraws it.
type clickedMessage struct {
	channel, ts string
	responseURL string        // "" when the click has none
	shown       []slack.Block // what the message showed (a digest that is not stored names its tasks there)
	log         *zerolog.Logger
}

func (w *delivery) logger(ctx context.Context) *zerolog.Logger { return ctxLogger(ctx, w.log) }

// now is the engine's clock, as Bot.now.
func (w *delivery) now() time.Time { return w.engine.Now() }

// kick wakes the outbox worker after a change.
func (w *delivery) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
