package email_test

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"accessbot/config"
	"accessbot/email"
	"accessbot/store"
	"accessbot/workflow"
)

const (
	alice = "alice@example.com" // requester, email only
	bob   = "bob@example.com"   // the one approver, email only
	carol = "carol@example.com" // Slack only
)

const testConfig = `
admins: [carol@example.com]
email:
  host: 127.0.0.1
  from: accessbot <accessbot@example.com>
  username: accessbot
  slack_team_id: T0TEST1
  slack_app_id: A0TEST1
people:
  - email: alice@example.com
    notify: email
  - email: bob@example.com
    notify: email
  - email: carol@example.com
policies:
  one:
    steps:
      - type: review
        approvers: [bob@example.com]
apps:
  - id: github
    name: GitHub
    owners: [carol@example.com]
    request_policy: one
    revocation_policy: one
    default_duration: 8h
    provisioning: none
    resources:
      - id: admin
        name: admin
`

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type env struct {
	ctx    context.Context
	clock  *clock
	db     *store.DB
	engine *workflow.Engine
	smtpd  *smtpd
	worker *email.Worker
	path   string
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	f, err := config.ParseFile([]byte(testConfig))
	require.NoError(t, err)
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "accessbot.db")
	db, err := store.Open(ctx, path, c.Now)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e := &env{ctx: ctx, clock: c, db: db, engine: workflow.NewEngine(db, f.Catalog, c.Now), smtpd: newSMTPD(t), path: path}
	e.worker = e.newWorker(t, db, "worker-1")
	return e
}

func (e *env) newWorker(t *testing.T, db *store.DB, owner string) *email.Worker {
	s, err := email.NewSMTP(email.SMTPConfig{
		Host: "127.0.0.1", Port: e.smtpd.port(), TLS: "starttls", From: "accessbot <accessbot@example.com>",
		Username: smtpUser, Password: smtpPass,
		TLSConfig: &tls.Config{RootCAs: e.smtpd.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Timeout:   10 * time.Second,
	})
	require.NoError(t, err)
	return &email.Worker{
		Outbox: db, Sender: s, Engine: e.engine, Log: zerolog.New(zerolog.NewTestWriter(t)),
		Link: email.Link{TeamID: "T0TEST1", AppID: "A0TEST1"}, Domain: "example.com", Owner: owner,
		RetryBase: time.Minute, RetryMax: time.Hour,
	}
}

// drain delivers until nothing is due now.
func (e *env) drain() {
	for e.worker.DeliverDue(e.ctx) > 0 {
	}
}

// parsed is a received email taken apart.
type parsed struct {
	Header mail.Header
	Text   string
	HTML   string
}

func parse(t *testing.T, r received) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(r.Raw))
	require.NoError(t, err)
	p := parsed{Header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt, "both parts, as alternatives")
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(part) // quoted-printable is decoded by NextPart
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.Text = string(body)
		case "text/html":
			p.HTML = string(body)
		}
	}
	require.NotEmpty(t, p.Text, "a text part")
	require.NotEmpty(t, p.HTML, "an HTML part")
	return p
}

func subject(t *testing.T, p parsed) string {
	s, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	require.NoError(t, err)
	return s
}

const nasty = "Need it for the <script>alert('x')</script> incident\r\nBcc: evil@attacker.example\r\nSubject: approved"

func TestGrantFlowByEmail(t *testing.T) {
	e := setup(t)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Duration: 8 * time.Hour, Justification: nasty})
	require.NoError(t, err)
	e.drain()

	got := e.smtpd.mails()
	require.Len(t, got, 1, "the approver is told; nothing else yet")
	require.Equal(t, []string{bob}, got[0].To)
	require.True(t, got[0].TLS, "sent after STARTTLS")
	require.Equal(t, smtpUser, got[0].User, "sent after AUTH")
	first := parse(t, got[0])
	require.Equal(t, "[accessbot] T-1: approve alice's access to GitHub / admin", subject(t, first))
	require.Empty(t, first.Header.Get("Bcc"))
	head, _, _ := strings.Cut(got[0].Raw, "\r\n\r\n")
	require.NotContains(t, head, "evil", "the justification's CR/LF never starts a header")
	require.Len(t, first.Header["Subject"], 1)
	require.Contains(t, first.Text, "<script>alert('x')</script>", "the text part shows the text as written")
	require.NotContains(t, first.HTML, "<script>", "the HTML part escapes it")
	require.Contains(t, first.HTML, "&lt;script&gt;")
	require.Contains(t, first.Text, "slack://app?team=T0TEST1&id=A0TEST1&tab=home")
	require.Contains(t, first.HTML, `href="https://slack.com/app_redirect?app=A0TEST1&amp;team=T0TEST1"`)
	require.NotContains(t, strings.ToLower(first.HTML), "<button")
	require.Contains(t, first.Text, "Requester: alice@example.com")
	firstID := first.Header.Get("Message-Id")
	require.NotEmpty(t, firstID)
	require.Empty(t, first.Header.Get("In-Reply-To"), "the first email of the thread")

	// Send reminder: a second email to bob, threaded under the first.
	_, err = e.engine.SendReminder(e.ctx, alice, task.ID)
	require.NoError(t, err)
	e.drain()
	got = e.smtpd.mails()
	require.Len(t, got, 2)
	rem := parse(t, got[1])
	require.Equal(t, "[accessbot] T-1: reminder: approve alice's access to GitHub / admin", subject(t, rem))
	require.Equal(t, firstID, rem.Header.Get("In-Reply-To"))
	require.Equal(t, firstID, rem.Header.Get("References"))

	// Bob approves (in Slack's App Home); alice hears the outcome.
	_, err = e.engine.Approve(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	got = e.smtpd.mails()
	require.Len(t, got, 3)
	require.Equal(t, []string{alice}, got[2].To)
	out := parse(t, got[2])
	require.Equal(t, "[accessbot] T-1: your request for GitHub / admin was approved", subject(t, out))
	require.Contains(t, out.Text, "Status: done")

	// Nothing is sent twice by a later pass.
	e.clock.Advance(time.Hour)
	e.drain()
	require.Len(t, e.smtpd.mails(), 3)
}

