package bot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/fakeslack"
	"accessbot/workflow"
)

// requestConfig: github is requested through its resources (org-admin has
// a short maximum; both set the emergency policy glass, reviewed
// by security); vpn has no resources, no emergency policy and no maximum.
// prov owns github; security owns vpn; mgr is alice's manager.
const requestConfig = `
admins: [admin@example.com]
people:
  - email: alice@example.com
    manager: mgr@example.com
  - email: carol@example.com
    manager: mgr@example.com
  - email: mgr@example.com
  - email: sec1@example.com
  - email: sec2@example.com
  - email: prov@example.com
  - email: eve@example.com
  - email: admin@example.com
groups:
  security: [sec1@example.com, sec2@example.com]
  sre: [prov@example.com]
policies:
  std:
    steps:
      - type: review
        approvers: [manager]
  glass:
    steps:
      - type: review
        approvers: [group:security]
  revoke:
    steps:
      - type: review
        approvers: [group:security]
      - type: deprovision
apps:
  - id: github
    name: GitHub
    owners: [group:sre]
    provisioners: [group:sre]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
    max_duration: 4w
    resources:
      - id: org-admin
        name: Org admin
        emergency_policy: glass
        default_duration: 8h
        max_duration: 1d
      - id: repo-write
        name: Repo write
        emergency_policy: glass
  - id: vpn
    name: Office VPN
    provisioning: none
    owners: [group:security]
    request_policy: std
    revocation_policy: revoke
    default_duration: 1w
`

// manyAppsConfig is requestConfig's people with n generated apps app000…,
// more than a static select holds.
func manyAppsConfig(n int) string {
	var sb strings.Builder
	head, _, _ := strings.Cut(requestConfig, "apps:\n")
	sb.WriteString(head + "apps:\n")
	// app000 has more resources than a static select holds.
	sb.WriteString("  - id: app000\n    provisioning: none\n    request_policy: std\n    revocation_policy: revoke\n    default_duration: 1d\n    resources:\n")
	for i := range 120 {
		fmt.Fprintf(&sb, "      - id: res%03d\n", i)
	}
	for i := 1; i < n; i++ {
		fmt.Fprintf(&sb, "  - id: app%03d\n    name: App %03d\n    provisioning: none\n    request_policy: std\n    revocation_policy: revoke\n    default_duration: 1d\n", i, i)
	}
	return sb.String()
}

// openRequest types `/access request TEXT` as name and returns the modal
// it opens.
func (h *harness) openRequest(name, text string) fakeslack.View {
	h.t.Helper()
	d, err := h.slack.Command(h.ctx, h.ids[name], h.slack.DMChannel(h.ids[name]), "/access", "request "+text)
	require.NoError(h.t, err)
	require.Empty(h.t, string(d.Ack.Payload), "a slash command is acked empty, at once")
	return h.topModalCB(name, "request")
}

// topModalCB waits for name's top modal with the callback id.
func (h *harness) topModalCB(name, callback string) fakeslack.View {
	h.t.Helper()
	var v fakeslack.View
	h.eventually("the "+callback+" modal of "+name, func() bool {
		var ok bool
		v, ok = h.slack.TopModal(h.ids[name])
		return ok && v.CallbackID == callback
	})
	return v
}

// reqInput returns a view's input element by block_id prefix.
func reqInput(t *testing.T, v fakeslack.View, prefix string) (fakeslack.Action, bool) {
	t.Helper()
	for _, a := range v.Actions() {
		if a.InInput && strings.HasPrefix(a.BlockID, prefix) {
			return a, true
		}
	}
	return fakeslack.Action{}, false
}

// initialOf is an input element's initial value or option value.
func initialOf(a fakeslack.Action) string {
	if v, ok := a.Element["initial_value"].(string); ok {
		return v
	}
	if o, ok := a.Element["initial_option"].(map[string]any); ok {
		v, _ := o["value"].(string)
		return v
	}
	return ""
}

func blockHint(t *testing.T, v fakeslack.View, blockID string) string {
	t.Helper()
	var bs []map[string]any
	require.NoError(t, json.Unmarshal(v.Blocks, &bs))
	for _, b := range bs {
		if b["block_id"] == blockID {
			if h, ok := b["hint"].(map[string]any); ok {
				s, _ := h["text"].(string)
				return s
			}
		}
	}
	return ""
}

