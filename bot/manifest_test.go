package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// methodScopes maps every Slack Web API method the bot may call to the bot
// scopes it needs (Slack's method reference, "Required scopes"; empty: none).
// A method the code calls that is missing here fails the test: look it up
// and add it, then the manifest check tells whether a scope is missing.
var methodScopes = map[string][]string{
	"auth.test":             {},
	"apps.connections.open": {}, // the app-level token's connections:write, not a bot scope
	"chat.postMessage":      {"chat:write"},
	"chat.update":           {"chat:write"},
	"chat.postEphemeral":    {"chat:write"},
	"chat.delete":           {"chat:write"},
	"chat.getPermalink":     {},
	"conversations.open":    {"im:write"},
	// Threads of cards live in DMs, public and private app channels.
	"conversations.replies": {"im:history", "channels:history", "groups:history"},
	"conversations.history": {"im:history", "channels:history", "groups:history"},
	"conversations.info":    {"im:read", "channels:read", "groups:read"},
	"reactions.add":         {"reactions:write"},
	"reactions.remove":      {"reactions:write"},
	"users.info":            {"users:read"},
	// Slack grants users:read.email only together with users:read.
	"users.lookupByEmail": {"users:read", "users:read.email"},
	"views.open":          {},
	"views.update":        {},
	"views.push":          {},
	"views.publish":       {},
	"team.info":           {"team:read"},
	// A slash command's or a click's response_url is a webhook, no API method.
	"response_url": {},
}

// apiFuncs maps slack-go client methods to the Web API methods they call,
// for calls made on b.api directly (outside b.call, like the start-up
// token checks).
var apiFuncs = map[string]string{
	"AuthTestContext":               "auth.test",
	"StartSocketModeContext":        "apps.connections.open",
	"PostMessageContext":            "chat.postMessage",
	"UpdateMessageContext":          "chat.update",
	"PostEphemeralContext":          "chat.postEphemeral",
	"DeleteMessageContext":          "chat.delete",
	"GetPermalinkContext":           "chat.getPermalink",
	"OpenConversationContext":       "conversations.open",
	"GetConversationRepliesContext": "conversations.replies",
	"GetConversationHistoryContext": "conversations.history",
	"GetConversationInfoContext":    "conversations.info",
	"AddReactionContext":            "reactions.add",
	"RemoveReactionContext":         "reactions.remove",
	"GetUserInfoContext":            "users.info",
	"GetUserByEmailContext":         "users.lookupByEmail",
	"OpenViewContext":               "views.open",
	"UpdateViewContext":             "views.update",
	"PushViewContext":               "views.push",
	"PublishViewContext":            "views.publish",
	"GetTeamInfoContext":            "team.info",
}

// eventSubscriptions maps an Events API inner event type (the key of the
// bot's events table) to the manifest's bot_events that deliver it and the
// scopes those need.
var eventSubscriptions = map[string]struct {
	botEvents []string
	scopes    []string
}{
	"app_home_opened": {[]string{"app_home_opened"}, nil},
	// A reply in a card's thread: cards live in DMs, public and private
	// app channels.
	"message":     {[]string{"message.im", "message.channels", "message.groups"}, []string{"im:history", "channels:history", "groups:history"}},
	"app_mention": {[]string{"app_mention"}, []string{"app_mentions:read"}},
}

// productEvents are the inner event types the product is specified to
// handle (issue 10: App Home and thread replies). The manifest subscribes to
// them even before the code that handles them is merged.
var productEvents = []string{"app_home_opened", "message"}

type manifest struct {
	Features struct {
		AppHome struct {
			HomeTab     bool `yaml:"home_tab_enabled"`
			MessagesTab bool `yaml:"messages_tab_enabled"`
			ReadOnly    bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			Description  string `yaml:"description"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape *bool  `yaml:"should_escape"`
			URL          string `yaml:"url"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

func loadManifest(t *testing.T) manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "slack", "manifest.yaml"))
	require.NoError(t, err)
	var m manifest
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	require.NoError(t, dec.Decode(&m))
	return m
}

// codeUse is what the bot's source uses of Slack.
type codeUse struct {
	methods  map[string]string // Web API method -> where
	events   map[string]string // inner event type -> where
	commands map[string]string // slash command -> where
	problems []string
}

