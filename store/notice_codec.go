package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"accessbot/workflow"
)

// How a notice's payload is stored (migration 0022), in the outbox and the
// email outbox alike:
//
//   - payload_json holds {"kind": ..., "payload": {...}}, the typed payload
//     of the notice's kind (workflow.Payload). It is what this binary reads.
//   - kind and data_json hold the notice as binaries before 0022 wrote it
//     (a digest was a "reminder" with task id 0; data_json a flat map of
//     strings), so that during a rolling upgrade an older replica still
//     delivers what a newer one queued.
//   - A row without payload_json was written by such an older binary: its
//     payload is read from kind, task_id and data_json (legacyPayload).
//
// Once no binary before 0022 runs, a later migration can drop data_json
// and the legacy half of this file.

// storedPayload is payload_json.
type storedPayload struct {
	Kind    workflow.NoticeKind `json:"kind"`
	Payload json.RawMessage     `json:"payload,omitempty"`
}

// encodePayload returns the kind, data_json and payload_json columns of n.
func encodePayload(n *workflow.Notice) (kind string, data, payload any, err error) {
	if n.Payload == nil {
		return "", nil, nil, fmt.Errorf("store: notice of task %d has no payload", n.TaskID)
	}
	// One pass: marshalling the payload first and wrapping it as a
	// RawMessage would encode it and then validate and copy it again (a
	// sweep writes 100,000 of these).
	p, err := json.Marshal(struct {
		Kind    workflow.NoticeKind `json:"kind"`
		Payload workflow.Payload    `json:"payload"`
	}{n.Kind(), n.Payload})
	if err != nil {
		return "", nil, nil, fmt.Errorf("store: encode %s notice: %w", n.Kind(), err)
	}
	legacy := legacyData(n.Payload)
	if data, err = jsonNull(legacy, len(legacy) == 0); err != nil {
		return "", nil, nil, fmt.Errorf("store: encode %s notice: %w", n.Kind(), err)
	}
	return string(legacyKind(n.Kind())), data, string(p), nil
}

// decodePayload reads a row's payload back: from payload_json when the
// row has one, else from the columns an older binary wrote. A kind this
// binary does not know (a newer binary's) is a nil payload, which the
// workers skip, rather than an error that would stop every claim.
func decodePayload(kind string, taskID int64, data, payload *string) (workflow.Payload, error) {
	if payload == nil || *payload == "" {
		var m map[string]string
		if err := jsonScan(data, &m); err != nil {
			return nil, err
		}
		return legacyPayload(workflow.NoticeKind(kind), taskID, m), nil
	}
	var sp storedPayload
	if err := json.Unmarshal([]byte(*payload), &sp); err != nil {
		return nil, err
	}
	switch sp.Kind {
	case workflow.NoticeTaskChanged:
		return decodeAs[workflow.TaskChanged](sp.Payload)
	case workflow.NoticeTaskDeleted:
		return decodeAs[workflow.TaskDeleted](sp.Payload)
	case workflow.NoticeComment:
		return decodeAs[workflow.CommentPosted](sp.Payload)
	case workflow.NoticeReminder:
		return decodeAs[workflow.TaskReminder](sp.Payload)
	case workflow.NoticeDigest:
		return decodeAs[workflow.ReminderDigest](sp.Payload)
	case workflow.NoticeDirect:
		return decodeAs[workflow.DirectMessage](sp.Payload)
	case workflow.NoticeChannel:
		return decodeAs[workflow.ChannelMessage](sp.Payload)
	case workflow.NoticeExpiryWarning:
		return decodeAs[workflow.ExpiryWarning](sp.Payload)
	}
	return nil, nil
}