func (h *harness) requestedBy(name string) []*workflow.Task {
	h.t.Helper()
	ts, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Requester: email(name)})
	require.NoError(h.t, err)
	return ts
}

func TestRequestTypedAsAPerson(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	v := h.openRequest("alice", "github/org-admin 8h deploy the hotfix")

	app, _ := reqInput(t, v, "req_app")
	assert.Equal(t, "static_select", app.Type)
	assert.Equal(t, "github", initialOf(app))
	res, ok := reqInput(t, v, "req_resource:github")
	require.True(t, ok, "github has resources: %s", v.AllText())
	assert.Equal(t, "org-admin", initialOf(res))
	dur, ok := reqInput(t, v, "req_duration:github/org-admin")
	require.True(t, ok)
	assert.Equal(t, "8h", initialOf(dur))
	assert.Contains(t, blockHint(t, v, dur.BlockID), "The maximum for GitHub / Org admin is 1d")
	just, _ := reqInput(t, v, "req_justification")
	assert.Equal(t, "deploy the hotfix", initialOf(just))
	_, ok = reqInput(t, v, "req_emergency")
	assert.True(t, ok, "github has an emergency policy")

	sub, err := h.slack.Submit(h.ctx, h.ids["alice"], v.ID, nil)
	require.NoError(t, err)
	assert.Empty(t, sub.ResponseAction, "the modal closes")
	assert.Empty(t, sub.Stack)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	task := ts[0]
	assert.Equal(t, "github", task.AppID)
	assert.Equal(t, "org-admin", task.ResourceID)
	assert.Equal(t, 8*time.Hour, task.Duration)
	assert.Equal(t, "deploy the hotfix", task.Justification)
	assert.False(t, task.Emergency)

	status := h.card(task.ID, workflow.CardRequester, "alice", -1)
	assert.Equal(t, h.slack.DMChannel(h.ids["alice"]), status.Channel, "the status card is in alice's DM")
	assert.Contains(t, status.AllText(), task.Number())
	mgrCard := h.card(task.ID, workflow.CardAssignee, "mgr", 0)
	_, ok = mgrCard.FindAction("approve")
	assert.True(t, ok)
	assert.Empty(t, h.ephemeralText("alice"), "no refusal")
}

func TestRequestEmergencyIsBadgedOnEveryCard(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	v := h.openRequest("alice", "github repo-write")
	res, _ := reqInput(t, v, "req_resource:github")
	assert.Equal(t, "repo-write", initialOf(res), "the resource may follow the app as its own word")
	dur, _ := reqInput(t, v, "req_duration:")
	assert.Equal(t, "1w", initialOf(dur), "the default of the app, inherited by the resource")
	assert.Contains(t, blockHint(t, v, dur.BlockID), "The maximum for GitHub / Repo write is 4w")

	// The form's 1w default is past the emergency cap (24h by default):
	// refused with the cap named, nothing created.
	sub, err := h.slack.Submit(h.ctx, h.ids["alice"], v.ID, fakeslack.Inputs{
		"req_justification": {"prod is down"}, "req_emergency": {"emergency"}})
	require.NoError(t, err)
	assert.Contains(t, sub.Errors[dur.BlockID], "Emergency access to GitHub / Repo write lasts at most 1d")
	assert.Empty(t, h.requestedBy("alice"))
	sub, err = h.slack.Submit(h.ctx, h.ids["alice"], v.ID, fakeslack.Inputs{
		"req_justification": {"prod is down"}, "req_emergency": {"emergency"}, dur.BlockID: {"8h"}})
	require.NoError(t, err)
	require.Empty(t, sub.Errors)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	task := ts[0]
	assert.True(t, task.Emergency)
	assert.Equal(t, "glass", task.Policy.Name, "the emergency policy")
	for _, c := range []fakeslack.Message{
		h.card(task.ID, workflow.CardRequester, "alice", -1),
		h.card(task.ID, workflow.CardAssignee, "sec1", 0),
		h.card(task.ID, workflow.CardAssignee, "sec2", 0),
	} {
		assert.Contains(t, c.AllText(), "Emergency", "card in %s", c.Channel)
		assert.Contains(t, c.Text, "Emergency!", "the notification says so too")
	}
}

