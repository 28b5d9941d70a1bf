// Package ops is accessbot's operations surface: the HTTP endpoints a
// platform probes and scrapes (/healthz, /readyz, /metrics), the Prometheus
// metrics behind them, and the client of `accessbot healthcheck`.
//
// The bot and the scheduler know nothing of Prometheus: they report to small
// observer hooks (bot.Metrics, scheduler.Options.Observe) that Metrics
// implements. Gauges that describe stored state (outbox, tasks) are read from
// the store when scraped, so every replica reports the same truth and nothing
// has to be kept in step by hand.
package ops
