package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"accessbot/config"
)

// Env is what Main takes from the process, so tests can boot it.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Clock, when set, replaces time.Now (tests).
	Clock func() time.Time
}

const usage = `accessbot: just-in-time access governance in Slack.

Usage:
  accessbot [serve] [--config FILE] [--db DSN] [--http ADDR]
                                      run the Slack bot (the default command)
  accessbot sandbox [--config FILE] [--db DSN] [--http ADDR]
                                      try the bot in a browser, with no Slack workspace
                                      (defaults: examples/config.yaml, ./sandbox.db,
                                      127.0.0.1:3000)
  accessbot check-config FILE         check a configuration file
  accessbot audit verify [--db DSN] [--digests FILE]... [--public-key FILE]
                                      check every audit chain against the signed
                                      digests; reads the database only
  accessbot audit export [--db DSN] [--since DATE] [--until DATE] [--format csv|json]
                                      write every audit event to stdout (DATE: YYYY-MM-DD or RFC 3339)
  accessbot audit keygen              print a new key pair for signing audit digests
  accessbot connectors check [--config FILE] [--db DSN]
                                      compare the grants of connectors that can
                                      check with their systems; exit 1 on drift
  accessbot healthcheck [--ready] [--http ADDR]
                                      ask a running accessbot's /healthz
                                      (/readyz with --ready); exit 0 or 1
  accessbot help                      this text

Environment of serve:
  SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-…)
  SLACK_APP_TOKEN       an app-level token (xapp-…) with connections:write
  SLACK_API_URL         Slack's Web API base (default https://slack.com/api/)
  ACCESSBOT_LOG_LEVEL   trace, debug, info (default), warn, error
  ACCESSBOT_LOG_FORMAT  json (default) or console (default on a terminal)
  ACCESSBOT_AUDIT_KEY   Ed25519 private key (PEM) that signs audit digests

Flags and environment:
  --config FILE   ACCESSBOT_CONFIG     configuration file (default ./accessbot.yaml)
  --db DSN        ACCESSBOT_DB         SQLite file (default ./accessbot.db) or postgres:// URL
  --http ADDR     ACCESSBOT_HTTP_ADDR  /healthz, /readyz, /metrics (default 127.0.0.1:8080; "off")
  --audit-digests SINK        ACCESSBOT_AUDIT_DIGESTS       stdout (default), a file, or off
  --audit-key-file FILE       ACCESSBOT_AUDIT_KEY_FILE      the signing key, from a file
  --audit-digest-every DUR    ACCESSBOT_AUDIT_DIGEST_EVERY  digest interval (default 5m)
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, env)
	case "sandbox":
		err = runSandbox(ctx, args, env)
	case "check-config":
		return checkConfig(args, env)
	case "audit":
		err = runAudit(ctx, args, env)
	case "healthcheck":
		err = runHealthcheck(ctx, args, env)
	case "connectors":
		err = runConnectors(ctx, args, env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "accessbot: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(env.Stderr, "accessbot: %v\n", err)
			return 2
		}
		if !errors.Is(err, errReported) {
			fmt.Fprintf(env.Stderr, "accessbot: %v\n", err)
		}
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errReported is returned by a command that already told the user what went
// wrong.
var errReported = errors.New("reported")

// common are the flags every command that opens the database shares.
type common struct {
	configPath string
	dsn        string
}

func (c *common) register(fs *flag.FlagSet, env Env) {
	fs.StringVar(&c.configPath, "config", envOr(env, "ACCESSBOT_CONFIG", "./accessbot.yaml"), "configuration file")
	fs.StringVar(&c.dsn, "db", envOr(env, "ACCESSBOT_DB", "./accessbot.db"), "SQLite file or postgres:// URL")
}

func envOr(env Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

func parseFlags(fs *flag.FlagSet, args []string, env Env) error {
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

func checkConfig(args []string, env Env) int {
	if len(args) != 1 {
		fmt.Fprintln(env.Stderr, "usage: accessbot check-config FILE")
		return 2
	}
	f, err := config.LoadFile(args[0])
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: configuration is not valid:\n%v\n", args[0], err)
		return 1
	}
	summary := config.Summary(f.Catalog)
	if em := f.Email; em != nil {
		summary += fmt.Sprintf("; email through %s:%d (%s)", em.Host, em.Port, em.TLS)
	}
	fmt.Fprintf(env.Stdout, "%s: OK: %s\n", args[0], summary)
	return 0
}

func runAudit(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 {
		switch args[0] {
		case "export":
			return runAuditExport(ctx, args[1:], env)
		case "verify":
			return runAuditVerify(ctx, args[1:], env)
		case "keygen":
			return runAuditKeygen(args[1:], env)
		}
	}
	return usageError{verifyUsage + exportUsage + "\nusage: accessbot audit keygen"}
}