func TestRequestRefusalsAreFieldErrors(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	// alice holds vpn until a week from now, and has github/org-admin open.
	vpn := h.request("alice", "vpn")
	_, err := h.engine.Approve(h.ctx, workflow.Decision{TaskID: vpn.ID, Actor: email("mgr"), Revision: h.task(vpn.ID).Revision})
	require.NoError(t, err)
	open, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email("alice"), AppID: "github", ResourceID: "org-admin", Justification: "x"})
	require.NoError(t, err)
	before := len(h.requestedBy("alice"))

	for _, tc := range []struct {
		name   string
		text   string
		inputs fakeslack.Inputs
		block  string // prefix of the block_id the error is under
		want   string
	}{
		{name: "over the max", text: "github/repo-write 5w fix",
			block: "req_duration:github/repo-write", want: "5w is longer than the maximum of 4w for GitHub / Repo write"},
		{name: "bad duration", text: "github/repo-write fix", inputs: fakeslack.Inputs{"req_duration:github/repo-write": {"3x"}},
			block: "req_duration:github/repo-write", want: "unknown unit"},
		{name: "no justification", text: "github/repo-write", inputs: fakeslack.Inputs{"req_justification": {"   "}},
			block: "req_justification", want: "A justification is required"},
		{name: "open request for the same resource", text: "github/org-admin again",
			block: "req_resource:github", want: "You already have an open request for GitHub / Org admin: " + open.Number()},
		{name: "active grant", text: "vpn more",
			block: "req_app", want: "You already have access to Office VPN until "},
		{name: "resource not chosen", text: "github", inputs: fakeslack.Inputs{"req_justification": {"why"}},
			block: "req_resource:github", want: "Choose a resource of GitHub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := h.openRequest("alice", tc.text)
			sub, err := h.slack.Submit(h.ctx, h.ids["alice"], v.ID, tc.inputs)
			if tc.name == "resource not chosen" && err != nil {
				// The fake, like Slack, will not submit an empty required select.
				assert.Contains(t, err.Error(), "req_resource:github")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "errors", sub.ResponseAction)
			require.Len(t, sub.Errors, 1, "%v", sub.Errors)
			for block, msg := range sub.Errors {
				assert.True(t, strings.HasPrefix(block, tc.block), "error under %s, want %s", block, tc.block)
				assert.Contains(t, msg, tc.want)
			}
			assert.Len(t, sub.Stack, 1, "the modal stays open")
			assert.Len(t, h.requestedBy("alice"), before, "nothing was created")
			require.NoError(t, func() error { _, err := h.slack.CloseView(h.ctx, h.ids["alice"], v.ID); return err }())
		})
	}
}

func TestRequestModalFollowsTheApp(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	alice := h.ids["alice"]
	v := h.openRequest("alice", "")
	_, ok := reqInput(t, v, "req_resource:")
	assert.False(t, ok, "no resource select before an app is chosen")
	_, err := h.slack.SetInput(h.ctx, alice, v.ID, "req_justification", "on call")
	require.NoError(t, err)

	updates := h.slack.Count("views.update", "ok")
	_, err = h.slack.SelectInView(h.ctx, alice, v.ID, "req_app", "github")
	require.NoError(t, err)
	h.eventually("the resources of github", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_resource:github")
		return ok
	})
	res, _ := reqInput(t, v, "req_resource:github")
	var values []string
	for _, o := range res.Options {
		values = append(values, o.Value)
	}
	assert.Equal(t, []string{"org-admin", "repo-write"}, values)
	_, ok = reqInput(t, v, "req_emergency")
	assert.False(t, ok, "no emergency checkbox until the resource is known")

	_, err = h.slack.SelectInView(h.ctx, alice, v.ID, "req_resource", "org-admin")
	require.NoError(t, err)
	h.eventually("the duration of org-admin", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_duration:github/org-admin")
		return ok
	})
	dur, _ := reqInput(t, v, "req_duration:")
	assert.Equal(t, "8h", initialOf(dur), "the resource's default")
	assert.Contains(t, blockHint(t, v, dur.BlockID), "is 1d")
	_, ok = reqInput(t, v, "req_emergency")
	assert.True(t, ok)

	_, err = h.slack.SelectInView(h.ctx, alice, v.ID, "req_app", "vpn")
	require.NoError(t, err)
	h.eventually("the form for vpn", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_duration:vpn")
		return ok
	})
	_, ok = reqInput(t, v, "req_resource:")
	assert.False(t, ok, "vpn has no resources")
	_, ok = reqInput(t, v, "req_emergency")
	assert.False(t, ok, "vpn has no emergency policy")
	assert.Contains(t, blockHint(t, v, "req_duration:vpn"), "or permanent. Office VPN has no maximum")
	assert.Equal(t, updates+3, h.slack.Count("views.update", "ok"), "one update per change")
	for _, c := range h.slack.Calls() {
		if c.Method == "views.update" {
			assert.NotEmpty(t, c.Params["hash"], "updates carry the view's hash")
		}
	}

	sub, err := h.slack.Submit(h.ctx, alice, v.ID, nil)
	require.NoError(t, err)
	require.Empty(t, sub.Errors)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	assert.Equal(t, "vpn", ts[0].AppID)
	assert.Equal(t, "on call", ts[0].Justification, "what was typed survived the redraws")
	assert.Equal(t, 7*24*time.Hour, ts[0].Duration)
}

