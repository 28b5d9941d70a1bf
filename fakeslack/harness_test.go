package fakeslack_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

func newServer(t *testing.T, opts fakeslack.Options) (*fakeslack.Server, *slack.Client) {
	t.Helper()
	srv, err := fakeslack.New(opts)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	api := slack.New(srv.BotToken(), slack.OptionAppLevelToken(srv.AppToken()), slack.OptionAPIURL(srv.APIURL()))
	return srv, api
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var rawEnvelopeID = regexp.MustCompile(`"envelope_id"\s*:\s*"([^"]+)"`)

// runBot runs a slack-go Socket Mode client whose events go to handle. Bad
// messages are acked by envelope_id taken from the raw frame, as a careful bot does.
func runBot(t *testing.T, srv *fakeslack.Server, api *slack.Client, handle func(*socketmode.Client, socketmode.Event)) *socketmode.Client {
	t.Helper()
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.RunContext(ctx)
	}()
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				if evt.Type == socketmode.EventTypeErrorBadMessage {
					if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
						if m := rawEnvelopeID.FindSubmatch(bad.Message); m != nil {
							_ = client.AckCtx(ctx, string(m[1]), nil)
						}
					}
					continue
				}
				if handle != nil {
					handle(client, evt)
				} else if evt.Request != nil && evt.Request.EnvelopeID != "" {
					client.Ack(*evt.Request)
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-handled // a handler still calling the fake must finish before it closes
	})
	require.NoError(t, srv.WaitConnected(testCtx(t), 1))
	return client
}
