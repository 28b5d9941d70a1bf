// Package sandbox is `accessbot sandbox`: a web page at 127.0.0.1 that plays
// every person of a built-in Slack workspace (fakeslack's), like a small
// Slack client. The real bot talks to that workspace over the same Socket
// Mode WebSocket and Web API it uses with Slack; the page only does what a
// person does in Slack's client: type a slash command or a message, press a
// button, pick an option, fill in and submit a modal, open the App Home.
//
// The page (assets/, embedded, plain HTML, CSS and JavaScript with no build
// step) asks GET /api/state for what one person sees, POSTs what they do to
// /api/act, and listens to /api/events (server-sent events) to refetch when
// anything in the workspace changes, so a click by one person shows on
// another person's screen at once.
//
// Block Kit is rendered in one place, assets/blockkit.js, from a table of
// the block and element types it supports; any other type renders as a
// visible placeholder that names it.
//
// The sandbox has its own clock (Clock): the engine, the store and the
// scheduler's jobs run on it, and the page's "skip ahead" moves it and runs
// the jobs at once, so reminders, escalations, expiry warnings and expiry
// can be seen within minutes.
//
// The page has no login: it listens on 127.0.0.1 unless told otherwise.
package sandbox
