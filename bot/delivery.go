package bot

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"accessbot/workflow"
)

// delivery is the outbox worker: it brings Slack in line with the
// engine's notices (cards, digests, comment mirrors, reminders, direct
// messages) and keeps the App Homes that are open current.
type delivery struct {
	cfg    Config
	log    *zerolog.Logger // when ctx carries none
	engine *workflow.Engine
	store  Store
	slack  *client
	dir    *directory
	owner  string // lease owner id of this instance

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
