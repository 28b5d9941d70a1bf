package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// Store is what the bot needs from storage beside the engine.
// *store.DB implements it.
type Store interface {
	// ClaimNotices returns due notices (at most the oldest undelivered one
	// of each task) and leases them to owner, so replicas never deliver one
	// twice. NoticeDelivered, NoticeFailed and ReleaseNotice are guarded by
	// that lease: ECONFLICT when it was lost (nothing recorded).
	ClaimNotices(ctx context.Context, owner string, now time.Time, ttl time.Duration, limit int) ([]workflow.Notice, error)
	NoticeDelivered(ctx context.Context, id int64, owner string, now time.Time) error
	NoticeFailed(ctx context.Context, id int64, owner string, nextAt time.Time, errText string, maxAttempts int) (workflow.NoticeState, error)
	ReleaseNotice(ctx context.Context, id int64, owner string) error

	// StoreEnvelopes stores envelopes before their ack (one transaction,
	// leased to owner) and says which are new; it also marks done the
	// envelopes of handlers that finished without a recorded effect.
	StoreEnvelopes(ctx context.Context, owner string, until time.Time, envs []workflow.Envelope, done []string, now time.Time) ([]bool, error)
	// ClaimEnvelopes leases the stored envelopes nobody holds and that are
	// not done (their process died), to finish them.
	ClaimEnvelopes(ctx context.Context, owner string, now, until time.Time, limit int) ([]workflow.Envelope, error)
	// ReleaseEnvelope gives back an envelope whose handling failed on an
	// internal error, to be finished again.
	ReleaseEnvelope(ctx context.Context, id, owner string) error
	// RenewLeases is the instance's heartbeat over every lease it holds.
	RenewLeases(ctx context.Context, owner string, until time.Time) (int64, error)

	ChatUserByEmail(ctx context.Context, email string) (*workflow.ChatUser, error)
	ChatUserByID(ctx context.Context, chatID string) (*workflow.ChatUser, error)
	SaveChatUser(ctx context.Context, u *workflow.ChatUser) error

	Cards(ctx context.Context, taskID int64) ([]workflow.Card, error)
	SaveCard(ctx context.Context, c *workflow.Card) error
	// ClaimCard claims a card before it is posted: false when it is
	// posted already (c becomes it: update it), ECONFLICT while another
	// owner posts it. ReleaseCard drops a claim whose post failed.
	ClaimCard(ctx context.Context, c *workflow.Card, owner string, now, until time.Time) (bool, error)
	ReleaseCard(ctx context.Context, id int64, owner string) error
	CardByMessage(ctx context.Context, channel, ts string) (*workflow.Card, error)
	// DeleteCards forgets a deleted task's cards once they say so in Slack.
	DeleteCards(ctx context.Context, taskID int64) error

	// Reminder digests are cards too (digest.go): ClaimDigestCard and
	// ReleaseDigestCard work as ClaimCard and ReleaseCard; SaveDigestCard
	// is refused (ECONFLICT) when another redraw saved first.
	ClaimDigestCard(ctx context.Context, d *workflow.DigestCard, owner string, now, until time.Time) (bool, error)
	ReleaseDigestCard(ctx context.Context, id int64, owner string) error
	SaveDigestCard(ctx context.Context, d *workflow.DigestCard) error
	DigestCard(ctx context.Context, id int64) (*workflow.DigestCard, error)
	DigestCardByMessage(ctx context.Context, channel, ts string) (*workflow.DigestCard, error)
	DigestCardsOf(ctx context.Context, taskID int64) ([]workflow.DigestCard, error)

	// CommentMirrors and SaveCommentMirror record where a comment was
	// mirrored, so it goes into each channel once (mirror.go).
	CommentMirrors(ctx context.Context, taskID, seq int64) ([]workflow.CommentMirror, error)
	SaveCommentMirror(ctx context.Context, m workflow.CommentMirror) error
}

