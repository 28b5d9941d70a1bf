package fakeslack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// commandBot acks slash commands with an immediate reply and reports them.
func commandBot(cmds chan<- slack.SlashCommand) func(*socketmode.Client, socketmode.Event) {
	return func(c *socketmode.Client, evt socketmode.Event) {
		switch evt.Type {
		case socketmode.EventTypeSlashCommand:
			cmd := evt.Data.(slack.SlashCommand)
			c.Ack(*evt.Request, map[string]any{"text": "got: " + cmd.Text})
			cmds <- cmd
		default:
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				c.Ack(*evt.Request)
			}
		}
	}
}

func TestSlashCommandAck(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	cmds := make(chan slack.SlashCommand, 10)
	runBot(t, srv, api, commandBot(cmds))
	ctx := testCtx(t)

	dm := srv.DMChannel("U1")
	d, err := srv.Command(ctx, "U1", dm, "/access", "request github 8h because")
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"got: request github 8h because"}`, string(d.Ack.Payload))
	assert.Greater(t, d.Ack.Latency, time.Duration(0))
	assert.Equal(t, d.EnvelopeID, d.Ack.EnvelopeID)

	cmd := <-cmds
	assert.Equal(t, "U1", cmd.UserID)
	assert.Equal(t, "alice", cmd.UserName)
	assert.Equal(t, dm, cmd.ChannelID)
	assert.Equal(t, "/access", cmd.Command)
	assert.Equal(t, "request github 8h because", cmd.Text)
	assert.Equal(t, d.TriggerID, cmd.TriggerID)
	assert.Equal(t, d.ResponseURL, cmd.ResponseURL)
	assert.Equal(t, srv.AppID(), cmd.APIAppID)
	assert.False(t, cmd.IsEnterpriseInstall)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(d.Payload, &raw))
	assert.Equal(t, "false", raw["is_enterprise_install"], "sent as a string, like Slack")

	eph := srv.Ephemerals("U1")
	require.Len(t, eph, 1)
	assert.Equal(t, "got: request github 8h because", eph[0].Text)
	assert.Equal(t, "ack", eph[0].Via)

	// Redelivery: same envelope id, retry_attempt 1; the bot acks again.
	require.NoError(t, srv.Redeliver(d.EnvelopeID))
	<-cmds
	require.NoError(t, srv.WaitFor(ctx, func() bool { return len(srv.AcksFor(d.EnvelopeID)) == 2 }))
	assert.Equal(t, 1, srv.AcksFor(d.EnvelopeID)[1].Attempt)
}

func TestDisconnectReconnect(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	cmds := make(chan slack.SlashCommand, 10)
	runBot(t, srv, api, commandBot(cmds))
	ctx := testCtx(t)
	require.Equal(t, 1, srv.ConnectCount())

	srv.Disconnect("refresh_requested")
	// slack-go reconnects at once: wait for the second connection, not for zero.
	require.NoError(t, srv.WaitFor(ctx, func() bool { return srv.ConnectCount() == 2 && srv.Connections() == 1 }))
	assert.Equal(t, 2, srv.Count("apps.connections.open", "ok"))

	_, err := srv.Command(ctx, "U1", srv.DMChannel("U1"), "/access", "after reconnect")
	require.NoError(t, err)
	assert.Equal(t, "after reconnect", (<-cmds).Text)

	// A cut without a disconnect message: slack-go notices and reconnects too.
	srv.DropConnections()
	require.NoError(t, srv.WaitFor(ctx, func() bool { return srv.ConnectCount() == 3 && srv.Connections() == 1 }))
}

func TestMalformedEnvelope(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{})
	runBot(t, srv, api, nil)
	ctx := testCtx(t)

	// "actions" must be an array: slack-go cannot parse this interactive payload
	// and hands it over as EventTypeErrorBadMessage without a Request.
	id, err := srv.PushRaw([]byte(`{"envelope_id":"bad-1","type":"interactive","accepts_response_payload":true,"payload":{"type":"block_actions","actions":"oops"}}`))
	require.NoError(t, err)
	assert.Equal(t, "bad-1", id)
	ack, err := srv.WaitAck(ctx, id)
	require.NoError(t, err)
	assert.Nil(t, ack.Payload)

	// An unknown envelope type is a bad message too.
	id, err = srv.Push("unheard_of", map[string]any{"x": 1})
	require.NoError(t, err)
	_, err = srv.WaitAck(ctx, id)
	require.NoError(t, err)
}

func TestPingsKeepConnectionAlive(t *testing.T) {
	srv, err := fakeslack.New(fakeslack.Options{PingInterval: 40 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	api := slack.New(srv.BotToken(), slack.OptionAppLevelToken(srv.AppToken()), slack.OptionAPIURL(srv.APIURL()))
	client := socketmode.New(api, socketmode.OptionPingInterval(250*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.RunContext(ctx)
	}()
	go func() {
		for { // drain, or slack-go stalls
			select {
			case <-client.Events:
			case <-ctx.Done():
				return
			}
		}
	}()
	require.NoError(t, srv.WaitConnected(ctx, 1))

	time.Sleep(600 * time.Millisecond) // over two client ping windows
	assert.Equal(t, 1, srv.ConnectCount(), "pings keep the connection")

	srv.SetPingsPaused(true)
	require.NoError(t, srv.WaitFor(ctx, func() bool { return srv.ConnectCount() >= 2 }))
	srv.SetPingsPaused(false)
	cancel()
	<-done
}

func TestPushWithoutConnection(t *testing.T) {
	srv, _ := newServer(t, fakeslack.Options{})
	_, err := srv.Push("events_api", map[string]any{})
	assert.ErrorIs(t, err, fakeslack.ErrNotConnected)
}

func TestLateAck(t *testing.T) {
	srv, api := newServer(t, fakeslack.Options{AckDeadline: 30 * time.Millisecond})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "alice"})
	runBot(t, srv, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type == socketmode.EventTypeSlashCommand {
			time.Sleep(60 * time.Millisecond) // a slow handler that acks last
			c.Ack(*evt.Request, map[string]any{"text": "too late"})
		}
	})
	d, err := srv.Command(testCtx(t), "U1", srv.DMChannel("U1"), "/access", "x")
	require.ErrorIs(t, err, fakeslack.ErrLateAck)
	assert.Greater(t, d.Ack.Latency, 30*time.Millisecond)
	assert.Empty(t, srv.Ephemerals("U1"), "Slack ignores a late reply")
}
