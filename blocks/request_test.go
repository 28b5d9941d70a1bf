package blocks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

// requestApps: GitHub with two resources and an emergency policy, and a
// VPN with neither and no maximum.
func requestApps() (gh, vpn *workflow.App) {
	gh = &workflow.App{ID: "github", Name: "GitHub", Settings: workflow.Settings{
		EmergencyPolicy: "glass", DefaultDuration: 7 * 24 * time.Hour, MaxDuration: 28 * 24 * time.Hour}}
	gh.Resources = []*workflow.Resource{
		{ID: "org-admin", Name: "Org admin", Settings: workflow.Settings{DefaultDuration: 8 * time.Hour, MaxDuration: 24 * time.Hour}},
		{ID: "repo-write", Name: "Repo write"},
	}
	vpn = &workflow.App{ID: "vpn", Name: "Office VPN", Settings: workflow.Settings{DefaultDuration: workflow.Permanent}}
	return gh, vpn
}

func reqEnt(app *workflow.App, res *workflow.Resource, s workflow.Settings) *workflow.Entitlement {
	return &workflow.Entitlement{App: app, Resource: res, Settings: s}
}

func generatedApps(n int) []*workflow.App {
	apps := make([]*workflow.App, n)
	for i := range apps {
		apps[i] = &workflow.App{ID: fmt.Sprintf("app%03d", i), Name: fmt.Sprintf("App %03d", i)}
	}
	return apps
}

func TestRequestModal(t *testing.T) {
	t.Parallel()
	gh, vpn := requestApps()
	apps := []*workflow.App{gh, vpn}
	orgAdmin := gh.Resources[0]
	orgAdminEnt := reqEnt(gh, orgAdmin, workflow.Settings{EmergencyPolicy: "glass", DefaultDuration: 8 * time.Hour, MaxDuration: 24 * time.Hour})
	many := generatedApps(150)

	for _, tc := range []struct {
		name   string
		form   RequestForm
		inputs []string
		has    []string
		hasnt  []string
	}{
		{name: "blank", form: RequestForm{Apps: apps},
			inputs: []string{BlockReqApp, BlockReqDurationPrefix, BlockReqJustification},
			has:    []string{"Request access", `"type": "static_select"`, `"dispatch_action": true`, "Office VPN (vpn)"},
			hasnt:  []string{BlockReqEmergency, BlockReqResourcePrefix}},
		{name: "app_needs_resource", form: RequestForm{Apps: apps, App: gh},
			inputs: []string{BlockReqApp, "req_resource:github", "req_duration:github", BlockReqJustification},
			has:    []string{"Resource in GitHub", "Org admin (org-admin)", "Choose a resource to see its default and maximum."},
			hasnt:  []string{BlockReqEmergency}},
		{name: "prefilled", form: RequestForm{Apps: apps, App: gh, Resource: orgAdmin, Ent: orgAdminEnt, Duration: "8h", Justification: "deploy the <hotfix>", Emergency: true},
			inputs: []string{BlockReqApp, "req_resource:github", "req_duration:github/org-admin", BlockReqJustification, BlockReqEmergency},
			has: []string{`"initial_value": "8h"`, "The maximum for GitHub / Org admin is 1d; left empty, it is 8h.",
				`"initial_value": "deploy the <hotfix>"`, "This is an emergency", `"initial_options"`}},
		{name: "no_resources", form: RequestForm{Apps: apps, App: vpn, Ent: reqEnt(vpn, nil, vpn.Settings)},
			inputs: []string{BlockReqApp, "req_duration:vpn", BlockReqJustification},
			has:    []string{"or permanent. Office VPN has no maximum; left empty, it is permanent.", `"initial_value": "permanent"`},
			hasnt:  []string{BlockReqEmergency, BlockReqResourcePrefix}},
		{name: "extension", form: RequestForm{Apps: apps, App: vpn, Ent: reqEnt(vpn, nil, vpn.Settings), Duration: "30m", Extension: true, Note: "Ask to extend your access to *Office VPN*."},
			inputs: []string{BlockReqApp, "req_duration:vpn", BlockReqJustification},
			has:    []string{"Extend access", "Request extension", `"initial_value": "30m"`, `{\"ext\":true}`}},
		{name: "many_apps", form: RequestForm{Apps: many, App: many[42], Ent: reqEnt(many[42], nil, workflow.Settings{DefaultDuration: 24 * time.Hour})},
			inputs: []string{BlockReqApp, "req_duration:app042", BlockReqJustification},
			has:    []string{`"type": "external_select"`, `"min_query_length": 0`, `"value": "app042"`},
			hasnt:  []string{"app041"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := RequestModal(tc.form)
			golden(t, "modal_request_"+tc.name, m)
			checkLimits(t, tc.name, m, surfaceModal)
			assert.Equal(t, CbRequest, m.CallbackID)
			meta, err := DecodeRequestMeta(m.PrivateMetadata)
			require.NoError(t, err)
			assert.Equal(t, tc.form.Extension, meta.Extension)
			var inputs []string
			for _, b := range m.Blocks.BlockSet {
				if in, ok := b.(*slack.InputBlock); ok {
					inputs = append(inputs, in.BlockID)
				}
			}
			require.Len(t, inputs, len(tc.inputs), "%v", inputs)
			for i, want := range tc.inputs {
				assert.True(t, strings.HasPrefix(inputs[i], want), "input %d is %s, want %s", i, inputs[i], want)
			}
			raw := string(render(t, m))
			for _, s := range tc.has {
				assert.Contains(t, raw, s)
			}
			for _, s := range tc.hasnt {
				assert.NotContains(t, raw, s)
			}
		})
	}
}

