package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/scheduler"
	"accessbot/store"
	"accessbot/workflow"
)

// The bot reaches the store only through bot.Store.
var _ bot.Store = (*store.DB)(nil)

// runServe runs the Slack bot until ctx ends.
func runServe(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs, env)
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments (got %q)", fs.Args())}
	}
	log := zerolog.New(env.Stderr).With().Timestamp().Logger()
	cat, err := config.Load(c.configPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: configuration is not valid:\n%v\n", c.configPath, err)
		return errReported
	}
	botToken, appToken, apiURL := env.Getenv("SLACK_BOT_TOKEN"), env.Getenv("SLACK_APP_TOKEN"), env.Getenv("SLACK_API_URL")
	if err := bot.CheckSettings(botToken, appToken, apiURL); err != nil {
		return err // before anything opens
	}
	db, err := store.Open(ctx, c.dsn, env.Clock)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	engine := workflow.NewEngine(db, cat, env.Clock)
	reload := reloader(c.configPath, engine, log)
	b, err := bot.New(bot.Config{
		Reload:   reload,
		BotToken: botToken,
		AppToken: appToken,
		APIURL:   apiURL,
		Engine:   engine,
		Store:    db,
		Log:      log,
	})
	if err != nil {
		return err
	}
	sched := scheduler.New(engine, log, scheduler.Options{})
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
	log.Info().Str("config", c.configPath).Str("summary", config.Summary(cat)).Msg("accessbot starting")
	hupCtx, stopHup := context.WithCancel(ctx)
	stopReloads := reloadOnHangup(hupCtx, reload, log)
	defer func() { stopHup(); stopReloads() }()
	return b.Run(ctx)
}
