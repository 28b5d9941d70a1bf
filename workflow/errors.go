package workflow

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Every error the engine returns to a caller is an *Error with
// one of these codes, so the edge (bot, CLI) decides how to show it from the
// code alone and logs only ECONFLICT-free internal errors as errors.
const (
	ENOTFOUND  = "not_found"
	ECONFLICT  = "conflict"  // the task moved on, or a duplicate
	EFORBIDDEN = "forbidden" // the actor may not do this
	EINVALID   = "invalid"   // the input is wrong; Message says how
	EINTERNAL  = "internal"
)

// Error is the one error vocabulary of accessbot. Message is fit to show a
// person; Field, when set, names the input that was wrong (a modal field).
type Error struct {
	Code    string
	Message string
	Field   string
	// Stale is set on a conflict caused by a task that moved on.
	Stale *LastAction
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error that names the input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not ours
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-readable message of err; internal errors
// are never shown as they are.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Something went wrong on our side; the team has been told. Please try again."
}

// LastAction says who last moved a task, used to explain stale clicks.
type LastAction struct {
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

func staleError(t *Task) *Error {
	la := t.Last
	msg := fmt.Sprintf("%s has moved on", t.Number())
	if la.Action != "" {
		msg = fmt.Sprintf("%s was already %s by %s at %s", t.Number(), pastTense(la.Action), la.Actor, la.At.UTC().Format("2006-01-02 15:04 MST"))
	}
	return &Error{Code: ECONFLICT, Message: msg, Stale: &la}
}
