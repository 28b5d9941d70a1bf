package bot

import (
	"errors"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// Every surface answers an error the same way: the engine's words for a
// refusal the person can act on, logged as info; a generic sentence for an
// internal error (storage, a bug), logged as an error for the operator.
// Handlers log on the envelope's logger (b.logger(ctx)), so each line
// names the envelope.

// explain turns err into the words a person sees and the level it is
// logged at.
func explain(err error) (string, zerolog.Level) {
	if err != nil && workflow.ErrorCode(err) == workflow.EINTERNAL {
		return workflow.ErrorMessage(err), zerolog.ErrorLevel
	}
	return workflow.ErrorMessage(err), zerolog.InfoLevel
}

// refused logs err as msg at explain's level and returns the words for
// the person.
func refused(log *zerolog.Logger, err error, msg string) string {
	words, lvl := explain(err)
	log.WithLevel(lvl).AnErr("reason", err).Msg(msg)
	return words
}

// fieldBlock is the modal block a refusal is shown under: the one fields
// maps the error's field to (workflow.Error.Field), else def.
func fieldBlock(err error, def string, fields map[string]string) string {
	var we *workflow.Error
	if errors.As(err, &we) && we.Field != "" {
		if b, ok := fields[we.Field]; ok && b != "" {
			return b
		}
	}
	return def
}

// refuseSubmission logs a refused modal submission as msg and returns its
// ack: the words (and suffix) under the block of the field at fault, which
// keeps the modal open.
func refuseSubmission(log *zerolog.Logger, err error, msg, def string, fields map[string]string, suffix string) any {
	words := refused(log, err, msg)
	return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldBlock(err, def, fields): cut(words+suffix, 2000)})
}

// inView keeps the blocks of fields that the view shows.
func inView(v slack.View, fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	for f, id := range fields {
		if blockIn(v, id) {
			out[f] = id
		}
	}
	return out
}
