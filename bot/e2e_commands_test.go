package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// command types a slash command as name in their DM with the bot and waits
// for the answer, which arrives as an ephemeral message after the ack.
func (h *harness) command(name, cmd, text string) string {
	h.t.Helper()
	before := len(h.slack.Ephemerals(h.ids[name]))
	d, err := h.slack.Command(h.ctx, h.ids[name], h.slack.DMChannel(h.ids[name]), cmd, text)
	require.NoError(h.t, err)
	require.Empty(h.t, string(d.Ack.Payload), "a slash command is acked empty, at once")
	h.eventually("the answer to "+cmd+" "+text, func() bool { return len(h.slack.Ephemerals(h.ids[name])) > before })
	eph := h.slack.Ephemerals(h.ids[name])
	var texts []string
	for _, m := range eph[before:] {
		texts = append(texts, m.AllText())
	}
	return strings.Join(texts, "\n")
}

func TestAccessHelp(t *testing.T) {
	h := setup(t)
	for _, text := range []string{"", "help", "  HELP  "} {
		out := h.command("alice", "/access", text)
		assert.Contains(t, out, "/access help", text)
		assert.NotContains(t, out, "Admin subcommands", "only admins see admin subcommands")
	}
	out := h.command("alice", "/access", "hlep")
	assert.Contains(t, out, "not a subcommand accessbot knows")
	assert.Contains(t, out, "Did you mean `help`?")
}
