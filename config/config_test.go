package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestExampleLoads(t *testing.T) {
	cat, err := Load("../examples/config.yaml")
	require.NoError(t, err)
	assert.Equal(t, "6 apps, 6 resources, 6 policies, 12 people, 6 groups, 2 admins", Summary(cat))
	// One connector of each type; the exec connector's script is next to the file.
	for name, typ := range map[string]string{"github": ConnectorGitHub, "grants-file": ConnectorExec, "pagerduty": ConnectorWebhook} {
		require.Contains(t, cat.Connectors, name)
		assert.Equal(t, typ, cat.Connectors[name].Type)
	}
	assert.Equal(t, []string{"../examples/record-grant.sh"}, cat.Connectors["grants-file"].Options.(ExecOptions).Command)
	for _, e := range [][2]string{{"wiki", ""}, {"pagerduty", ""}, {"github", "repo-write"}} {
		ent, err := cat.Entitlement(e[0], e[1])
		require.NoError(t, err)
		assert.Equal(t, workflow.ProvisioningAutomatic, ent.Provisioning, e[0])
	}
	assert.Equal(t, "chloem", cat.Account("chloe.martin@acme.example", "github", "github"))

	assert.Equal(t, []string{"maya.chen@acme.example", "omar.haddad@acme.example"}, cat.Admins)
	assert.True(t, cat.IsAdmin("Omar.Haddad@acme.example"))
	assert.Equal(t, "omar.haddad@acme.example", cat.Person("sofia.rossi@acme.example").Manager)
	// sre: one member from people[].groups, two from the groups section.
	assert.Equal(t, []string{"omar.haddad@acme.example", "sofia.rossi@acme.example", "tom.becker@acme.example"}, cat.Groups["sre"])
	assert.Equal(t, []string{"leadership", "sre"}, cat.Person("omar.haddad@acme.example").Groups)

	sensitive := cat.Policies["sensitive"]
	require.Len(t, sensitive.Steps, 3)
	assert.Equal(t, workflow.Step{Type: workflow.StepReview, Approvers: []workflow.Principal{"manager"}, Mode: workflow.ModeAny, Delegate: true, Fallback: []workflow.Principal{"group:leadership"}}, sensitive.Steps[0])
	assert.Equal(t, workflow.ModeAll, sensitive.Steps[1].Mode)
	assert.False(t, sensitive.Steps[1].Delegate)
	assert.True(t, sensitive.Steps[1].Reassign.None)
	assert.Equal(t, []workflow.Principal{"group:sre", "user:omar.haddad@acme.example"}, sensitive.Steps[2].Reassign.Allowed)
	assert.Equal(t, []workflow.Principal{"group:sre", "group:security", "user:omar.haddad@acme.example"}, cat.Policies["break-glass"].Steps[0].Approvers)

	_, err = cat.Entitlement("github", "")
	require.Error(t, err, "an app with resources is requested through them")
	gh, err := cat.Entitlement("github", "org-admin")
	require.NoError(t, err)
	assert.Equal(t, "GitHub / Organization admin", gh.Label())
	assert.Equal(t, workflow.ProvisioningManual, gh.Provisioning)
	assert.Equal(t, gh.Provisioners, gh.Deprovisioners, "deprovisioners default to the provisioners")
	assert.Equal(t, 8*time.Hour, gh.DefaultDuration)
	assert.Equal(t, 24*time.Hour, gh.MaxDuration)
	assert.Equal(t, "#access-github", gh.Channel)
	assert.Equal(t, "sensitive", gh.RequestPolicy)
	assert.Equal(t, "break-glass", gh.EmergencyPolicy, "set on the resource itself")
	repo, err := cat.Entitlement("github", "repo-write")
	require.NoError(t, err)
	assert.Empty(t, repo.EmergencyPolicy, "a resource never inherits an emergency policy")
	prod, err := cat.Entitlement("aws", "prod")
	require.NoError(t, err)
	assert.Equal(t, 4*time.Hour, prod.EmergencyCap())
	assert.Equal(t, "#access-emergencies", cat.EmergencyChannel)

	staging, err := cat.Entitlement("aws", "staging")
	require.NoError(t, err)
	assert.Equal(t, []workflow.Principal{"user:tom.becker@acme.example", "user:sofia.rossi@acme.example"}, staging.Provisioners)
	assert.Equal(t, []workflow.Principal{"group:sre", "group:it"}, staging.Deprovisioners, "the app names its deprovisioners")

	snow, err := cat.Entitlement("snowflake", "analyst")
	require.NoError(t, err)
	assert.Equal(t, workflow.ProvisioningNone, snow.Provisioning)
	assert.Equal(t, workflow.Permanent, snow.DefaultDuration)
	assert.Equal(t, "ANALYST role", snow.Resource.Name)

	vpn, err := cat.Entitlement("vpn", "")
	require.NoError(t, err)
	assert.Equal(t, 12*7*24*time.Hour, vpn.DefaultDuration)

	assert.Equal(t, workflow.Reminders{
		After:         4 * time.Hour,
		Every:         24 * time.Hour,
		EscalateAfter: 48 * time.Hour,
		BusinessHours: workflow.BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour},
		ExpiryWarning: 2 * time.Hour,
	}, cat.Reminders)

	for name, p := range cat.Policies {
		assert.Equal(t, name, p.Name)
	}
}

