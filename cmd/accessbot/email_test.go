package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
)

// TestServeChecksTheSMTPServer: serve stops at start-up, in one line that
// names the setting, when the SMTP server cannot be reached or the
// password is missing; the password never appears.
func TestServeChecksTheSMTPServer(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{})
	require.NoError(t, err)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close()) // nothing listens there now

	dir := t.TempDir()
	cfg := filepath.Join(dir, "accessbot.yaml")
	section := fmt.Sprintf("\nemail:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n  from: accessbot@example.com\n  username: accessbot\n", port)
	require.NoError(t, os.WriteFile(cfg, []byte(mainConfig+section), 0o600))
	base := map[string]string{
		"SLACK_BOT_TOKEN": srv.BotToken(), "SLACK_APP_TOKEN": srv.AppToken(), "SLACK_API_URL": srv.APIURL(),
		"ACCESSBOT_CONFIG": cfg, "ACCESSBOT_DB": filepath.Join(dir, "accessbot.db"),
	}
	tests := []struct {
		name, password, want string
	}{
		{"no password", "", "email.username is set but ACCESSBOT_SMTP_PASSWORD is empty"},
		{"unreachable", "pw-very-secret", fmt.Sprintf("email.host: cannot reach the SMTP server 127.0.0.1:%d", port)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"ACCESSBOT_SMTP_PASSWORD": tt.password}
			for k, v := range base {
				vars[k] = v
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := Main(ctx, []string{"serve"}, envOf(vars, &stdout, &stderr))
			assert.Equal(t, 1, code)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			assert.Contains(t, lines[len(lines)-1], tt.want)
			assert.NotContains(t, stderr.String(), "pw-very-secret")
		})
	}
}
