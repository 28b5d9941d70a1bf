package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

const okConnectors = `
connectors:
  gh:
    type: github
    org: acme
    token_env: GITHUB_TOKEN
    base_url: https://github.example.com/api/v3/
    teams: {admin: acme-admins}
  script:
    type: exec
    command: [./testdata/grant.sh, --quiet]
    env: [HOME]
    timeout: 5s
  hook:
    type: webhook
    url: https://hooks.example.com/access
    secret_env: HOOK_SECRET
`

func TestConnectorsConfig(t *testing.T) {
	yaml := `
people:
  - email: ann@x.io
    accounts: {github: octocat, Script: ann1}
  - email: bob@x.io
    manager: ann@x.io
` + okPolicies + okConnectors + `
apps:
  - id: github
    provisioning: automatic
    connector: gh
    provisioners: [ann@x.io]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: admin
      - id: billing
        provisioning: manual
        connector: ""
      - id: audit
        connector: hook
`
	cat, err := Parse([]byte(yaml))
	require.NoError(t, err)
	require.Len(t, cat.Connectors, 3)
	gh := cat.Connectors["gh"]
	assert.Equal(t, "github", gh.Type)
	assert.Equal(t, GitHubOptions{Org: "acme", TokenEnv: "GITHUB_TOKEN", BaseURL: "https://github.example.com/api/v3/", Teams: map[string]string{"admin": "acme-admins"}, Timeout: DefaultConnectorTimeout}, gh.Options)
	assert.Equal(t, ExecOptions{Command: []string{"./testdata/grant.sh", "--quiet"}, Env: []string{"HOME"}, Timeout: 5 * time.Second}, cat.Connectors["script"].Options)
	assert.Equal(t, WebhookOptions{URL: "https://hooks.example.com/access", SecretEnv: "HOOK_SECRET", Timeout: DefaultConnectorTimeout}, cat.Connectors["hook"].Options)

	ent, err := cat.Entitlement("github", "admin")
	require.NoError(t, err)
	assert.Equal(t, workflow.ProvisioningAutomatic, ent.Provisioning)
	assert.Equal(t, "gh", ent.Connector)
	ent, err = cat.Entitlement("github", "audit")
	require.NoError(t, err)
	assert.Equal(t, "hook", ent.Connector)
	assert.Equal(t, "octocat", cat.Account("ann@x.io", "github", "gh"))
	assert.Equal(t, "ann1", cat.Account("ann@x.io", "other", "script"), "accounts keyed by connector name, case-insensitive")
	assert.Equal(t, "", cat.Account("bob@x.io", "github", "gh"))
}

