// Package fakegithub is a GitHub REST API fake for tests: the team
// endpoints the github connector uses, answering as GitHub documents them
// (https://docs.github.com/rest/teams/members), on 127.0.0.1.
package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is a fake GitHub. Teams must be created (AddTeam) before use.
type Server struct {
	*httptest.Server
	Org   string
	Token string

	mu      sync.Mutex
	teams   map[string]map[string]string // slug -> login -> state
	adds    map[string]int               // "slug/login" -> successful PUTs that made a new member
	calls   []string                     // "METHOD path"
	failing []int                        // statuses to answer the next calls with
}

// New starts a fake for org that accepts token.
func New(org, token string) *Server {
	s := &Server{Org: org, Token: token, teams: map[string]map[string]string{}, adds: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL is what the connector's base_url is set to (GitHub Enterprise style).
func (s *Server) BaseURL() string { return s.URL + "/api/v3/" }

// AddTeam creates a team with members.
func (s *Server) AddTeam(slug string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]string{}
	for _, l := range members {
		m[l] = "active"
	}
	s.teams[slug] = m
}

// FailNext makes the next calls answer these statuses, one each.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = append(s.failing, statuses...)
}

// Members returns a team's members.
func (s *Server) Members(slug string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for l := range s.teams[slug] {
		out = append(out, l)
	}
	return out
}

// IsMember reports whether login is in the team.
func (s *Server) IsMember(slug, login string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.teams[slug][login]
	return ok
}

// Adds counts the PUTs that made login a new member of slug.
func (s *Server) Adds(slug, login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adds[slug+"/"+login]
}

// Calls lists the requests seen, "PUT /orgs/acme/teams/x/memberships/y".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+path)
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if len(s.failing) > 0 {
		st := s.failing[0]
		s.failing = s.failing[1:]
		writeJSON(w, st, map[string]string{"message": http.StatusText(st)})
		return
	}
	// /orgs/{org}/teams/{slug}[/memberships/{user}]
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 4 || parts[0] != "orgs" || parts[1] != s.Org || parts[2] != "teams" {
		notFound(w)
		return
	}
	slug := parts[3]
	team, ok := s.teams[slug]
	if len(parts) == 4 && r.Method == http.MethodGet {
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "slug": slug, "name": slug, "privacy": "closed", "permission": "pull",
			"url": fmt.Sprintf("%s/api/v3/orgs/%s/teams/%s", s.URL, s.Org, slug)})
		return
	}
	if len(parts) != 6 || parts[4] != "memberships" || !ok {
		notFound(w)
		return
	}
	login := parts[5]
	membership := func(state string) map[string]any {
		return map[string]any{"url": fmt.Sprintf("%s/api/v3/teams/1/memberships/%s", s.URL, login), "role": "member", "state": state}
	}
	switch r.Method {
	case http.MethodPut:
		// Add or update team membership: 200 with the membership; adding a
		// member again changes nothing.
		if _, member := team[login]; !member {
			team[login] = "active"
			s.adds[slug+"/"+login]++
		}
		writeJSON(w, http.StatusOK, membership(team[login]))
	case http.MethodGet:
		state, member := team[login]
		if !member {
			notFound(w)
			return
		}
		writeJSON(w, http.StatusOK, membership(state))
	case http.MethodDelete:
		if _, member := team[login]; !member {
			notFound(w)
			return
		}
		delete(team, login)
		w.WriteHeader(http.StatusNoContent)
	default:
		notFound(w)
	}
}

// RemoveMember takes login out of a team, as someone in GitHub's UI would.
func (s *Server) RemoveMember(slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.teams[slug], login)
}

// AddMember puts login in a team, as someone in GitHub's UI would.
func (s *Server) AddMember(slug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.teams[slug] != nil {
		s.teams[slug][login] = "active"
	}
}
