package blocks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestRefRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]int64{{1, 1}, {12, 3}, {9_223_372_036_854_775_807, 9_223_372_036_854_775_807}} {
		s := EncodeRef(c[0], c[1])
		id, rev, err := DecodeRef(s)
		require.NoError(t, err, s)
		assert.Equal(t, c, [2]int64{id, rev})
	}
	assert.Equal(t, "12:3", EncodeRef(12, 3))
}

func TestDecodeRefRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", ":", "12", "12:", ":3", "12:3:4", "T-12:3", "0:3", "-1:3", "12:-3", "+12:3", "12:+3",
		" 12:3", "12:3 ", "12 :3", "1e3:1", "0x1f:2", "12:3\n", "99999999999999999999:1", "12:99999999999999999999",
		strings.Repeat("1", 100) + ":1", "١٢:٣",
		// Revision 0 would skip the engine's stale-card check: a forged
		// button must not get that.
		"12:0", "12:00",
	} {
		_, _, err := DecodeRef(s)
		assert.Error(t, err, "%q", s)
	}
}

func TestOptionRoundTrip(t *testing.T) {
	t.Parallel()
	for _, opt := range []string{OptApproveComment, OptDenyComment, OptConfirmComment, OptProvisionedComment, OptWontProvisionComment,
		OptDeprovisionedComment, OptWontDeprovisionComment, OptEditDuration, OptComment, OptDetails, OptRemind} {
		v := EncodeOption(opt, 12, 3)
		assert.LessOrEqual(t, len(v), maxOptionValue)
		got, id, rev, err := DecodeOption(v)
		require.NoError(t, err, v)
		assert.Equal(t, opt, got)
		assert.Equal(t, [2]int64{12, 3}, [2]int64{id, rev})
	}
	assert.Equal(t, "approve_comment|12:3", EncodeOption(OptApproveComment, 12, 3))
	for _, v := range []string{"", "approve_comment", "approve_comment|", "approve_comment|12", "launch|12:3", "|12:3",
		"approve_comment|12:3|x", "APPROVE_COMMENT|12:3", "approve_comment|0:3"} {
		_, _, _, err := DecodeOption(v)
		assert.Error(t, err, "%q", v)
	}
}

func TestMetaRoundTripAndGarbage(t *testing.T) {
	t.Parallel()
	m := ModalMeta{TaskID: 12, Revision: 3, Action: "approve", Channel: "D0123", MessageTS: "1741615200.000100"}
	got, err := DecodeMeta(EncodeMeta(m))
	require.NoError(t, err)
	assert.Equal(t, m, got)

	// Whatever the caller puts in, the metadata fits Slack's 3,000 characters.
	huge := ModalMeta{TaskID: 1, Action: strings.Repeat("\x01", 5000), Channel: strings.Repeat("\"", 5000), MessageTS: strings.Repeat("é", 5000)}
	s := EncodeMeta(huge)
	assert.LessOrEqual(t, len([]rune(s)), maxPrivateMetadata)
	_, err = DecodeMeta(s)
	require.NoError(t, err)

	for _, s := range []string{"", "  ", "null", "{}", `{"task":0}`, `{"task":-1}`, `{"task":1,"rev":-2}`, `{"task":"1"}`,
		`{"task":1,"evil":true}`, `{"task":1}{"task":2}`, "12:3", strings.Repeat("x", 4000)} {
		_, err := DecodeMeta(s)
		assert.Error(t, err, "%q", s)
	}
}

func TestActionMaps(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]workflow.Action{
		ActApprove: workflow.ActionApprove, ActDeny: workflow.ActionDeny, ActConfirm: workflow.ActionConfirm,
		ActProvisioned: workflow.ActionProvisioned, ActWontProvision: workflow.ActionWontProvision,
		ActDeprovisioned: workflow.ActionDeprovisioned, ActWontDeprovision: workflow.ActionWontDeprovision,
	} {
		got, ok := ButtonAction(id)
		assert.True(t, ok, id)
		assert.Equal(t, want, got)
		// The "with comment" option of each decision decides the same.
		got, ok = CommentOptionAction(id + "_comment")
		assert.True(t, ok, id)
		assert.Equal(t, want, got)
	}
	for _, id := range []string{ActReassign, ActMore, ActDetails, ""} {
		_, ok := ButtonAction(id)
		assert.False(t, ok, id)
	}
	_, ok := CommentOptionAction(OptComment)
	assert.False(t, ok)
}