func decodeAs[P workflow.Payload](raw json.RawMessage) (workflow.Payload, error) {
	var p P
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// legacyKind is the kind column of a notice of kind k, as binaries before
// 0022 name it.
func legacyKind(k workflow.NoticeKind) workflow.NoticeKind {
	if k == workflow.NoticeDigest {
		return workflow.NoticeReminder // with task id 0
	}
	return k
}

// legacyData is data_json as binaries before 0022 wrote it for p: the
// keys they read, every value a string.
func legacyData(p workflow.Payload) map[string]string {
	m := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	id := func(k string, v int64) {
		if v != 0 {
			m[k] = strconv.FormatInt(v, 10)
		}
	}
	flag := func(k string, v bool) {
		if v {
			m[k] = "true"
		}
	}
	switch p := p.(type) {
	case workflow.TaskChanged:
		flag("resend", p.Resend)
		set("why", p.Why)
		id("grant", p.Grant)
		set("event", p.GrantEvent)
		flag("fallback", p.Fallback)
	case workflow.TaskDeleted:
		set("number", p.Number)
		set("actor", p.Actor)
	case workflow.CommentPosted:
		set("actor", p.Actor)
		set("source", p.Source)
		set("op", p.Op)
		id("seq", p.Seq)
		if !p.From.IsZero() {
			set("channel", p.From.Channel)
			set("ts", p.From.TS)
		}
	case workflow.TaskReminder:
		set("actor", p.Actor)
	case workflow.ReminderDigest:
		ids := make([]string, len(p.Tasks))
		for i, t := range p.Tasks {
			ids[i] = strconv.FormatInt(t, 10)
		}
		set("tasks", strings.Join(ids, ","))
		set("by", p.By)
	case workflow.DirectMessage:
		set("topic", p.Topic)
		set("event", p.Event)
		id("grant", p.Grant)
		set("task", p.Task)
	case workflow.ChannelMessage:
		set("channel", p.Channel)
		set("event", p.Event)
		set("task", p.Task)
	case workflow.ExpiryWarning:
		id("grant", p.Grant)
		set("app", p.App)
		set("resource", p.Resource)
		if !p.ExpiresAt.IsZero() {
			set("expires_at", p.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	return m
}

// legacyPayload reads the payload of a row an older binary wrote: kind k,
// its task id, and its data_json map m. Unknown kinds are nil.
func legacyPayload(k workflow.NoticeKind, taskID int64, m map[string]string) workflow.Payload {
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(m[k], 10, 64)
		return n
	}
	switch k {
	case workflow.NoticeTaskChanged:
		return workflow.TaskChanged{Resend: m["resend"] == "true", Why: m["why"], Grant: num("grant"), GrantEvent: m["event"], Fallback: m["fallback"] == "true"}
	case workflow.NoticeTaskDeleted:
		return workflow.TaskDeleted{Number: m["number"], Actor: m["actor"]}
	case workflow.NoticeComment:
		p := workflow.CommentPosted{Actor: m["actor"], Source: m["source"], Op: m["op"], Seq: num("seq")}
		if ref := (workflow.MessageRef{Channel: m["channel"], TS: m["ts"]}); !ref.IsZero() {
			p.From = ref
		}
		return p
	case workflow.NoticeReminder:
		if taskID != 0 {
			return workflow.TaskReminder{Actor: m["actor"]}
		}
		// A digest: a reminder of no one task, listing several.
		p := workflow.ReminderDigest{By: m["by"]}
		for _, s := range strings.Split(m["tasks"], ",") {
			if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				p.Tasks = append(p.Tasks, id)
			}
		}
		return p
	case workflow.NoticeDirect:
		return workflow.DirectMessage{Topic: m["topic"], Event: m["event"], Grant: num("grant"), Task: m["task"]}
	case workflow.NoticeChannel:
		return workflow.ChannelMessage{Channel: m["channel"], Event: m["event"], Task: m["task"]}
	case workflow.NoticeExpiryWarning:
		p := workflow.ExpiryWarning{Grant: num("grant"), App: m["app"], Resource: m["resource"]}
		if at, err := time.Parse(time.RFC3339, m["expires_at"]); err == nil {
			p.ExpiresAt = at.UTC()
		}
		return p
	}
	return nil
}
