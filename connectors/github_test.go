package connectors_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"accessbot/connectors"
	"accessbot/connectors/fakegithub"
	"accessbot/workflow"
)

func githubFor(t *testing.T) (*connectors.GitHub, *fakegithub.Server) {
	gh := fakegithub.New("acme", "ghp_test")
	t.Cleanup(gh.Close)
	gh.AddTeam("acme-admins")
	c, err := connectors.NewGitHub(connectors.GitHubOptions{Name: "github", Org: "acme", Token: "ghp_test", BaseURL: gh.BaseURL(), Teams: map[string]string{"admin": "acme-admins"}})
	require.NoError(t, err)
	return c, gh
}

func ghRequest(resource string) workflow.ConnectorRequest {
	return workflow.ConnectorRequest{Action: workflow.JobGrant, IdempotencyKey: "k", Task: "T-1", App: "github", Resource: resource,
		Subject: workflow.ConnectorSubject{Email: "ann@x.io", Account: "octocat"}}
}

func TestGitHubAddCheckRemove(t *testing.T) {
	c, gh := githubFor(t)
	ctx := context.Background()
	r := ghRequest("admin")

	present, err := c.Check(ctx, r)
	require.NoError(t, err)
	assert.False(t, present)

	res, err := c.Grant(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "octocat is a member of acme/acme-admins", res.Message)
	_, err = c.Grant(ctx, r)
	require.NoError(t, err, "already a member is success")
	assert.Equal(t, 1, gh.Adds("acme-admins", "octocat"))

	present, err = c.Check(ctx, r)
	require.NoError(t, err)
	assert.True(t, present)

	res, err = c.Revoke(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "octocat is no longer a member of acme/acme-admins", res.Message)
	assert.False(t, gh.IsMember("acme-admins", "octocat"))
	res, err = c.Revoke(ctx, r)
	require.NoError(t, err, "not a member is success")
	assert.Equal(t, "octocat was not a member of acme/acme-admins", res.Message)
}

func TestGitHubErrors(t *testing.T) {
	ctx := context.Background()
	retry := func(t *testing.T, err error) bool {
		t.Helper()
		var ce *workflow.ConnectorError
		require.ErrorAs(t, err, &ce)
		return ce.Retry
	}
	t.Run("no such team", func(t *testing.T) {
		c, _ := githubFor(t)
		_, err := c.Grant(ctx, ghRequest("billing"))
		assert.False(t, retry(t, err))
		assert.Contains(t, err.Error(), "GitHub has no team acme/billing")
		_, err = c.Revoke(ctx, ghRequest("billing"))
		assert.False(t, retry(t, err), "a 404 on remove is 'not a member' only when the team exists")
		assert.Contains(t, err.Error(), "GitHub has no team acme/billing")
	})
	t.Run("server errors retry", func(t *testing.T) {
		c, gh := githubFor(t)
		gh.FailNext(http.StatusInternalServerError)
		_, err := c.Grant(ctx, ghRequest("admin"))
		assert.True(t, retry(t, err))
		assert.Contains(t, err.Error(), "GitHub answered 500")
	})
	t.Run("bad token", func(t *testing.T) {
		_, gh := githubFor(t)
		c, err := connectors.NewGitHub(connectors.GitHubOptions{Name: "github", Org: "acme", Token: "wrong-token", BaseURL: gh.BaseURL()})
		require.NoError(t, err)
		_, err = c.Grant(ctx, ghRequest("acme-admins"))
		assert.False(t, retry(t, err))
		assert.Contains(t, err.Error(), "GitHub refused the token")
		assert.NotContains(t, err.Error(), "wrong-token", "the token never reaches an error")
	})
	t.Run("no account", func(t *testing.T) {
		c, gh := githubFor(t)
		r := ghRequest("admin")
		r.Subject.Account = ""
		_, err := c.Grant(ctx, r)
		assert.False(t, retry(t, err))
		assert.Contains(t, err.Error(), "ann@x.io has no GitHub login in the configuration")
		assert.Empty(t, gh.Calls())
	})
}
