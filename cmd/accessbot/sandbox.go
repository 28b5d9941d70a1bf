package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"net"
	"sort"
	"strings"
	"time"

	"accessbot/config"
	"accessbot/sandbox"
	"accessbot/scheduler"
	"accessbot/workflow"
)

// sandboxCommands are the slash commands of slack/manifest.yaml (a test
// keeps them in step).
var sandboxCommands = []string{"/access", "/delegate"}

// sandboxZones give the workspace's people a time zone each, as real
// colleagues have (reminders keep each person's business hours).
var sandboxZones = []string{"Europe/Berlin", "America/New_York", "Europe/London", "Asia/Kolkata", "America/Los_Angeles", "Europe/Paris"}

// runSandbox is `accessbot sandbox`: serve's bot, engine, store, outbox and
// scheduler against a built-in Slack workspace, and a page that plays its
// people.
func runSandbox(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	configPath := fs.String("config", "examples/config.yaml", "configuration file: its people and app channels make the workspace")
	dsn := fs.String("db", "./sandbox.db", "SQLite file (or postgres:// URL) of the sandbox's data")
	addr := fs.String("http", "127.0.0.1:3000", "host:port of the page; it has no login, so keep it on 127.0.0.1")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("sandbox takes no arguments (got %q)", fs.Args())}
	}
	getenv := env.Getenv
	env.Getenv = func(k string) string {
		// Quiet by default: the page is what a newcomer looks at.
		if v := getenv(k); v != "" || k != "ACCESSBOT_LOG_LEVEL" {
			return v
		}
		return "warn"
	}
	log, err := newLogger(env.Stderr, env.Getenv)
	if err != nil {
		return err
	}
	cat, err := config.Load(*configPath)
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("no configuration file at %s: run the sandbox from the repository's root (it uses examples/config.yaml) or give one with --config FILE", *configPath)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: configuration is not valid:\n%v\n", *configPath, err)
		return errReported
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--http %s: cannot listen (%v); choose another address, for example --http 127.0.0.1:3001", *addr, err)
	}
	defer ln.Close()
	clock := sandbox.NewClock(env.Clock)
	sb, err := sandbox.New(sandbox.Options{
		Workspace: "Sandbox workspace",
		People:    sandboxPeople(cat),
		Channels:  sandboxChannels(cat),
		Commands:  sandboxCommands,
		Clock:     clock,
		Tour:      sandboxTour(cat),
		Addr:      ln.Addr().String(),
	})
	if err != nil {
		return fmt.Errorf("start the built-in Slack workspace: %w", err)
	}
	defer sb.Close()

	url := "http://" + ln.Addr().String()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ip := net.ParseIP(host)
	fmt.Fprintf(env.Stdout, "accessbot sandbox: the real bot against a built-in Slack workspace (%s, %d people).\n", *configPath, len(cat.People))
	if ip != nil && ip.IsLoopback() {
		fmt.Fprintf(env.Stdout, "Open %s in your browser. It listens on %s only: nothing outside this machine can reach it.\n", url, host)
	} else {
		if ip == nil || ip.IsUnspecified() {
			url = "http://127.0.0.1:" + port
		}
		fmt.Fprintf(env.Stdout, "Open %s in your browser.\n", url)
		fmt.Fprintf(env.Stderr, "WARNING: --http %s listens beyond this machine and the page has no login: anyone who can reach it can act as every person of the sandbox. Use --http 127.0.0.1:%s unless you mean it.\n", *addr, port)
	}
	fmt.Fprintf(env.Stdout, "Data: %s. Ctrl-C stops it.\n", *dsn)

	pageCtx, stopPage := context.WithCancel(context.WithoutCancel(ctx))
	pageDone := make(chan error, 1)
	go func() { pageDone <- sb.Serve(pageCtx, ln) }()
	defer func() { stopPage(); <-pageDone }()

	ws := sb.Slack()
	err = runBot(ctx, botRun{
		configPath: *configPath, cat: cat, dsn: *dsn, httpAddr: "off",
		botToken: ws.BotToken(), appToken: ws.AppToken(), apiURL: ws.APIURL(),
		clock: clock.Now, getenv: env.Getenv, log: log,
		// Unsigned digests, kept in the database, as serve does by default.
		digests: &digestSetup{every: time.Hour, close: func() error { return nil }, desc: "the database only"},
		started: func(s *scheduler.Scheduler) { sb.SetJobs(s.RunOnce) },
	})
	// Ctrl-C during start-up cancels whatever was under way (the token
	// check, a connect): that is the stop the person asked for.
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		err = nil
	}
	if err == nil {
		fmt.Fprintln(env.Stdout, "accessbot sandbox stopped.")
	}
	return err
}

// sandboxPeople are the configuration's people, admins and every email it
// names in groups and principals, each with a time zone.
func sandboxPeople(cat *workflow.Catalog) []sandbox.Person {
	seen := map[string]bool{}
	add := func(email string) {
		if email = strings.ToLower(strings.TrimSpace(email)); strings.Contains(email, "@") {
			seen[email] = true
		}
	}
	for e := range cat.People {
		add(e)
	}
	for _, e := range cat.Admins {
		add(e)
	}
	for _, members := range cat.Groups {
		for _, e := range members {
			add(e)
		}
	}
	emails := make([]string, 0, len(seen))
	for e := range seen {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	out := make([]sandbox.Person, len(emails))
	for i, e := range emails {
		out[i] = sandbox.Person{Email: e, TZ: sandboxZones[i%len(sandboxZones)]}
	}
	return out
}

// sandboxChannels are the apps' and resources' channels.
func sandboxChannels(cat *workflow.Catalog) []sandbox.Channel {
	var out []sandbox.Channel
	seen := map[string]bool{}
	add := func(ref, appID string) {
		if ref == "" || seen[ref] {
			return
		}
		seen[ref] = true
		out = append(out, sandbox.Channel{Ref: ref, Name: appID + "-access"})
	}
	for _, a := range cat.Apps {
		add(a.Channel, a.ID)
		for _, r := range a.Resources {
			add(r.Channel, a.ID)
		}
	}
	return out
}

// sandboxTour picks the cast of the guided tour: someone with a manager who
// asks for an app (without resources, provisioned by hand by one named
// person) that their manager approves.
func sandboxTour(cat *workflow.Catalog) sandbox.Tour {
	emails := make([]string, 0, len(cat.People))
	for e := range cat.People {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	for _, a := range cat.Apps {
		p := cat.Policies[a.RequestPolicy]
		if len(a.Resources) > 0 || a.Provisioning == workflow.ProvisioningNone || p == nil || len(p.Steps) == 0 ||
			len(p.Steps[0].Approvers) != 1 || p.Steps[0].Approvers[0] != workflow.PrincipalManager || len(a.Provisioners) == 0 {
			continue
		}
		kind, prov, err := a.Provisioners[0].Parse()
		if err != nil || kind != workflow.PrincipalUser {
			continue
		}
		for _, e := range emails {
			m := cat.People[e].Manager
			if m != "" && e != prov && m != prov {
				// Short enough that a skip of a day shows expiry.
				dur := ""
				if a.MaxDuration == 0 || a.MaxDuration >= 8*time.Hour {
					dur = "8h"
				}
				return sandbox.Tour{Requester: e, Manager: m, Provisioner: prov, App: a.ID, AppName: a.Name, Duration: dur}
			}
		}
	}
	return sandbox.Tour{}
}
