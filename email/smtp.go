package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTPConfig is how to reach the SMTP server (config.Email plus the
// password from the environment).
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string // "starttls", "implicit" or "none"
	From     string
	Username string
	Password string // from ACCESSBOT_SMTP_PASSWORD; never logged
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	Timeout   time.Duration // per connection; default 30s
}

// Message is one email ready to send.
type Message struct {
	To         string
	Rendered   Rendered
	MessageID  string   // with angle brackets
	InReplyTo  string   // the previous email of the thread, "" for the first
	References []string // the thread so far, oldest first
	Date       time.Time
}

// PermanentError is a failure that retrying will not fix: a 5xx reply, a
// bad address. The worker drops the email and records an audit note.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP sends emails with wneessen/go-mail, one connection per email.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP checks cfg enough to build clients; Check talks to the server.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &SMTP{cfg: cfg}
	if _, err := s.client(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SMTP) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(s.cfg.Port), mail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	tc := s.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, mail.WithTLSConfig(tc))
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	c, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email: smtp client for %s: %w", s.cfg.Host, err)
	}
	return c, nil
}

// Check connects, upgrades to TLS and logs in, then hangs up. Its error is
// one line naming the setting to fix: email.host (cannot reach or TLS
// fails) or email.username / ACCESSBOT_SMTP_PASSWORD (login refused).
func (s *SMTP) Check(ctx context.Context) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("%s:%d", s.cfg.Host, s.cfg.Port)
	if err := c.DialWithContext(ctx); err != nil {
		msg := oneLine(err.Error())
		if strings.Contains(msg, "SMTP AUTH") {
			return fmt.Errorf("email.username: the SMTP server %s refused the login of %q (check email.username and ACCESSBOT_SMTP_PASSWORD): %s", addr, s.cfg.Username, scrub(msg, s.cfg.Password))
		}
		return fmt.Errorf("email.host: cannot reach the SMTP server %s with tls %s (check email.host, email.port and email.tls): %s", addr, s.cfg.TLS, scrub(msg, s.cfg.Password))
	}
	return c.Close()
}

// Send delivers m. A *PermanentError means retrying will not help.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return &PermanentError{fmt.Errorf("email.from %q: %w", s.cfg.From, err)}
	}
	if err := msg.To(m.To); err != nil {
		return &PermanentError{fmt.Errorf("bad address %q: %w", m.To, err)}
	}
	msg.Subject(oneLine(m.Rendered.Subject))
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	if m.InReplyTo != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, m.InReplyTo)
	}
	if len(m.References) > 0 {
		msg.SetGenHeader(mail.HeaderReferences, strings.Join(m.References, " "))
	}
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if !m.Date.IsZero() {
		msg.SetDateWithValue(m.Date)
	} else {
		msg.SetDate()
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Rendered.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.Rendered.HTML)
	c, err := s.client()
	if err != nil {
		return err
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	text := errors.New(scrub(oneLine(err.Error()), s.cfg.Password))
	if permanent(err) {
		return &PermanentError{text}
	}
	return text
}

// permanent reports a 5xx reply or an address the library refused; the
// rest (4xx, a connection that failed or broke) is worth retrying.
func permanent(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	if se.IsTemp() {
		return false
	}
	if code := se.ErrorCode(); code >= 500 && code < 600 {
		return true
	}
	return se.Reason == mail.ErrGetRcpts || se.Reason == mail.ErrGetSender
}

// scrub removes the password from a server's words, should it echo it.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