// The ids that carry the app make Slack drop what was entered for another
// app, and the bot reads the app back from them.
func TestRequestBlockIDs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "req_resource:github", ResourceBlockID("github"))
	app, ok := ResourceBlockApp(ResourceBlockID("github"))
	assert.True(t, ok)
	assert.Equal(t, "github", app)
	_, ok = ResourceBlockApp("req_app")
	assert.False(t, ok)
	assert.NotEqual(t, DurationBlockID("github", "org-admin"), DurationBlockID("github", "repo-write"))
	assert.LessOrEqual(t, len(DurationBlockID(strings.Repeat("a", 300), strings.Repeat("b", 300))), 255)
}

func TestSuggestApps(t *testing.T) {
	t.Parallel()
	many := generatedApps(150)
	values := func(opts []*slack.OptionBlockObject) []string {
		out := []string{}
		for _, o := range opts {
			out = append(out, o.Value)
		}
		return out
	}
	assert.Len(t, SuggestApps(many, ""), MaxStaticOptions, "at most 100")
	assert.Equal(t, []string{"app140", "app141", "app142", "app143", "app144", "app145", "app146", "app147", "app148", "app149"}, values(SuggestApps(many, " APP14 ")))
	assert.Empty(t, values(SuggestApps(many, "nope")))

	gh, vpn := requestApps()
	assert.Equal(t, []string{"vpn"}, values(SuggestApps([]*workflow.App{gh, vpn}, "v")))
	assert.Equal(t, []string{"github"}, values(SuggestApps([]*workflow.App{vpn, gh}, "hub")))
	assert.Equal(t, []string{"vpn"}, values(SuggestApps([]*workflow.App{gh, vpn}, "office")))
	assert.Equal(t, []string{"org-admin"}, values(SuggestResources(gh, "admin")))
	for _, o := range SuggestApps([]*workflow.App{{ID: "x", Name: strings.Repeat("long name ", 20)}}, "") {
		assert.LessOrEqual(t, len([]rune(o.Text.Text)), maxOptionText)
	}
}

func TestMatchingOrder(t *testing.T) {
	t.Parallel()
	names := [][2]string{{"data-lake", "Data lake"}, {"lake", "Lake"}, {"snowflake", "Snowflake"}}
	assert.Equal(t, []int{1, 0, 2}, matching(names, "lake"), "the prefix match first, then the others in order")
}

func TestGrantRef(t *testing.T) {
	t.Parallel()
	id, err := DecodeGrant(EncodeGrant(42))
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)
	for _, bad := range []string{"", "42", "grant:", "grant:-1", "grant:0", "grant:4 2", "grant:99999999999999999999", "task:4"} {
		_, err := DecodeGrant(bad)
		assert.Error(t, err, bad)
	}
}

func TestRequestMeta(t *testing.T) {
	t.Parallel()
	m, err := DecodeRequestMeta("")
	require.NoError(t, err)
	assert.False(t, m.Extension)
	for _, bad := range []string{"{", `{"task":1}`, `{"ext":"yes"}`, strings.Repeat(" ", 3001) + "{}"} {
		_, err := DecodeRequestMeta(bad)
		assert.Error(t, err, bad)
	}
}

func TestExpiryWarningMessage(t *testing.T) {
	t.Parallel()
	text, bl := ExpiryWarningMessage("Your access to <Office VPN> ends at 2026-11-24 10:00 UTC (in 1h). Request an extension if you still need it.", 7)
	msg := message{Text: text, Blocks: bl}
	golden(t, "message_expiry_warning", msg)
	checkLimits(t, "expiry_warning", msg, surfaceMessage)
	raw := string(render(t, msg))
	assert.Contains(t, raw, `"action_id": "request_extension"`)
	assert.Contains(t, raw, `"value": "grant:7"`)
	assert.Contains(t, raw, "&lt;Office VPN&gt;", "the text is escaped in mrkdwn")
}