func TestRequestWithManyAppsUsesSuggestions(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: manyAppsConfig(150)})
	alice := h.ids["alice"]
	v := h.openRequest("alice", "")
	app, _ := reqInput(t, v, "req_app")
	assert.Equal(t, "external_select", app.Type, "more than 100 apps")

	opts, err := h.slack.Suggest(h.ctx, alice, v.ID, "req_app", "")
	require.NoError(t, err)
	assert.Len(t, opts, 100, "at most 100 options")
	opts, err = h.slack.Suggest(h.ctx, alice, v.ID, "req_app", "APP 04")
	require.NoError(t, err)
	var values []string
	for _, o := range opts {
		values = append(values, o.Value)
	}
	assert.Equal(t, []string{"app040", "app041", "app042", "app043", "app044", "app045", "app046", "app047", "app048", "app049"}, values)
	opts, err = h.slack.Suggest(h.ctx, alice, v.ID, "req_app", "zzz")
	require.NoError(t, err)
	assert.Empty(t, opts)

	_, err = h.slack.Suggest(h.ctx, alice, v.ID, "req_app", "app042")
	require.NoError(t, err)
	_, err = h.slack.SelectInView(h.ctx, alice, v.ID, "req_app", "app042")
	require.NoError(t, err)
	h.eventually("the form for app042", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_duration:app042")
		return ok
	})
	sub, err := h.slack.Submit(h.ctx, alice, v.ID, fakeslack.Inputs{"req_justification": {"reports"}})
	require.NoError(t, err)
	require.Empty(t, sub.Errors)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	assert.Equal(t, "app042", ts[0].AppID)

	// So do the resources of an app with more than 100.
	v = h.openRequest("alice", "app000")
	res, ok := reqInput(t, v, "req_resource:app000")
	require.True(t, ok)
	assert.Equal(t, "external_select", res.Type)
	opts, err = h.slack.Suggest(h.ctx, alice, v.ID, "req_resource", "res11")
	require.NoError(t, err)
	values = nil
	for _, o := range opts {
		values = append(values, o.Value)
	}
	assert.Equal(t, []string{"res110", "res111", "res112", "res113", "res114", "res115", "res116", "res117", "res118", "res119"}, values)
	opts, err = h.slack.Suggest(h.ctx, alice, v.ID, "req_resource", "")
	require.NoError(t, err)
	assert.Len(t, opts, 100)
	_, err = h.slack.SelectInView(h.ctx, alice, v.ID, "req_resource", "res117")
	require.NoError(t, err)
	h.eventually("the form for res117", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_duration:app000/res117")
		return ok
	})
	sub, err = h.slack.Submit(h.ctx, alice, v.ID, fakeslack.Inputs{"req_justification": {"numbers"}})
	require.NoError(t, err)
	require.Empty(t, sub.Errors)
	require.Len(t, h.requestedBy("alice"), 2)

	// Typed in the command, the app is the external select's initial option.
	v = h.openRequest("alice", "app149")
	app, _ = reqInput(t, v, "req_app")
	assert.Equal(t, "app149", initialOf(app))
}

