package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// newLogger builds the process logger from ACCESSBOT_LOG_FORMAT and
// ACCESSBOT_LOG_LEVEL. Logs go to w (stderr): JSON lines by default, for a
// log pipeline; a readable console format when w is a terminal, so a
// person running it by hand can read it. A bad value is an error that says
// what is allowed. Every line passes through a filter that masks anything
// shaped like a Slack token, so a token that reaches a message by a path
// nobody foresaw still does not reach the log.
func newLogger(w io.Writer, getenv func(string) string) (zerolog.Logger, error) {
	level := zerolog.InfoLevel
	if v := strings.TrimSpace(getenv("ACCESSBOT_LOG_LEVEL")); v != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(v))
		if err != nil || v == "" || l == zerolog.NoLevel {
			return zerolog.Nop(), fmt.Errorf("ACCESSBOT_LOG_LEVEL %q is not a log level: use trace, debug, info, warn, error, fatal, panic or disabled", v)
		}
		level = l
	}
	format := strings.ToLower(strings.TrimSpace(getenv("ACCESSBOT_LOG_FORMAT")))
	switch format {
	case "":
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	case "json", "console":
	default:
		return zerolog.Nop(), fmt.Errorf("ACCESSBOT_LOG_FORMAT %q is not a log format: use json or console (the default is json, or console when the output is a terminal)", format)
	}
	var out io.Writer = redactWriter{w: w}
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: redactWriter{w: w}, TimeFormat: time.DateTime, NoColor: !isTerminal(w)}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// tokenRE matches Slack tokens: bot (xoxb-), user (xoxp-), app-level
// (xapp-), legacy and refresh tokens (xoxa-, xoxr-, xoxs-, xoxe-).
var tokenRE = regexp.MustCompile(`\b(xox[abeoprs]|xapp)-[A-Za-z0-9-]{2,}`)

// redactWriter masks Slack tokens in each write. zerolog writes one whole
// line a write, so a token is never split across two.
type redactWriter struct{ w io.Writer }

func (r redactWriter) Write(p []byte) (int, error) {
	if tokenRE.Match(p) {
		q := tokenRE.ReplaceAll(p, []byte("${1}-[redacted]"))
		if _, err := r.w.Write(q); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return r.w.Write(p)
}
