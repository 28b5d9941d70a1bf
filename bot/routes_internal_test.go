package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"accessbot/blocks"
)

// TestRoutesDecisionButtons checks that every decision button is routed,
// on cards and in the App Home, to the action blocks draws it for.
func TestRoutesDecisionButtons(t *testing.T) {
	r := (&Bot{}).newRegistry()
	for _, id := range decisionButtons {
		_, ok := blocks.ButtonAction(id)
		assert.True(t, ok, "%s is a decision button", id)
		assert.NotNil(t, r.card[id], "%s on a card", id)
		assert.NotNil(t, r.viewAction[id], "%s in the App Home", id)
	}
	for _, id := range []string{blocks.ActReassign, blocks.ActDeclareEmergency, blocks.ActDetails, blocks.ActMore,
		blocks.ActRetryConnector, blocks.ActRequestExtension, blocks.ActTasksOpenHome, blocks.ActAdminProcessNow} {
		assert.NotNil(t, r.card[id], "%s on a card", id)
	}
	assert.NotNil(t, r.commands["access"])
	assert.NotNil(t, r.commands["delegate"])
}
