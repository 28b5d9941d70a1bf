package fakeslack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func requestModal() slack.ModalViewRequest {
	duration := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Pick"), "duration_select",
		slack.NewOptionBlockObject("1h", plain("1 hour"), nil),
		slack.NewOptionBlockObject("8h", plain("8 hours"), nil))
	system := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("System"), "system_select")
	approver := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Approver"), "approver_select")
	note := slack.NewInputBlock("note", plain("Note"), nil, slack.NewPlainTextInputBlockElement(nil, "note_input"))
	note.Optional = true
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plain("Request access"),
		Submit:     plain("Send"),
		CallbackID: "request",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("system", plain("System"), nil, system),
			slack.NewInputBlock("duration", plain("Duration"), nil, duration),
			slack.NewInputBlock("approver", plain("Approver"), nil, approver),
			slack.NewInputBlock("reason", plain("Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "reason_input")),
			note,
		}},
	}
}

type submitted struct {
	system, duration, approver, reason string
}

// accessBot is a tiny bot exercising the fake the way the real one will.
func accessBot(t *testing.T, api *slack.Client, subs chan<- submitted, clicks chan<- slack.InteractionCallback) func(*socketmode.Client, socketmode.Event) {
	return func(c *socketmode.Client, evt socketmode.Event) {
		switch evt.Type {
		case socketmode.EventTypeSlashCommand:
			cmd := evt.Data.(slack.SlashCommand)
			c.Ack(*evt.Request)
			if _, err := api.OpenView(cmd.TriggerID, requestModal()); err != nil {
				t.Errorf("views.open: %v", err)
			}
		case socketmode.EventTypeInteractive:
			cb := evt.Data.(slack.InteractionCallback)
			switch cb.Type {
			case slack.InteractionTypeBlockSuggestion:
				c.Ack(*evt.Request, map[string]any{"options": []any{
					map[string]any{"text": map[string]any{"type": "plain_text", "text": "GitHub"}, "value": "github"},
					map[string]any{"text": map[string]any{"type": "plain_text", "text": "AWS prod"}, "value": "aws"},
				}})
			case slack.InteractionTypeViewSubmission:
				v := cb.View.State.Values
				s := submitted{
					system:   v["system"]["system_select"].SelectedOption.Value,
					duration: v["duration"]["duration_select"].SelectedOption.Value,
					approver: v["approver"]["approver_select"].SelectedUser,
					reason:   v["reason"]["reason_input"].Value,
				}
				if len(s.reason) < 5 {
					c.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "Say a bit more"}))
					return
				}
				c.Ack(*evt.Request)
				blocks := []slack.Block{
					slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cb.User.ID+" wants "+s.system, false, false), nil, nil),
					slack.NewActionBlock("decide:1", button("approve", "Approve", "1"), button("deny", "Deny", "1")),
				}
				if _, _, err := api.PostMessage(s.approver, slack.MsgOptionText("Access request", false), slack.MsgOptionBlocks(blocks...)); err != nil {
					t.Errorf("post: %v", err)
				}
				subs <- s
			case slack.InteractionTypeBlockActions:
				c.Ack(*evt.Request)
				clicks <- cb
				if cb.Container.Type == "message" && cb.ActionCallback.BlockActions[0].ActionID == "approve" {
					_, _, err := api.PostMessage(cb.Channel.ID, slack.MsgOptionReplaceOriginal(cb.ResponseURL),
						slack.MsgOptionText("Approved by "+cb.User.ID, false))
					if err != nil {
						t.Errorf("response_url: %v", err)
					}
				}
			default:
				c.Ack(*evt.Request)
			}
		default:
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				c.Ack(*evt.Request)
			}
		}
	}
}