// A small valid config that the cases below break one piece at a time.
const (
	okPeople = `
people:
  - email: ann@x.io
  - email: bob@x.io
    manager: ann@x.io
groups:
  sre: [ann@x.io, bob@x.io]
`
	okPolicies = `
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  revoke:
    steps:
      - type: deprovision
`
	okApps = `
apps:
  - id: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
`
)

func TestMinimalConfig(t *testing.T) {
	cat, err := Parse([]byte(okPeople + okPolicies + okApps))
	require.NoError(t, err)
	assert.Equal(t, "1 app, 0 resources, 2 policies, 2 people, 1 group, 0 admins", Summary(cat))
	app, ok := cat.App("github")
	require.True(t, ok)
	assert.Equal(t, "github", app.Name, "the name defaults to the id")
	assert.Equal(t, workflow.ProvisioningManual, app.Provisioning)
	assert.Equal(t, []workflow.Principal{"group:sre"}, app.Deprovisioners, "deprovisioners default to the provisioners on the app itself")
	assert.Equal(t, workflow.Reminders{
		After:         DefaultReminderAfter,
		Every:         DefaultReminderEvery,
		BusinessHours: workflow.BusinessHours{Start: 9 * time.Hour, End: 18 * time.Hour},
		ExpiryWarning: DefaultExpiryWarning,
	}, cat.Reminders)
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name, yaml, path, message string
	}{
		{
			name:    "emergency policy on an app with resources",
			yaml:    okPeople + okPolicies + "apps:\n  - id: gh\n    provisioners: [ann@x.io]\n    request_policy: std\n    revocation_policy: revoke\n    emergency_policy: std\n    default_duration: 1d\n    resources:\n      - id: admin\n",
			path:    "apps[0].emergency_policy",
			message: "an app with resources is requested through them, and resources do not inherit the app's emergency_policy: set emergency_policy on each resource that may be requested as an emergency, and remove it here",
		},
		{
			name: "unknown field",
			yaml: okPeople + okPolicies + okApps + "    colour: red\n",
			path: "apps[0].colour",
			message: `unknown field "colour" (allowed here: id, name, owners, provisioners, deprovisioners, channel, instructions, ` +
				`provisioning, connector, request_policy, revocation_policy, emergency_policy, default_duration, max_duration, emergency_max_duration, resources)`,
		},
		{
			name:    "unknown top-level field",
			yaml:    okPeople + okPolicies + okApps + "slack_token: xoxb\n",
			path:    "slack_token",
			message: `unknown field "slack_token" (allowed here: admins, people, groups, policies, apps, reminders, threads, emergency_channel, email, notify, connectors)`,
		},
		{
			name: "nested step syntax is not the one chosen",
			yaml: okPeople + okPolicies + `
  nested:
    steps:
      - review: {approvers: [manager]}
` + okApps,
			path:    "policies.nested.steps[0].review",
			message: `unknown field "review" (allowed here: type, approvers, mode, delegation, reassign, fallback)`,
		},
		{
			name: "unknown policy at a resource",
			yaml: okPeople + okPolicies + okApps + `
    resources:
      - id: admin
        request_policy: sec
`,
			path:    "apps[0].resources[0].request_policy",
			message: `unknown policy "sec"`,
		},
		{
			name: "provision step in a revocation policy",
			yaml: okPeople + okPolicies + `
  std2:
    steps:
      - type: review
        approvers: [manager]
      - type: provision
` + strings.Replace(okApps, "revocation_policy: revoke", "revocation_policy: std2", 1),
			path:    "apps[0].revocation_policy",
			message: `policy "std2" cannot be a revocation policy: steps[1]: a provision step cannot be in a revocation policy`,
		},
		{
			name:    "deprovision step in an emergency policy",
			yaml:    okPeople + okPolicies + okApps + "    emergency_policy: revoke\n",
			path:    "apps[0].emergency_policy",
			message: `policy "revoke" cannot be an emergency policy: steps[0]: a deprovision step cannot be in a request policy`,
		},
		{
			name:    "default above max",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "default_duration: 1w", "default_duration: 2w\n    max_duration: 1w", 1),
			path:    "apps[0].default_duration",
			message: "default_duration 2w is longer than max_duration 1w: lower default_duration or raise max_duration",
		},
		{
			name: "resource default above the app's max",
			yaml: okPeople + okPolicies + okApps + `    max_duration: 2w
    resources:
      - id: admin
        default_duration: 3w
`,
			path:    "apps[0].resources[0].default_duration",
			message: "default_duration 3w is longer than the app's max_duration 2w: lower default_duration or raise max_duration",
		},
		{
			name: "resource max below the app's default",
			yaml: okPeople + okPolicies + okApps + `
    resources:
      - id: admin
        max_duration: 1d
`,
			path:    "apps[0].resources[0].max_duration",
			message: "max_duration 1d is shorter than the app's default_duration 1w: set a default_duration of 1d or less on this resource",
		},
		{
			name:    "permanent default with a max",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "default_duration: 1w", "default_duration: permanent\n    max_duration: 4w", 1),
			path:    "apps[0].default_duration",
			message: "default_duration permanent is not allowed with max_duration 4w: use a default of 4w or less, or remove max_duration",
		},
		{
			name: "resource max under an app's permanent default",
			yaml: okPeople + okPolicies + strings.Replace(okApps, "default_duration: 1w", "default_duration: permanent", 1) + `
    resources:
      - id: admin
        max_duration: 8h
`,
			path:    "apps[0].resources[0].max_duration",
			message: "max_duration 8h does not allow the app's permanent default_duration: set a default_duration of 8h or less on this resource",
		},
		{
			name:    "permanent max",
			yaml:    okPeople + okPolicies + okApps + "    max_duration: permanent\n",
			path:    "apps[0].max_duration",
			message: "max_duration cannot be permanent: leave max_duration out for no maximum",
		},
		{
			name:    "duplicate app id",
			yaml:    okPeople + okPolicies + okApps + strings.TrimPrefix(okApps, "\napps:\n"),
			path:    "apps[1].id",
			message: `duplicate app id "github" (also apps[0])`,
		},
		{
			name: "duplicate resource id",
			yaml: okPeople + okPolicies + okApps + `
    resources:
      - id: admin
      - id: write
      - id: admin
`,
			path:    "apps[0].resources[2].id",
			message: `duplicate resource id "admin" in app "github" (also apps[0].resources[0])`,
		},
		{
			name:    "unknown person in a group",
			yaml:    strings.Replace(okPeople, "sre: [ann@x.io, bob@x.io]", "sre: [ann@x.io, X@Y]", 1) + okPolicies + okApps,
			path:    "groups.sre[1]",
			message: `unknown person "x@y" (add them under people)`,
		},
		{
			name:    "unknown group principal",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "group:sre", "group:ops", 1),
			path:    "apps[0].provisioners[0]",
			message: `unknown group "ops" (define it under groups, or in people[].groups)`,
		},
		{
			name:    "unknown group principal in a step",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager, group:secops]", 1) + okApps,
			path:    "policies.std.steps[0].approvers[1]",
			message: `unknown group "secops" (define it under groups, or in people[].groups)`,
		},
		{
			name:    "manager cycle",
			yaml:    strings.Replace(okPeople, "  - email: ann@x.io\n", "  - email: ann@x.io\n    manager: bob@x.io\n", 1) + okPolicies + okApps,
			path:    "people[0].manager",
			message: "manager cycle: ann@x.io -> bob@x.io -> ann@x.io",
		},
		{
			name:    "own manager",
			yaml:    strings.Replace(okPeople, "  - email: ann@x.io\n", "  - email: ann@x.io\n    manager: Ann@x.io\n", 1) + okPolicies + okApps,
			path:    "people[0].manager",
			message: "ann@x.io cannot be their own manager",
		},
		{
			name:    "unknown manager",
			yaml:    strings.Replace(okPeople, "manager: ann@x.io", "manager: cat@x.io", 1) + okPolicies + okApps,
			path:    "people[1].manager",
			message: `unknown person "cat@x.io" (add them under people)`,
		},
		{
			name:    "duplicate person",
			yaml:    strings.Replace(okPeople, "  - email: bob@x.io\n", "  - email: bob@x.io\n  - email: BOB@x.io\n", 1) + okPolicies + okApps,
			path:    "people[2].email",
			message: `"bob@x.io" is already listed at people[1]`,
		},
		{
			name:    "bad duration",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "default_duration: 1w", "default_duration: 2x", 1),
			path:    "apps[0].default_duration",
			message: `"2x" has an unknown unit: use m (minutes), h (hours), d (days) or w (weeks), like 8h or 2d`,
		},
		{
			name:    "bad business hours",
			yaml:    okPeople + okPolicies + okApps + "reminders:\n  business_hours: 18:00-09:00\n",
			path:    "reminders.business_hours",
			message: `"18:00-09:00" is not a time window: write it as HH:MM-HH:MM with the start before the end, like 09:00-18:00 (or any)`,
		},
		{
			name:    "permanent reminder",
			yaml:    okPeople + okPolicies + okApps + "reminders:\n  every: permanent\n",
			path:    "reminders.every",
			message: "every cannot be permanent: use a duration like 4h or 1d",
		},
		{
			name:    "bad mode",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        mode: most", 1) + okApps,
			path:    "policies.std.steps[0].mode",
			message: `unknown mode "most": use any (one approval passes the step) or all (every approver must approve)`,
		},
		{
			name:    "bad delegation",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        delegation: never", 1) + okApps,
			path:    "policies.std.steps[0].delegation",
			message: `unknown delegation "never": use allowed (the default) or blocked`,
		},
		{
			name:    "bad reassign word",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        reassign: nobody", 1) + okApps,
			path:    "policies.std.steps[0].reassign",
			message: `unknown reassign "nobody": use anyone (the default), none or a list of user:EMAIL and group:NAME entries`,
		},
		{
			name:    "manager in a reassign list",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        reassign: [group:sre, manager]", 1) + okApps,
			path:    "policies.std.steps[0].reassign[1]",
			message: `"manager" cannot be used in a reassign list: use user:EMAIL (or an email) or group:NAME`,
		},
		{
			name:    "empty reassign list",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        reassign: []", 1) + okApps,
			path:    "policies.std.steps[0].reassign",
			message: "an empty list: write none to turn reassignment off, or anyone",
		},
		{
			name:    "reassign mapping",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        reassign: {to: sre}", 1) + okApps,
			path:    "policies.std.steps[0].reassign",
			message: "use anyone, none or a list of user:EMAIL and group:NAME entries",
		},
		{
			name:    "manager as a fallback",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [manager]\n        fallback: [manager]", 1) + okApps,
			path:    "policies.std.steps[0].fallback[0]",
			message: `"manager" cannot be used in fallback (it is used when nobody else resolves): use user:EMAIL (or an email), group:NAME, app_owners or resource_owners`,
		},
		{
			name:    "bad group name",
			yaml:    strings.Replace(okPeople, "  sre:", "  SRE team:", 1) + okPolicies + strings.Replace(okApps, "group:sre", "user:ann@x.io", 1),
			path:    "groups.SRE team",
			message: `group name "SRE team" is not valid: use lowercase letters, digits, "-" and "_", starting with a letter or digit`,
		},
		{
			name:    "two documents",
			yaml:    okPeople + okPolicies + okApps + "---\nadmins: []\n",
			path:    "",
			message: "the file holds more than one YAML document (a second ---): keep the whole config in one",
		},
		{
			name:    "review without approvers",
			yaml:    okPeople + strings.Replace(okPolicies, "        approvers: [manager]\n", "", 1) + okApps,
			path:    "policies.std.steps[0].approvers",
			message: "a review step needs at least one approver (user:EMAIL, group:NAME, manager, app_owners or resource_owners)",
		},
		{
			name:    "approvers on a deprovision step",
			yaml:    okPeople + strings.Replace(okPolicies, "- type: deprovision", "- type: deprovision\n        approvers: [group:sre]", 1) + okApps,
			path:    "policies.revoke.steps[0].approvers",
			message: "a deprovision step takes no approvers: it goes to the app's (or resource's) deprovisioners",
		},
		{
			name:    "unknown step type",
			yaml:    okPeople + strings.Replace(okPolicies, "- type: deprovision", "- type: remove", 1) + okApps,
			path:    "policies.revoke.steps[0].type",
			message: `unknown step type "remove": use review, provision or deprovision`,
		},
		{
			name:    "policy without steps",
			yaml:    okPeople + okPolicies + "  empty:\n    steps: []\n" + okApps,
			path:    "policies.empty.steps",
			message: "a policy needs at least one step",
		},
		{
			name:    "malformed principal",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [managers]", 1) + okApps,
			path:    "policies.std.steps[0].approvers[0]",
			message: `"managers" is not a person or group: use user:EMAIL, group:NAME, manager, app_owners or resource_owners`,
		},
		{
			name:    "principal with a capitalised prefix",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [User:ann@x.io]", 1) + okApps,
			path:    "policies.std.steps[0].approvers[0]",
			message: `"User:ann@x.io" is not a person or group: use user:EMAIL, group:NAME, manager, app_owners or resource_owners`,
		},
		{
			name:    "user: without an email",
			yaml:    okPeople + strings.Replace(okPolicies, "approvers: [manager]", "approvers: [user:ann]", 1) + okApps,
			path:    "policies.std.steps[0].approvers[0]",
			message: `"user:ann": user: takes an email address`,
		},
		{
			name:    "manager as an owner",
			yaml:    okPeople + okPolicies + okApps + "    owners: [manager]\n",
			path:    "apps[0].owners[0]",
			message: `"manager" cannot be used in owners: use user:EMAIL (or an email) or group:NAME`,
		},
		{
			name:    "missing provisioners on a manual app",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "    provisioners: [group:sre]\n", "", 1),
			path:    "apps[0].provisioners",
			message: "provisioned by hand (provisioning: manual, the default) but nobody provisions: name provisioners, or set provisioning: none",
		},
		{
			name: "manual resource of an app provisioned by nobody",
			yaml: okPeople + okPolicies + strings.Replace(okApps, "    provisioners: [group:sre]\n", "    provisioning: none\n", 1) + `
    resources:
      - id: admin
        provisioning: manual
`,
			path:    "apps[0].resources[0].provisioners",
			message: "provisioned by hand (provisioning: manual, the default) but nobody provisions: name provisioners, or set provisioning: none",
		},
		{
			name:    "no deprovisioners",
			yaml:    okPeople + okPolicies + okApps + "    deprovisioners: []\n",
			path:    "apps[0].deprovisioners",
			message: "provisioned by hand but nobody deprovisions: name deprovisioners, or leave them out to use the provisioners",
		},
		{
			name:    "bad provisioning",
			yaml:    okPeople + okPolicies + okApps + "    provisioning: scim\n",
			path:    "apps[0].provisioning",
			message: `unknown provisioning "scim": use manual (someone grants access by hand), automatic (a connector does, see connectors) or none (access is only recorded)`,
		},
		{
			name:    "bad id characters",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "id: github", "id: Git Hub", 1),
			path:    "apps[0].id",
			message: `id "Git Hub" is not valid: use lowercase letters, digits, "-" and "_", starting with a letter or digit (ids are typed in slash commands)`,
		},
		{
			name:    "missing app id",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "id: github", "name: GitHub", 1),
			path:    "apps[0].id",
			message: `missing: every app needs an id (lowercase letters, digits, "-" and "_")`,
		},
		{
			name:    "missing default duration",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "    default_duration: 1w\n", "", 1),
			path:    "apps[0].default_duration",
			message: "missing: set how long access lasts when the requester does not say, like 8h, 2d, 1w or permanent (resources inherit it and may override it)",
		},
		{
			name:    "missing request policy",
			yaml:    okPeople + okPolicies + strings.Replace(okApps, "    request_policy: std\n", "", 1),
			path:    "apps[0].request_policy",
			message: "missing: name the policy that requests for this app go through (resources may override it)",
		},
		{
			name:    "bad channel",
			yaml:    okPeople + okPolicies + okApps + "    channel: access requests\n",
			path:    "apps[0].channel",
			message: `"access requests" is not a Slack channel: use a channel id like C0123ABCD or a name like #access-requests`,
		},
		{
			name:    "bad admin email",
			yaml:    "admins: [ann]\n" + okPeople + okPolicies + okApps,
			path:    "admins[0]",
			message: `"ann" is not an email address`,
		},
		{
			name:    "admins not a list",
			yaml:    "admins: ann@x.io\n" + okPeople + okPolicies + okApps,
			path:    "admins",
			message: `expected a list, found "ann@x.io"`,
		},
		{
			name:    "duplicate key",
			yaml:    okPeople + okPolicies + okApps + "    request_policy: revoke\n",
			path:    "apps[0].request_policy",
			message: `duplicate key "request_policy" (first at line 21): keep one`,
		},
		{
			name:    "no apps",
			yaml:    okPeople + okPolicies,
			path:    "apps",
			message: "at least one app is needed",
		},
		{
			name:    "empty file",
			yaml:    "",
			path:    "apps",
			message: "at least one app is needed",
		},
		{
			name:    "YAML syntax error",
			yaml:    okPeople + okPolicies + okApps + "  - id: [unclosed\n",
			path:    "",
			message: "not valid YAML: did not find expected ',' or ']'",
		},
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
		})
	}
}

