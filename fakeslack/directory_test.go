package fakeslack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

func TestDirectory(t *testing.T) {
	t.Parallel()
	srv, api := newServer(t, fakeslack.Options{})
	srv.AddUser(fakeslack.User{ID: "U2", Name: "zoe"})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "adam"})
	srv.AddChannel("C2", "ops", true)
	srv.AddChannel("C1", "access-github", true)
	srv.DMChannel("U1")

	var names []string
	for _, u := range srv.Users() {
		names = append(names, u.Name)
	}
	assert.Equal(t, []string{"adam", "zoe"}, names, "by name, without the bot")
	assert.Equal(t, []fakeslack.Channel{{ID: "C1", Name: "access-github", BotMember: true}, {ID: "C2", Name: "ops", BotMember: true}}, srv.Channels(), "no DMs")

	ch, _, err := api.PostMessageContext(testCtx(t), "#access-github", slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	assert.Equal(t, "C1", ch, "a #name posts to the channel, as in Slack")
	_, _, err = api.PostMessageContext(testCtx(t), "#nope", slack.MsgOptionText("hi", false))
	assert.EqualError(t, err, "channel_not_found")
}

// TestClientRefusals: what Slack's client never sends reaches no bot.
func TestClientRefusals(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, fakeslack.Options{Commands: []string{"/access"}})
	srv.AddUser(fakeslack.User{ID: "U1", Name: "adam"})
	dm := srv.DMChannel("U1")
	ctx := testCtx(t)

	_, err := srv.Command(ctx, "U1", dm, "/acces", "request")
	require.ErrorIs(t, err, fakeslack.ErrUnknownCommand)
	assert.Contains(t, err.Error(), `/acces is not a valid command`)
	_, err = srv.Command(ctx, "U1", dm, "/access", strings.Repeat("x", fakeslack.MaxMessageText))
	require.ErrorIs(t, err, fakeslack.ErrTooLong, "the command and its text are what the person typed")
	_, err = srv.PostAsUser(ctx, "U1", dm, strings.Repeat("x", fakeslack.MaxMessageText+1), "")
	require.ErrorIs(t, err, fakeslack.ErrTooLong)
	assert.Empty(t, srv.Messages(dm), "nothing stored")
	assert.Empty(t, srv.Acks(), "nothing pushed")

	// Allowed commands go on to the app (none is connected here).
	_, err = srv.Command(ctx, "U1", dm, "/access", "help")
	assert.ErrorIs(t, err, fakeslack.ErrNotConnected)

	_, err = srv.Submit(ctx, "U1", "V404", nil)
	assert.ErrorIs(t, err, fakeslack.ErrViewClosed)
}

func TestMessageClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	srv, api := newServer(t, fakeslack.Options{Now: func() time.Time { return at }})
	srv.AddChannel("C1", "ops", true)
	_, ts1, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("a", false))
	require.NoError(t, err)
	_, ts2, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("b", false))
	require.NoError(t, err)
	assert.Equal(t, "1893553445.000000", ts1)
	assert.Equal(t, "1893553445.000001", ts2, "still strictly increasing")
}
