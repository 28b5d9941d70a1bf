package bot

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/workflow"
)

func TestRejoinMentions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"<@U1|Jane", "Doe>", "vpn", "x"}, []string{"<@U1|Jane Doe>", "vpn", "x"}},
		{[]string{"<@U1>", "vpn"}, []string{"<@U1>", "vpn"}},
		{[]string{"<@U1|a", "b", "c>"}, []string{"<@U1|a b c>"}},
		{[]string{"<@U1|never", "closed"}, []string{"<@U1|never closed"}},
		{nil, nil},
	} {
		assert.Equal(t, tc.want, rejoinMentions(tc.in), "%q", tc.in)
	}
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	gh := &workflow.App{ID: "github", Name: "GitHub", Resources: []*workflow.Resource{{ID: "org-admin"}, {ID: "repo-write"}}}
	vpn := &workflow.App{ID: "vpn", Name: "VPN"}
	cat := &workflow.Catalog{Apps: []*workflow.App{gh, vpn}}
	for _, tc := range []struct {
		text                  string
		app, res, dur, reason string
		wrong                 string
	}{
		{text: ""},
		{text: "github/org-admin 8h deploy the hotfix", app: "github", res: "org-admin", dur: "8h", reason: "deploy the hotfix"},
		{text: "GitHub/Org-Admin 48h", app: "github", res: "org-admin", dur: "2d"},
		{text: "github repo-write 1w x", app: "github", res: "repo-write", dur: "1w", reason: "x"},
		{text: "github deploy it", app: "github", reason: "deploy it"},
		{text: "vpn permanent", app: "vpn", dur: "permanent"},
		{text: "8h on call", dur: "8h", reason: "on call"},
		{text: "vpn 2fa reset", app: "vpn", reason: "2fa reset"},
		{text: "vpn 10", wrong: "unknown unit"},
		{text: "vpn 0h", wrong: "positive whole number"},
		{text: "vpm", wrong: "There is no app `vpm`. Did you mean `vpn`?"},
		{text: "vpn/x", wrong: "`vpn` has no resources"},
		{text: "github/", wrong: "Name a resource of `github` after the `/`. The resources are `org-admin`, `repo-write`."},
		{text: "github/org", wrong: "Did you mean `org-admin`?"},
		{text: "/x", wrong: "Name an app"},
	} {
		p, wrong := parseRequest(cat, strings.Fields(tc.text))
		if tc.wrong != "" {
			assert.Contains(t, wrong, tc.wrong, tc.text)
			continue
		}
		require.Empty(t, wrong, tc.text)
		var app, res string
		if p.app != nil {
			app = p.app.ID
		}
		if p.res != nil {
			res = p.res.ID
		}
		assert.Equal(t, []string{tc.app, tc.res, tc.dur, tc.reason}, []string{app, res, p.duration, p.reason}, tc.text)
	}
}