func TestRequestFlow(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	srv.AddUser(fakeslack.User{ID: "U2", Name: "bob"})
	subs := make(chan submitted, 5)
	clicks := make(chan slack.InteractionCallback, 5)
	runBot(t, srv, api, accessBot(t, api, subs, clicks))
	ctx := testCtx(t)

	_, err := srv.Command(ctx, "U1", srv.DMChannel("U1"), "/access", "")
	require.NoError(t, err)
	require.NoError(t, srv.WaitFor(ctx, func() bool { _, ok := srv.TopModal("U1"); return ok }))
	modal, _ := srv.TopModal("U1")
	assert.Equal(t, "request", modal.CallbackID)
	assert.Equal(t, "Request access", modal.Title)

	opts, err := srv.Suggest(ctx, "U1", modal.ID, "system_select", "git")
	require.NoError(t, err)
	require.Len(t, opts, 2)
	assert.Equal(t, "github", opts[0].Value)

	// Required inputs left empty: the client refuses, nothing is sent.
	_, err = srv.Submit(ctx, "U1", modal.ID, fakeslack.Inputs{"system": {"github"}})
	assert.ErrorContains(t, err, "required input")

	// Typing in a plain input sends nothing.
	d, err := srv.SetInput(ctx, "U1", modal.ID, "duration", "8 hours") // by option text
	require.NoError(t, err)
	assert.Empty(t, d.EnvelopeID)

	sub, err := srv.Submit(ctx, "U1", modal.ID, fakeslack.Inputs{"approver": {"U2"}, "reason": {"meh"}})
	require.NoError(t, err)
	assert.Equal(t, "errors", sub.ResponseAction)
	assert.Equal(t, map[string]string{"reason": "Say a bit more"}, sub.Errors)
	require.Len(t, sub.Stack, 1, "the modal stays open on errors")

	sub, err = srv.Submit(ctx, "U1", modal.ID, fakeslack.Inputs{"reason": {"release 1.2 hotfix"}})
	require.NoError(t, err)
	assert.Empty(t, sub.ResponseAction)
	assert.Empty(t, sub.Stack, "an empty ack closes the modal")
	assert.Equal(t, submitted{system: "github", duration: "8h", approver: "U2", reason: "release 1.2 hotfix"}, <-subs)

	require.NoError(t, srv.WaitFor(ctx, func() bool { return len(srv.DMs("U2")) == 1 }))
	msg := srv.DMs("U2")[0]
	assert.Contains(t, msg.AllText(), "U1 wants github")

	_, err = srv.Click(ctx, "U1", msg.Channel, msg.TS, "Approve")
	assert.ErrorContains(t, err, "cannot see", "alice cannot click in bob's DM")

	d, err = srv.Click(ctx, "U2", msg.Channel, msg.TS, "Approve")
	require.NoError(t, err)
	cb := <-clicks
	assert.Equal(t, "U2", cb.User.ID)
	assert.Equal(t, msg.TS, cb.Container.MessageTs)
	assert.Equal(t, msg.Channel, cb.Container.ChannelID)
	assert.Equal(t, msg.TS, cb.Message.Timestamp)
	assert.Equal(t, d.TriggerID, cb.TriggerID)
	require.Len(t, cb.ActionCallback.BlockActions, 1)
	act := cb.ActionCallback.BlockActions[0]
	assert.Equal(t, "approve", act.ActionID)
	assert.Equal(t, "decide:1", act.BlockID)
	assert.Equal(t, "1", act.Value)
	assert.Equal(t, "Approve", act.Text.Text)

	require.NoError(t, srv.WaitFor(ctx, func() bool {
		m, _ := srv.Message(msg.Channel, msg.TS)
		return strings.HasPrefix(m.Text, "Approved")
	}))
	m, _ := srv.Message(msg.Channel, msg.TS)
	assert.Equal(t, "Approved by U2", m.Text)
	assert.Empty(t, m.Actions(), "replace_original replaced the blocks")
	assert.Equal(t, 1, srv.Count("response_url", "ok"))
}

func TestModalResponseActions(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	step := func(title string) *slack.ModalViewRequest {
		return &slack.ModalViewRequest{Type: slack.VTModal, Title: plain(title), Submit: plain("Next"), CallbackID: title,
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(plain(title), nil, nil)}}}
	}
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Request == nil || evt.Request.EnvelopeID == "" {
			return
		}
		cb, _ := evt.Data.(slack.InteractionCallback)
		switch cb.View.CallbackID {
		case "one":
			c.Ack(*evt.Request, slack.NewPushViewSubmissionResponse(step("two")))
		case "two":
			c.Ack(*evt.Request, slack.NewUpdateViewSubmissionResponse(step("three")))
		case "three":
			c.Ack(*evt.Request, slack.NewClearViewSubmissionResponse())
		case "bad":
			c.Ack(*evt.Request, slack.NewUpdateViewSubmissionResponse(step(strings.Repeat("x", 30))))
		default:
			c.Ack(*evt.Request)
		}
	})
	ctx := testCtx(t)

	resp, err := api.OpenView(srv.MintTrigger("U1", 0), *step("one"))
	require.NoError(t, err)
	sub, err := srv.Submit(ctx, "U1", resp.View.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "push", sub.ResponseAction)
	require.Len(t, sub.Stack, 2)
	two := sub.Stack[1]
	assert.Equal(t, resp.View.ID, two.PreviousViewID)

	sub, err = srv.Submit(ctx, "U1", two.ID, nil)
	require.NoError(t, err)
	require.Len(t, sub.Stack, 2)
	assert.Equal(t, two.ID, sub.Stack[1].ID, "update keeps the view id")
	assert.Equal(t, "three", sub.Stack[1].CallbackID)

	sub, err = srv.Submit(ctx, "U1", two.ID, nil)
	require.NoError(t, err)
	assert.Empty(t, sub.Stack, "clear closes every view")

	resp, err = api.OpenView(srv.MintTrigger("U1", 0), *step("bad"))
	require.NoError(t, err)
	_, err = srv.Submit(ctx, "U1", resp.View.ID, nil)
	assert.ErrorIs(t, err, fakeslack.ErrBadAck)
	assert.Len(t, srv.ModalStack("U1"), 1)
}