func TestRequestUnknownAppOrResourceAnswersClosest(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	for _, tc := range []struct{ text, want string }{
		{"gthub 8h x", "There is no app `gthub`. Did you mean `github`?"},
		{"github/org-admn", "`github` has no resource `org-admn`. Did you mean `org-admin`?"},
		{"qqqqqq", "There is no app `qqqqqq`. The apps are `github`, `vpn`."},
	} {
		out := h.command("alice", "/access", "request "+tc.text)
		assert.Contains(t, out, tc.want, tc.text)
		assert.Contains(t, out, "Nothing was opened.")
	}
	assert.Zero(t, h.slack.Count("views.open", "ok"), "no modal opened")
	_, ok := h.slack.TopModal(h.ids["alice"])
	assert.False(t, ok)
}

// grantVPN gives name active access to vpn (approved by their manager).
func (h *harness) grantVPN(name string, d time.Duration) {
	h.t.Helper()
	task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email(name), AppID: "vpn", Duration: d, Justification: "work"})
	require.NoError(h.t, err)
	_, err = h.engine.Approve(h.ctx, workflow.Decision{TaskID: task.ID, Actor: email("mgr"), Revision: task.Revision})
	require.NoError(h.t, err)
	require.Equal(h.t, workflow.StatusDone, h.task(task.ID).Status)
}

func TestRevokeCommand(t *testing.T) {
	t.Parallel()
	// Subtest names stay plain: a '#' in t.TempDir() would end the SQLite
	// file URI early (store.sqliteDSNs does not escape the path).
	for _, tc := range []struct {
		name, who, text string
		allowed         bool
		want            string
	}{
		{name: "manager", who: "mgr", text: "revoke <@%s> vpn left the team", allowed: true},
		{name: "owner", who: "sec1", text: "revoke <@%s|alice> vpn no longer needed", allowed: true},
		{name: "admin", who: "admin", text: "revoke <@%s> vpn audit", allowed: true},
		{name: "name with a space", who: "mgr", text: "revoke <@%s|Alice Liddell> vpn a name with a space", allowed: true},
		{name: "anyone else", who: "eve", text: "revoke <@%s> vpn I do not like her", want: "Only <@U0000000A>'s manager, an owner of Office VPN or an admin can propose revoking it."},
		{name: "the holder", who: "alice", text: "revoke <@%s> vpn mine", want: "Only <@U0000000A>'s manager"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setupWith(t, harnessOptions{config: requestConfig})
			h.grantVPN("alice", 0)
			tasksBefore, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke})
			require.NoError(t, err)
			require.Empty(t, tasksBefore)

			out := h.command(tc.who, "/access", fmt.Sprintf(tc.text, h.ids["alice"]))
			revokes, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke})
			require.NoError(t, err)
			if !tc.allowed {
				assert.Contains(t, out, tc.want)
				assert.Contains(t, out, "Nothing was changed.")
				assert.Empty(t, revokes, "nothing was created")
				return
			}
			require.Len(t, revokes, 1, out)
			r := revokes[0]
			assert.Contains(t, out, "Proposed revoking <@"+h.ids["alice"]+">'s access to Office VPN: "+r.Number())
			assert.Equal(t, email("alice"), r.Subject)
			assert.Equal(t, email(tc.who), r.Requester)
			h.card(r.ID, workflow.CardAssignee, "sec2", 0)
		})
	}
}

func TestRevokeWithoutTheGrantIsRefused(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	out := h.command("mgr", "/access", "revoke <@"+h.ids["carol"]+"> vpn moved teams")
	assert.Contains(t, out, h.mention("carol")+" has no active access to Office VPN, so there is nothing to revoke.")
	out = h.command("prov", "/access", "revoke <@"+h.ids["alice"]+"> github/org-admin gone")
	assert.Contains(t, out, "has no active access to GitHub / Org admin")
	revokes, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{Kind: workflow.KindRevoke})
	require.NoError(t, err)
	assert.Empty(t, revokes)
}

