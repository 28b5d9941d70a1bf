package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Audit actions.
const (
	ActCreated         = "created"
	ActAssigned        = "assigned"
	ActDelegated       = "delegated"
	ActReassigned      = "reassigned"
	ActFallback        = "fallback"
	ActEscalated       = "escalated"
	ActApproved        = "approved"
	ActDenied          = "denied"
	ActConfirmed       = "confirmed"
	ActProvisioned     = "provisioned"
	ActNotProvisioned  = "not_provisioned"
	ActDeprovisioned   = "deprovisioned"
	ActNotDeprovision  = "not_deprovisioned"
	ActCommented       = "commented"
	ActDurationEdited  = "duration_edited"
	ActStepStarted     = "step_started"
	ActStepSkipped     = "step_skipped"
	ActStepAuto        = "step_auto" // a manual step the app does not need
	ActGranted         = "granted"
	ActExtended        = "extended"
	ActRevoked         = "revoked"
	ActExpired         = "expired"
	ActError           = "error"
	ActReminded        = "reminded"
	ActCanceled        = "canceled"
	ActDeleted         = "deleted"
	ActRestarted       = "restarted"
	ActHardReset       = "hard_reset"
	ActPolicyChanged   = "policy_changed"
	ActProcessedNow    = "processed_now"
	ActDelegationSet   = "delegation_set"
	ActDelegationUnset = "delegation_removed"
)

// AuditEvent is one append-only record. A task's events form a hash chain
// (Seq 1, 2, …, each with the hash of the one before); admin actions also
// form one global chain, stored with TaskID 0.
type AuditEvent struct {
	ID       int64             `json:"-"`
	TaskID   int64             `json:"task_id"`
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Step     int               `json:"step"`
	Comment  string            `json:"comment,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"-"`
}

// ComputeHash returns the hash of the event's content and PrevHash. The
// content is canonical JSON (struct field order, sorted map keys, UTC times).
func (e *AuditEvent) ComputeHash() string {
	c := *e
	c.At = c.At.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		// Only strings, ints and times: cannot fail.
		panic(fmt.Sprintf("audit: marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ChainVerifier checks events chain by chain, in (TaskID, Seq) order.
type ChainVerifier struct {
	task    int64
	seq     int64
	prev    string
	started bool
	Count   int
}

// Check verifies the next event; an error names the first broken event.
func (v *ChainVerifier) Check(e AuditEvent) error {
	if !v.started || e.TaskID != v.task {
		v.task, v.seq, v.prev, v.started = e.TaskID, 0, "", true
	}
	v.Count++
	chain := fmt.Sprintf("task T-%d", e.TaskID)
	if e.TaskID == 0 {
		chain = "admin chain"
	}
	if e.Seq != v.seq+1 {
		return fmt.Errorf("%s: event %d (id %d, %s): expected sequence %d: an event is missing or was inserted", chain, e.Seq, e.ID, e.Action, v.seq+1)
	}
	if e.PrevHash != v.prev {
		return fmt.Errorf("%s: event %d (id %d, %s): previous hash does not match the event before it", chain, e.Seq, e.ID, e.Action)
	}
	if h := e.ComputeHash(); h != e.Hash {
		return fmt.Errorf("%s: event %d (id %d, %s): content does not match its hash (the event was altered)", chain, e.Seq, e.ID, e.Action)
	}
	v.seq, v.prev = e.Seq, e.Hash
	return nil
}

func pastTense(action string) string {
	switch action {
	case ActNotProvisioned:
		return "marked won't provision"
	case ActNotDeprovision:
		return "marked won't deprovision"
	case ActHardReset:
		return "hard reset"
	case ActPolicyChanged:
		return "given a new policy"
	case ActDurationEdited:
		return "given a new duration"
	case ActProcessedNow:
		return "processed"
	case ActStepSkipped:
		return "moved on (step skipped)"
	case ActError:
		return "stopped with an error"
	}
	return action
}
