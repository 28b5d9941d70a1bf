package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
	// Most events fit, so the buffer stays on the stack.
	var buf [512]byte
	b, ok := c.appendJSON(buf[:0])
	if !ok {
		b = c.marshalJSON()
	}
	sum := sha256.Sum256(b)
	// hex.EncodeToString would allocate its scratch slice as well.
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:])
}

// marshalJSON is the reference encoding: stored chains were hashed over
// exactly these bytes, so appendJSON must reproduce them.
func (c AuditEvent) marshalJSON() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// Only a time json cannot represent (year outside 0..9999) gets here.
		panic(fmt.Sprintf("audit: marshal: %v", err))
	}
	return b
}

// appendJSON appends what json.Marshal(c) gives, without its reflection
// (ComputeHash runs twice per event, and sweeps write many events). c.At
// must already be in UTC. It reports false, leaving the encoding to
// marshalJSON, when c.At is out of the range time.Time.MarshalJSON accepts.
func (c *AuditEvent) appendJSON(b []byte) ([]byte, bool) {
	// MarshalJSON refuses years that are not exactly four digits; in UTC
	// that is its only error.
	if y := c.At.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, `{"task_id":`...)
	b = strconv.AppendInt(b, c.TaskID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"at":"`...)
	// RFC3339Nano is what MarshalJSON writes, and AppendFormat does not
	// allocate.
	b = c.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","actor":`...)
	b = appendJSONString(b, c.Actor)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, c.Action)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(c.Step), 10)
	if c.Comment != "" {
		b = append(b, `,"comment":`...)
		b = appendJSONString(b, c.Comment)
	}
	if len(c.Details) > 0 {
		b = append(b, `,"details":{`...)
		// json sorts map keys by their raw (unescaped) strings.
		var arr [16]string
		keys := arr[:0]
		for k := range c.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, c.Details[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"prev_hash":`...)
	b = appendJSONString(b, c.PrevHash)
	return append(b, '}'), true
}

// appendJSONString appends s as json.Marshal quotes it. Plain printable
// ASCII is copied as is; anything json would escape (HTML characters,
// quotes, controls, non-ASCII that may be invalid UTF-8 or U+2028/U+2029)
// goes through json.Marshal itself, so the rarely seen cases cannot drift
// from it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				// Marshaling a string never fails.
				panic(fmt.Sprintf("audit: marshal: %v", err))
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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