func TestTasksCommand(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	var nums []string
	for _, name := range []string{"alice", "carol"} {
		task, err := h.engine.Request(h.ctx, workflow.RequestInput{Requester: email(name), AppID: "github", ResourceID: "org-admin", Justification: "x"})
		require.NoError(t, err)
		nums = append(nums, task.Number())
	}
	out := h.command("mgr", "/access", "tasks")
	assert.Contains(t, out, "2 tasks wait on you")
	assert.Contains(t, out, "Access requests to review: *2* — "+nums[0]+" (GitHub / Org admin), "+nums[1]+" (GitHub / Org admin)")
	eph := h.slack.Ephemerals(h.ids["mgr"])
	home, ok := eph[len(eph)-1].FindAction("open_app_home")
	require.True(t, ok, "a button to the App Home")
	assert.Equal(t, "slack://app?team="+h.slack.TeamID()+"&id="+h.slack.AppID()+"&tab=home", home.URL)

	assert.Contains(t, h.command("eve", "/access", "tasks"), "Nothing waits on you.")
	assert.Contains(t, h.command("alice", "/access", "tasks"), "You have 1 open request of your own.")
}

func TestShowCommand(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	task := h.request("alice", "vpn")

	for _, who := range []string{"alice", "mgr", "admin"} {
		_, err := h.slack.Command(h.ctx, h.ids[who], h.slack.DMChannel(h.ids[who]), "/access", "show "+strings.ToLower(task.Number()))
		require.NoError(t, err)
		v := h.topModalCB(who, "details")
		assert.Contains(t, v.Title, task.Number())
	}
	out := h.command("eve", "/access", "show "+task.Number())
	assert.Contains(t, out, "You are not involved in "+task.Number())
	_, ok := h.slack.TopModal(h.ids["eve"])
	assert.False(t, ok, "no modal for eve")
	assert.Contains(t, h.command("eve", "/access", "show T-999"), "T-999")
}

func TestMalformedCommands(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	h.slack.AddUser(fakeslack.User{ID: "UBOT00001", Name: "somebot", Email: "somebot@example.com", IsBot: true})
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"request 8x", []string{"unknown unit", "Use: `/access request [APP[/RESOURCE]] [DURATION] [reason…]`"}},
		{"request github/org-admin 0h why", []string{"positive whole number", "Use: `/access request"}},
		{"request vpn/foo", []string{"`vpn` has no resources", "Use: `/access request"}},
		{"request /org-admin", []string{"Name an app before the `/`"}},
		{"revoke alice vpn reason", []string{`"alice" is not a mention of a person`, "Use: `/access revoke @person APP[/RESOURCE] reason…`"}},
		{"revoke <#C123|general> vpn reason", []string{"is not a mention of a person"}},
		{"revoke <@UNOBODY1> vpn reason", []string{"cannot find <@UNOBODY1>"}},
		{"revoke <@UBOT00001> vpn reason", []string{"is a bot, not a person"}},
		{"revoke <@U0000000A> vpn", []string{"Give a reason"}},
		{"revoke <@U0000000A> github reason", []string{"`github` is granted through its resources", "org-admin"}},
		{"revoke <@U0000000A>", []string{"Say whose access to revoke and to what", "Use: `/access revoke"}},
		{"revoke", []string{"Say whose access"}},
		{"show T-abc", []string{`"T-abc" is not a task number: write it as T-12.`, "Use: `/access show T-12`"}},
		{"show", []string{"Name one task", "Use: `/access show T-12`"}},
		{"show T-1 T-2", []string{"Name one task"}},
		{"tasks please", []string{"takes nothing after it", "Use: `/access tasks`"}},
	} {
		out := h.command("mgr", "/access", tc.text)
		for _, w := range tc.want {
			assert.Contains(t, out, w, tc.text)
		}
	}
	assert.Zero(t, h.slack.Count("views.open", "ok"), "no modal opened")
	all, err := h.engine.Tasks(h.ctx, workflow.TaskQuery{})
	require.NoError(t, err)
	assert.Empty(t, all, "nothing was created")
}

