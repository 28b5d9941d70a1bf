package config

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strings"

	"accessbot/workflow"
)

type rawEmail struct {
	Host          string `yaml:"host"`
	Port          int    `yaml:"port"`
	TLS           string `yaml:"tls"`
	From          string `yaml:"from"`
	Username      string `yaml:"username"`
	Password      string `yaml:"password"` // refused: the password comes from the environment
	SlackTeamID   string `yaml:"slack_team_id"`
	SlackAppID    string `yaml:"slack_app_id"`
	RatePerMinute int    `yaml:"rate_per_minute"`
}

const emailFields = "host, port, tls, from, username, slack_team_id, slack_app_id, rate_per_minute"

// TLS modes of the SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (required)
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS, port 465)
	TLSNone     = "none"     // no TLS: only to a server on this machine
)

// PasswordEnv is the environment variable the SMTP password comes from.
const PasswordEnv = "ACCESSBOT_SMTP_PASSWORD"

// Email is the email channel's settings (the `email:` section). The
// password is not here: it comes from ACCESSBOT_SMTP_PASSWORD.
type Email struct {
	Host     string
	Port     int
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	From     string // "accessbot <accessbot@example.com>" or a bare address
	Username string // "" : no AUTH
	// SlackTeamID and SlackAppID make the link in each email that opens
	// accessbot's App Home in Slack; without them the email says where to look.
	SlackTeamID string
	SlackAppID  string
	// RatePerMinute bounds how many emails go out per minute (default 60).
	RatePerMinute int
}

var (
	reTeamID = regexp.MustCompile(`^T[A-Z0-9]{2,}$`)
	reAppID  = regexp.MustCompile(`^A[A-Z0-9]{2,}$`)
)

// localHost reports whether host is this machine.
func localHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// email checks the `email:` section and every `notify:` (top-level and per
// person), setting the catalog's Email and Notify fields.
func (c *checker) email(raw *rawConfig, cat *workflow.Catalog) *Email {
	var em *Email
	if r := raw.Email; r != nil {
		em = c.emailSection(r)
		cat.Email = true
	}
	notify := func(path, s string) workflow.Notify {
		if s == "" {
			return ""
		}
		n := workflow.Notify(strings.ToLower(strings.TrimSpace(s)))
		switch n {
		case workflow.NotifySlack, workflow.NotifyEmail, workflow.NotifyBoth:
		default:
			c.add(path, "%q is not a channel: write slack, email or both", s)
			return ""
		}
		if n.Email() && raw.Email == nil {
			c.add(path, "%q needs an email: section (the SMTP server to send through); add one or write slack", s)
			return ""
		}
		return n
	}
	cat.Notify = notify("notify", raw.Notify)
	for i, p := range raw.People {
		n := notify(fmt.Sprintf("people[%d].notify", i), p.Notify)
		e := strings.ToLower(strings.TrimSpace(p.Email))
		if person, ok := cat.People[e]; ok && n != "" {
			person.Notify = n
			cat.People[e] = person
		}
	}
	return em
}

func (c *checker) emailSection(r *rawEmail) *Email {
	em := &Email{Host: strings.TrimSpace(r.Host), Port: r.Port, TLS: strings.ToLower(strings.TrimSpace(r.TLS)),
		Username: r.Username, SlackTeamID: r.SlackTeamID, SlackAppID: r.SlackAppID, RatePerMinute: r.RatePerMinute}
	switch {
	case em.Host == "":
		c.add("email.host", "missing: name the SMTP server (smtp.example.com)")
	case strings.ContainsAny(em.Host, " /:\t") && net.ParseIP(em.Host) == nil:
		c.add("email.host", "%q is not a host name: write the server's name or IP address alone (the port goes in email.port)", r.Host)
	}
	switch em.TLS {
	case "":
		em.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if em.Host != "" && !localHost(em.Host) {
			c.add("email.tls", "none sends the password and every email in the clear: it is allowed only for a server on this machine (127.0.0.1 or localhost), not %q; use starttls or implicit", em.Host)
		}
	default:
		c.add("email.tls", "%q is not a TLS mode: write starttls, implicit or none", r.TLS)
	}
	if em.Port == 0 {
		switch em.TLS {
		case TLSImplicit:
			em.Port = 465
		case TLSNone:
			em.Port = 25
		default:
			em.Port = 587
		}
	} else if em.Port < 1 || em.Port > 65535 {
		c.add("email.port", "%d is not a port: use 1 to 65535 (587 for starttls, 465 for implicit)", r.Port)
	}
	if strings.TrimSpace(r.From) == "" {
		c.add("email.from", "missing: write the sender address (accessbot <accessbot@example.com>)")
	} else if a, err := mail.ParseAddress(r.From); err != nil || strings.ContainsAny(r.From, "\r\n") {
		c.add("email.from", "%q is not an email address (write accessbot@example.com or accessbot <accessbot@example.com>)", r.From)
	} else {
		em.From = a.String()
	}
	if strings.ContainsAny(r.Username, "\r\n") {
		c.add("email.username", "must be one line")
	}
	if r.Password != "" {
		c.add("email.password", "passwords never go in the config file: remove it and set %s in the environment", PasswordEnv)
	}
	if r.SlackTeamID != "" && !reTeamID.MatchString(r.SlackTeamID) {
		c.add("email.slack_team_id", "%q is not a Slack workspace id (like T0123ABCD; see the workspace's About page)", r.SlackTeamID)
	}
	if r.SlackAppID != "" && !reAppID.MatchString(r.SlackAppID) {
		c.add("email.slack_app_id", "%q is not a Slack app id (like A0123ABCD; see the app's Basic Information page)", r.SlackAppID)
	}
	if (r.SlackTeamID == "") != (r.SlackAppID == "") {
		c.add("email", "set both slack_team_id and slack_app_id (the link to the App Home needs both), or neither")
	}
	switch {
	case r.RatePerMinute < 0:
		c.add("email.rate_per_minute", "%d is negative: write how many emails may go out per minute (default 60)", r.RatePerMinute)
	case r.RatePerMinute == 0:
		em.RatePerMinute = 60
	}
	return em
}
