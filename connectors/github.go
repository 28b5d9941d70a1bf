package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v84/github"

	"accessbot/workflow"
)

// GitHub manages membership of organization teams. A resource maps to a
// team slug (Teams, else the resource's id; an app without resources uses
// the app's id); the subject's login is their account in the
// configuration. Adding a member who is one already and removing one who
// is not are both success, so the connector is idempotent by nature.
type GitHub struct {
	Name   string
	Org    string
	Teams  map[string]string
	client *github.Client
}

var (
	_ workflow.Connector = (*GitHub)(nil)
	_ workflow.Checker   = (*GitHub)(nil)
)

// GitHubOptions configure NewGitHub.
type GitHubOptions struct {
	Name, Org, Token string
	// BaseURL is GitHub Enterprise's API URL (https://github.example.com/api/v3/);
	// "" is api.github.com.
	BaseURL string
	Teams   map[string]string
	Timeout time.Duration
	// HTTPClient: nil for one with Timeout.
	HTTPClient *http.Client
}

// NewGitHub returns a GitHub connector.
func NewGitHub(o GitHubOptions) (*GitHub, error) {
	hc := o.HTTPClient
	if hc == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		hc = &http.Client{Timeout: timeout}
	}
	c := github.NewClient(hc).WithAuthToken(o.Token)
	if o.BaseURL != "" {
		var err error
		if c, err = c.WithEnterpriseURLs(o.BaseURL, o.BaseURL); err != nil {
			return nil, fmt.Errorf("github connector %s: base_url: %w", o.Name, err)
		}
	}
	return &GitHub{Name: o.Name, Org: o.Org, Teams: o.Teams, client: c}, nil
}

// team is the slug a request's resource maps to.
func (g *GitHub) team(r workflow.ConnectorRequest) string {
	key := r.Resource
	if key == "" {
		key = r.App
	}
	if s := g.Teams[key]; s != "" {
		return s
	}
	return key
}

func (g *GitHub) login(r workflow.ConnectorRequest) (string, error) {
	if r.Subject.Account == "" {
		return "", workflow.PermanentFailure("%s has no GitHub login in the configuration: add accounts: {%s: LOGIN} under their entry in people", r.Subject.Email, r.App)
	}
	return r.Subject.Account, nil
}

// Grant adds the subject to the team (or invites them, when they are not
// in the organization yet).
func (g *GitHub) Grant(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	login, err := g.login(r)
	if err != nil {
		return workflow.ConnectorResult{}, err
	}
	team := g.team(r)
	m, _, err := g.client.Teams.AddTeamMembershipBySlug(ctx, g.Org, team, login, &github.TeamAddTeamMembershipOptions{Role: "member"})
	if err != nil {
		if status(err) == http.StatusNotFound {
			return workflow.ConnectorResult{}, workflow.PermanentFailure("GitHub has no team %s/%s (or no user %s): check the connector's teams and the person's account", g.Org, team, login)
		}
		return workflow.ConnectorResult{}, classify(err, "add "+login+" to "+g.Org+"/"+team)
	}
	msg := fmt.Sprintf("%s is a member of %s/%s", login, g.Org, team)
	if m.GetState() == "pending" {
		msg = fmt.Sprintf("%s is invited to %s/%s (membership pending until they accept)", login, g.Org, team)
	}
	return workflow.ConnectorResult{Message: msg}, nil
}

// Revoke removes the subject from the team; not being a member is success.
func (g *GitHub) Revoke(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	login, err := g.login(r)
	if err != nil {
		return workflow.ConnectorResult{}, err
	}
	team := g.team(r)
	_, err = g.client.Teams.RemoveTeamMembershipBySlug(ctx, g.Org, team, login)
	if err != nil && status(err) == http.StatusNotFound {
		// GitHub answers 404 for "not a member" and for "no such team".
		if err := g.teamExists(ctx, team); err != nil {
			return workflow.ConnectorResult{}, err
		}
		return workflow.ConnectorResult{Message: fmt.Sprintf("%s was not a member of %s/%s", login, g.Org, team)}, nil
	}
	if err != nil {
		return workflow.ConnectorResult{}, classify(err, "remove "+login+" from "+g.Org+"/"+team)
	}
	return workflow.ConnectorResult{Message: fmt.Sprintf("%s is no longer a member of %s/%s", login, g.Org, team)}, nil
}

// Check reports whether the subject is a member of the team (an invitation
// still pending counts).
func (g *GitHub) Check(ctx context.Context, r workflow.ConnectorRequest) (bool, error) {
	login, err := g.login(r)
	if err != nil {
		return false, err
	}
	team := g.team(r)
	m, _, err := g.client.Teams.GetTeamMembershipBySlug(ctx, g.Org, team, login)
	if err != nil && status(err) == http.StatusNotFound {
		if err := g.teamExists(ctx, team); err != nil {
			return false, err
		}
		return false, nil
	}
	if err != nil {
		return false, classify(err, "read "+login+"'s membership of "+g.Org+"/"+team)
	}
	return m.GetState() == "active" || m.GetState() == "pending", nil
}

func (g *GitHub) teamExists(ctx context.Context, team string) error {
	_, _, err := g.client.Teams.GetTeamBySlug(ctx, g.Org, team)
	if status(err) == http.StatusNotFound {
		return workflow.PermanentFailure("GitHub has no team %s/%s: check the connector's teams", g.Org, team)
	}
	if err != nil {
		return classify(err, "read team "+g.Org+"/"+team)
	}
	return nil
}

// status is the HTTP status of a go-github error, 0 when it has none.
func status(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// classify turns a go-github error into a transient or permanent failure.
func classify(err error, what string) error {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rl):
		return workflow.TransientFailure(time.Until(rl.Rate.Reset.Time), "%s: GitHub's rate limit is used up until %s", what, rl.Rate.Reset.UTC().Format("15:04 MST"))
	case errors.As(err, &abuse):
		return workflow.TransientFailure(abuse.GetRetryAfter(), "%s: GitHub's secondary rate limit: %s", what, abuse.Message)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		code := er.Response.StatusCode
		msg := strings.TrimSpace(er.Message)
		switch {
		case code == http.StatusRequestTimeout || code >= 500:
			return workflow.TransientFailure(retryAfter(er.Response.Header.Get("Retry-After"), time.Now()), "%s: GitHub answered %d %s", what, code, msg)
		case code == http.StatusUnauthorized:
			return workflow.PermanentFailure("%s: GitHub refused the token (401 %s): check the connector's token", what, msg)
		}
		return workflow.PermanentFailure("%s: GitHub answered %d %s", what, code, msg)
	}
	// No answer (network, timeout): try again.
	return workflow.TransientFailure(0, "%s: %v", what, err)
}
