// Package bot is accessbot's Slack edge: a Socket Mode client that acks every
// envelope at once, maps clicks and modal submissions to workflow.Engine
// commands, and an outbox worker that delivers what the engine asks Slack to
// show (task cards posted once and then updated in place, comments,
// reminders, direct messages) with client-side rate limits and retries.
//
// The bot imports workflow and nothing from store: it declares the small
// Store it needs (cards, chat users, the outbox, seen keys) and the command
// wires *store.DB into it.
//
// Data flow for a click: the event loop acks the envelope, a worker
// de-duplicates it (envelope_id through Store.FirstSeen, so across
// restarts), resolves the clicking Slack user to an email, calls the engine
// with the card's task revision, and answers a refusal with an ephemeral
// message. The engine's outbox row then makes the outbox worker bring every
// card of the task up to date. A view_submission is the one envelope acked
// after the engine call, because its ack carries the field errors.
//
// People are named by Slack mention (names.go): a card looks up the people
// it names before it is drawn, and one that still had to name someone by
// email is drawn again once the bot learns who that is; engine texts
// (refusals, direct messages) get mentions for the people the bot knows.
// Cards of a finished request show what became of its access (revoked,
// expired, extended), read with Engine.GrantOutcome. A 429's Retry-After
// holds back every call of the method (per channel for chat.postMessage)
// until it has passed (limits.go).
//
// The App Home (home.go) is published on app_home_opened and after each
// click in it, and refreshed, debounced, when the outbox delivers a change
// to a task of someone whose Home is open. Bulk actions (bulk.go) decide
// each selected task in its own transaction after the modal's ack and show
// the result in the same modal.
package bot
