package bot

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMentionEmails(t *testing.T) {
	t.Parallel()
	known := namer(func(e string) string {
		if e == "bob@example.com" {
			return "<@U0BOB>"
		}
		return e
	})
	for _, tc := range []struct{ in, want string }{
		{"It waits on bob@example.com.", "It waits on <@U0BOB>."},
		{"It waits on bob@example.com, carol@example.com and bob@example.com", "It waits on <@U0BOB>, carol@example.com and <@U0BOB>"},
		{"Use `user:bob@example.com` in the file; bob@example.com knows.", "Use `user:bob@example.com` in the file; <@U0BOB> knows."},
		{"No one here.", "No one here."},
		{"@bob is not an email", "@bob is not an email"},
	} {
		assert.Equal(t, tc.want, mentionEmails(tc.in, known), tc.in)
	}
}