// scanBot parses the bot package's non-test files and collects the methods
// passed to b.call, the methods behind direct b.api calls, the keys of the
// events table and the slash commands slashCommand dispatches.
func scanBot(t *testing.T) codeUse {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	use := codeUse{methods: map[string]string{}, events: map[string]string{}, commands: map[string]string{}}
	var parsed []*ast.File
	consts := map[string]string{} // string constants of package bot
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		parsed = append(parsed, af)
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	var sdkConsts map[string]string // slackevents' event type constants, read when first needed
	var str func(e ast.Expr) (string, bool)
	str = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		case *ast.CallExpr: // string(slackevents.AppHomeOpened)
			if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "string" && len(e.Args) == 1 {
				return str(e.Args[0])
			}
		case *ast.SelectorExpr: // slackevents.AppHomeOpened
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "slackevents" {
				if sdkConsts == nil {
					sdkConsts = stringConsts(t, "github.com/slack-go/slack/slackevents")
				}
				s, ok := sdkConsts[e.Sel.Name]
				return s, ok
			}
		}
		return "", false
	}
	isSel := func(e ast.Expr, name string) bool {
		s, ok := e.(*ast.SelectorExpr)
		return ok && s.Sel.Name == name
	}
	for _, af := range parsed {
		ast.Inspect(af, func(n ast.Node) bool {
			pos := func() string { return fset.Position(n.Pos()).String() }
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				// b.call(ctx, "method", channel, fn)
				if sel.Sel.Name == "call" && len(n.Args) == 4 {
					if m, ok := str(n.Args[1]); ok {
						use.methods[m] = pos()
					} else {
						use.problems = append(use.problems, pos()+": b.call's method is not a string literal or constant; the manifest test cannot see which method it is")
					}
				}
				// b.api.SomethingContext(...)
				if isSel(sel.X, "api") {
					if m, ok := apiFuncs[sel.Sel.Name]; ok {
						use.methods[m] = pos()
					} else {
						use.problems = append(use.problems, pos()+": slack-go's "+sel.Sel.Name+" is not in apiFuncs; add the Web API method it calls")
					}
				}
			case *ast.AssignStmt:
				// b.reg.events["type"] = fn / r.events[...] = fn
				for _, lhs := range n.Lhs {
					ix, ok := lhs.(*ast.IndexExpr)
					// r.commands["name"] = fn: a slash command of the routing table
					if ok && isSel(ix.X, "commands") {
						if s, ok := str(ix.Index); ok {
							use.commands["/"+strings.TrimPrefix(s, "/")] = pos()
						}
						continue
					}
					if !ok || !isSel(ix.X, "events") {
						continue
					}
					if ev, ok := str(ix.Index); ok {
						use.events[ev] = pos()
					} else {
						use.problems = append(use.problems, pos()+": an events table key is not a string literal or constant")
					}
				}
			case *ast.KeyValueExpr:
				// registry{events: map[string]eventFunc{"type": fn}}
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "events" {
					if cl, ok := n.Value.(*ast.CompositeLit); ok {
						for _, el := range cl.Elts {
							kv := el.(*ast.KeyValueExpr)
							if ev, ok := str(kv.Key); ok {
								use.events[ev] = fset.Position(kv.Pos()).String()
							} else {
								use.problems = append(use.problems, fset.Position(kv.Pos()).String()+": an events table key is not a string literal or constant")
							}
						}
					}
				}
			case *ast.FuncDecl:
				if n.Name.Name != "slashCommand" {
					return true
				}
				// The commands slashCommand dispatches: the cases of its
				// switch on the command's name.
				ast.Inspect(n.Body, func(m ast.Node) bool {
					cc, ok := m.(*ast.CaseClause)
					if !ok {
						return true
					}
					for _, e := range cc.List {
						if s, ok := str(e); ok {
							use.commands["/"+strings.TrimPrefix(s, "/")] = fset.Position(e.Pos()).String()
						}
					}
					return true
				})
			}
			return true
		})
	}
	require.NotEmpty(t, use.methods, "the scan found no Web API calls at all: has b.call changed shape?")
	require.NotEmpty(t, use.commands, "the scan found no slash commands in the routing table: has it changed shape?")
	return use
}

