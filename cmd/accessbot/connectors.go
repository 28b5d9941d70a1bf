package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"accessbot/bot"
	"accessbot/config"
	"accessbot/connectors"
	"accessbot/store"
	"accessbot/workflow"
)

var _ connectors.Queue = (*store.DB)(nil)

// unusable stands in for a connector whose secret is missing: its jobs fail
// for good, so their steps go to people with the reason on the card.
type unusable struct{ reason string }

func (u unusable) Grant(context.Context, workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return workflow.ConnectorResult{}, workflow.PermanentFailure("%s", u.reason)
}

func (u unusable) Revoke(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return u.Grant(ctx, r)
}

// serveConnectors is buildConnectors for serve: a connector that cannot be
// built is logged (naming the setting and the variable) and its steps go
// to people, so the rest of accessbot runs.
func serveConnectors(cat *workflow.Catalog, getenv func(string) string, log zerolog.Logger) (map[string]workflow.Connector, time.Duration) {
	conns, longest, err := buildConnectors(cat, getenv)
	if err == nil {
		return conns, longest
	}
	conns = map[string]workflow.Connector{}
	for _, name := range sortedNames(cat.Connectors) {
		one := &workflow.Catalog{Connectors: map[string]*workflow.ConnectorSpec{name: cat.Connectors[name]}}
		c, l, err := buildConnectors(one, getenv)
		if err != nil {
			log.Warn().Str("connector", name).Msg(err.Error() + "; until then its steps go to the provisioners")
			conns[name] = unusable{reason: err.Error()}
			continue
		}
		conns[name] = c[name]
		longest = max(longest, l)
	}
	return conns, longest
}

// buildConnectors makes the configured connectors, reading their secrets
// from the environment. A secret that is not set is an error naming the
// setting and the variable (never its value).
func buildConnectors(cat *workflow.Catalog, getenv func(string) string) (map[string]workflow.Connector, time.Duration, error) {
	out := map[string]workflow.Connector{}
	longest := time.Duration(0)
	var errs []string
	for _, name := range sortedNames(cat.Connectors) {
		spec := cat.Connectors[name]
		switch o := spec.Options.(type) {
		case config.ExecOptions:
			out[name] = &connectors.Exec{Name: name, Command: o.Command, Env: o.Env, Timeout: o.Timeout, Getenv: getenv}
			longest = max(longest, o.Timeout)
		case config.WebhookOptions:
			secret := getenv(o.SecretEnv)
			if secret == "" {
				errs = append(errs, fmt.Sprintf("connectors.%s.secret_env: the environment variable %s is not set: give it the webhook's signing secret", name, o.SecretEnv))
				continue
			}
			key, err := connectors.SigningKey(secret)
			if err != nil {
				errs = append(errs, fmt.Sprintf("connectors.%s.secret_env: %s: %v", name, o.SecretEnv, err))
				continue
			}
			out[name] = &connectors.Webhook{Name: name, URL: o.URL, Secret: key, Timeout: o.Timeout}
			longest = max(longest, o.Timeout)
		case config.GitHubOptions:
			token := getenv(o.TokenEnv)
			if token == "" {
				errs = append(errs, fmt.Sprintf("connectors.%s.token_env: the environment variable %s is not set: give it a GitHub token that may manage the teams of %s", name, o.TokenEnv, o.Org))
				continue
			}
			gh, err := connectors.NewGitHub(connectors.GitHubOptions{Name: name, Org: o.Org, Token: token, BaseURL: o.BaseURL, Teams: o.Teams, Timeout: o.Timeout})
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			out[name] = gh
			longest = max(longest, o.Timeout)
		default:
			errs = append(errs, fmt.Sprintf("connectors.%s: type %q is not known to this binary", name, spec.Type))
		}
	}
	if len(errs) > 0 {
		return nil, 0, errors.New(strings.Join(errs, "\n"))
	}
	return out, longest, nil
}

func sortedNames(m map[string]*workflow.ConnectorSpec) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newRunner makes the connector job runner; the engine kicks it after
// every commit that wrote a job.
func newRunner(engine *workflow.Engine, db *store.DB, conns map[string]workflow.Connector, longest time.Duration, log zerolog.Logger) *connectors.Runner {
	// A call gets three quarters of the lease, so it ends (or is killed)
	// before another replica may claim the job.
	lease := max(5*time.Minute, 2*longest)
	r := &connectors.Runner{Engine: engine, Queue: db, Connectors: conns, Lease: lease, Log: log.With().Str("worker", "connectors").Logger()}
	engine.OnJobs(r.Kick)
	return r
}

// startRunner runs r until the returned stop is called.
func startRunner(ctx context.Context, r *connectors.Runner) (stop func()) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(runCtx)
	}()
	return func() { cancel(); <-done }
}

// reloadConnectors makes a reload also rebuild the connectors from the
// configuration it put in force.
func reloadConnectors(reload bot.ReloadFunc, engine *workflow.Engine, r *connectors.Runner, getenv func(string) string, log zerolog.Logger) bot.ReloadFunc {
	return func(ctx context.Context, actor string) (string, error) {
		summary, err := reload(ctx, actor)
		if err == nil {
			conns, _ := serveConnectors(engine.Catalog(), getenv, log)
			r.SetConnectors(conns)
		}
		return summary, err
	}
}

// runConnectors is `accessbot connectors check`.
func runConnectors(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{"usage: accessbot connectors check [--config FILE] [--db DSN]"}
	}
	fs := flag.NewFlagSet("connectors check", flag.ContinueOnError)
	var c common
	c.register(fs, env)
	if err := parseFlags(fs, args[1:], env); err != nil {
		return err
	}
	cat, err := config.Load(c.configPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: configuration is not valid:\n%v\n", c.configPath, err)
		return errReported
	}
	conns, _, err := buildConnectors(cat, env.Getenv)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, c.dsn, env.Clock)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	engine := workflow.NewEngine(db, cat, env.Clock)
	drift, checked := 0, 0
	for _, name := range sortedNames(cat.Connectors) {
		checker, ok := conns[name].(workflow.Checker)
		if !ok {
			fmt.Fprintf(env.Stdout, "%s (%s): cannot check; skipped\n", name, cat.Connectors[name].Type)
			continue
		}
		grants, err := engine.ConnectorGrants(ctx, name)
		if err != nil {
			return err
		}
		for _, g := range grants {
			present, err := checker.Check(ctx, g.Request)
			label := g.Grant.AppID
			if g.Grant.ResourceID != "" {
				label += "/" + g.Grant.ResourceID
			}
			who := g.Grant.Subject
			if a := g.Request.Subject.Account; a != "" {
				who += " (" + a + ")"
			}
			switch {
			case err != nil:
				drift++
				fmt.Fprintf(env.Stdout, "%s: %s %s: cannot check: %v\n", name, who, label, err)
			case g.Want && !present:
				drift++
				fmt.Fprintf(env.Stdout, "%s: %s %s: granted here (grant %d) but missing there\n", name, who, label, g.Grant.ID)
			case !g.Want && present:
				drift++
				fmt.Fprintf(env.Stdout, "%s: %s %s: still present there after it %s (grant %d)\n", name, who, label, g.Grant.Status, g.Grant.ID)
			}
			checked++
		}
	}
	if drift > 0 {
		fmt.Fprintf(env.Stdout, "drift: %d of %d grants checked differ\n", drift, checked)
		return errReported
	}
	fmt.Fprintf(env.Stdout, "no drift: %d grants checked\n", checked)
	return nil
}