func TestProblemLines(t *testing.T) {
	data := okPeople + okPolicies + okApps + "    colour: red\n    resources:\n      - id: admin\n        request_policy: sec\n"
	_, err := Parse([]byte(data))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Problems, 2)
	lineOf := func(s string) int {
		for i, l := range strings.Split(data, "\n") {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		return 0
	}
	assert.Equal(t, lineOf("colour: red"), verr.Problems[0].Line)
	assert.Equal(t, lineOf("request_policy: sec"), verr.Problems[1].Line)
	assert.Equal(t, `apps[0].resources[0].request_policy: unknown policy "sec" (line 27)`, verr.Problems[1].String())
	assert.Equal(t, 27, lineOf("request_policy: sec"))
}

func TestEveryProblemAtOnce(t *testing.T) {
	data := `
admins: [not-an-email]
people:
  - email: ann@x.io
    manager: zed@x.io
groups:
  sre: [ann@x.io]
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
        mode: sometimes
  revoke:
    steps:
      - type: deprovision
apps:
  - id: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: admin
        emergency_policy: sec
reminders:
  after: soon
`
	_, err := Parse([]byte(data))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	want := []string{
		`admins[0]: "not-an-email" is not an email address (line 2)`,
		`people[0].manager: unknown person "zed@x.io" (add them under people) (line 5)`,
		`policies.std.steps[0].mode: unknown mode "sometimes": use any (one approval passes the step) or all (every approver must approve) (line 13)`,
		`apps[0].resources[0].emergency_policy: unknown policy "sec" (line 25)`,
		`reminders.after: "soon" is not a duration: use a positive whole number and a unit, like 30m, 8h, 2d or 1w, or "permanent" (line 27)`,
	}
	assert.Equal(t, strings.Join(want, "\n"), verr.Error())
	assert.Len(t, verr.Problems, 5)
}

