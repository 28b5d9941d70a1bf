package main

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"accessbot/config"
	"accessbot/email"
	"accessbot/store"
	"accessbot/workflow"
)

// checkEmail builds the SMTP sender of the email: section and checks, at
// start-up, that the server answers and takes the login.
func checkEmail(ctx context.Context, em *config.Email, password string) (*email.SMTP, error) {
	if em.Username != "" && password == "" {
		return nil, fmt.Errorf("email.username is set but %s is empty: set the SMTP password in the environment (never in the file)", config.PasswordEnv)
	}
	s, err := email.NewSMTP(email.SMTPConfig{Host: em.Host, Port: em.Port, TLS: em.TLS, From: em.From, Username: em.Username, Password: password})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Check(cctx); err != nil {
		return nil, err
	}
	return s, nil
}

// emailWorker is the email outbox's worker for this process.
func emailWorker(em *config.Email, s *email.SMTP, db *store.DB, engine *workflow.Engine, log zerolog.Logger) *email.Worker {
	domain := "accessbot.invalid"
	if a, err := mail.ParseAddress(em.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	host, _ := os.Hostname()
	return &email.Worker{
		Outbox: db, Sender: s, Engine: engine,
		Log:     log.With().Str("channel", "email").Logger(),
		Link:    email.Link{TeamID: em.SlackTeamID, AppID: em.SlackAppID},
		Domain:  domain,
		Owner:   fmt.Sprintf("%s/%d", host, os.Getpid()),
		Limiter: rate.NewLimiter(rate.Limit(float64(em.RatePerMinute)/60), 1),
	}
}