// Config configures a Bot. Engine, Store and the tokens are required.
type Config struct {
	BotToken string // SLACK_BOT_TOKEN, xoxb-…
	AppToken string // SLACK_APP_TOKEN, xapp-… with connections:write
	APIURL   string // SLACK_API_URL; default DefaultAPIURL; must end in "/"

	Engine *workflow.Engine
	Store  Store
	Log    zerolog.Logger

	// Workers handle envelopes off the event loop. Default 8.
	Workers int
	// Poll is how often the outbox is read when nothing wakes it. Default 1 s.
	Poll time.Duration
	// RetryBase and RetryMax bound the outbox's exponential backoff.
	// Defaults 2 s and 5 min.
	RetryBase, RetryMax time.Duration
	// RateScale multiplies the client-side rate limits (tests speed them
	// up). 0 means 1, Slack's own tiers.
	RateScale float64
	// LeaseTTL is how long a lease of this instance (an envelope being
	// handled, a notice being delivered, a card being posted) lasts
	// unless renewed; the heartbeat renews them four times a lease. Work
	// of a process that died is taken over after it. Default 10 s.
	LeaseTTL time.Duration
	// MaxAttempts is how many failed deliveries make a notice dead
	// (NoticeDead). Default 50 (hours of a Slack outage at RetryMax).
	MaxAttempts int
	// Owner is this instance's lease owner id; default host, pid and a
	// random part, new at every start.
	Owner string
	// HTTPClient for the Web API; default one with a 15 s timeout.
	HTTPClient *http.Client
	// PingInterval for Socket Mode: a connection without a ping from
	// Slack for this long is given up (30 s, slack-go's default, when 0).
	PingInterval time.Duration
	// Reload re-reads the configuration for `/access reload`; nil turns
	// the subcommand into an explanation.
	Reload ReloadFunc
	// Metrics observes envelopes, acks and Web API calls; default none.
	Metrics Metrics
}

// Bot is accessbot's Slack edge.
type Bot struct {
	cfg    Config
	log    zerolog.Logger
	api    *slack.Client
	engine *workflow.Engine
	store  Store
	slack  *client // the typed Web API (client.go)
	owner  string  // lease owner id of this instance
	inbox  *inbox

	botUserID string

	reg registry

	dir *directory // Slack users <-> emails, and mentions (identity.go, names.go)
	out *delivery  // the outbox worker, digests, mirrors, Home refresh (delivery.go)

	bg sync.WaitGroup // background work after an ack (bulk actions)

	state observeState // connection state and ack timing (observe.go)
}

// New checks cfg and returns a bot; it does not connect.
func New(cfg Config) (*Bot, error) {
	if cfg.Engine == nil || cfg.Store == nil {
		return nil, errors.New("bot: Engine and Store are required")
	}
	if err := CheckSettings(cfg.BotToken, cfg.AppToken, cfg.APIURL); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 50
	}
	if cfg.Owner == "" {
		cfg.Owner = newOwnerID()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	api := slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(cfg.HTTPClient))
	b := &Bot{
		cfg: cfg, log: cfg.Log, api: api, engine: cfg.Engine, store: cfg.Store,
		owner: cfg.Owner,
		inbox: newInbox(),
	}
	b.slack = newClient(api, cfg.HTTPClient, cfg.RateScale, cfg.Metrics, &b.log)
	b.dir = &directory{store: cfg.Store, slack: b.slack, now: b.now, log: &b.log,
		redraw: func(ctx context.Context, ids []int64) error {
			if err := b.engine.RefreshCards(ctx, ids, "identity"); err != nil {
				return err
			}
			b.out.kick()
			return nil
		}}
	b.out = newDelivery(cfg, &b.log, b.slack, b.dir)
	b.reg = b.newRegistry()
	b.state.arrived = map[string]time.Time{}
	return b, nil
}

const readmeHint = "see README.md, section \"Creating the Slack app\""

// CheckSettings checks the tokens and the API URL without calling Slack,
// with one line that names the variable and how to fix it. Tokens never
// appear in the message.
func CheckSettings(botToken, appToken, apiURL string) error {
	switch {
	case apiURL != "" && !strings.HasSuffix(apiURL, "/"):
		return fmt.Errorf("SLACK_API_URL %q must end in \"/\" (for example %s)", apiURL, DefaultAPIURL)
	case botToken == "":
		return fmt.Errorf("SLACK_BOT_TOKEN is not set: give the app's Bot User OAuth Token (xoxb-…); %s", readmeHint)
	case !strings.HasPrefix(botToken, "xoxb-"):
		return fmt.Errorf("SLACK_BOT_TOKEN is not a bot token: it must start with xoxb- (the Bot User OAuth Token); %s", readmeHint)
	case appToken == "":
		return fmt.Errorf("SLACK_APP_TOKEN is not set: give an app-level token (xapp-…) with the connections:write scope; %s", readmeHint)
	case !strings.HasPrefix(appToken, "xapp-"):
		return fmt.Errorf("SLACK_APP_TOKEN is not an app-level token: it must start with xapp- and have the connections:write scope; %s", readmeHint)
	}
	return nil
}

