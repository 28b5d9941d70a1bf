package fakeslack_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// Rows of a Home list each carry the same action_ids; a person points at
// one row by its block.
func TestClickAndSelectInAGivenBlock(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	clicks := make(chan slack.InteractionCallback, 10)
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			c.Ack(*evt.Request)
		}
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			clicks <- cb
		}
	})
	ctx := testCtx(t)
	row := func(n string) []slack.Block {
		sec := slack.NewSectionBlock(plain("T-"+n), nil, slack.NewAccessory(
			slack.NewCheckboxGroupsBlockElement("select", slack.NewOptionBlockObject(n, plain("Select"), nil))))
		sec.BlockID = "row:" + n
		return []slack.Block{sec, slack.NewActionBlock("act:"+n, slack.NewButtonBlockElement("approve", n, plain("Approve")))}
	}
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: append(row("1"), row("2")...)}}
	_, err := api.PublishView("U1", home, "")
	require.NoError(t, err)
	v, ok := srv.HomeView("U1")
	require.True(t, ok)

	_, err = srv.ClickInViewBlock(ctx, "U1", v.ID, "act:2", "approve")
	require.NoError(t, err)
	cb := <-clicks
	assert.Equal(t, "2", cb.ActionCallback.BlockActions[0].Value)
	assert.Equal(t, "act:2", cb.ActionCallback.BlockActions[0].BlockID)

	_, err = srv.SelectInViewBlock(ctx, "U1", v.ID, "row:2", "select", "2")
	require.NoError(t, err)
	cb = <-clicks
	assert.Equal(t, "2", cb.View.State.Values["row:2"]["select"].SelectedOptions[0].Value)
	assert.NotContains(t, cb.View.State.Values, "row:1", "the other row stays unticked")

	_, err = srv.ClickInViewBlock(ctx, "U1", v.ID, "act:3", "approve")
	assert.ErrorContains(t, err, `no button "approve" in block "act:3"`)
	_, err = srv.SelectInViewBlock(ctx, "U1", v.ID, "act:1", "approve", "1")
	assert.ErrorContains(t, err, "no selectable element")
}