func TestExpiryWarningRequestsAnExtension(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	h.grantVPN("alice", 30*time.Minute)
	n, err := h.engine.WarnExpiring(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	var warning fakeslack.Message
	h.eventually("the expiry warning", func() bool {
		for _, m := range h.slack.DMs(h.ids["alice"]) {
			if _, ok := m.FindAction("request_extension"); ok {
				warning = m
				return true
			}
		}
		return false
	})
	assert.Contains(t, warning.Text, "Your access to Office VPN ends at")
	h.click("alice", warning, "request_extension")
	v := h.topModalCB("alice", "request")
	assert.Equal(t, "Extend access", v.Title)
	assert.Contains(t, v.AllText(), "Ask to extend your access to *Office VPN*")
	app, _ := reqInput(t, v, "req_app")
	assert.Equal(t, "vpn", initialOf(app))
	dur, _ := reqInput(t, v, "req_duration:vpn")
	assert.Equal(t, "30m", initialOf(dur), "the grant's duration")

	sub, err := h.slack.Submit(h.ctx, h.ids["alice"], v.ID, fakeslack.Inputs{"req_justification": {"still on call"}})
	require.NoError(t, err)
	require.Empty(t, sub.Errors, "an extension is not refused for the access held")
	var ext *workflow.Task
	for _, t := range h.requestedBy("alice") {
		if t.Extension {
			ext = t
		}
	}
	require.NotNil(t, ext)
	assert.Equal(t, 30*time.Minute, ext.Duration)
	h.card(ext.ID, workflow.CardRequester, "alice", -1)
}

// A redraw that never reached Slack leaves the form behind the choice; the
// submission then redraws it for the app chosen and creates nothing.
func TestRequestFormBehindTheChoiceIsRedrawn(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	alice := h.ids["alice"]
	v := h.openRequest("alice", "vpn because")
	h.slack.FailNext("views.update", 1, fakeslack.FailError("internal_error"))
	_, err := h.slack.SelectInView(h.ctx, alice, v.ID, "req_app", "github")
	require.NoError(t, err)
	h.eventually("the failed redraw", func() bool { return h.slack.Count("views.update", "internal_error") == 1 })
	v, _ = h.slack.TopModal(alice)
	_, ok := reqInput(t, v, "req_resource:")
	require.False(t, ok, "the form still shows vpn's")

	sub, err := h.slack.Submit(h.ctx, alice, v.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "update", sub.ResponseAction)
	assert.Empty(t, h.requestedBy("alice"), "nothing was created")
	v, _ = h.slack.TopModal(alice)
	res, ok := reqInput(t, v, "req_resource:github")
	require.True(t, ok, "now it asks for a resource of github")
	assert.Empty(t, initialOf(res))
	sub, err = h.slack.Submit(h.ctx, alice, v.ID, fakeslack.Inputs{"req_resource:github": {"repo-write"}})
	require.NoError(t, err)
	assert.Equal(t, "update", sub.ResponseAction, "the duration was not yet repo-write's")
	v, _ = h.slack.TopModal(alice)
	dur, _ := reqInput(t, v, "req_duration:github/repo-write")
	assert.Equal(t, "1w", initialOf(dur))
	sub, err = h.slack.Submit(h.ctx, alice, v.ID, nil)
	require.NoError(t, err)
	require.Empty(t, sub.ResponseAction)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	assert.Equal(t, "repo-write", ts[0].ResourceID)
	assert.Equal(t, "because", ts[0].Justification, "what was typed survived")
}

// A duration typed before the resource is chosen survives the redraw.
func TestRequestDurationBeforeResource(t *testing.T) {
	t.Parallel()
	h := setupWith(t, harnessOptions{config: requestConfig})
	alice := h.ids["alice"]
	v := h.openRequest("alice", "github 2d release week")
	dur, _ := reqInput(t, v, "req_duration:github")
	assert.Equal(t, "2d", initialOf(dur))
	_, err := h.slack.SelectInView(h.ctx, alice, v.ID, "req_resource", "repo-write")
	require.NoError(t, err)
	h.eventually("the form for repo-write", func() bool {
		v, _ = h.slack.TopModal(alice)
		_, ok := reqInput(t, v, "req_duration:github/repo-write")
		return ok
	})
	dur, _ = reqInput(t, v, "req_duration:")
	assert.Equal(t, "2d", initialOf(dur))
	sub, err := h.slack.Submit(h.ctx, alice, v.ID, nil)
	require.NoError(t, err)
	require.Empty(t, sub.ResponseAction)
	ts := h.requestedBy("alice")
	require.Len(t, ts, 1)
	assert.Equal(t, 48*time.Hour, ts[0].Duration)
	assert.Equal(t, "release week", ts[0].Justification)
}
