package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/email"
	"accessbot/ops"
	"accessbot/scheduler"
	"accessbot/store"
	"accessbot/workflow"
)

// The bot reaches the store only through bot.Store; the endpoints ask the
// store and the bot through ops' interfaces; ops.Metrics is the bot's and
// the scheduler's observer.
var (
	_ bot.Store        = (*store.DB)(nil)
	_ ops.Database     = (*store.DB)(nil)
	_ ops.Stats        = (*store.DB)(nil)
	_ ops.Slack        = (*bot.Bot)(nil)
	_ bot.Metrics      = (*ops.Metrics)(nil)
	_ scheduler.Pruner = (*store.DB)(nil)
)

// noConfigError says there is no configuration file where serve looked,
// and how to give one.
func noConfigError(path string) error {
	return fmt.Errorf("no configuration file at %s: give its path with --config FILE or the ACCESSBOT_CONFIG variable; examples/config.yaml is a commented example to start from (check yours with `accessbot check-config FILE`)", path)
}

// runServe runs the Slack bot until ctx ends.
func runServe(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs, env)
	httpAddr := registerHTTP(fs, env)
	var df digestFlags
	df.register(fs, env)
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments (got %q)", fs.Args())}
	}
	log, err := newLogger(env.Stderr, env.Getenv)
	if err != nil {
		return err
	}
	file, err := config.LoadFile(c.configPath)
	if errors.Is(err, iofs.ErrNotExist) {
		return noConfigError(c.configPath)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: configuration is not valid:\n%v\n", c.configPath, err)
		return errReported
	}
	cat := file.Catalog
	var mailer *email.SMTP
	if file.Email != nil {
		// Before anything opens: a server that cannot be reached or a login
		// it refuses is one line naming the setting.
		if mailer, err = checkEmail(ctx, file.Email, env.Getenv(config.PasswordEnv)); err != nil {
			return err
		}
	}
	botToken, appToken, apiURL := env.Getenv("SLACK_BOT_TOKEN"), env.Getenv("SLACK_APP_TOKEN"), env.Getenv("SLACK_API_URL")
	if err := bot.CheckSettings(botToken, appToken, apiURL); err != nil {
		return err // before anything opens
	}
	retention, err := envDuration(env, "ACCESSBOT_OUTBOX_RETENTION", "7d", workflow.ParseDuration)
	if err != nil {
		return err
	}
	inboxRetention, err := envDuration(env, "ACCESSBOT_INBOX_RETENTION", "1h", workflow.ParseDuration)
	if err != nil {
		return err
	}
	if inboxRetention < 10*time.Minute {
		return fmt.Errorf("ACCESSBOT_INBOX_RETENTION %s is too short: keep handled envelopes at least 10m, longer than Slack redelivers one (default 1h)", inboxRetention)
	}
	lease, err := envDuration(env, "ACCESSBOT_LEASE", "10s", time.ParseDuration)
	if err != nil {
		return err
	}
	if lease < time.Second {
		return fmt.Errorf("ACCESSBOT_LEASE %s is too short: give at least 1s (default 10s)", lease)
	}
	rateScale := 1.0
	if v := env.Getenv("ACCESSBOT_SLACK_RATE_SCALE"); v != "" {
		if rateScale, err = strconv.ParseFloat(v, 64); err != nil || rateScale <= 0 {
			return fmt.Errorf("ACCESSBOT_SLACK_RATE_SCALE %q is not a positive number (it multiplies the client-side Slack rate limits; leave it unset against Slack)", v)
		}
	}
	digests, err := setupDigests(df, env, log)
	if err != nil {
		return err
	}
	defer digests.close()
	return runBot(ctx, botRun{
		configPath: c.configPath, cat: cat, dsn: c.dsn, httpAddr: *httpAddr,
		botToken: botToken, appToken: appToken, apiURL: apiURL,
		clock: env.Clock, getenv: env.Getenv, log: log, digests: digests,
		email: file.Email, mailer: mailer,
		outboxRetention: retention, inboxRetention: inboxRetention, lease: lease, rateScale: rateScale,
	})
}

// botRun is what serve and sandbox share: one configuration, one database,
// the engine, the bot, the scheduler (audit digests included) and the
// endpoints.
type botRun struct {
	configPath string
	cat        *workflow.Catalog
	dsn        string
	httpAddr   string // "off" for none
	botToken   string
	appToken   string
	apiURL     string
	clock      func() time.Time
	getenv     func(string) string // connectors' secrets
	log        zerolog.Logger
	email      *config.Email // nil: no email channel
	mailer     *email.SMTP
	digests    *digestSetup
	// outboxRetention and inboxRetention keep delivered notices and
	// handled envelopes (defaults 7d and 1h); lease is the bot's LeaseTTL
	// (default 10 s); rateScale its RateScale (default 1).
	outboxRetention, inboxRetention time.Duration
	lease                           time.Duration
	rateScale                       float64
	// started, when set, is called once the scheduler runs, before the bot
	// connects (the sandbox runs the scheduler's jobs when its clock moves).
	started func(*scheduler.Scheduler)
}