// now is the wall clock of delivery bookkeeping (inbox, leases, outbox times):
// the engine's clock, so tests that move time move both.
func (b *Bot) now() time.Time { return b.engine.Now() }

// Run connects to Slack and serves until ctx is done. It checks both tokens
// first and returns one clear error when Slack rejects one. On ctx's end it
// stops taking envelopes, finishes the work in flight and returns nil.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.checkAuth(ctx); err != nil {
		return err
	}
	defer b.state.connected.Store(false)

	// Work in flight finishes after ctx ends: it runs on a context that is
	// not canceled with ctx, bounded by a grace period (30 s).
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	pool := newPool(workCtx, b.cfg.Workers)

	// The connection outlives ctx, so the acks of envelopes taken before
	// it ended still go out; from ctx's end on, envelopes are left to
	// Slack's redelivery.
	sockCtx, stopSock := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSock()
	sockErr := make(chan error, 1)
	go func() {
		sockErr <- b.socketMode(sockCtx, func(c *socketConn, f *socketFrame) {
			if ctx.Err() == nil {
				b.envelope(c, f, pool)
			}
		})
	}()
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBeat()
	go b.heartbeatLoop(beatCtx)
	inboxDone := make(chan struct{})
	go func() {
		defer close(inboxDone)
		b.inboxLoop(ctx, workCtx, pool)
	}()
	go b.recoverLoop(ctx, pool)
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		b.out.outboxLoop(ctx, workCtx)
	}()
	homeDone := make(chan struct{})
	go func() {
		defer close(homeDone)
		b.out.homeLoop(ctx)
	}()

	b.log.Info().Str("api_url", b.cfg.APIURL).Str("bot_user", b.botUserID).Msg("connecting to Slack (Socket Mode)")
	err := b.loop(ctx, sockErr)

	grace := time.AfterFunc(30*time.Second, stopWork)
	<-inboxDone
	pool.wait()
	b.bg.Wait()
	<-outboxDone
	<-homeDone
	b.flushDone(workCtx, nil)
	grace.Stop()
	stopSock()
	b.log.Info().Msg("stopped")
	return err
}

// checkAuth calls auth.test with the bot token and apps.connections.open
// with the app token, so a bad token stops the bot with one clear line.
func (b *Bot) checkAuth(ctx context.Context) error {
	res, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return tokenError("SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-…)", b.cfg.APIURL, err)
	}
	b.botUserID = res.UserID
	b.out.botUserID = res.UserID
	if _, _, err := b.api.StartSocketModeContext(ctx); err != nil {
		return tokenError("SLACK_APP_TOKEN", "an app-level token (xapp-…) with the connections:write scope", b.cfg.APIURL, err)
	}
	return nil
}

func tokenError(name, what, apiURL string, err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		if tokenRejected(se.Err) {
			return fmt.Errorf("%s was rejected by Slack (%s): give %s; %s", name, se.Err, what, readmeHint)
		}
		return fmt.Errorf("checking %s with Slack failed: %s", name, se.Err)
	}
	return fmt.Errorf("cannot reach Slack at %s to check %s: %w", apiURL, name, err)
}

// newOwnerID names this process instance for its leases.
func newOwnerID() string {
	host, _ := os.Hostname()
	var r [6]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", cut(host, 40), os.Getpid(), hex.EncodeToString(r[:]))
}

// pool runs envelope work off the event loop. Submitting never blocks, so
// a backlog of work never delays an ack: each job waits for one of n slots
// in its own goroutine. Urgent jobs (view submissions, whose ack waits on
// them) skip the queue.
type pool struct {
	ctx   context.Context
	slots chan struct{}
	wg    sync.WaitGroup
}

func newPool(ctx context.Context, n int) *pool {
	return &pool{ctx: ctx, slots: make(chan struct{}, n)}
}

func (p *pool) submit(job func(context.Context), urgent bool) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if !urgent {
			select {
			case p.slots <- struct{}{}:
				defer func() { <-p.slots }()
			case <-p.ctx.Done():
				return
			}
		}
		job(p.ctx)
	}()
}

// wait returns once every submitted job has finished.
func (p *pool) wait() { p.wg.Wait() }

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
