// Package email is accessbot's second notification channel: it renders the
// same domain values as package blocks (workflow.Task, a notice's text)
// into emails with a plain-text and an HTML part (render.go, pure, no
// I/O), delivers them from the email outbox with a leased worker
// (worker.go) and sends them over SMTP with wneessen/go-mail (smtp.go).
//
// Emails carry no action buttons: a forwarded email can never approve
// anything. Each one links to accessbot's App Home in Slack, where the
// task is acted on. All emails about one task thread together: each
// names the earlier ones sent to its recipient in In-Reply-To and
// References.
package email