func TestBrokenItemsKeepLaterPaths(t *testing.T) {
	data := okPeople + okPolicies + `
apps:
  - github
  -
  - id: aws
    name: AWS
    name: Amazon
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - [admin]
      - id: prod
        request_policy: sec
`
	_, err := Parse([]byte(data))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, strings.Join([]string{
		`apps[0]: expected a mapping (` + allowedFields["config.rawApp"] + `), found "github" (line 19)`,
		`apps[1]: empty list item: fill it in or remove the "-" (line 20)`,
		`apps[2].name: duplicate key "name" (first at line 22): keep one (line 23)`,
		`apps[2].resources[0]: expected a mapping (` + allowedFields["config.rawResource"] + `), found a list (line 29)`,
		`apps[2].resources[1].request_policy: unknown policy "sec" (line 31)`,
	}, "\n"), verr.Error())
}

func TestDecodeFailureHidesNoise(t *testing.T) {
	// The app's owners are not a list: that is the one problem, not also
	// "owners" being empty somewhere.
	_, err := Parse([]byte(okPeople + okPolicies + okApps + "    owners: {ann: yes}\n"))
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Problems, 1, verr.Error())
	assert.Equal(t, Problem{Path: "apps[0].owners", Message: "expected a list, found a mapping", Line: 24}, verr.Problems[0])
}