func TestTemporaryFailureThenSuccessSendsOnce(t *testing.T) {
	e := setup(t)
	e.smtpd.failNext(errTemp)
	_, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Justification: "on call"})
	require.NoError(t, err)
	e.drain()
	require.Empty(t, e.smtpd.mails(), "451: not accepted")
	e.drain()
	require.Empty(t, e.smtpd.mails(), "the retry waits for its backoff")
	e.clock.Advance(time.Minute)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1)
	e.clock.Advance(time.Hour)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1, "one email")
}

func TestPermanentFailureIsAnAuditNote(t *testing.T) {
	e := setup(t)
	e.smtpd.failNext(errPerm)
	task, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Justification: "on call"})
	require.NoError(t, err)
	e.drain()
	require.Empty(t, e.smtpd.mails())
	e.clock.Advance(time.Hour)
	e.drain()
	require.Empty(t, e.smtpd.mails(), "dropped, not retried")

	after, err := e.engine.Task(e.ctx, task.ID)
	require.NoError(t, err)
	require.Equal(t, workflow.StatusOpen, after.Status, "the task is not affected")
	var evs []workflow.AuditEvent
	require.NoError(t, e.db.View(e.ctx, func(tx workflow.ReadTx) (err error) { evs, err = tx.AuditEvents(task.ID); return err }))
	last := evs[len(evs)-1]
	require.Equal(t, workflow.ActEmailFailed, last.Action)
	require.Equal(t, bob, last.Details["email"])
	require.Contains(t, last.Details["reason"], "554")

	// The approver can still act; the requester's outcome still goes out.
	_, err = e.engine.Approve(e.ctx, workflow.Decision{TaskID: task.ID, Actor: bob})
	require.NoError(t, err)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1)
	require.Equal(t, []string{alice}, e.smtpd.mails()[0].To)
}

// A worker that claimed a row and died before sending (between render and
// send) leaves it to the next worker once its lease ends: sent once.
func TestCrashBeforeSendSendsOnceAfterRestart(t *testing.T) {
	e := setup(t)
	_, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Justification: "on call"})
	require.NoError(t, err)
	claimed, err := e.db.ClaimEmails(e.ctx, "dead-worker", e.clock.Now(), 5*time.Minute, 20)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	// The dead worker's process is gone; a new one starts on the same file.
	e.drain()
	require.Empty(t, e.smtpd.mails(), "the lease still holds the row")
	e.clock.Advance(5 * time.Minute)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1)
	require.Error(t, e.db.EmailDone(e.ctx, claimed[0].ID, "dead-worker", e.clock.Now()), "the dead worker's lease is gone")
	e.clock.Advance(time.Hour)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1, "sent once")
}

// dies fails RecordEmailSent once: the process died after the server took
// the email and before it was recorded.
type dies struct {
	*store.DB
	once bool
}

func (d *dies) RecordEmailSent(ctx context.Context, e workflow.SentEmail) error {
	if !d.once {
		d.once = true
		return context.Canceled
	}
	return d.DB.RecordEmailSent(ctx, e)
}

// A worker that sent and died before recording it sends once more, with
// the same Message-ID, so mail systems can drop the copy (at most once more).
func TestCrashAfterSendRepeatsMessageID(t *testing.T) {
	e := setup(t)
	e.worker.Outbox = &dies{DB: e.db}
	_, err := e.engine.Request(e.ctx, workflow.RequestInput{Requester: alice, AppID: "github", ResourceID: "admin", Justification: "on call"})
	require.NoError(t, err)
	e.drain()
	require.Len(t, e.smtpd.mails(), 1)
	e.clock.Advance(time.Hour)
	e.drain()
	got := e.smtpd.mails()
	require.Len(t, got, 2, "at most once more")
	require.Equal(t, parse(t, got[0]).Header.Get("Message-Id"), parse(t, got[1]).Header.Get("Message-Id"))
	e.clock.Advance(time.Hour)
	e.drain()
	require.Len(t, e.smtpd.mails(), 2)
}

func TestCheckReportsTheSetting(t *testing.T) {
	e := setup(t)
	good := email.SMTPConfig{Host: "127.0.0.1", Port: e.smtpd.port(), TLS: "starttls", From: "accessbot@example.com", Username: smtpUser, Password: smtpPass,
		TLSConfig: &tls.Config{RootCAs: e.smtpd.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, Timeout: 5 * time.Second}
	s, err := email.NewSMTP(good)
	require.NoError(t, err)
	require.NoError(t, s.Check(e.ctx))

	bad := good
	bad.Password = "wrong-password"
	s, err = email.NewSMTP(bad)
	require.NoError(t, err)
	err = s.Check(e.ctx)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "email.username: "), err.Error())
	require.NotContains(t, err.Error(), "wrong-password")
	require.NotContains(t, err.Error(), "\n")

	down := good
	down.Port = 1
	s, err = email.NewSMTP(down)
	require.NoError(t, err)
	err = s.Check(e.ctx)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "email.host: "), err.Error())
	require.NotContains(t, err.Error(), "\n")
}