// runBot runs the bot, the scheduler and the endpoints until ctx ends.
func runBot(ctx context.Context, r botRun) error {
	log, cat, c, digests := r.log, r.cat, common{configPath: r.configPath, dsn: r.dsn}, r.digests
	retention, inboxRetention, lease, rateScale := r.outboxRetention, r.inboxRetention, r.lease, r.rateScale
	if retention <= 0 {
		retention = 7 * 24 * time.Hour
	}
	if inboxRetention <= 0 {
		inboxRetention = time.Hour
	}
	db, err := store.Open(ctx, c.dsn, r.clock)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	engine := workflow.NewEngine(db, cat, r.clock)
	conns, longest := serveConnectors(cat, r.getenv, log)
	runner := newRunner(engine, db, conns, longest, log)
	reload := reloadConnectors(reloader(c.configPath, engine, log), engine, runner, r.getenv, log)
	metrics := ops.NewMetrics(db, engine.Now, log)
	b, err := bot.New(bot.Config{
		Reload:    reload,
		BotToken:  r.botToken,
		AppToken:  r.appToken,
		APIURL:    r.apiURL,
		Engine:    engine,
		Store:     db,
		Log:       log,
		Metrics:   metrics,
		LeaseTTL:  lease,
		RateScale: rateScale,
	})
	if err != nil {
		return err
	}
	if r.httpAddr != "off" {
		// Listen before connecting to Slack, so a taken port is one clear
		// error at start-up and probes see the process from its first second.
		ln, err := ops.Listen(r.httpAddr)
		if err != nil {
			return err
		}
		httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
		httpDone := make(chan struct{})
		go func() {
			defer close(httpDone)
			h := ops.Endpoints{DB: db, Slack: b, Metrics: metrics}.Handler()
			if err := ops.Serve(httpCtx, ln, h, log); err != nil {
				log.Error().Err(err).Msg("health and metrics endpoints stopped")
			}
		}()
		// Deferred first, so the endpoints answer (not ready) until the bot
		// and the scheduler have stopped.
		defer func() { stopHTTP(); <-httpDone }()
	}
	digester := &workflow.Digester{Store: db, Key: digests.key, Sink: digests.sink}
	// Deferred before the scheduler's Stop, so it runs after it: the last
	// digest covers everything this process wrote.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		res, err := digester.Run(dctx)
		if err != nil {
			log.Error().Err(err).Msg("audit digest at shutdown failed")
			return
		}
		log.Info().Interface("result", res).Msg("audit digest at shutdown")
	}()
	jobs := append(scheduler.Jobs(engine), scheduler.DigestJob(digester, digests.every),
		scheduler.PruneJob(db, engine.Now, retention, inboxRetention))
	sched := scheduler.New(engine, log, scheduler.Options{Observe: metrics.JobRun, Jobs: jobs})
	if err := sched.Start(); err != nil {
		return fmt.Errorf("start the scheduler: %w", err)
	}
	defer func() {
		// The bot has finished its work; give running jobs a moment to end.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := sched.Stop(stopCtx); err != nil {
			log.Warn().Err(err).Msg("scheduler jobs did not finish in time")
		}
	}()
	if r.mailer != nil {
		w := emailWorker(r.email, r.mailer, db, engine, log)
		mailCtx, stopMail := context.WithCancel(ctx)
		mailDone := make(chan struct{})
		go func() { defer close(mailDone); w.Run(mailCtx) }()
		defer func() { stopMail(); <-mailDone }()
	}
	stopConnectors := startRunner(ctx, runner)
	defer stopConnectors()
	if r.started != nil {
		r.started(sched)
	}
	log.Info().Str("config", c.configPath).Str("summary", config.Summary(cat)).Msg("accessbot starting")
	hupCtx, stopHup := context.WithCancel(ctx)
	stopReloads := reloadOnHangup(hupCtx, reload, log)
	defer func() { stopHup(); stopReloads() }()
	return b.Run(ctx)
}

// envDuration reads a duration setting from the environment (def when
// unset) with parse; a bad value is one line naming the variable.
func envDuration(env Env, key, def string, parse func(string) (time.Duration, error)) (time.Duration, error) {
	v := envOr(env, key, def)
	d, err := parse(v)
	if err != nil || d <= 0 || d == workflow.Permanent {
		return 0, fmt.Errorf("%s %q is not a duration: give one like %s", key, v, def)
	}
	return d, nil
}