func TestEmailsAreLowerCased(t *testing.T) {
	data := `
admins: [Ann@X.io]
people:
  - email: ANN@x.io
    groups: [sre]
  - email: Bob@X.IO
    manager: ann@X.IO
groups:
  sre: [BOB@x.io]
policies:
  std:
    steps:
      - type: review
        approvers: [user:Ann@X.io, Bob@X.io]
        fallback: [user:BOB@x.io]
  revoke:
    steps:
      - type: deprovision
apps:
  - id: github
    owners: [Ann@X.io]
    provisioners: [user:Bob@X.io]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
`
	cat, err := Parse([]byte(data))
	require.NoError(t, err)
	assert.Equal(t, []string{"ann@x.io"}, cat.Admins)
	assert.Equal(t, workflow.Person{Email: "bob@x.io", Manager: "ann@x.io", Groups: []string{"sre"}}, cat.People["bob@x.io"])
	assert.Equal(t, []string{"ann@x.io", "bob@x.io"}, cat.Groups["sre"])
	assert.Equal(t, []workflow.Principal{"user:ann@x.io", "user:bob@x.io"}, cat.Policies["std"].Steps[0].Approvers)
	assert.Equal(t, []workflow.Principal{"user:bob@x.io"}, cat.Policies["std"].Steps[0].Fallback)
	assert.Equal(t, []workflow.Principal{"user:ann@x.io"}, cat.Apps[0].Owners)
	assert.Equal(t, []workflow.Principal{"user:bob@x.io"}, cat.Apps[0].Provisioners)
}

