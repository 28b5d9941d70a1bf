package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// payloadSamples has one payload of every kind with every field set.
func payloadSamples() map[workflow.NoticeKind]workflow.Payload {
	return map[workflow.NoticeKind]workflow.Payload{
		workflow.NoticeTaskChanged: workflow.TaskChanged{Resend: true, Why: "identity", Grant: 7, GrantEvent: "revoked", Fallback: true},
		workflow.NoticeTaskDeleted: workflow.TaskDeleted{Number: "T-3", Actor: "admin@x.com"},
		workflow.NoticeComment: workflow.CommentPosted{Actor: "bob@x.com", Source: workflow.SourceThread, Op: workflow.CommentOpEdited, Seq: 12,
			From: workflow.MessageRef{Channel: "C1", TS: "100.1"}},
		workflow.NoticeReminder:      workflow.TaskReminder{Actor: "erin@x.com"},
		workflow.NoticeDigest:        workflow.ReminderDigest{Tasks: []int64{4, 2, 9}, By: "schedule"},
		workflow.NoticeDirect:        workflow.DirectMessage{Topic: "delegation", Event: "expired", Grant: 5, Task: "T-5"},
		workflow.NoticeChannel:       workflow.ChannelMessage{Channel: "C2", Event: "emergency", Task: "T-6"},
		workflow.NoticeExpiryWarning: workflow.ExpiryWarning{Grant: 8, App: "github", Resource: "admin", ExpiresAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
	}
}

// TestPayloadCodec: every kind survives both encodings. The typed one is
// what this binary reads back; the legacy one (kind and data_json) is what
// a binary before migration 0022 reads, and what such a binary wrote is
// read back as the same payload.
func TestPayloadCodec(t *testing.T) {
	t.Parallel()
	samples := payloadSamples()
	require.Len(t, samples, len(workflow.NoticeKinds()), "a sample for every kind")
	for _, kind := range workflow.NoticeKinds() {
		p := samples[kind]
		require.NotNil(t, p, "a sample for %s", kind)
		require.Equal(t, kind, p.NoticeKind())
		taskID := int64(3)
		if kind == workflow.NoticeDigest {
			taskID = 0
		}
		n := &workflow.Notice{TaskID: taskID, Payload: p}
		k, data, payload, err := encodePayload(n)
		require.NoError(t, err)

		typed := payload.(string)
		back, err := decodePayload(k, taskID, nil, &typed)
		require.NoError(t, err)
		assert.Equal(t, p, back, "%s: typed", kind)

		raw := data.(string)
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(raw), &m), "%s: an older binary reads data_json as a map of strings", kind)
		legacy, err := decodePayload(k, taskID, &raw, nil)
		require.NoError(t, err)
		assert.Equal(t, p, legacy, "%s: legacy", kind)
	}
	_, _, _, err := encodePayload(&workflow.Notice{TaskID: 1})
	require.Error(t, err, "a notice without a payload is refused")
}

// TestLegacyDataKeys pins the legacy encoding to the keys the binaries
// before 0022 wrote and read (workflow's old Data map), so that an older
// replica delivering a newer one's notice does what it always did.
func TestLegacyDataKeys(t *testing.T) {
	t.Parallel()
	s := payloadSamples()
	assert.Equal(t, map[string]string{"resend": "true", "why": "identity", "grant": "7", "event": "revoked", "fallback": "true"}, legacyData(s[workflow.NoticeTaskChanged]))
	assert.Equal(t, map[string]string{"number": "T-3", "actor": "admin@x.com"}, legacyData(s[workflow.NoticeTaskDeleted]))
	assert.Equal(t, map[string]string{"actor": "bob@x.com", "source": "thread", "op": "edited", "seq": "12", "channel": "C1", "ts": "100.1"}, legacyData(s[workflow.NoticeComment]))
	assert.Equal(t, map[string]string{"actor": "erin@x.com"}, legacyData(s[workflow.NoticeReminder]))
	assert.Equal(t, map[string]string{"tasks": "4,2,9", "by": "schedule"}, legacyData(s[workflow.NoticeDigest]))
	assert.Equal(t, map[string]string{"topic": "delegation", "event": "expired", "grant": "5", "task": "T-5"}, legacyData(s[workflow.NoticeDirect]))
	assert.Equal(t, map[string]string{"channel": "C2", "event": "emergency", "task": "T-6"}, legacyData(s[workflow.NoticeChannel]))
	assert.Equal(t, map[string]string{"grant": "8", "app": "github", "resource": "admin", "expires_at": "2026-11-24T10:00:00Z"}, legacyData(s[workflow.NoticeExpiryWarning]))
	assert.Equal(t, workflow.NoticeReminder, legacyKind(workflow.NoticeDigest), "an older binary knows a digest as a reminder of task 0")
	assert.Equal(t, workflow.NoticeDirect, legacyKind(workflow.NoticeDirect))
}

// TestUnknownKindIsNoPayload: a kind a newer binary queued decodes to no
// payload instead of an error that would stop every claim.
func TestUnknownKindIsNoPayload(t *testing.T) {
	t.Parallel()
	p := `{"kind":"hologram","payload":{"x":1}}`
	got, err := decodePayload("hologram", 1, nil, &p)
	require.NoError(t, err)
	assert.Nil(t, got)
	data := `{"x":"1"}`
	got, err = decodePayload("hologram", 1, &data, nil)
	require.NoError(t, err)
	assert.Nil(t, got)
}