// TestManifestCoversTheCode checks slack/manifest.yaml against the code:
// every method and event the bot uses is covered by a scope or event
// subscription in the manifest, every slash command the bot handles is
// declared (with a usage hint and escaping on), and the manifest asks for
// nothing that nothing needs.
func TestManifestCoversTheCode(t *testing.T) {
	t.Parallel()
	m := loadManifest(t)
	use := scanBot(t)
	for _, p := range use.problems {
		t.Error(p)
	}

	needed := map[string]string{} // scope -> why
	for method, where := range use.methods {
		scopes, ok := methodScopes[method]
		if !ok {
			t.Errorf("%s: the bot calls %s, which the test's methodScopes does not list: add it with the scopes Slack's reference gives", where, method)
			continue
		}
		for _, s := range scopes {
			needed[s] = method + " (" + where + ")"
		}
	}
	wantEvents := map[string]string{} // manifest bot event -> why
	addEvent := func(ev, why string) {
		sub, ok := eventSubscriptions[ev]
		if !ok {
			t.Errorf("%s: the bot handles the %q event, which the test's eventSubscriptions does not list: add its bot events and scopes", why, ev)
			return
		}
		for _, be := range sub.botEvents {
			wantEvents[be] = ev + " (" + why + ")"
		}
		for _, s := range sub.scopes {
			needed[s] = ev + " event (" + why + ")"
		}
	}
	for ev, where := range use.events {
		addEvent(ev, where)
	}
	for _, ev := range productEvents {
		if _, ok := use.events[ev]; !ok {
			t.Logf("note: the product handles %q events, but no handler is registered in this build yet", ev)
			addEvent(ev, "the product's specification")
		}
	}
	if len(use.commands) > 0 {
		needed["commands"] = "slash commands"
	}

	bot := m.OAuth.Scopes.Bot
	for s, why := range needed {
		assert.Contains(t, bot, s, "slack/manifest.yaml lacks the bot scope %s, needed by %s", s, why)
	}
	for _, s := range bot {
		assert.Contains(t, needed, s, "slack/manifest.yaml asks for the bot scope %s, which nothing in the code needs: remove it (or add what needs it to the test's tables)", s)
	}
	assert.Empty(t, m.OAuth.Scopes.User, "accessbot acts as a bot only: no user scopes")
	assert.Equal(t, len(bot), len(uniq(bot)), "a scope is listed twice")

	events := m.Settings.Events.BotEvents
	for ev, why := range wantEvents {
		assert.Contains(t, events, ev, "slack/manifest.yaml does not subscribe to the bot event %s, needed by %s", ev, why)
	}
	for _, ev := range events {
		assert.Contains(t, wantEvents, ev, "slack/manifest.yaml subscribes to %s, which the bot does not handle", ev)
	}

	var declared []string
	for _, c := range m.Features.SlashCommands {
		declared = append(declared, c.Command)
		assert.NotEmpty(t, c.Description, "%s needs a description", c.Command)
		assert.NotEmpty(t, c.UsageHint, "%s needs a usage hint", c.Command)
		if assert.NotNil(t, c.ShouldEscape, "%s must say should_escape", c.Command) {
			assert.True(t, *c.ShouldEscape, "%s must escape users (should_escape: true), so mentions arrive as <@U…>", c.Command)
		}
		assert.Empty(t, c.URL, "%s: Socket Mode apps take slash commands without a URL", c.Command)
		assert.Contains(t, use.commands, c.Command, "slack/manifest.yaml declares %s, which the bot does not handle", c.Command)
	}
	for c, where := range use.commands {
		assert.Contains(t, declared, c, "%s: the bot handles %s, which slack/manifest.yaml does not declare", where, c)
	}
	t.Logf("methods: %v; events: %v; commands: %v", keys(use.methods), keys(use.events), keys(use.commands))
}

// TestManifestSettings checks the settings Socket Mode and the bot's
// surfaces depend on.
func TestManifestSettings(t *testing.T) {
	t.Parallel()
	m := loadManifest(t)
	assert.True(t, m.Settings.SocketMode, "socket_mode_enabled: the bot connects over Socket Mode")
	assert.True(t, m.Settings.Interactivity.Enabled, "interactivity is needed for buttons and modals, also in Socket Mode")
	assert.Empty(t, m.Settings.Interactivity.RequestURL, "no request URL in Socket Mode")
	assert.Empty(t, m.Settings.Events.RequestURL, "no request URL in Socket Mode")
	assert.True(t, m.Features.AppHome.HomeTab, "the App Home tab is on")
	assert.True(t, m.Features.AppHome.MessagesTab, "cards arrive in the Messages tab")
	assert.False(t, m.Features.AppHome.ReadOnly, "people reply in card threads")
	assert.NotEmpty(t, m.Features.BotUser.DisplayName)
}

// stringConsts returns the string constants of an imported package, read
// from its source in the module cache (`X = T("v")` or `X T = "v"`).
func stringConsts(t *testing.T, pkg string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
	require.NoError(t, err, "go list %s", pkg)
	dir := strings.TrimSpace(string(out))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	consts := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					v := vs.Values[i]
					if call, ok := v.(*ast.CallExpr); ok && len(call.Args) == 1 {
						v = call.Args[0]
					}
					if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return consts
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
