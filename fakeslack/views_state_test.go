package fakeslack_test

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// updForm is a modal whose second input's block_id names the app, as the
// bot's request modal does so that a change of app drops what was picked.
func updForm(app string, emergency bool) slack.ModalViewRequest {
	res := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Pick"), "res",
		slack.NewOptionBlockObject(app+"-a", plain(app+" A"), nil),
		slack.NewOptionBlockObject(app+"-b", plain(app+" B"), nil))
	bs := []slack.Block{
		slack.NewInputBlock("why", plain("Why"), nil, slack.NewPlainTextInputBlockElement(nil, "why")),
		slack.NewInputBlock("res:"+app, plain("Resource"), nil, res),
	}
	if emergency {
		opt := slack.NewOptionBlockObject("emergency", plain("Emergency"), nil)
		in := slack.NewInputBlock("emergency", plain("Emergency"), nil, slack.NewCheckboxGroupsBlockElement("emergency", opt))
		in.Optional = true
		bs = append(bs, in)
	}
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Form"), Submit: plain("Send"), CallbackID: "form",
		Blocks: slack.Blocks{BlockSet: bs}}
}

func viewStateOf(t *testing.T, v fakeslack.View) map[string]map[string]map[string]any {
	t.Helper()
	var st struct {
		Values map[string]map[string]map[string]any `json:"values"`
	}
	require.NoError(t, json.Unmarshal(v.State, &st))
	return st.Values
}

// views.update keeps what the person entered in inputs whose block_id and
// action_id survive, drops the rest, and refuses an update made from an
// older hash; checkboxes report selected_options.
func TestViewsUpdateKeepsSurvivingState(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	ctx := testCtx(t)

	opened, err := api.OpenView(srv.MintTrigger("U1", 0), updForm("gh", true))
	require.NoError(t, err)
	id := opened.View.ID
	_, err = srv.SetInput(ctx, "U1", id, "why", "on call")
	require.NoError(t, err)
	_, err = srv.SetInput(ctx, "U1", id, "res:gh", "gh-b")
	require.NoError(t, err)
	_, err = srv.SetInput(ctx, "U1", id, "emergency", "emergency")
	require.NoError(t, err)
	v, _ := srv.View(id)
	st := viewStateOf(t, v)
	assert.Equal(t, "checkboxes", st["emergency"]["emergency"]["type"])
	sel, _ := st["emergency"]["emergency"]["selected_options"].([]any)
	require.Len(t, sel, 1)
	assert.Equal(t, "emergency", sel[0].(map[string]any)["value"])
	staleHash := v.Hash

	upd, err := api.UpdateView(updForm("vpn", true), "", v.Hash, id)
	require.NoError(t, err)
	assert.NotEqual(t, v.Hash, upd.View.Hash, "every update makes a new hash")
	v, _ = srv.View(id)
	st = viewStateOf(t, v)
	assert.Equal(t, "on call", st["why"]["why"]["value"], "same block and action: kept")
	assert.Len(t, st["emergency"]["emergency"]["selected_options"], 1, "kept")
	_, gone := st["res:gh"]
	assert.False(t, gone, "the old block is gone with its value")
	assert.Nil(t, st["res:vpn"]["res"]["selected_option"], "the new block starts empty")

	_, err = api.UpdateView(updForm("gh", false), "", staleHash, id)
	assert.EqualError(t, err, "hash_conflict")
	_, err = api.UpdateView(updForm("gh", false), "", upd.View.Hash, id)
	require.NoError(t, err)
	v, _ = srv.View(id)
	_, ok := viewStateOf(t, v)["emergency"]
	assert.False(t, ok, "no checkbox, no state")
}
