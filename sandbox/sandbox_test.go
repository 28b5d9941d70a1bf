package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/sandbox"
)

type result struct {
	OK     bool              `json:"ok"`
	Error  string            `json:"error"`
	Errors map[string]string `json:"errors"`
}

func setup(t *testing.T) (*sandbox.Server, *httptest.Server, *sandbox.Clock) {
	t.Helper()
	clock := sandbox.NewClock(func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) })
	sb, err := sandbox.New(sandbox.Options{
		People:   []sandbox.Person{{Email: "maya.chen@acme.example", TZ: "Europe/Berlin"}, {Email: "ben.okafor@acme.example"}},
		Channels: []sandbox.Channel{{Ref: "#access-github"}, {Ref: "C0123ABCDE", Name: "aws-access"}},
		Commands: []string{"/access", "/delegate"},
		Clock:    clock,
		Addr:     "127.0.0.1:3000",
	})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	return sb, ts, clock
}

func post(t *testing.T, ts *httptest.Server, body map[string]any) result {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(ts.URL+"/api/act", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer res.Body.Close()
	var r result
	require.NoError(t, json.NewDecoder(res.Body).Decode(&r))
	return r
}

func TestWorkspaceFromOptions(t *testing.T) {
	t.Parallel()
	sb, ts, _ := setup(t)
	maya := sb.UserID("Maya.Chen@acme.example")
	require.NotEmpty(t, maya)
	u, _ := sb.Slack().User(maya)
	assert.Equal(t, "Maya Chen", u.RealName)
	assert.Equal(t, "maya.chen", u.Name)
	assert.Equal(t, "Europe/Berlin", u.TZ)

	res, err := http.Get(ts.URL + "/api/state?as=" + maya)
	require.NoError(t, err)
	defer res.Body.Close()
	var st struct {
		Addr          string `json:"addr"`
		Conversations []struct {
			ID, Kind, Name string
		} `json:"conversations"`
		Users []struct{ ID string } `json:"users"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&st))
	assert.Equal(t, "127.0.0.1:3000", st.Addr)
	assert.Len(t, st.Users, 2, "the bot is not a person to play")
	require.Len(t, st.Conversations, 3)
	assert.Equal(t, "dm", st.Conversations[0].Kind)
	assert.Equal(t, "access-github", st.Conversations[1].Name)
	assert.Equal(t, "C0123ABCDE", st.Conversations[2].ID)

	// The bot posts to a channel by #name, as Slack allows.
	form := url.Values{"channel": {"#access-github"}, "text": {"hello"}}
	req, _ := http.NewRequest(http.MethodPost, sb.Slack().APIURL()+"chat.postMessage", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+sb.Slack().BotToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		OK      bool   `json:"ok"`
		Channel string `json:"channel"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.True(t, out.OK)
	assert.Equal(t, st.Conversations[1].ID, out.Channel)
}

// TestBadInputAsSlackAnswersIt: what Slack's client refuses never reaches
// the app, and the person reads why.
func TestBadInputAsSlackAnswersIt(t *testing.T) {
	t.Parallel()
	sb, ts, _ := setup(t)
	maya := sb.UserID("maya.chen@acme.example")
	dm := sb.Slack().DMChannel(maya)

	r := post(t, ts, map[string]any{"as": maya, "kind": "send", "channel": dm, "text": "/acess request github"})
	assert.False(t, r.OK)
	assert.Equal(t, `/acess is not a valid command. In Slack, all messages that start with the "/" character are interpreted as commands. This app knows /access and /delegate.`, r.Error)

	r = post(t, ts, map[string]any{"as": maya, "kind": "send", "channel": dm, "text": "/access " + strings.Repeat("x", fakeslack.MaxMessageText)})
	assert.False(t, r.OK)
	assert.Contains(t, r.Error, "Your message is too long: 40008 characters. Slack sends at most 40000")
	r = post(t, ts, map[string]any{"as": maya, "kind": "send", "channel": dm, "text": strings.Repeat("é", fakeslack.MaxMessageText+1)})
	assert.Contains(t, r.Error, "Your message is too long")
	assert.Empty(t, sb.Slack().Messages(dm), "nothing was posted")

	r = post(t, ts, map[string]any{"as": maya, "kind": "send", "channel": dm, "text": "   "})
	assert.Equal(t, "type a message or a command first", r.Error)

	r = post(t, ts, map[string]any{"as": "U404", "kind": "send", "channel": dm, "text": "hi"})
	assert.Contains(t, r.Error, `unknown person "U404"`)

	r = post(t, ts, map[string]any{"as": maya, "kind": "skip", "by": "1w"})
	assert.Equal(t, `skip by "1w": choose 1h or 1d`, r.Error)

	// A modal the app opened, then closed: nothing in it can be submitted.
	viewID := openModal(t, sb, maya)
	require.Len(t, sb.Slack().ModalStack(maya), 1)
	r = post(t, ts, map[string]any{"as": maya, "kind": "close", "view": viewID})
	assert.True(t, r.OK, r.Error)
	r = post(t, ts, map[string]any{"as": maya, "kind": "submit", "view": viewID, "inputs": map[string][]string{"why": {"x"}}})
	assert.False(t, r.OK)
	assert.Equal(t, "This window is closed (the app closed or replaced it), so nothing was sent.", r.Error)

	// With the app away, a command fails as Slack says it does.
	r = post(t, ts, map[string]any{"as": maya, "kind": "send", "channel": dm, "text": "/access help"})
	assert.Contains(t, r.Error, "not connected right now (dispatch_failed)")
}

func openModal(t *testing.T, sb *sandbox.Server, user string) string {
	t.Helper()
	view := `{"type":"modal","title":{"type":"plain_text","text":"Why"},"submit":{"type":"plain_text","text":"Send"},
	  "blocks":[{"type":"input","block_id":"why","label":{"type":"plain_text","text":"Why"},"element":{"type":"plain_text_input","action_id":"why"}}]}`
	form := url.Values{"trigger_id": {sb.Slack().MintTrigger(user, 0)}, "view": {view}}
	req, _ := http.NewRequest(http.MethodPost, sb.Slack().APIURL()+"views.open", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+sb.Slack().BotToken())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		OK   bool                `json:"ok"`
		View struct{ ID string } `json:"view"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.True(t, out.OK)
	return out.View.ID
}

// TestSkipMovesTheClockAndRunsTheJobs: the scheduler's jobs run at once,
// on the moved clock.
func TestSkipMovesTheClockAndRunsTheJobs(t *testing.T) {
	t.Parallel()
	sb, ts, clock := setup(t)
	r := post(t, ts, map[string]any{"kind": "skip", "by": "1h"})
	assert.Contains(t, r.Error, "the scheduler is not running yet")

	var ran []time.Time
	sb.SetJobs(func(context.Context) error { ran = append(ran, clock.Now()); return nil })
	r = post(t, ts, map[string]any{"kind": "skip", "by": "1d"})
	assert.True(t, r.OK, r.Error)
	require.Len(t, ran, 1)
	assert.Equal(t, time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), ran[0], "1h (the refused skip still moved it) and 1d later")
	assert.Equal(t, 25*time.Hour, clock.Offset())

	// Messages are stamped on the sandbox's clock.
	maya := sb.UserID("maya.chen@acme.example")
	_, err := sb.Slack().PostAsUser(context.Background(), maya, "C0123ABCDE", "hi", "")
	require.ErrorIs(t, err, fakeslack.ErrNotConnected, "no bot in this test; the message is stored all the same")
	msgs := sb.Slack().Messages("C0123ABCDE")
	require.Len(t, msgs, 1)
	assert.True(t, strings.HasPrefix(msgs[0].TS, "1772532000."), msgs[0].TS)
}

// TestOtherSitesCannotAct: the page has no login, so a page of another
// site open in the same browser must not act through it.
func TestOtherSitesCannotAct(t *testing.T) {
	t.Parallel()
	_, ts, _ := setup(t)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/act", strings.NewReader(`{"kind":"skip","by":"1d"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	res, err = http.Post(ts.URL+"/api/act", "text/plain", strings.NewReader(`{"kind":"skip","by":"1d"}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)

	res, err = http.Get(ts.URL + "/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
}

func TestRealName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"maya.chen@acme.example": "Maya Chen", "omar_haddad@x": "Omar Haddad", "ops@x": "Ops", "@x": "@x",
	} {
		assert.Equal(t, want, sandbox.RealName(in), in)
	}
}

// TestEventsTellThePageOfChanges: the stream says "changed" when the
// workspace changes and when the clock moves.
func TestEventsTellThePageOfChanges(t *testing.T) {
	t.Parallel()
	sb, ts, _ := setup(t)
	sb.SetJobs(func(context.Context) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	lines := bufio.NewScanner(res.Body)
	next := func() {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == "event: changed" {
				return
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
	}
	next() // at once: the page loads its state
	sb.Slack().AddChannel("C9", "new", true)
	next()
	require.NoError(t, sb.Skip(ctx, time.Hour))
	next()
}
