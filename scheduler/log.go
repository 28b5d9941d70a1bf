package scheduler

import "github.com/rs/zerolog"

// cronLogger is cron.Logger over zerolog. Cron's routine messages (start,
// wake, run) go to debug; a skipped run (the previous one still going) is a
// warning; errors (a recovered panic) are errors.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	ev := l.log.Debug()
	if msg == "skip" {
		ev = l.log.Warn()
		msg = "job skipped: its previous run is still going"
	}
	ev.Fields(kv).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}
