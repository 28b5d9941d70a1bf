package main

import (
	"context"
	"flag"
	"fmt"

	"accessbot/ops"
)

// registerHTTP adds --http (ACCESSBOT_HTTP_ADDR) to fs.
func registerHTTP(fs *flag.FlagSet, env Env) *string {
	return fs.String("http", envOr(env, "ACCESSBOT_HTTP_ADDR", ops.DefaultAddr),
		"host:port of the /healthz, /readyz and /metrics endpoints, or \"off\"")
}

// runHealthcheck is `accessbot healthcheck [--ready] [--http ADDR]`: it asks
// a running accessbot's /healthz (or /readyz) and exits 0 when it answers
// 200, else 1 with the reason. Docker's HEALTHCHECK runs it, so the image
// needs no curl or shell.
func runHealthcheck(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := registerHTTP(fs, env)
	ready := fs.Bool("ready", false, "check /readyz (database, migrations, Slack connection) instead of /healthz")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("healthcheck takes no arguments (got %q)", fs.Args())}
	}
	if *addr == "off" {
		return usageError{"healthcheck: the endpoints are off (ACCESSBOT_HTTP_ADDR=off); there is nothing to check"}
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	if err := ops.Probe(ctx, *addr, path); err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	fmt.Fprintf(env.Stdout, "%s: ok\n", path)
	return nil
}
