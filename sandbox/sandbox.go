package sandbox

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"accessbot/fakeslack"
)

//go:embed assets
var assets embed.FS

// Assets are the page's files (index.html, app.css, app.js, blockkit.js).
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return sub
}

// Person is a member of the built-in workspace.
type Person struct {
	Email string
	TZ    string // IANA name; "" is UTC
}

// Channel is a channel of the built-in workspace, as the configuration
// names it: "#name" or an id ("C…", "G…"). The bot is a member.
type Channel struct {
	Ref  string
	Name string // for an id Ref: the name the sidebar shows
}

// Tour names who plays which part of the guided tour; empty fields make a
// generic tour.
type Tour struct {
	Requester   string `json:"requester"` // emails
	Manager     string `json:"manager"`
	Provisioner string `json:"provisioner"`
	App         string `json:"app"`      // what the requester asks for
	AppName     string `json:"app_name"` //
	Duration    string `json:"duration"` // for how long, e.g. "8h" ("" for the default)
}

// Options configure a Server.
type Options struct {
	Workspace string // the workspace's name; default "Sandbox"
	People    []Person
	Channels  []Channel
	// Commands are the slash commands the app registered; others are
	// refused as Slack's client refuses them.
	Commands []string
	Clock    *Clock // default NewClock(nil)
	Tour     Tour
	// Addr is where the page is served, shown on the page ("127.0.0.1:3000").
	Addr string
}

// Server is a built-in Slack workspace and the page that plays its people.
type Server struct {
	opts  Options
	slack *fakeslack.Server
	clock *Clock
	ids   map[string]string // email -> user id

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the clock moves
	jobs    func(context.Context) error
	errs    map[string]viewErrors // view id -> the field errors of its last submission
}

type viewErrors struct {
	hash   string
	errors map[string]string
}

// New starts the workspace (on a random 127.0.0.1 port) with its people and
// channels. Close it when done.
func New(opts Options) (*Server, error) {
	if opts.Workspace == "" {
		opts.Workspace = "Sandbox"
	}
	if opts.Clock == nil {
		opts.Clock = NewClock(nil)
	}
	ws, err := fakeslack.New(fakeslack.Options{
		TeamName: opts.Workspace, TeamDomain: "sandbox",
		Now: opts.Clock.Now, Commands: opts.Commands,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, slack: ws, clock: opts.Clock, ids: map[string]string{},
		changed: make(chan struct{}), errs: map[string]viewErrors{}}
	for _, p := range opts.People {
		email := strings.ToLower(strings.TrimSpace(p.Email))
		if email == "" || s.ids[email] != "" {
			continue
		}
		handle, _, _ := strings.Cut(email, "@")
		u := ws.AddUser(fakeslack.User{Name: handle, RealName: RealName(email), Email: email, TZ: p.TZ})
		s.ids[email] = u.ID
	}
	for i, c := range opts.Channels {
		id, name := c.Ref, c.Name
		if n, ok := strings.CutPrefix(c.Ref, "#"); ok {
			id, name = fmt.Sprintf("C0SANDBOX%02d", i+1), n
		}
		if name == "" {
			name = strings.ToLower(id)
		}
		ws.AddChannel(id, name, true)
	}
	return s, nil
}

// RealName makes a display name from an email: "maya.chen@…" is "Maya Chen".
func RealName(email string) string {
	local, _, _ := strings.Cut(email, "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	if len(words) == 0 {
		return email
	}
	return strings.Join(words, " ")
}

// Slack is the workspace the bot connects to (tokens and API URL).
func (s *Server) Slack() *fakeslack.Server { return s.slack }

// UserID is the workspace id of the person with this email, or "".
func (s *Server) UserID(email string) string { return s.ids[strings.ToLower(email)] }

// SetJobs gives the sandbox the scheduler's jobs, run at once whenever the
// clock skips ahead.
func (s *Server) SetJobs(run func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = run
}

// Skip moves the clock ahead by d and runs the scheduler's jobs on the new
// time, as the scheduler would at its next minute.
func (s *Server) Skip(ctx context.Context, d time.Duration) error {
	s.clock.Advance(d)
	s.mu.Lock()
	jobs := s.jobs
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if jobs == nil {
		return errors.New("the scheduler is not running yet; try again in a moment")
	}
	return jobs(ctx)
}

func (s *Server) clockChanged() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Close stops the workspace.
func (s *Server) Close() { s.slack.Close() }

// Handler serves the page, its API and its events.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	files := http.FileServerFS(Assets())
	mux.Handle("GET /", noStore(files))
	mux.HandleFunc("GET /api/state", s.serveState)
	mux.HandleFunc("POST /api/act", s.serveAct)
	mux.HandleFunc("GET /api/events", s.serveEvents)
	return sameOrigin(mux)
}

// Serve serves the page on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Server-sent event streams end with ctx (BaseContext), so Shutdown
	// does not wait for them.
	_ = srv.Shutdown(shut)
	return nil
}

func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		h.ServeHTTP(w, r)
	})
}

// sameOrigin refuses requests another web site's page makes to the sandbox
// from the browser (the page has no login): a cross-site Origin, and acts
// that are not JSON (which a plain form cannot send).
func sameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			http.Error(w, "send JSON (Content-Type: application/json)", http.StatusUnsupportedMediaType)
			return
		}
		h.ServeHTTP(w, r)
	})
}