func TestConnectorProblems(t *testing.T) {
	app := func(extra string) string {
		return `
apps:
  - id: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
` + extra
	}
	tests := []struct {
		name, yaml, path, message string
	}{
		{"automatic without connector", okConnectors + app("    provisioning: automatic\n"),
			"apps[0].connector", "missing: provisioning: automatic needs a connector that grants and removes the access (one defined under connectors)"},
		{"unknown connector", okConnectors + app("    provisioning: automatic\n    connector: gitlab\n"),
			"apps[0].connector", `unknown connector "gitlab": define it under connectors, or use one of: gh, hook, script`},
		{"connector without automatic", okConnectors + app("    connector: gh\n"),
			"apps[0].connector", `connector "gh" is only used with provisioning: automatic: set provisioning: automatic, or remove connector`},
		{"resource automatic without connector", okConnectors + app("    resources:\n      - id: admin\n        provisioning: automatic\n"),
			"apps[0].resources[0].connector", "missing: provisioning: automatic needs a connector that grants and removes the access (one defined under connectors)"},
		{"missing type", "connectors:\n  x:\n    org: acme\n" + app(""),
			"connectors.x.type", "missing: set the connector's type: exec, webhook or github"},
		{"unknown type", "connectors:\n  x:\n    type: scim\n" + app(""),
			"connectors.x.type", `unknown connector type "scim": use exec, webhook or github`},
		{"github without org", "connectors:\n  x:\n    type: github\n    token_env: T\n" + app(""),
			"connectors.x.org", "missing: name the GitHub organization whose teams this connector manages"},
		{"github without token env", "connectors:\n  x:\n    type: github\n    org: acme\n" + app(""),
			"connectors.x.token_env", "missing: name the environment variable that holds the GitHub token (the secret itself never goes in the file)"},
		{"token instead of env name", "connectors:\n  x:\n    type: github\n    org: acme\n    token_env: ghp_abc-def\n" + app(""),
			"connectors.x.token_env", `"ghp_abc-def" is not an environment variable name: use letters, digits and _ (like GITHUB_TOKEN); the secret itself never goes in the file`},
		{"webhook without secret env", "connectors:\n  x:\n    type: webhook\n    url: https://h.example.com/\n" + app(""),
			"connectors.x.secret_env", "missing: name the environment variable that holds the signing secret (the secret itself never goes in the file)"},
		{"webhook over http", "connectors:\n  x:\n    type: webhook\n    url: http://h.example.com/\n    secret_env: S\n" + app(""),
			"connectors.x.url", `"http://h.example.com/" is not an https:// URL (plain http is allowed only to 127.0.0.1 or localhost)`},
		{"webhook without url", "connectors:\n  x:\n    type: webhook\n    secret_env: S\n" + app(""),
			"connectors.x.url", "missing: give the https:// URL the webhook posts to"},
		{"exec without command", "connectors:\n  x:\n    type: exec\n" + app(""),
			"connectors.x.command", "missing: give the program and its arguments as a list, like [./grant.sh, --verbose] (it runs without a shell)"},
		{"exec command missing", "connectors:\n  x:\n    type: exec\n    command: [./testdata/nope.sh]\n" + app(""),
			"connectors.x.command[0]", `"./testdata/nope.sh" is not an executable file (a relative path is relative to the configuration file's directory)`},
		{"exec bad env name", "connectors:\n  x:\n    type: exec\n    command: [./testdata/grant.sh]\n    env: [A=B]\n" + app(""),
			"connectors.x.env[0]", `"A=B" is not an environment variable name: list the names of the variables passed through (like HOME or GRANTS_FILE)`},
		{"field of another type", "connectors:\n  x:\n    type: exec\n    command: [./testdata/grant.sh]\n    org: acme\n" + app(""),
			"connectors.x.org", "org is a setting of github connectors, not of exec ones: remove it"},
		{"bad timeout", "connectors:\n  x:\n    type: exec\n    command: [./testdata/grant.sh]\n    timeout: soon\n" + app(""),
			"connectors.x.timeout", `"soon" is not a timeout: write it like 30s or 2m`},
		{"unknown connector field", "connectors:\n  x:\n    type: exec\n    command: [./testdata/grant.sh]\n    shell: true\n" + app(""),
			"connectors.x.shell", `unknown field "shell" (allowed here: type, timeout, command, env, url, secret_env, org, token_env, base_url, teams)`},
		{"empty account", "people:\n  - email: ann@x.io\n    accounts: {github: \"\"}\n" + okPolicies + app(""),
			"people[0].accounts.github", "missing: give the person's account name in github"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := tt.yaml
			if !containsPeople(y) {
				y = okPeople + y
			}
			if !containsPolicies(y) {
				y = okPolicies + y
			}
			_, err := Parse([]byte(y))
			require.Error(t, err)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Path+": "+p.Message)
			}
			assert.Contains(t, got, tt.path+": "+tt.message, "problems:\n%s", err)
		})
	}
}

func containsPeople(s string) bool {
	return strings.HasPrefix(s, "people:") || strings.Contains(s, "\npeople:")
}
func containsPolicies(s string) bool { return strings.Contains(s, "\npolicies:") }
