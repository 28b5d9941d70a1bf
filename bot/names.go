package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"accessbot/blocks"
	"accessbot/workflow"
)

// The engine names people by email; Slack shows them by mention. Cards and
// direct messages, delivered in the background, look up the people they
// name before they are drawn (cardNamer); answers to a click or a command
// use what the bot already knows (namer, mentionEmails). A card that still
// had to name someone by email is drawn again once the bot learns who that
// is (identityLearned).

// nameLookupTimeout bounds the look-up of one person named on a card, so a
// slow Slack delays a card by little: the card is then drawn with the email
// and drawn again once the person is known.
const nameLookupTimeout = 5 * time.Second

// notInSlackTTL is how long an email Slack has nobody for is not looked up
// again for a mention.
const notInSlackTTL = 10 * time.Minute

// unnamedCards remembers, per email, the tasks whose cards named that
// person by email because the bot did not know them in Slack. It lives in
// memory: after a restart a card drawn before it is redrawn by its task's
// next change only.
type unnamedCards struct {
	mu    sync.Mutex
	tasks map[string]map[int64]bool
	// gone remembers emails Slack has nobody for, until when.
	gone map[string]time.Time
}

// maxUnnamed bounds the memory, in people and in tasks a person: beyond
// it, some are forgotten (their cards then keep an email until their task
// next changes).
const maxUnnamed = 10000

func (u *unnamedCards) add(email string, taskID int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.tasks == nil {
		u.tasks = map[string]map[int64]bool{}
	}
	if len(u.tasks) >= maxUnnamed && u.tasks[email] == nil {
		for k := range u.tasks { // any one: a map has no order
			delete(u.tasks, k)
			break
		}
	}
	if u.tasks[email] == nil {
		u.tasks[email] = map[int64]bool{}
	}
	if len(u.tasks[email]) < maxUnnamed {
		u.tasks[email][taskID] = true
	}
}

// take returns and forgets the tasks that named email by email.
func (u *unnamedCards) take(email string) []int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := make([]int64, 0, len(u.tasks[email]))
	for id := range u.tasks[email] {
		ids = append(ids, id)
	}
	delete(u.tasks, email)
	return ids
}

func (u *unnamedCards) markGone(email string, until time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.gone == nil {
		u.gone = map[string]time.Time{}
	}
	if len(u.gone) >= maxUnnamed {
		u.gone = map[string]time.Time{}
	}
	u.gone[email] = until
}

func (u *unnamedCards) isGone(email string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return now.Before(u.gone[email])
}

// cardNamer names people on the cards of task taskID: a mention when the
// bot knows them, else it looks them up in Slack first; when that fails
// the email, and the task's cards are drawn again once the person is known.
// Someone Slack has no account for stays an email (and is not looked up
// again for notInSlackTTL).
func (p *directory) cardNamer(ctx context.Context, taskID int64) namer {
	seen := map[string]string{}
	return func(email string) string {
		if email == "" || email == workflow.SystemActor {
			return "accessbot"
		}
		email = strings.ToLower(strings.TrimSpace(email))
		if s, ok := seen[email]; ok {
			return s
		}
		s := email
		if id, failed := p.knownSlackID(ctx, email); id != "" {
			s = "<@" + id + ">"
		} else if failed && taskID != 0 {
			p.unnamed.add(email, taskID)
		}
		seen[email] = s
		return s
	}
}

// knownSlackID returns email's Slack id: the cache (however old: a
// mention of an old id still shows the person), else a look-up. "" when
// Slack has nobody with it, or cannot say now (failed).
func (p *directory) knownSlackID(ctx context.Context, email string) (id string, failed bool) {
	if id := p.cachedSlackID(ctx, email); id != "" {
		return id, false
	}
	if p.unnamed.isGone(email, time.Now()) {
		return "", false
	}
	lctx, cancel := context.WithTimeout(ctx, nameLookupTimeout)
	defer cancel()
	id, err := p.slackIDOf(lctx, email)
	switch {
	case errors.Is(err, errNotInSlack):
		p.unnamed.markGone(email, time.Now().Add(notInSlackTTL))
		return p.cachedSlackID(ctx, email), false // a deactivated account keeps its id
	case err != nil:
		p.logger(ctx).Debug().Err(err).Str("email", email).Msg("no mention: look-up failed")
		return "", true
	}
	return id, false
}

// identityLearned is called once the bot caches email's Slack identity:
// the cards that had to name that person by email are drawn again.
func (p *directory) identityLearned(ctx context.Context, email string) {
	ids := p.unnamed.take(email)
	if len(ids) == 0 {
		return
	}
	if err := p.redraw(ctx, ids); err != nil {
		p.logger(ctx).Warn().Err(err).Str("email", email).Msg("redraw cards that named a person by email")
		for _, id := range ids {
			p.unnamed.add(email, id) // the next look-up tries again
		}
		return
	}
}

// mentionEmails replaces the emails in a text the engine wrote by mentions
// where name knows the person (blocks.Mentions).
func mentionEmails(text string, name namer) string { return blocks.Mentions(name, text) }

// namer mentions people whose Slack id is cached and names the others by email.
func (p *directory) namer(ctx context.Context) namer {
	cache := map[string]string{}
	return func(email string) string {
		if email == "" || email == workflow.SystemActor {
			return "accessbot"
		}
		if s, ok := cache[email]; ok {
			return s
		}
		s := email
		if id := p.cachedSlackID(ctx, email); id != "" {
			s = "<@" + id + ">"
		}
		cache[email] = s
		return s
	}
}
