package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// DefaultAddr is where the endpoints listen unless ACCESSBOT_HTTP_ADDR says
// otherwise: loopback, so nothing is exposed by accident. In a container set
// it to ":8080" to let the platform probe and scrape from outside.
const DefaultAddr = "127.0.0.1:8080"

// Database is what readiness asks of the store. *store.DB implements it.
type Database interface {
	Ping(ctx context.Context) error
	MigrationsCurrent(ctx context.Context) (bool, error)
}

// Slack is what readiness asks of the bot. *bot.Bot implements it.
type Slack interface {
	Connected() bool
}

// Endpoints are the HTTP endpoints; Metrics may be nil (no /metrics).
type Endpoints struct {
	DB      Database
	Slack   Slack
	Metrics *Metrics
}

// readyTimeout bounds one readiness check of the database.
const readyTimeout = 3 * time.Second

// Handler serves /healthz, /readyz and /metrics.
//
// /healthz answers 200 while the process serves HTTP at all: a liveness
// probe that restarts the process only when it is wedged, not when Slack or
// the database is away (a restart would not bring those back).
//
// /readyz answers 200 when the database answers, every migration this binary
// carries is applied and the Socket Mode connection is up; otherwise 503.
// The body lists each check, one a line, either way.
func (e Endpoints) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		lines, ok := e.Ready(r.Context())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, strings.Join(lines, "\n")+"\n")
	})
	if e.Metrics != nil {
		mux.Handle("GET /metrics", e.Metrics.Handler())
	}
	return mux
}

// Ready runs the readiness checks and returns one line for each and whether
// all passed.
func (e Endpoints) Ready(ctx context.Context) (lines []string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ok = true
	check := func(name string, err error) {
		if err != nil {
			ok = false
			lines = append(lines, fmt.Sprintf("%s: %v", name, err))
			return
		}
		lines = append(lines, name+": ok")
	}
	dbErr := e.DB.Ping(ctx)
	check("database", dbErr)
	if dbErr != nil {
		check("migrations", errors.New("not checked: the database does not answer"))
	} else {
		current, err := e.DB.MigrationsCurrent(ctx)
		if err == nil && !current {
			err = errors.New("not current: a migration of this version is not applied")
		}
		check("migrations", err)
	}
	var slackErr error
	if e.Slack == nil || !e.Slack.Connected() {
		slackErr = errors.New("not connected (Socket Mode)")
	}
	check("slack", slackErr)
	return lines, ok
}

// Listen opens addr, with an error that says which setting to change.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on ACCESSBOT_HTTP_ADDR %q for the health and metrics endpoints: %w; set ACCESSBOT_HTTP_ADDR (or --http) to a free host:port, or \"off\"", addr, err)
	}
	return ln, nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info().Str("http_addr", ln.Addr().String()).Msg("health and metrics endpoints listening")
	select {
	case err := <-done:
		return fmt.Errorf("health and metrics endpoints: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("health and metrics endpoints: shutdown: %w", err)
	}
	return nil
}

// Probe GETs path ("/healthz" or "/readyz") on the endpoints at addr and
// returns nil on 200, else an error with the answer. An addr that listens on
// every interface (":8080", "0.0.0.0:8080") is probed on loopback.
func Probe(ctx context.Context, addr, path string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("ACCESSBOT_HTTP_ADDR %q is not host:port: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	u := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s\n%s", u, res.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
