package blocks

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMentions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"It waits on sec1@example.com.", "It waits on <@U0SEC1>."},
		{"It waits on sec1@example.com, prov2@example.com and sec1@example.com", "It waits on <@U0SEC1>, prov2@example.com and <@U0SEC1>"},
		{"Use `user:sec1@example.com` in the file; sec1@example.com knows.", "Use `user:sec1@example.com` in the file; <@U0SEC1> knows."},
		{"No one here.", "No one here."},
		{"@bob is not an email", "@bob is not an email"},
	} {
		assert.Equal(t, tc.want, Mentions(dir, tc.in), tc.in)
	}
	assert.Equal(t, "sec1@example.com", Mentions(nil, "sec1@example.com"), "no directory: emails")
}
