package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// Real-looking tokens, in Slack's shapes, for the redaction tests.
const (
	realBotToken = "xoxb-2718281828-3141592653589-Zq8Hn2Lw5Vt7Rk1Pj4Xc9Bm6"
	realAppToken = "xapp-1-A0R3ALAPP01-4159265358979-3f2a9c7e1b4d8a6f0e5c3b2a1d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e"
)

// httpAddrRE finds the endpoints' address in serve's JSON log.
var httpAddrRE = regexp.MustCompile(`"http_addr":"([^"]+)"`)

// serveMain boots Main's serve against srv and returns the endpoints'
// address and a function that stops it and returns its exit code.
func serveMain(t *testing.T, srv *fakeslack.Server, extra map[string]string, stderr *syncBuffer) (addr string, stop func() int) {
	t.Helper()
	cfgPath, dbPath := writeConfig(t)
	vars := map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath,
	}
	for k, v := range extra {
		vars[k] = v
	}
	var stdout syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- Main(ctx, []string{"serve"}, envOf(vars, &stdout, stderr)) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := httpAddrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not report its endpoints; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	var c int
	stop = func() int {
		if !stopped {
			cancel()
			select {
			case c = <-code:
			case <-time.After(20 * time.Second):
				t.Fatal("serve did not stop")
			}
			stopped = true
		}
		return c
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

func healthcheck(args []string, vars map[string]string) (code int, stdout, stderr string) {
	var out, errOut syncBuffer
	code = Main(context.Background(), append([]string{"healthcheck"}, args...), envOf(vars, &out, &errOut))
	return code, out.String(), errOut.String()
}

func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	var stderr syncBuffer
	addr, stop := serveMain(t, srv, nil, &stderr)

	code, out, errOut := healthcheck([]string{"--http", addr}, nil)
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "/healthz: ok\n", out)

	// --ready waits on Slack; the address can come from the environment,
	// and ":port" (every interface, as in the container) is probed on
	// loopback.
	_, port, _ := net.SplitHostPort(addr)
	require.Eventually(t, func() bool {
		code, _, _ := healthcheck([]string{"--ready"}, map[string]string{"ACCESSBOT_HTTP_ADDR": ":" + port})
		return code == 0
	}, 20*time.Second, 20*time.Millisecond)

	assert.Equal(t, 0, stop(), stderr.String())
	code, _, errOut = healthcheck([]string{"--http", addr}, nil)
	assert.Equal(t, 1, code, "nothing answers once serve stopped")
	assert.Contains(t, errOut, "healthcheck: http://"+addr+"/healthz")
}

func TestHealthcheckAnswers(t *testing.T) {
	t.Parallel()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database: ok\nmigrations: ok\nslack: not connected (Socket Mode)\n"))
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer notReady.Close()
	addr := strings.TrimPrefix(notReady.URL, "http://")
	tests := []struct {
		name string
		args []string
		vars map[string]string
		code int
		want string
	}{
		{"alive", []string{"--http", addr}, nil, 0, ""},
		{"not ready", []string{"--ready", "--http", addr}, nil, 1, "503 Service Unavailable\ndatabase: ok"},
		{"from the environment", []string{"--ready"}, map[string]string{"ACCESSBOT_HTTP_ADDR": addr}, 1, "slack: not connected"},
		{"bad address", []string{"--http", "nonsense"}, nil, 1, `ACCESSBOT_HTTP_ADDR "nonsense" is not host:port`},
		{"endpoints off", []string{"--http", "off"}, nil, 2, "endpoints are off"},
		{"extra argument", []string{"now"}, nil, 2, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := healthcheck(tt.args, tt.vars)
			assert.Equal(t, tt.code, code, errOut)
			assert.Contains(t, errOut, tt.want)
		})
	}
}

func TestServeRefusesATakenPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	cfgPath, dbPath := writeConfig(t)
	var stdout, stderr syncBuffer
	code := Main(context.Background(), nil, envOf(map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath, "ACCESSBOT_HTTP_ADDR": ln.Addr().String(),
	}, &stdout, &stderr))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "cannot listen on ACCESSBOT_HTTP_ADDR")
	assert.Equal(t, 0, srv.ConnectCount(), "nothing connects to Slack when the endpoints cannot start")
}

func TestLogSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, level, format string
		err                 string
		json                bool
		debug               bool
	}{
		{name: "defaults: JSON at info (not a terminal)", json: true},
		{name: "debug", level: "debug", json: true, debug: true},
		{name: "upper case", level: "WARN", format: "JSON", json: true},
		{name: "console", format: "console"},
		{name: "bad level", level: "loud", err: `ACCESSBOT_LOG_LEVEL "loud" is not a log level: use trace, debug, info`},
		{name: "bad format", format: "xml", err: `ACCESSBOT_LOG_FORMAT "xml" is not a log format: use json or console`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, func(k string) string {
				return map[string]string{"ACCESSBOT_LOG_LEVEL": tt.level, "ACCESSBOT_LOG_FORMAT": tt.format}[k]
			})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			log.Debug().Msg("a debug line")
			log.Warn().Str("task", "T-1").Msg("a warning")
			out := buf.String()
			assert.Contains(t, out, "a warning")
			assert.Equal(t, tt.debug, strings.Contains(out, "a debug line"))
			assert.Equal(t, tt.json, strings.HasPrefix(out, "{"), out)
		})
	}

	var stdout, stderr syncBuffer
	code := Main(context.Background(), []string{"serve"}, envOf(map[string]string{"ACCESSBOT_LOG_LEVEL": "verbose"}, &stdout, &stderr))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), `ACCESSBOT_LOG_LEVEL "verbose" is not a log level`)
}

func TestRedactWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := zerolog.New(redactWriter{w: &buf})
	log.Info().Str("header", "Bearer "+realBotToken).Msg("app " + realAppToken + " and xoxp-1234-5678-abcd")
	out := buf.String()
	for _, tok := range []string{realBotToken, realAppToken, "xoxp-1234-5678-abcd"} {
		assert.NotContains(t, out, tok)
	}
	assert.Contains(t, out, "xoxb-[redacted]")
	assert.Contains(t, out, "xapp-[redacted]")
	assert.Contains(t, out, "xoxp-[redacted]")
}

// TestServeNeverLogsTokens runs serve with real-looking tokens at debug
// level through its start-up paths (tokens rejected by Slack, Slack
// unreachable) and a working run with a flow and failing calls, and checks
// that no token reaches the output, and that the log filter never had to
// mask one (nothing even tried).
func TestServeNeverLogsTokens(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{BotToken: realBotToken, AppToken: realAppToken})
	require.NoError(t, err)
	defer srv.Close()
	wrongBot := strings.Replace(realBotToken, "Zq8", "Yy7", 1)
	wrongApp := strings.Replace(realAppToken, "3f2a", "0000", 1)
	check := func(t *testing.T, out string) {
		t.Helper()
		for _, tok := range []string{realBotToken, realAppToken, wrongBot, wrongApp} {
			assert.NotContains(t, out, tok)
			_, secret, _ := strings.Cut(tok, "-")
			assert.NotContains(t, out, secret[len(secret)-20:], "not even the secret part")
		}
		assert.NotContains(t, out, "[redacted]", "nothing tried to log a token")
	}
	debug := map[string]string{"ACCESSBOT_LOG_LEVEL": "trace"}

	startups := []struct {
		name string
		vars map[string]string
	}{
		{"bot token rejected", map[string]string{"SLACK_BOT_TOKEN": wrongBot}},
		{"app token rejected", map[string]string{"SLACK_APP_TOKEN": wrongApp}},
		{"Slack unreachable", map[string]string{"SLACK_API_URL": "http://127.0.0.1:1/api/"}},
		{"tokens swapped", map[string]string{"SLACK_BOT_TOKEN": realAppToken, "SLACK_APP_TOKEN": realBotToken}},
	}
	for _, tt := range startups {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath, dbPath := writeConfig(t)
			vars := map[string]string{
				"SLACK_BOT_TOKEN": realBotToken, "SLACK_APP_TOKEN": realAppToken, "SLACK_API_URL": srv.APIURL(),
				"ACCESSBOT_CONFIG": cfgPath, "ACCESSBOT_DB": dbPath, "ACCESSBOT_LOG_LEVEL": "trace",
			}
			for k, v := range tt.vars {
				vars[k] = v
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			assert.Equal(t, 1, Main(ctx, nil, envOf(vars, &stdout, &stderr)))
			check(t, stderr.String()+stdout.String())
		})
	}

	t.Run("a working run", func(t *testing.T) {
		var stderr syncBuffer
		ids := map[string]string{}
		for i, name := range []string{"alice", "mgr", "prov"} {
			ids[name] = srv.AddUser(fakeslack.User{ID: "U00000000" + string(rune('A'+i)), Name: name, Email: name + "@example.com"}).ID
		}
		_, stop := serveMain(t, srv, debug, &stderr)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, srv.WaitConnected(ctx, 1))
		// Failures whose errors carry URLs and HTTP statuses, a 429, an
		// unknown person and a slash command whose response_url fails.
		srv.FailNext("conversations.open", 1, fakeslack.FailStatus(500))
		srv.FailNext("chat.postEphemeral", 1, fakeslack.FailRateLimited(1))
		srv.FailNext("users.info", 1, fakeslack.FailError("invalid_auth"))
		_, err := srv.Command(ctx, ids["alice"], srv.DMChannel(ids["alice"]), "/access", "help")
		require.NoError(t, err)
		_, err = srv.Command(ctx, ids["alice"], srv.DMChannel(ids["alice"]), "/access", "nonsense")
		require.NoError(t, err)
		srv.Disconnect("refresh_requested")
		require.NoError(t, srv.WaitFor(ctx, func() bool { return srv.ConnectCount() >= 2 }))
		assert.Equal(t, 0, stop())
		out := stderr.String()
		assert.Contains(t, out, `"level":"debug"`, "debug lines were written")
		check(t, out)
	})
}
