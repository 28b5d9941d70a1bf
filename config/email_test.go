package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

const okEmail = `
email:
  host: smtp.example.com
  from: accessbot <accessbot@example.com>
  username: accessbot
  slack_team_id: T0123ABCD
  slack_app_id: A0123ABCD
notify: both
`

func TestEmailSection(t *testing.T) {
	f, err := ParseFile([]byte(okPeople + okPolicies + okApps + okEmail))
	require.NoError(t, err)
	require.NotNil(t, f.Email)
	assert.Equal(t, &Email{Host: "smtp.example.com", Port: 587, TLS: TLSStartTLS, From: `"accessbot" <accessbot@example.com>`,
		Username: "accessbot", SlackTeamID: "T0123ABCD", SlackAppID: "A0123ABCD", RatePerMinute: 60}, f.Email)
	assert.True(t, f.Catalog.Email)
	assert.Equal(t, workflow.NotifyBoth, f.Catalog.NotifyOf("nobody@example.com"), "the default applies to everyone")

	f, err = ParseFile([]byte(okPeople + okPolicies + okApps))
	require.NoError(t, err)
	assert.Nil(t, f.Email, "no section: no email channel")
	assert.Equal(t, workflow.NotifySlack, f.Catalog.NotifyOf("nobody@example.com"), "today's behaviour")

	f, err = ParseFile([]byte(okPeople + okPolicies + okApps + "email:\n  host: 127.0.0.1\n  tls: none\n  from: a@example.com\n"))
	require.NoError(t, err)
	assert.Equal(t, 25, f.Email.Port)
}

func TestEmailProblems(t *testing.T) {
	base := okPeople + okPolicies + okApps
	tests := []struct{ name, yaml, path, message string }{
		{"no host", base + "email:\n  from: a@example.com\n", "email.host", "missing: name the SMTP server (smtp.example.com)"},
		{"host with port", base + "email:\n  host: smtp.example.com:587\n  from: a@example.com\n", "email.host",
			`"smtp.example.com:587" is not a host name: write the server's name or IP address alone (the port goes in email.port)`},
		{"tls none remote", base + "email:\n  host: smtp.example.com\n  tls: none\n  from: a@example.com\n", "email.tls",
			`none sends the password and every email in the clear: it is allowed only for a server on this machine (127.0.0.1 or localhost), not "smtp.example.com"; use starttls or implicit`},
		{"bad tls", base + "email:\n  host: smtp.example.com\n  tls: ssl\n  from: a@example.com\n", "email.tls", `"ssl" is not a TLS mode: write starttls, implicit or none`},
		{"bad port", base + "email:\n  host: smtp.example.com\n  port: 70000\n  from: a@example.com\n", "email.port", "70000 is not a port: use 1 to 65535 (587 for starttls, 465 for implicit)"},
		{"no from", base + "email:\n  host: smtp.example.com\n", "email.from", "missing: write the sender address (accessbot <accessbot@example.com>)"},
		{"bad from", base + "email:\n  host: smtp.example.com\n  from: not an address\n", "email.from",
			`"not an address" is not an email address (write accessbot@example.com or accessbot <accessbot@example.com>)`},
		{"password in the file", base + "email:\n  host: smtp.example.com\n  from: a@example.com\n  password: hunter2\n", "email.password",
			"passwords never go in the config file: remove it and set ACCESSBOT_SMTP_PASSWORD in the environment"},
		{"bad team", base + "email:\n  host: smtp.example.com\n  from: a@example.com\n  slack_team_id: acme\n  slack_app_id: A0123ABCD\n", "email.slack_team_id",
			`"acme" is not a Slack workspace id (like T0123ABCD; see the workspace's About page)`},
		{"notify without email", base + "notify: email\n", "notify", `"email" needs an email: section (the SMTP server to send through); add one or write slack`},
		{"bad notify", base + okEmail + "people2: x\n", "people2", `unknown field "people2" (allowed here: admins, people, groups, policies, apps, reminders, threads, emergency_channel, email, notify, connectors)`},
		{"unknown email field", base + "email:\n  host: smtp.example.com\n  from: a@example.com\n  sender: x\n", "email.sender",
			`unknown field "sender" (allowed here: host, port, tls, from, username, slack_team_id, slack_app_id, rate_per_minute)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			require.Error(t, err)
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, p := range verr.Problems {
				got = append(got, p.Path+": "+p.Message)
			}
			assert.Contains(t, got, tt.path+": "+tt.message, "problems:\n%s", verr.Error())
			assert.NotContains(t, verr.Error(), "hunter2", "a password never reaches a message")
		})
	}
}

func TestPersonNotify(t *testing.T) {
	yaml := `
people:
  - email: a@example.com
    notify: email
  - email: b@example.com
    notify: pigeon
groups:
  sre: [a@example.com]
` + okPolicies + okApps + okEmail
	_, err := Parse([]byte(yaml))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Problems, 1, verr.Error())
	assert.Equal(t, "people[1].notify", verr.Problems[0].Path)
	assert.Equal(t, `"pigeon" is not a channel: write slack, email or both`, verr.Problems[0].Message)

	f, err := ParseFile([]byte(`
people:
  - email: a@example.com
    notify: email
  - email: b@example.com
groups:
  sre: [a@example.com]
` + okPolicies + okApps + okEmail))
	require.NoError(t, err)
	assert.Equal(t, workflow.NotifyEmail, f.Catalog.NotifyOf("A@example.com"))
	assert.Equal(t, workflow.NotifyBoth, f.Catalog.NotifyOf("b@example.com"), "the default")
}