func TestEventsAndHome(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	srv.AddChannel("C1", "general", false)
	srv.EchoBotMessages(true)
	messages := make(chan *slackevents.MessageEvent, 10)
	homeClicks := make(chan slack.InteractionCallback, 10)
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			c.Ack(*evt.Request)
		}
		switch evt.Type {
		case socketmode.EventTypeEventsAPI:
			ev := evt.Data.(slackevents.EventsAPIEvent)
			switch inner := ev.InnerEvent.Data.(type) {
			case *slackevents.MessageEvent:
				messages <- inner
				if inner.BotID == "" && inner.SubType == "" {
					_, _, _ = api.PostMessage(inner.Channel, slack.MsgOptionText("echo: "+inner.Text, false), slack.MsgOptionTS(inner.TimeStamp))
				}
			case *slackevents.AppHomeOpenedEvent:
				home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
					slack.NewActionBlock("prefs", slack.NewCheckboxGroupsBlockElement("notify",
						slack.NewOptionBlockObject("dm", plain("DM me"), nil))),
				}}}
				_, _ = api.PublishView(inner.User, home, "")
			}
		case socketmode.EventTypeInteractive:
			homeClicks <- evt.Data.(slack.InteractionCallback)
		}
	})
	ctx := testCtx(t)

	dm := srv.DMChannel("U1")
	d, err := srv.PostAsUser(ctx, "U1", dm, "hello bot", "")
	require.NoError(t, err)
	assert.NotEmpty(t, d.EventID)
	ev := <-messages
	assert.Equal(t, "hello bot", ev.Text)
	assert.Equal(t, "im", ev.ChannelType)
	assert.Equal(t, "U1", ev.User)
	assert.Equal(t, d.TS, ev.TimeStamp)
	echo := <-messages
	assert.Equal(t, srv.BotID(), echo.BotID, "the bot's own post comes back with bot_id")
	assert.Equal(t, d.TS, echo.ThreadTimeStamp)

	_, err = srv.EditMessage(ctx, "U1", dm, d.TS, "hello again")
	require.NoError(t, err)
	ev = <-messages
	assert.Equal(t, "message_changed", ev.SubType)
	assert.Equal(t, "hello again", ev.Message.Text)

	_, err = srv.DeleteMessage(ctx, "U1", dm, d.TS)
	require.NoError(t, err)
	ev = <-messages
	assert.Equal(t, "message_deleted", ev.SubType)
	assert.Equal(t, d.TS, ev.DeletedTimeStamp)

	// Not a member: stored, no event.
	d, err = srv.PostAsUser(ctx, "U1", "C1", "anyone?", "")
	require.NoError(t, err)
	assert.Empty(t, d.EnvelopeID)

	_, err = srv.OpenHome(ctx, "U1")
	require.NoError(t, err)
	require.NoError(t, srv.WaitFor(ctx, func() bool { _, ok := srv.HomeView("U1"); return ok }))
	home, _ := srv.HomeView("U1")
	_, err = srv.SelectInView(ctx, "U1", home.ID, "notify", "dm")
	require.NoError(t, err)
	cb := <-homeClicks
	assert.Equal(t, "view", cb.Container.Type)
	assert.Equal(t, home.ID, cb.View.ID)
	act := cb.ActionCallback.BlockActions[0]
	require.Len(t, act.SelectedOptions, 1)
	assert.Equal(t, "dm", act.SelectedOptions[0].Value)
	assert.Equal(t, "dm", cb.View.State.Values["prefs"]["notify"].SelectedOptions[0].Value)
}

func TestOverflowAndResponseURLDelete(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	clicks := make(chan slack.InteractionCallback, 5)
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Request == nil || evt.Request.EnvelopeID == "" {
			return
		}
		c.Ack(*evt.Request)
		if cb, ok := evt.Data.(slack.InteractionCallback); ok {
			clicks <- cb
			_, _, _ = api.PostMessage(cb.Channel.ID, slack.MsgOptionDeleteOriginal(cb.ResponseURL))
		}
	})
	ctx := testCtx(t)

	menu := slack.NewOverflowBlockElement("more",
		slack.NewOptionBlockObject("extend", plain("Extend 1h"), nil),
		slack.NewOptionBlockObject("revoke", plain("Revoke now"), nil))
	_, ts, err := api.PostMessage("U1", slack.MsgOptionText("grant", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(plain("github until 18:00"), nil, slack.NewAccessory(menu))))
	require.NoError(t, err)
	dm := srv.DMChannel("U1")

	_, err = srv.Select(context.Background(), "U1", dm, ts, "more", "nope")
	assert.ErrorContains(t, err, "not an option")
	_, err = srv.Select(ctx, "U1", dm, ts, "more", "Revoke now")
	require.NoError(t, err)
	cb := <-clicks
	assert.Equal(t, "revoke", cb.ActionCallback.BlockActions[0].SelectedOption.Value)
	require.NoError(t, srv.WaitFor(ctx, func() bool { return len(srv.DMs("U1")) == 0 }))
}