func TestResourceDeprovisioners(t *testing.T) {
	data := okPeople + okPolicies + `
apps:
  - id: github
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: inherit
      - id: own
        provisioners: [user:bob@x.io]
      - id: split
        provisioners: [user:bob@x.io]
        deprovisioners: [user:ann@x.io]
  - id: aws
    provisioners: [group:sre]
    deprovisioners: [user:ann@x.io]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    resources:
      - id: own
        provisioners: [user:bob@x.io]
`
	cat, err := Parse([]byte(data))
	require.NoError(t, err)
	deprov := func(app, res string) []workflow.Principal {
		e, err := cat.Entitlement(app, res)
		require.NoError(t, err)
		return e.Deprovisioners
	}
	assert.Equal(t, []workflow.Principal{"group:sre"}, deprov("github", "inherit"))
	assert.Equal(t, []workflow.Principal{"user:bob@x.io"}, deprov("github", "own"), "a resource's own provisioners deprovision it")
	assert.Equal(t, []workflow.Principal{"user:ann@x.io"}, deprov("github", "split"))
	assert.Equal(t, []workflow.Principal{"user:ann@x.io"}, deprov("aws", "own"), "the app names its deprovisioners")
}

func TestReminders(t *testing.T) {
	cat, err := Parse([]byte(okPeople + okPolicies + okApps + "reminders:\n  every: 2h\n  business_hours: any\n"))
	require.NoError(t, err)
	assert.Equal(t, workflow.Reminders{After: DefaultReminderAfter, Every: 2 * time.Hour, ExpiryWarning: DefaultExpiryWarning}, cat.Reminders)

	for _, bh := range []string{"9-17", "09:00", "09:60-10:00", "10:00-10:00", "00:00-25:00"} {
		_, err := parseBusinessHours(bh)
		assert.Error(t, err, bh)
	}
	got, err := parseBusinessHours("00:00-24:00")
	require.NoError(t, err)
	assert.Equal(t, workflow.BusinessHours{End: 24 * time.Hour}, got)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	var verr *ValidationError
	assert.False(t, errors.As(err, &verr))
}

func TestLoadReportsProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte("apps: []\n"), 0o600))
	_, err := Load(path)
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "apps: at least one app is needed (line 1)", verr.Error())
}

// allowedFields must list exactly the yaml fields of each raw type.
func TestAllowedFieldsMatchRawTypes(t *testing.T) {
	var fields func(reflect.Type) []string
	fields = func(rt reflect.Type) []string {
		var out []string
		for i := range rt.NumField() {
			f := rt.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == ",inline" {
				out = append(out, fields(f.Type)...)
				continue
			}
			out = append(out, strings.Split(tag, ",")[0])
		}
		return out
	}
	for _, v := range []any{rawConfig{}, rawPerson{}, rawPolicy{}, rawStep{}, rawApp{}, rawResource{}, rawReminders{}, rawThreads{}, rawConnector{}} {
		rt := reflect.TypeOf(v)
		assert.Equal(t, strings.Join(fields(rt), ", "), allowedFields[rt.String()], rt.String())
	}
}
