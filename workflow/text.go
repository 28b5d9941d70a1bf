package workflow

import "unicode/utf8"

// Ellipsis ends every text that was cut.
const Ellipsis = "…"

// Truncate cuts s to at most n runes; a cut text ends with Ellipsis. It
// never splits a rune. It is the one truncation rule of every package:
// messages that quote what a person typed, card texts, logs.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n-1 {
			return s[:pos] + Ellipsis
		}
		i++
	}
	return s
}

// StatusWords are a status's words in each kind of sentence that names it;
// the one table every package words a status from.
type StatusWords struct {
	// State is what a task is: "open", "stopped with an error", "not
	// provisioned" (Details; channels add their own icon).
	State string
	// Outcome is what became of it, after "is" or "is already": "done",
	// "marked won't provision" (the engine's refusals).
	Outcome string
	// Ending is how it ended, after "is": "closed as not provisioned"
	// (replies in a finished task's thread).
	Ending string
}

var statusWordTable = map[Status]StatusWords{
	StatusOpen:             {"open", "open", "open"},
	StatusError:            {"stopped with an error", "stopped with an error", "error"},
	StatusDone:             {"done", "done", "done"},
	StatusDenied:           {"denied", "denied", "denied"},
	StatusNotProvisioned:   {"not provisioned", "marked won't provision", "closed as not provisioned"},
	StatusNotDeprovisioned: {"not deprovisioned", "marked won't deprovision", "closed as not deprovisioned"},
	StatusCanceled:         {"canceled", "canceled", "canceled"},
}

// Words returns s's words; a status the table lacks is its own name.
func (s Status) Words() StatusWords {
	if w, ok := statusWordTable[s]; ok {
		return w
	}
	return StatusWords{string(s), string(s), string(s)}
}

// StepWords are the words of what a step asks, which depend on the step's
// type and, for a review, the task's kind; the one table every package
// words a step from.
type StepWords struct {
	Name  string // as a noun: "review", "revocation review", "provisioning"
	Title string // a card's title: "Access request", "Provisioning"
	Verb  string // what its assignees are asked: "review it", "provision it"
	Want  string // what a task waits for, in refusals: "a review (approve or deny)"
}

var (
	grantReviewWords  = StepWords{"review", "Access request", "review it", "a review (approve or deny)"}
	revokeReviewWords = StepWords{"revocation review", "Revocation review", "confirm or deny the revocation", "a revocation review (confirm or deny)"}
	stepWords         = map[StepType]StepWords{
		StepProvision:   {"provisioning", "Provisioning", "provision it", "provisioning"},
		StepDeprovision: {"deprovisioning", "Deprovisioning", "deprovision it", "deprovisioning"},
	}
)

// WordsOf returns the words of a step of type s in a task of kind k; a type
// the table lacks is worded as a review.
func WordsOf(k Kind, s StepType) StepWords {
	if w, ok := stepWords[s]; ok {
		return w
	}
	if k == KindRevoke {
		return revokeReviewWords
	}
	return grantReviewWords
}
